package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Sizes and limits of the file and its records.
const (
	// SectorSize is the device sector the format assumes: a header copy records it, and it
	// divides FrameAlign, so that every write of the data area covers whole sectors.
	SectorSize = 512
	// BlockSize is the unit of file size: a data file's size is a multiple of it.
	BlockSize = 4096
	// HeaderSize is the size of one header copy. Copy A is at offset 0, copy B at HeaderSize.
	HeaderSize = 4096
	// DataStart is the file offset of the data area, right after the two header copies.
	DataStart = 2 * HeaderSize
	// Version is the format version this package reads and writes. A header copy of an
	// earlier version gives ErrOlderVersion, one of a later version ErrNewerVersion.
	Version = 2
	// MaxKeyLen is the largest key length a record can hold. Keys are never empty.
	MaxKeyLen = 65535
	// MaxValueLen is the largest value length a record can hold (64 MiB).
	MaxValueLen = 64 << 20
)

// ErrCorrupted is wrapped by every error a decoder returns for bytes that are not a valid
// header, frame header or packed record, including ErrNoFrame, ErrNoRecord, ErrTorn and
// ErrTruncated. It is not wrapped by ErrNewerVersion or ErrOlderVersion.
var ErrCorrupted = errors.New("format: corrupted")

// ErrNewerVersion is returned for a header copy that is intact but was written by a newer
// format version than Version. It does not wrap ErrCorrupted: the file may be perfectly fine,
// this package just cannot read it, and the caller must leave it untouched.
var ErrNewerVersion = errors.New("format: newer format version")

// ErrOlderVersion is returned for a header copy that is intact but was written by an earlier
// format version than Version (1 to Version-1; version 0 was never written and is corrupted).
// Like ErrNewerVersion it does not wrap ErrCorrupted: the file is not damaged, this package
// just does not read its layout, and the caller must leave it untouched.
var ErrOlderVersion = errors.New("format: older format version")

// ErrNoRecord is returned by PeekPackedRecord and DecodePackedRecord when the bytes cannot be
// a packed record: an unknown kind or flag, a length out of range, a varint that is not in its
// shortest form, a deletion with a value, or (DecodePackedRecord) padding that is not zero. It
// wraps ErrCorrupted and is returned as is, never wrapped further.
var ErrNoRecord = fmt.Errorf("%w: no record", ErrCorrupted)

// ErrTorn is returned by DecodePackedRecord when a packed record's fields are possible but its
// checksum does not match: the record was only partly written, was damaged later, or lies at
// another offset or in another store than the one it was written for. It wraps ErrCorrupted.
var ErrTorn = fmt.Errorf("%w: torn record", ErrCorrupted)

// ErrTruncated is returned by PeekPackedRecord and DecodePackedRecord when the buffer they are
// given ends before the record does. It wraps ErrCorrupted.
var ErrTruncated = fmt.Errorf("%w: truncated record", ErrCorrupted)

// castagnoli returns the CRC-32C table. hash/crc32 builds it once and returns the same table
// on every call, so this costs an atomic load and never allocates.
func castagnoli() *crc32.Table {
	return crc32.MakeTable(crc32.Castagnoli)
}

// crcUint64 continues crc (in the convention of crc32.Update) with the 8 little-endian bytes
// of v. It works byte by byte on tab so that no slice has to be built: handing a stack array
// to crc32.Update would make it escape to the heap.
func crcUint64(crc uint32, tab *crc32.Table, v uint64) uint32 {
	crc = ^crc
	for range 8 {
		crc = tab[byte(crc)^byte(v)] ^ (crc >> 8)
		v >>= 8
	}
	return ^crc
}

// IsZeroed reports whether every byte of b is zero. It is true for an empty b. Use it to tell
// a file that was created but never written (whose header area is all zero) from a damaged one.
func IsZeroed(b []byte) bool {
	for len(b) >= 32 {
		if binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:])|
			binary.LittleEndian.Uint64(b[16:])|binary.LittleEndian.Uint64(b[24:]) != 0 {
			return false
		}
		b = b[32:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
