package cache

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Defaults applied by New to the zero fields of Config.
const (
	// DefaultHighWatermark is the high watermark used when Config.HighWatermark is not
	// positive: 100 MiB, as in FeOxDB.
	DefaultHighWatermark = 100 << 20

	// DefaultMaxEvictPerCall is the examination bound used when Config.MaxEvictPerCall is
	// not positive.
	DefaultMaxEvictPerCall = 256
)

// minSlots is the smallest capacity of the slot ring; it is always a power of two.
const minSlots = 16

// States of a Handle. The zero state marks a Handle that no Cache admitted, so Remove of a
// zero Handle is a no-op rather than a corruption of the counters.
const (
	stateFree     uint32 = iota // never admitted
	stateLive                   // resident; in the ring
	stateEvicting               // resident; the evictor is calling fn for it
	stateRemoved                // forgotten by Remove; may still sit in the ring as a tombstone
	stateEvicted                // evicted: fn accepted it; no longer in the ring
)

// Config holds the parameters of a Cache. The zero value selects every default.
type Config struct {
	// HighWatermark is the resident size, in bytes, above which NeedsEvict reports true.
	// Not positive means DefaultHighWatermark.
	HighWatermark int64

	// LowWatermark is the resident size, in bytes, that eviction brings the cache down to
	// once the high watermark was crossed. Not positive means 7/8 of HighWatermark; a value
	// above HighWatermark is lowered to it. Equal watermarks evict just enough to go back
	// under the high watermark.
	LowWatermark int64

	// MaxEvictPerCall bounds the entries one Evict call examines (tombstones of removed
	// entries are not counted: each is dropped in O(1) and only once). Not positive means
	// DefaultMaxEvictPerCall.
	MaxEvictPerCall int
}

// Stats is a snapshot of a Cache's counters. Each field is read atomically, but the
// snapshot as a whole is not taken at one instant.
//
// Hits and misses are not counted here: only the owner knows when it had to read a value
// back from disk, and counting hits in Touch would add a write to a shared counter to every
// read.
type Stats struct {
	Resident     int64  // bytes of the live entries (admitted, not removed, not evicted)
	Len          int    // number of live entries
	Admits       uint64 // calls to Admit and AdmitHandle
	Removes      uint64 // Remove calls that forgot a live entry
	Evictions    uint64 // entries evicted (fn returned true)
	EvictedBytes uint64 // bytes of the evicted entries
	Refused      uint64 // fn calls that returned false
	Examined     uint64 // entries the hand examined (reference bit checked)
}

// Handle is a Cache's entry for one resident value. The owner keeps it next to the value,
// in the record version the value belongs to, and passes it to Touch on every hit and to
// Remove when the version is superseded or deleted.
//
// A Handle is bound to one admission: once removed or evicted it never becomes live again,
// and a value made resident again needs a new Admit and a new Handle. A Handle belongs to
// the Cache that returned or admitted it and must not be passed to another.
type Handle[T any] struct {
	ref   atomic.Uint32 // reference bit: 1 once touched since the hand last passed
	state atomic.Uint32 // one of the state constants
	bytes int64         // immutable after Admit
	v     T             // zeroed when the entry is removed or evicted
}

// Cache is a CLOCK (second-chance) replacement policy over resident values of type T.
// The zero value is not usable; call New.
//
// Touch, Len, Resident, NeedsEvict and Stats never block and may be called from any number
// of goroutines. Admit, Remove and Evict may also be called concurrently: Admit and Evict
// serialise on a mutex, Remove takes no lock and waits only for an fn call in progress on
// its own Handle.
type Cache[T any] struct {
	high       int64 // read-only after New
	low        int64 // read-only after New
	maxExamine int   // read-only after New
	// removeWait is a test hook, nil outside tests: Remove runs it when it finds its entry
	// being evicted, just before it waits, so a test can line up the race it handles.
	removeWait func()

	mu    sync.Mutex
	slots []*Handle[T] // circular; len is a power of two; guarded by mu
	head  int          // the hand: index of the next slot to examine; guarded by mu
	n     int          // occupied slots, live entries and tombstones; guarded by mu

	resident atomic.Int64 // bytes of live entries
	live     atomic.Int64 // number of live entries
	// tombs is the number of removed entries still in the ring (tombstones). Remove adds
	// one after its CAS; the pops and resizes that drop tombstones, under mu, subtract them,
	// so it may read one low for a moment.
	tombs    atomic.Int64
	draining atomic.Bool // the high watermark was crossed and the low one not yet reached

	admits       atomic.Uint64
	removes      atomic.Uint64
	evictions    atomic.Uint64
	evictedBytes atomic.Uint64
	refused      atomic.Uint64
	examined     atomic.Uint64
}

// New returns an empty Cache configured by cfg; see Config for the defaults.
func New[T any](cfg Config) *Cache[T] {
	high := cfg.HighWatermark
	if high <= 0 {
		high = DefaultHighWatermark
	}
	low := cfg.LowWatermark
	if low <= 0 {
		low = high - high/8
	}
	low = min(low, high)
	maxExamine := cfg.MaxEvictPerCall
	if maxExamine <= 0 {
		maxExamine = DefaultMaxEvictPerCall
	}
	return &Cache[T]{high: high, low: low, maxExamine: maxExamine}
}

// HighWatermark returns the high watermark in bytes, after defaults.
func (c *Cache[T]) HighWatermark() int64 { return c.high }

// LowWatermark returns the low watermark in bytes, after defaults.
func (c *Cache[T]) LowWatermark() int64 { return c.low }

// Admit makes v a live entry of bytes bytes (a negative size counts as zero) and returns its
// Handle. The entry goes just behind the hand, so it is examined after every entry already
// in the cache, and its reference bit starts clear. Admit never evicts: the owner calls
// NeedsEvict and Evict.
//
// The cache keeps v until the entry is removed or evicted; v is passed to the eviction
// callback. Admit takes the cache's mutex and allocates the Handle; it costs O(1),
// amortized over the occasional resize of the slot ring.
func (c *Cache[T]) Admit(v T, bytes int64) *Handle[T] {
	h := new(Handle[T])
	c.AdmitHandle(h, v, bytes)
	return h
}

// AdmitHandle is Admit into a Handle whose memory the caller provides, typically a field of
// the structure that holds the value: admission then allocates nothing, and Touch sets a bit
// in memory that the reader has just loaded anyway. h must be a zero Handle that no Cache has
// admitted (AdmitHandle panics otherwise), and it must not be copied or reused afterwards:
// like a Handle from Admit, it stands for this one admission.
func (c *Cache[T]) AdmitHandle(h *Handle[T], v T, bytes int64) {
	if h.state.Load() != stateFree {
		panic("cache: AdmitHandle of a Handle that was already admitted")
	}
	h.bytes, h.v = max(bytes, 0), v
	h.ref.Store(0) // a Touch before admission does not count
	// No ordering needed: no other goroutine can see h yet; the mutex (for the evictor) and
	// the caller's hand-off of h (for Remove) publish it.
	h.state.Store(stateLive)
	c.mu.Lock()
	c.push(h)
	// Added under mu, before an Evict can reach h, and before Admit returns h to the caller
	// of Remove: each subtraction follows its addition, so the counters never go negative.
	c.resident.Add(h.bytes)
	c.live.Add(1)
	c.mu.Unlock()
	c.admits.Add(1)
}

// Touch records a hit on h by setting its reference bit, giving the entry a second chance
// the next time the hand passes. It takes no lock, does not allocate, and writes only when
// the bit is clear, so hot entries read by many goroutines keep their cache line shared.
// Touching a removed or evicted Handle, or a nil one, has no effect on the cache.
func (c *Cache[T]) Touch(h *Handle[T]) {
	// The bit publishes no data, so ordering does not matter; atomics only make the
	// concurrent accesses well-defined. Load first: the bit is usually already set on hot
	// entries, and a load keeps the line shared where a store would take it exclusive.
	if h != nil && h.ref.Load() == 0 {
		h.ref.Store(1)
	}
}

// Remove forgets the entry of h: its version was superseded or deleted, or the owner
// dropped the value itself. Its bytes leave Resident at once and the cache drops its
// reference to the value. Removing a nil Handle, or one already removed or evicted, does
// nothing.
//
// Remove never waits for the cache's lock: when tombstones (removed entries still in the
// ring) outnumber the live entries, it compacts the ring if it can take the lock at once. If
// Evict is calling fn for h at that moment, Remove waits for fn to return (fn must therefore
// not call Remove); if fn accepted, the entry counts as evicted and Remove does nothing more.
// After Remove returns, fn is never called for h.
func (c *Cache[T]) Remove(h *Handle[T]) {
	if h == nil {
		return
	}
	for {
		switch h.state.Load() { // seq-cst load: observes the evictor's release of stateEvicting
		case stateLive:
			// The CAS decides the race with the evictor's CAS from stateLive: exactly one of
			// them owns the entry's exit and its counters.
			if !h.state.CompareAndSwap(stateLive, stateRemoved) {
				continue
			}
			var zero T
			h.v = zero // ours alone: the evictor reads v only after winning its own CAS
			c.resident.Add(-h.bytes)
			c.live.Add(-1)
			c.removes.Add(1)
			c.tombs.Add(1)
			if c.tooManyTombs() && c.mu.TryLock() {
				// A phase of removals without admissions: nothing else would drop the
				// tombstones, which keep their Handles (and, with AdmitHandle, the memory
				// around them) reachable. Never blocks: if the lock is busy, its holder
				// or a later Remove compacts.
				if c.tooManyTombs() {
					c.resize()
				}
				c.mu.Unlock()
			}
			return
		case stateEvicting:
			if c.removeWait != nil {
				c.removeWait()
			}
			runtime.Gosched() // fn is short by contract; let the evictor finish it
		default:
			return
		}
	}
}

// NeedsEvict reports whether the owner should call Evict: the resident size is above the
// high watermark, or a previous crossing has not yet been brought down to the low
// watermark. It takes no lock.
func (c *Cache[T]) NeedsEvict() bool {
	r := c.resident.Load() // seq-cst loads; a slightly stale answer only delays or repeats a sweep
	return r > c.high || (r > c.low && c.draining.Load())
}

// Resident returns the bytes of the live entries.
func (c *Cache[T]) Resident() int64 { return c.resident.Load() }

// Len returns the number of live entries.
func (c *Cache[T]) Len() int { return int(c.live.Load()) }

// Stats returns a snapshot of the cache's counters.
func (c *Cache[T]) Stats() Stats {
	return Stats{
		Resident:     c.resident.Load(),
		Len:          int(c.live.Load()),
		Admits:       c.admits.Load(),
		Removes:      c.removes.Load(),
		Evictions:    c.evictions.Load(),
		EvictedBytes: c.evictedBytes.Load(),
		Refused:      c.refused.Load(),
		Examined:     c.examined.Load(),
	}
}

// Evict runs the CLOCK hand if NeedsEvict holds, and returns the number of entries it
// evicted and their bytes.
//
// From the hand onwards, an entry whose reference bit is set has the bit cleared and is
// passed over (its second chance); an entry whose bit is clear is offered to fn. If fn
// returns true the entry is evicted: it leaves the cache with its bytes, and the owner must
// have dropped the resident value before returning. If fn returns false (the value is not
// evictable yet) the entry stays, as if passed over. The sweep stops when the resident size
// is at or below the low watermark, when it has examined MaxEvictPerCall entries, or when
// it has examined twice as many entries as were live at the start (every entry has then
// been offered to fn at least once, unless touched again). Evict therefore does bounded
// work; if NeedsEvict still holds afterwards, the owner calls it again, backing off when a
// call evicts nothing.
//
// Evict holds the cache's mutex throughout, so Admit and other Evict calls wait for it.
// fn runs under that mutex: it must be short and must not call Admit, Remove or Evict on
// this cache (Touch is fine). fn is never called for a Handle after Remove of that Handle
// has returned, and never again for a Handle once it returned true.
func (c *Cache[T]) Evict(fn func(v T) bool) (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// draining is written only under mu; its loads elsewhere are hints (NeedsEvict).
	if c.resident.Load() > c.high {
		c.draining.Store(true)
	}
	if !c.draining.Load() {
		return 0, 0
	}
	limit := min(c.maxExamine, 2*int(c.live.Load()))
	examined, refused := 0, 0
	for examined < limit && c.n > 0 && c.resident.Load() > c.low {
		h := c.slots[c.head]
		if h.state.Load() == stateRemoved { // tombstone: a seq-cst load sees Remove's CAS
			c.pop()
			c.tombs.Add(-1)
			continue
		}
		examined++
		// Clearing the bit with a load and a store may absorb a Touch that loads the set
		// bit in between: that Touch found the entry referenced, and the hand took it as
		// such. No ordering is needed beyond atomicity.
		if h.ref.Load() != 0 {
			h.ref.Store(0)
			c.rotate()
			continue
		}
		// Claim the entry against a racing Remove; the CAS orders Admit's write of v and any
		// earlier fn's read of it before our read below.
		if !h.state.CompareAndSwap(stateLive, stateEvicting) {
			c.pop() // removed since the load above: a tombstone after all
			c.tombs.Add(-1)
			continue
		}
		if !fn(h.v) {
			h.state.Store(stateLive) // seq-cst store: releases the entry to a waiting Remove
			refused++
			c.rotate()
			continue
		}
		var zero T
		h.v = zero
		c.pop()
		c.resident.Add(-h.bytes)
		c.live.Add(-1)
		// Seq-cst store after the counters: a Remove waiting on this entry returns only once
		// Resident and Len no longer count it.
		h.state.Store(stateEvicted)
		n++
		bytes += h.bytes
	}
	if c.resident.Load() <= c.low {
		c.draining.Store(false)
	}
	c.examined.Add(uint64(examined))
	c.refused.Add(uint64(refused))
	c.evictions.Add(uint64(n))
	c.evictedBytes.Add(uint64(bytes))
	if len(c.slots) > minSlots && c.n < len(c.slots)/4 {
		c.resize()
	}
	return n, bytes
}

// tooManyTombs reports whether the ring holds more tombstones than a quarter of its live
// entries (and more than minSlots): a compaction copies the live entries, so it costs O(1)
// amortized over the removals that made the tombstones (at most four copies each), and the
// owners the tombstones keep reachable stay within a quarter of the live ones.
func (c *Cache[T]) tooManyTombs() bool {
	t := c.tombs.Load()
	return t > minSlots && 4*t > c.live.Load()
}

// push appends h at the tail of the ring, just behind the hand. c.mu must be held.
func (c *Cache[T]) push(h *Handle[T]) {
	if c.n == len(c.slots) || c.tooManyTombs() {
		c.resize()
	}
	c.slots[(c.head+c.n)&(len(c.slots)-1)] = h
	c.n++
}

// pop removes the entry at the hand. c.mu must be held and the ring must not be empty.
func (c *Cache[T]) pop() {
	c.slots[c.head] = nil // do not keep the Handle alive
	c.head = (c.head + 1) & (len(c.slots) - 1)
	c.n--
}

// rotate moves the entry at the hand to the tail: the hand advances past it. c.mu must be
// held and the ring must not be empty.
func (c *Cache[T]) rotate() {
	h := c.slots[c.head]
	c.pop()
	c.slots[(c.head+c.n)&(len(c.slots)-1)] = h // room: pop just freed a slot
	c.n++
}

// resize copies the ring, in order from the hand, into a new slot array of twice as many
// slots as it keeps entries (at least minSlots), dropping tombstones on the way. c.mu must
// be held. It runs when push finds the ring full, when Evict leaves it under a quarter
// full, and when tombstones pass a quarter of the live entries; the new ring is at most half full and
// holds no tombstone, so the copying is O(1) amortized per push, pop and removal (see the
// package documentation).
func (c *Cache[T]) resize() {
	keep := 0
	for i := range c.n {
		if c.slots[(c.head+i)&(len(c.slots)-1)].state.Load() != stateRemoved {
			keep++
		}
	}
	size := minSlots
	for size < 2*keep {
		size *= 2
	}
	slots := make([]*Handle[T], size)
	j := 0
	for i := range c.n {
		h := c.slots[(c.head+i)&(len(c.slots)-1)]
		// A Remove between the two passes only turns a live entry into a tombstone, so this
		// pass keeps at most keep entries.
		if h.state.Load() != stateRemoved {
			slots[j] = h
			j++
		}
	}
	c.tombs.Add(-int64(c.n - j))
	c.slots, c.head, c.n = slots, 0, j
}
