package feox

import "errors"

// Errors returned by the Store. Check them with errors.Is: the Store may wrap them with context.
var (
	// ErrNotFound means the key is absent or expired.
	ErrNotFound = errors.New("feox: key not found")
	// ErrInvalidKey means the key is empty or longer than MaxKeySize.
	ErrInvalidKey = errors.New("feox: invalid key")
	// ErrInvalidValue means the value is longer than MaxValueSize.
	ErrInvalidValue = errors.New("feox: invalid value")
	// ErrOlderTimestamp means an explicit timestamp was not newer than the key's current one, or
	// than a delete that overtook the write.
	ErrOlderTimestamp = errors.New("feox: timestamp is not newer than the current one")
	// ErrInvalidRange means a Range was asked for with start > end.
	ErrInvalidRange = errors.New("feox: invalid range")
	// ErrNotCounter means Increment found a value that is not 8 bytes long.
	ErrNotCounter = errors.New("feox: value is not an 8-byte counter")
	// ErrOverflow means Increment would overflow int64; the value is unchanged.
	ErrOverflow = errors.New("feox: counter overflow")
	// ErrJSONPatch wraps every JSONPatch failure: a malformed patch, a failed test operation, or a
	// stored value that is not JSON. The stored value is unchanged.
	ErrJSONPatch = errors.New("feox: json patch failed")
	// ErrOutOfMemory means the write would take memory use past Options.MaxMemory.
	ErrOutOfMemory = errors.New("feox: out of memory")
	// ErrStoreFull means the filesystem refused to grow the data file.
	ErrStoreFull = errors.New("feox: store full")
	// ErrCorrupted means data read from disk failed verification.
	ErrCorrupted = errors.New("feox: corrupted")
	// ErrLocked means another open Store holds the data file.
	ErrLocked = errors.New("feox: data file is locked by another store")
	// ErrOlderFormat means Open was given a data file written by an earlier format version of
	// feox-go, which this build does not read. The file is left untouched and the error names
	// the version it holds. A healthy old file is not corrupted: the error does not match
	// ErrCorrupted. Like a file of a newer format version, it matches errors.ErrUnsupported.
	ErrOlderFormat = errors.New("feox: data file of an earlier format version")
	// ErrClosed means the Store was closed.
	ErrClosed = errors.New("feox: store closed")
	// ErrInvalidOption means Open was given an Options value out of range; the error names the
	// field.
	ErrInvalidOption = errors.New("feox: invalid option")
)

// Limits on keys and values.
const (
	// MaxKeySize is the longest key, in bytes.
	MaxKeySize = 65535
	// MaxValueSize is the longest value, in bytes.
	MaxValueSize = 64 << 20
)
