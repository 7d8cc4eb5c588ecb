package datafile

import (
	"errors"
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
)

// Version names the version a read of the file expects to find: a record of Kind value with
// this key, timestamp, sequence number and value length.
type Version struct {
	Key      string
	TS, Seq  uint64
	ValueLen int
}

// ReadValue reads the record of the version at pl and returns its value, a new buffer, after
// checking the record's checksum and that it is the version v names. Any mismatch wraps
// ErrCorrupted. When the cleaner moved the record while it was being read (its old extent may
// be erased by now), ReadValue reads it again from its new place. Safe for concurrent use.
func (f *File) ReadValue(pl *Place, v Version) ([]byte, error) {
	for {
		loc := Loc(pl.loc.Load())
		val, err := f.readAt(loc, v)
		if err == nil || Loc(pl.loc.Load()) == loc {
			return val, err
		}
	}
}

// readAt reads and verifies the record of v at loc.
func (f *File) readAt(loc Loc, v Version) ([]byte, error) {
	if loc == 0 {
		return nil, fmt.Errorf("%w: key %q has no record on disk", ErrCorrupted, v.Key)
	}
	buf := make([]byte, loc.size())
	if err := f.reader.ReadAt(buf, loc.Offset()); err != nil {
		return nil, err
	}
	f.read.Add(int64(len(buf)))
	r, err := format.DecodePackedRecord(buf, loc.off(), f.salt)
	if err == nil && r.Size != len(buf) {
		err = errOtherSize
	}
	if err == nil && (r.Kind != format.KindValue || r.Seq != v.Seq || r.TS != v.TS ||
		string(r.Key) != v.Key || len(r.Value) != v.ValueLen) {
		err = errOtherVersion
	}
	if err != nil {
		return nil, fmt.Errorf("%w: value of key %q at offset %d: %w", ErrCorrupted, v.Key, loc.Offset(), err)
	}
	return r.Value, nil
}

// Causes of a failed read, wrapped in ErrCorrupted.
var (
	errOtherSize    = errors.New("the record on disk is not the size of its extent")
	errOtherVersion = errors.New("the record on disk is another version")
)
