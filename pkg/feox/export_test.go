package feox

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/disk"
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
	sec, _, ok := unpackLoc(r.where())
	if !ok {
		return -1
	}
	return int64(sec * sectorSize)
}

// CrashPoints returns the names of the points of the write protocol where OpenWithHooks calls
// its crash hook: a shard starting a batch, just before and after the file grows, after a
// batch's writes and sync (before its versions are counted and marked durable), after the
// complete stage has settled a batch, and in the cleaner after its moves are durable (before
// it erases the segments they left) and after the erasure is durable (before the segments
// return to the free list). A wrapped disk.Writer adds its own points between a batch's writes
// and its sync.
func CrashPoints() []string {
	return []string{"submit", "grow", "grown", "synced", "durable", "moved", "erased"}
}

// CleanAll runs the cleaner over every written segment that holds garbage (the head excepted)
// until a round finds none, and returns the number of segments erased.
func (s *Store) CleanAll() (int, error) {
	fs := s.fs
	total := 0
	for range 16 {
		fs.mu.Lock()
		var victims []uint32
		for i := range fs.segs {
			sg := &fs.segs[i]
			if sg.state == segFull && sg.span > 0 && sg.inflight == 0 && sg.used > sg.live {
				sg.state = segCleaning
				victims = append(victims, uint32(i))
			}
		}
		fs.mu.Unlock()
		if len(victims) == 0 {
			return total, nil
		}
		before := fs.cleaned.Load()
		if err := s.clean(victims); err != nil {
			return total, err
		}
		total += int(fs.cleaned.Load() - before)
	}
	return total, nil
}

// SealHead closes the head segment: the next batch opens a new one, and the cleaner may pick
// the old one.
func (s *Store) SealHead() {
	fs := s.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.head >= 0 {
		fs.segs[fs.head].state = segFull
		fs.head = -1
	}
}

// KeptDeletions returns the number of deletion records kept on disk for their ghosts.
func (s *Store) KeptDeletions() int {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	return len(s.fs.tombs)
}

// OpenWithHooks opens a persistent store whose shards write through wrap(shard, w, f) instead
// of w (f is the data file) and which calls crash(point) at the points CrashPoints names. Either
// may be nil.
func OpenWithHooks(opts Options, wrap func(shard int, w disk.Writer, f *disk.File) disk.Writer,
	crash func(point string)) (*Store, error) {
	return open(opts, openHooks{wrapWriter: wrap, crash: crash})
}

// SegmentOf returns the segment that holds the record of key's newest version, or the
// deletion record kept for key, or -1.
func (s *Store) SegmentOf(key string) int {
	fs := s.fs
	fs.mu.Lock()
	t := fs.tombs[key]
	fs.mu.Unlock()
	r, _ := s.hash.Load(key)
	for _, c := range []*record{t, r} {
		if c == nil {
			continue
		}
		if sec, _, ok := unpackLoc(c.where()); ok {
			return int(segOf(sec))
		}
	}
	return -1
}

// CleanSegments cleans exactly the given segments, which must be written and not the head.
func (s *Store) CleanSegments(segs ...int) error {
	fs := s.fs
	fs.mu.Lock()
	victims := make([]uint32, 0, len(segs))
	for _, i := range segs {
		if sg := &fs.segs[i]; sg.state != segFull || sg.inflight != 0 {
			fs.mu.Unlock()
			return fmt.Errorf("segment %d is not a written, settled segment (state %d)", i, sg.state)
		}
		fs.segs[i].state = segCleaning
		victims = append(victims, uint32(i))
	}
	fs.mu.Unlock()
	return s.clean(victims)
}

// SetTombsMin lowers the number of kept deletion records past which the cleaner works to hold
// them down (cleanTombsMin in production).
func (s *Store) SetTombsMin(n int64) {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	s.fs.tombsMin = n
}

// PauseCleaner waits for the cleaner's round in progress, if any, and keeps it from starting
// another until the returned function is called: with no writes either, the data file then
// stays still (a copy of it is a consistent snapshot).
func (s *Store) PauseCleaner() (resume func()) {
	s.fs.cleanMu.Lock()
	return s.fs.cleanMu.Unlock
}

// DirectStatus reports the data file's O_DIRECT state and write counts (zero in memory-only
// mode).
func (s *Store) DirectStatus() disk.DirectStatus {
	if s.fs == nil {
		return disk.DirectStatus{}
	}
	return s.fs.file.Direct()
}
