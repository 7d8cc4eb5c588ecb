package index

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Hash is the hash index: a map from a key to its Cell. Reads (Load, Cell) take no lock;
// changes of one key are serialized by Compute. It is safe for concurrent use. The zero value
// is not usable; call NewHash.
//
// The index is an open-addressing table of 64-byte buckets, each one cache line: a word of
// seven one-byte slot states and seven cell pointers. A slot state is empty (never used since
// the table was built), deleted, or 0x80 with seven bits of the key's hash, a fingerprint that
// rules out most other keys before their cell is touched. A key lives in the first bucket from
// its home bucket (picked by the low bits of its hash) that had a free slot when it was
// inserted, so a lookup walks buckets from the home one until it finds the key or a bucket
// with an empty slot. A lookup reads one bucket, then the matching cell; it takes no lock and
// allocates nothing.
//
// Changes of a key are serialized by one of many striped mutexes, chosen by the key's hash;
// writers of different keys may race for the same bucket and claim a slot by compare-and-swap
// of the bucket's state word. Every so often a writer finds the table too full of keys and
// deleted slots and rebuilds it, twice as large, or at the same size to drop deleted slots:
// it takes every stripe's lock, so no writer runs, builds the new table from the old one's
// cells (a cell keeps the low 32 bits of its key's hash, so no key is hashed again) and
// publishes it with one atomic store. A reader still on the old table sees it frozen, and the
// cells, shared by both tables, carry the current values.
type Hash[V any] struct {
	table atomic.Pointer[table[V]]
	seed  maphash.Seed
	// minBuckets is the size of the table NewHash made for its presize; the table never
	// shrinks below it.
	minBuckets int
	_          [64 - 24]byte // the fields above are read by every lookup; keep stripes off their line
	stripes    [numStripes]stripe
}

// numStripes is the number of writer locks: far more than the goroutines that write at once,
// so that two writers rarely wait on each other's keys.
const numStripes = 1024

// stripe is one writer lock and the counts kept under it, padded to a cache line of its own.
type stripe struct {
	mu sync.Mutex
	// live is the number of keys of this stripe in the table. Only the lock holder changes it;
	// Len reads it without the lock, hence the atomic.
	live atomic.Int64
	// allow is how many empty slots this stripe's writers may still claim in the current table
	// (a share taken from table.budget); a resize sets it to zero.
	allow int64
	_     [64 - 24]byte
}

// bucketSlots is the number of slots in a bucket: seven pointers and a state word fill 64 bytes.
const bucketSlots = 7

// Slot states, one byte each in bucket.meta (slot i in byte i; the top byte is unused).
const (
	slotEmpty   = 0x00 // never used since the table was built; ends a lookup's walk
	slotDeleted = 0x80 // used, then vacated; a writer may reuse it
	// any other value is 0x80|fingerprint, fingerprint in 1..127, for an occupied slot
)

// Masks over the seven slot bytes of a state word.
const (
	slotsLow  = 0x0001010101010101 // the low bit of each slot byte
	slotsHigh = 0x0080808080808080 // the high bit of each slot byte
	slotsBody = 0x007f7f7f7f7f7f7f // the low seven bits of each slot byte
)

// bucket is one cache line of the table. A table larger than 32 KiB is a large allocation,
// which starts on a page, so each bucket is one aligned line; a table of 16 to 256 buckets
// starts 8 bytes into its allocation, after the allocator's header, and so straddles lines,
// but at most 16 KiB it stays in the processor's caches.
type bucket[V any] struct {
	meta  atomic.Uint64
	slots [bucketSlots]atomic.Pointer[Cell[V]]
}

// table is one generation of the index. Its buckets change in place until a resize publishes
// the next table; from then on no writer touches it.
type table[V any] struct {
	buckets []bucket[V]
	mask    int           // len(buckets)-1; len(buckets) is a power of two
	_       [64 - 32]byte // keep budget, which writers change, off the line lookups read
	// budget is how many empty slots writers may still claim before the table must be
	// rebuilt, less the shares stripes have taken (stripe.allow). It keeps at least one slot
	// empty, so every walk ends.
	budget atomic.Int64
	_      [64 - 8]byte
}

// capacity is how many slots of a table of n buckets may be used (by keys or deleted slots)
// before it is rebuilt: four fifths.
func capacity(n int) int { return n * bucketSlots * 4 / 5 }

// bucketsFor returns the number of buckets of the smallest table whose capacity is at least
// keys.
func bucketsFor(keys int) int {
	n := 1
	for capacity(n) < keys {
		n *= 2
	}
	return n
}

// fingerprint is the slot state of an occupied slot whose key's hash is h: its top seven bits,
// which a table smaller than 2^25 buckets does not use to pick the home bucket. Zero would
// read as deleted and becomes one.
func fingerprint(h uint32) uint64 {
	f := uint64(h >> 25)
	if f == 0 {
		f = 1
	}
	return 0x80 | f
}

// zeroSlots returns the high bit of each slot byte of x that is zero.
func zeroSlots(x uint64) uint64 {
	// (b&0x7f)+0x7f sets a byte's high bit when its low seven bits are not all zero, without
	// a carry into the next byte; or-ing b adds its own high bit.
	return ^((x&slotsBody + slotsBody) | x) & slotsHigh
}

// matchSlots returns the high bit of each slot byte of meta equal to state.
func matchSlots(meta, state uint64) uint64 { return zeroSlots(meta ^ state*slotsLow) }

// freeSlots returns the high bit of each slot byte of meta that is empty or deleted.
func freeSlots(meta uint64) uint64 { return ^(meta&slotsBody + slotsBody) & slotsHigh }

// slotOf returns the index of the slot whose high bit is the lowest one set in m.
func slotOf(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

func newTable[V any](n int, keys int) *table[V] {
	t := &table[V]{buckets: make([]bucket[V], n), mask: n - 1}
	t.budget.Store(int64(capacity(n) - keys))
	return t
}

// NewHash returns an empty hash index sized for about presize keys.
func NewHash[V any](presize int) *Hash[V] {
	m := &Hash[V]{seed: maphash.MakeSeed(), minBuckets: bucketsFor(presize)}
	m.table.Store(newTable[V](m.minBuckets, 0))
	return m
}

// NewCell returns a new cell holding a copy of key, with no value, for Compute to insert.
func (m *Hash[V]) NewCell(key string) *Cell[V] {
	return newCell[V](key, maphash.String(m.seed, key))
}

// Cell returns the cell of key, or nil if key has none. It takes no lock.
func (m *Hash[V]) Cell(key string) *Cell[V] {
	// Loading the table pointer makes every slot the resize that published it wrote visible.
	return m.table.Load().find(key, uint32(maphash.String(m.seed, key)))
}

// Load returns the current value of key, or nil if key has no cell. It takes no lock.
func (m *Hash[V]) Load(key string) *V {
	// As in Cell; the cell's value is then loaded atomically, whole (Cell.Load).
	if c := m.table.Load().find(key, uint32(maphash.String(m.seed, key))); c != nil {
		return c.Load()
	}
	return nil
}

// find returns the cell of key, whose hash is h, or nil. It takes no lock. Every load below
// is an atomic load, so it observes a writer's stores in the order the writer made them.
func (t *table[V]) find(key string, h uint32) *Cell[V] {
	fp := fingerprint(h)
	for i := int(h) & t.mask; ; i = (i + 1) & t.mask {
		b := &t.buckets[i]
		// The state word first: a pointer stored after the state that announces it can be
		// missed only by a reader that also read the state too early to look for it.
		meta := b.meta.Load()
		for m := matchSlots(meta, fp); m != 0; m &= m - 1 {
			// A slot just claimed still holds nil; one vacated and reused holds another key;
			// either way the hash or key comparison rejects it. The cell's hash and key were
			// written before the atomic store that published it, so they are seen whole.
			c := b.slots[slotOf(m)].Load()
			if c != nil && c.hash == h && c.Key() == key {
				return c
			}
		}
		// A key lives before the first bucket that had an empty slot when it was inserted,
		// and slots never become empty again in this table: past a bucket with an empty
		// slot there is nothing more to find.
		if zeroSlots(meta) != 0 {
			return nil
		}
	}
}

// Compute runs fn inside key's critical section: no other Compute of key runs meanwhile. fn
// gets key's cell (nil if it has none) and returns the cell key must have afterwards: c itself
// to keep it (fn may have stored a new value in it), nil to remove it, or a cell made by NewCell
// for key to insert (or to replace c). fn must not call Compute.
func (m *Hash[V]) Compute(key string, fn func(c *Cell[V]) *Cell[V]) {
	h := maphash.String(m.seed, key)
	h32 := uint32(h)
	fp := fingerprint(h32)
	st := &m.stripes[(h>>32)&(numStripes-1)]
	var (
		t    *table[V]
		c    *Cell[V]
		at   *bucket[V] // c's bucket, if c != nil
		slot int        // c's slot in at
		free int        // the first bucket on the walk with a free slot, if c == nil
	)
	for {
		st.mu.Lock()
		// No resize runs while a stripe is locked, so t is the current table until Unlock.
		t = m.table.Load()
		c, at, free = nil, nil, -1
	walk:
		for i := int(h32) & t.mask; ; i = (i + 1) & t.mask {
			b := &t.buckets[i]
			meta := b.meta.Load()
			for ms := matchSlots(meta, fp); ms != 0; ms &= ms - 1 {
				s := slotOf(ms)
				// Only this stripe's holder changes the slot of key, so what is found here
				// stays until Unlock; other keys' slots may change, which the comparison
				// tolerates as in find.
				if x := b.slots[s].Load(); x != nil && x.hash == h32 && x.Key() == key {
					c, at, slot = x, b, s
					break walk
				}
			}
			if free < 0 && freeSlots(meta) != 0 {
				free = i
			}
			if zeroSlots(meta) != 0 {
				break
			}
		}
		// Before fn runs, make sure an insertion would have an empty slot to take: take a
		// share of the table's budget, or rebuild the table when it has none left. fn has
		// not run yet, so it runs once whichever way this goes.
		if c != nil || st.allow > 0 {
			break
		}
		if n := t.take(); n > 0 {
			st.allow += n
			break
		}
		st.mu.Unlock() // resize takes every stripe's lock, this one included
		m.resize(t)
	}
	defer st.mu.Unlock()

	n := fn(c)
	switch {
	case n == c:
		// keep c (or stay absent)
	case n == nil:
		// Remove: clear the pointer before the state says deleted. Once it does, another
		// writer may claim the slot and store its own pointer, which a late nil must not
		// overwrite.
		at.slots[slot].Store(nil)
		// One atomic and turns 0x80|fingerprint into 0x80, leaving the other slots' bytes
		// as concurrent writers set them.
		at.meta.And(^(uint64(0x7f) << (8 * slot)))
		st.live.Add(-1)
	default:
		if n.hash != h32 || n.Key() != key {
			panic("index: Compute: fn returned a cell of another key")
		}
		if c != nil {
			// Replace in place: a reader loads the old cell or the new one, both key's.
			at.slots[slot].Store(n)
			return
		}
		t.insert(free, fp, n, st)
		st.live.Add(1)
	}
}

// insert stores c, whose slot state is fp, in the first free slot from bucket i on, claiming
// an empty slot only from st's allowance. The caller holds st's lock, has walked from c's
// home bucket to i finding no free slot before i, and has reserved at least one empty slot.
func (t *table[V]) insert(i int, fp uint64, c *Cell[V], st *stripe) {
	for ; ; i = (i + 1) & t.mask {
		b := &t.buckets[i]
		for {
			meta := b.meta.Load()
			free := freeSlots(meta)
			if free == 0 {
				break // claimed meanwhile by writers of other keys; move on
			}
			// Prefer a deleted slot: it costs no budget.
			if d := free &^ zeroSlots(meta); d != 0 {
				free = d
			}
			s := slotOf(free)
			shift := 8 * s
			// Claim the slot with a compare-and-swap of the whole state word: a writer of
			// another key may claim the same slot at the same time, and only one succeeds;
			// the other reloads and looks again. The state goes first so that the slot is
			// ours before its pointer is written; a reader in between sees the fingerprint
			// with a nil pointer and moves on.
			if b.meta.CompareAndSwap(meta, meta&^(0xff<<shift)|fp<<shift) {
				if meta>>shift&0xff == slotEmpty {
					st.allow--
				}
				// Publishes the cell, and its key and hash written before, to every
				// reader that loads this pointer.
				b.slots[s].Store(c)
				return
			}
		}
	}
}

// take moves a share of t's budget of empty slots to a stripe and returns it, or returns 0
// if the budget is spent. The share is 1/2048th of what is left (at least one), so that the
// budget's cache line is written rarely while shares still left unused by other stripes stay
// small.
func (t *table[V]) take() int64 {
	for {
		left := t.budget.Load()
		if left <= 0 {
			return 0
		}
		n := max(left/(2*numStripes), 1)
		if t.budget.CompareAndSwap(left, left-n) {
			return n
		}
	}
}

// resize rebuilds the index if its table is still old: at the size that leaves room for at
// least as many insertions as there are keys (twice as large when the table filled with
// keys, the same size, or smaller, when it filled mostly with deleted slots), never smaller
// than the size NewHash chose. The caller holds no stripe lock.
func (m *Hash[V]) resize(old *table[V]) {
	for i := range m.stripes {
		m.stripes[i].mu.Lock()
	}
	defer func() {
		for i := range m.stripes {
			m.stripes[i].mu.Unlock()
		}
	}()
	if m.table.Load() != old {
		return // another writer rebuilt it first
	}
	live := 0
	for i := range m.stripes {
		live += int(m.stripes[i].live.Load())
		m.stripes[i].allow = 0 // shares of the old table's budget end with it
	}
	n := max(bucketsFor(2*live), m.minBuckets)
	t := newTable[V](n, live)
	moved := 0
	for i := range old.buckets {
		b := &old.buckets[i]
		for s := range b.slots {
			if c := b.slots[s].Load(); c != nil {
				t.place(c)
				moved++
			}
		}
	}
	if moved != live {
		panic("index: Hash: key count out of step with the table")
	}
	// Publishes the whole new table: a reader that loads this pointer sees every slot
	// written above. Writers load it under their stripe lock, after the unlocks below.
	m.table.Store(t)
}

// place puts c into a table no one else sees yet, in the first bucket from its home with an
// empty slot, using the hash kept in the cell.
func (t *table[V]) place(c *Cell[V]) {
	fp := fingerprint(c.hash)
	for i := int(c.hash) & t.mask; ; i = (i + 1) & t.mask {
		b := &t.buckets[i]
		meta := b.meta.Load()
		if e := zeroSlots(meta); e != 0 {
			s := slotOf(e)
			b.meta.Store(meta | fp<<(8*s))
			b.slots[s].Store(c)
			return
		}
	}
}

// Len returns the number of keys with a cell. While writers run it may be off by the changes
// that run at the same time.
func (m *Hash[V]) Len() int {
	n := int64(0)
	for i := range m.stripes {
		n += m.stripes[i].live.Load()
	}
	return int(n)
}

// Range calls fn for the cells of the index, in no particular order, until fn returns false.
// It takes no lock, and fn may call the index's methods, Compute included. Every cell that is
// in the index for the whole call is visited exactly once; a cell inserted, replaced or
// removed meanwhile may be visited or not.
func (m *Hash[V]) Range(fn func(c *Cell[V]) bool) {
	// One table throughout: a cell never moves within a table, and a table a resize has
	// replaced changes no more, so no cell present throughout is missed or seen twice.
	t := m.table.Load()
	for i := range t.buckets {
		b := &t.buckets[i]
		for s := range b.slots {
			if c := b.slots[s].Load(); c != nil && !fn(c) {
				return
			}
		}
	}
}
