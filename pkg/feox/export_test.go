package feox

import (
	"github.com/feoxdb/feox-go/pkg/disk"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// OpenWithBackend opens a store whose write pipeline hands its batches to the backends that
// newBackend returns, one per shard; the store keeps its data in memory as a memory-only one.
// It exists for tests and benchmarks of the pipeline through the facade.
func OpenWithBackend(opts Options, newBackend func(shard int) stages.Backend) (*Store, error) {
	return open(opts, openHooks{newBackend: newBackend})
}

// OpenRefusingUring opens a store as Open does on a kernel that refuses io_uring.
func OpenRefusingUring(opts Options) (*Store, error) {
	return open(opts, openHooks{failUring: true})
}

// IOBackend reports which I/O backend the store's first shard uses: "uring" or "pwrite" ("" in
// memory-only mode).
func (s *Store) IOBackend() string {
	if len(s.backends) == 0 {
		return ""
	}
	return s.backends[0].w.Name()
}

// Durable reports whether the newest version of key is marked durable.
func (s *Store) Durable(key []byte) bool {
	r := s.lookup(key)
	return r != nil && r.durable.Load()
}

// Resident reports whether the newest version of key holds its value in memory.
func (s *Store) Resident(key []byte) bool {
	r := s.lookup(key)
	return r != nil && !r.stub
}

// DiskOffset returns the file offset of the record of key's newest version, or -1.
func (s *Store) DiskOffset(key []byte) int64 {
	r := s.lookup(key)
	if r == nil {
		return -1
	}
	sec, _, ok := unpackLoc(r.loc.Load())
	if !ok {
		return -1
	}
	return int64(sec * sectorSize)
}

// CrashPoints returns the names of the points of the write protocol where OpenWithHooks calls its crash hook:
// a shard starting a batch, just before and after the file grows, after a batch's writes and
// sync (before its retired extents are freed and its versions marked durable), and after the
// complete stage has settled a batch. A wrapped disk.Writer adds its own points between a
// batch's writes and its sync.
func CrashPoints() []string { return []string{"submit", "grow", "grown", "synced", "durable"} }

// OpenWithHooks opens a persistent store whose shards write through wrap(shard, w, f) instead
// of w (f is the data file) and which calls crash(point) at the points CrashPoints names. Either
// may be nil.
func OpenWithHooks(opts Options, wrap func(shard int, w disk.Writer, f *disk.File) disk.Writer,
	crash func(point string)) (*Store, error) {
	return open(opts, openHooks{wrapWriter: wrap, crash: crash})
}
