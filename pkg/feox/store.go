package feox

import (
	"errors"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/panjf2000/ants/v2"
	"github.com/puzpuzpuz/xsync/v4"
	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/index"
	"github.com/feoxdb/feox-go/pkg/cache"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// Store is an embedded key-value store. All methods are safe for concurrent use by any number
// of goroutines. Open one with Open and release it with Close.
type Store struct {
	opts Options
	log  zerolog.Logger

	// hash is the primary index: key -> the key's cell, which holds its newest record. Reads
	// load from it without a lock.
	hash *index.Hash[record]
	// ordered holds the cell of every present key (expired-but-unswept included, tombstones
	// excluded) for Range and Scan. It is changed only inside the hash index's per-key critical
	// section, so its membership follows the hash index key by key.
	ordered *index.Ordered[record]
	// versionX is set when every version needs its extra: a store with a write pipeline tracks
	// each version until it is durable.
	versionX bool

	seed   maphash.Seed
	clocks [clockShards]clock

	// mem is the bytes charged by present records; writers reserve with a CAS loop so that
	// concurrent writers can never jointly pass MaxMemory.
	mem atomic.Int64
	// keyMem is, in persistent mode, the bytes charged by present keys alone (key and fixed
	// overhead): values never make a write fail there, keys past MaxMemory do.
	keyMem atomic.Int64
	keys   *xsync.Counter
	stats  counters

	ttl        ttlIndex
	tombstones tombList

	// pipe carries every write to the backends; nil in memory-only mode.
	pipe *stages.Pipeline
	// df is the data file, whose backends are the pipeline's; nil unless persistent.
	df *datafile.File
	// cache decides which durable values stay in memory (persistent mode only); evictKick
	// asks the background goroutine to run it.
	cache     *cache.Cache[*record]
	evictKick chan struct{}
	// readers is the bounded pool (ants) on which Range reads values that left memory.
	readers *ants.Pool
	hooks   openHooks

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
}

// Open opens a store. The zero Options value opens a memory-only store with every default.
//
// A Path names the data file of a persistent store: Open creates it if it does not exist (but
// not its parent directories) and otherwise recovers every record that was flushed before.
// Open fails with ErrLocked when another open Store holds the file, after trying for one
// second (a process killed a moment ago may still hold it while the kernel tears its I/O
// down), and with ErrCorrupted, leaving the file untouched, when it is not a feox-go data file.
// A data file of another format version is left untouched too: one of an earlier version gives
// ErrOlderFormat, one of a newer version an error matching errors.ErrUnsupported (as does
// ErrOlderFormat).
func Open(opts Options) (*Store, error) {
	return open(opts, openHooks{})
}

// openHooks are the test seams of open; the zero value is what Open uses.
type openHooks struct {
	// newBackend, when set, gives the store a write pipeline whose shards write to the
	// backends it returns (a memory-only store otherwise).
	newBackend func(shard int) stages.Backend
	// file holds the data file's test seams: Crash and Writers.Wrap (see datafile.Config).
	file datafile.Config
}

// diskReaders is the size of the pool on which Range reads values from disk: enough reads in
// flight to keep a disk's queue busy, a few per CPU.
func diskReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// readersRelease bounds how long Close waits for the disk reader pool's goroutines to stop.
const readersRelease = 5 * time.Second

// open opens a store with the test seams of hooks.
func open(opts Options, hooks openHooks) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:    o,
		log:     zerolog.Nop(),
		hash:    index.NewHash[record](0),
		ordered: index.NewOrdered[record](),
		seed:    maphash.MakeSeed(),
		keys:    xsync.NewCounter(),
		stop:    make(chan struct{}),

		evictKick: make(chan struct{}, 1),
		hooks:     hooks,
		versionX:  o.Path != "" || hooks.newBackend != nil,
	}
	if o.Logger != nil {
		s.log = *o.Logger
	}
	s.stats.init()
	s.ttl.init()
	mode, po := "memory", o.Pipeline.stages()
	po.Logger = s.log
	po.Backend, po.OnDurable = hooks.newBackend, markDurable
	if o.Path != "" {
		mode = "persistent"
		if err := s.openFile(); err != nil {
			return nil, err
		}
		po.Backend, po.OnDurable = s.df.Backend, s.onDurable
	} else if po.Backend != nil {
		mode = "pipeline"
	}
	if po.Backend != nil {
		if s.pipe, err = stages.New(po); err != nil {
			s.closeFile()
			return nil, err
		}
	}
	s.wg.Add(2)
	go s.background()
	go s.applyIndex()
	if s.df != nil {
		s.df.StartCleaner(s.pipe)
	}
	s.log.Info().Str("mode", mode).Int64("max_memory", o.MaxMemory).Msg("feox: store opened")
	return s, nil
}

// markDurable records that the versions of a completed batch are on disk (a store whose
// pipeline has no data file: tests and benchmarks of the pipeline).
func markDurable(b *stages.Batch) {
	for i := range b.Entries {
		if r, ok := b.Entries[i].Ref.(*record); ok {
			r.x.durable.Store(true)
		}
	}
}

// Close flushes every buffered write, stops every goroutine the store started and releases its
// resources, and returns the flush's error. It is safe to call more than once; later calls
// return nil. Every other method returns ErrClosed afterwards (Contains returns false and Len
// returns 0); Stats keeps working.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.wg.Wait()
		if s.df != nil {
			s.df.StopCleaner()
		}
		if s.pipe != nil {
			err = fileErr(s.pipe.Close())
		}
		if cerr := s.closeFile(); err == nil {
			err = cerr
		}
		s.log.Info().Int("keys", int(s.keys.Value())).Err(err).Msg("feox: store closed")
	})
	return err
}

// maxIndexLog bounds the ordered index's log of creations and deletions: past it, a writer
// waits for the background applier (or applies the log itself when the applier is idle).
const maxIndexLog = 16 * index.KickAt

// applyIndex applies the ordered index's log whenever it has grown, so that writers rarely pay
// for the B-tree themselves; reads apply what is left before they look.
func (s *Store) applyIndex() {
	defer s.wg.Done()
	s.ordered.Run(s.stop)
}

// Flush blocks until every write accepted before the call is on disk and synced, and returns
// the first error the disk reported on the way; writes that failed are retried, and a later
// Flush succeeds once the disk recovers. A memory-only store has nothing to flush and returns
// nil at once (or ErrClosed after Close).
func (s *Store) Flush() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.pipe == nil {
		return nil
	}
	if err := s.pipe.Flush(); err != nil {
		if errors.Is(err, stages.ErrClosed) {
			return ErrClosed
		}
		return fileErr(err)
	}
	return nil
}

// Len returns the number of present keys. An expired key stops counting when the background
// sweep removes it: within TTLSweepInterval plus one second of its expiry.
func (s *Store) Len() int {
	if s.closed.Load() {
		return 0
	}
	return int(max(s.keys.Value(), 0))
}

// MemoryUsage returns the bytes of heap the store holds for its keys, values and index entries:
// each allocation counted at the size Go's allocator gives it, the two indexes' shares per key
// as averages. The garbage collector's headroom is not counted (docs/TUNING.md, MaxMemory).
func (s *Store) MemoryUsage() int64 {
	if s.closed.Load() {
		return 0
	}
	return s.mem.Load()
}

// check returns the error a key-taking method reports before doing anything.
func (s *Store) check(key []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(key) == 0 || len(key) > MaxKeySize {
		return ErrInvalidKey
	}
	return nil
}

// checkKV is check plus value validation.
func (s *Store) checkKV(key, value []byte) error {
	if err := s.check(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return ErrInvalidValue
	}
	return nil
}

// lookup returns the newest record of key, tombstones included, or nil.
func (s *Store) lookup(key []byte) *record {
	// The string aliases the caller's bytes only for the duration of the lookup; the map does
	// not retain the argument of Load.
	return s.hash.Load(keyString(key))
}

// keyString returns key as a string without copying it: for lookups that keep no reference to
// it, while the caller does not modify key.
func keyString(key []byte) string { return unsafe.String(unsafe.SliceData(key), len(key)) }

// reserve charges delta bytes to the memory budget, failing with ErrOutOfMemory when that
// would pass MaxMemory; keyCost is the part of delta for a key the write creates (0 if none).
// A negative delta always succeeds. In persistent mode values are never refused (the cache
// evicts durable ones): only keys, charged to keyMem, are held to MaxMemory.
func (s *Store) reserve(delta, keyCost int64) error {
	if s.df != nil {
		for keyCost > 0 {
			cur := s.keyMem.Load()
			if cur+keyCost > s.opts.MaxMemory {
				return ErrOutOfMemory
			}
			if s.keyMem.CompareAndSwap(cur, cur+keyCost) {
				break
			}
		}
		s.mem.Add(delta)
		return nil
	}
	if delta <= 0 {
		s.mem.Add(delta)
		return nil
	}
	for {
		cur := s.mem.Load()
		if cur+delta > s.opts.MaxMemory {
			return ErrOutOfMemory
		}
		if s.mem.CompareAndSwap(cur, cur+delta) {
			return nil
		}
	}
}

// unreserve gives back what reserve charged.
func (s *Store) unreserve(delta, keyCost int64) {
	s.mem.Add(-delta)
	if s.df != nil {
		s.keyMem.Add(-keyCost)
	}
}
