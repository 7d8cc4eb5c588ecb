package feox

import (
	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// The test seams of the facade: a pipeline without a data file, the data file's own seams
// (crash points, wrapped writers), and what a test needs to see of a version. The data file is
// tested on its own in package datafile.

// OpenWithBackend opens a store whose write pipeline hands its batches to the backends that
// newBackend returns, one per shard; the store keeps its data in memory as a memory-only one.
// It exists for tests and benchmarks of the pipeline through the facade.
func OpenWithBackend(opts Options, newBackend func(shard int) stages.Backend) (*Store, error) {
	return open(opts, openHooks{newBackend: newBackend})
}

// OpenWithHooks opens a persistent store whose shards write through wrap(shard, w, f) instead
// of w (f is the data file; an error wrapping errors.ErrUnsupported refuses io_uring as a
// kernel without it would) and which calls crash(point) at the points datafile.CrashPoints
// names. Either may be nil.
func OpenWithHooks(opts Options, wrap func(shard int, w disk.Writer, f *disk.File) (disk.Writer, error),
	crash func(point string)) (*Store, error) {
	var cfg datafile.Config
	cfg.Writers.Wrap, cfg.Crash = wrap, crash
	return open(opts, openHooks{file: cfg})
}

// IOBackend reports which writer the store's first shard uses: "uring" or "pwrite" ("" in
// memory-only mode).
func (s *Store) IOBackend() string {
	if s.df == nil {
		return ""
	}
	return s.df.Writer()
}

// Durable reports whether the newest version of key is marked durable.
func (s *Store) Durable(key []byte) bool {
	r := s.lookup(key)
	return r != nil && r.isDurable()
}

// Resident reports whether the newest version of key holds its value in memory.
func (s *Store) Resident(key []byte) bool {
	r := s.lookup(key)
	return r != nil && !r.stub
}

// DiskOffset returns the file offset of the record of key's newest version, or -1.
func (s *Store) DiskOffset(key []byte) int64 {
	r := s.lookup(key)
	if r == nil || r.place() == nil {
		return -1
	}
	l, ok := r.place().Loc()
	if !ok {
		return -1
	}
	return l.Offset()
}

// Charge returns what a present key of klen bytes with a value of vlen bytes, and no expiry,
// charges to MemoryUsage in a memory-only store.
func Charge(klen, vlen int) int64 {
	return (&Store{}).keyCharge(klen) + recordBytes(vlen, false)
}

// CacheCharge returns what the cache counts for a resident value of vlen bytes.
func CacheCharge(vlen int) int64 { return cacheCharge(uint32(vlen)) }

// ChargeOf returns what key, if present, charges to MemoryUsage now, from its current record.
func (s *Store) ChargeOf(key []byte) int64 {
	r := s.lookup(key)
	if r == nil || r.dead {
		return 0
	}
	return s.keyCharge(len(key)) + s.charge(r)
}
