package workload

import (
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// Op is one operation drawn from a workload.
type Op struct {
	// Kind is what to do.
	Kind Kind
	// Index is the index of the key (see gen.Keys); for a scan, of its first key.
	Index uint64
	// ScanLen is the number of keys a scan reads.
	ScanLen int
}

// slot is one goroutine's in-flight insert marker, alone on its cache line so that
// goroutines do not slow each other down.
type slot struct {
	v atomic.Uint64
	_ [56]byte
}

// none marks a slot without an insert in flight.
const none = math.MaxUint64

// Shared is the key space of one store as the generators of every goroutine see it: the
// keys with index in [lo, hi) exist. Inserts take the next index, deletes take the oldest.
// A Shared lives as long as the store's data and is safe for concurrent use.
type Shared struct {
	// base is the number of keys loaded before the workloads run.
	base uint64
	// limit is one past the last index an insert may take.
	limit uint64
	// next is the index the next insert takes.
	next atomic.Uint64
	// lo is the index the next delete takes; keys below it have been deleted.
	lo atomic.Uint64
	// inflight[w] is, while goroutine w may be inserting, a lower bound of the index it
	// inserts; none otherwise. Readers never choose an index at or past it, so they do
	// not look for a key whose insert has not returned yet (as YCSB's acknowledged counter).
	inflight []slot
}

// NewShared returns the key space of a store that holds the keys [0, base) (or will once
// the load has run), with room for indexes below limit, for the given number of goroutines.
func NewShared(base, limit uint64, goroutines int) *Shared {
	s := &Shared{base: base, limit: max(limit, base), inflight: make([]slot, goroutines)}
	for i := range s.inflight {
		s.inflight[i].v.Store(none)
	}
	s.next.Store(base)
	return s
}

// NewLoad returns the key space of a load phase: the inserts take the indexes [from, to)
// and then the load is done.
func NewLoad(from, to uint64, goroutines int) *Shared {
	s := NewShared(to, to, goroutines)
	s.next.Store(from)
	return s
}

// Bounds returns lo and hi: the keys [lo, hi) exist (but for deletes racing with the caller).
func (s *Shared) Bounds() (lo, hi uint64) {
	// Load next before the slots: an insert publishes its slot before it takes an index
	// (all sequentially consistent), so any index below next that is still in flight
	// shows in a slot read afterwards.
	hi = s.next.Load()
	for i := range s.inflight {
		hi = min(hi, s.inflight[i].v.Load())
	}
	return s.lo.Load(), hi
}

// Inserted returns the number of indexes inserts have taken (the next index to insert).
func (s *Shared) Inserted() uint64 { return s.next.Load() }

// Gen draws the operations of one goroutine from a workload. It is owned by that goroutine.
type Gen struct {
	spec *Spec
	sh   *Shared
	w    int
	r    *rand.Rand
	// cum[k] is the sum of the shares of kinds 0..k.
	cum     [NumKinds]float64
	chooser *gen.Chooser
	// static is true when the key space does not change (no inserts or deletes), so lo and
	// hi are computed once.
	static bool
	lo, hi uint64
	// bulk is true for a workload of inserts alone: indexes are taken in chunks, without the
	// in-flight markers nobody reads.
	bulk                bool
	chunkNext, chunkEnd uint64
	// insertPending is true between an Insert's Next and its Done.
	insertPending bool
}

// bulkChunk is how many indexes a bulk inserter takes at once.
const bulkChunk = 256

// NewGen returns the generator of goroutine w (in [0, goroutines) of NewShared) for spec,
// with its own random stream from seed, and theta as the zipfian constant.
func (s *Shared) NewGen(spec *Spec, w int, seed uint64, theta float64) *Gen {
	g := &Gen{
		spec:    spec,
		sh:      s,
		w:       w,
		r:       rand.New(rand.NewPCG(seed, uint64(w)+1)),
		chooser: gen.NewChooser(spec.Dist, s.base, theta),
		static:  spec.Mix[Insert] == 0 && spec.Mix[Delete] == 0,
		bulk:    spec.Mix[Insert] == 1,
	}
	var sum float64
	last := 0
	for k, share := range spec.Mix {
		sum += share
		g.cum[k] = sum
		if share > 0 {
			last = k
		}
	}
	// Every draw at or past the last kind's lower bound picks it, even if rounding left
	// the sum of the shares a little below 1.
	for k := last; k < int(NumKinds); k++ {
		g.cum[k] = math.Inf(1)
	}
	if g.static {
		g.lo, g.hi = s.Bounds()
	}
	return g
}

// Next returns the next operation, or false when the workload has run out of keys: the load
// inserted every key, the inserts reached the key space's limit, or the deletes removed every
// key. After an Insert the caller must call Done.
func (g *Gen) Next() (Op, bool) {
	x := g.r.Float64()
	kind := Kind(0)
	for kind < NumKinds-1 && x >= g.cum[kind] {
		kind++
	}
	switch kind {
	case Insert:
		return g.insert()
	case Delete:
		if op, ok, turned := g.delete(); !turned {
			return op, ok
		}
		kind = Update // churn keeps at least half the keys
	}
	lo, hi := g.lo, g.hi
	if !g.static {
		lo, hi = g.sh.Bounds()
	}
	if hi <= lo {
		return Op{}, false
	}
	op := Op{Kind: kind, Index: lo + g.chooser.Index(g.r, hi-lo)}
	if kind == Scan {
		op.ScanLen = g.spec.MaxScan
		if !g.spec.FixedScan {
			op.ScanLen = 1 + g.r.IntN(g.spec.MaxScan)
		}
	}
	return op, true
}

// insert takes the next index to insert.
func (g *Gen) insert() (Op, bool) {
	sh := g.sh
	if g.bulk {
		if g.chunkNext == g.chunkEnd {
			start := sh.next.Add(bulkChunk) - bulkChunk
			if start >= sh.limit {
				return Op{}, false
			}
			g.chunkNext, g.chunkEnd = start, min(start+bulkChunk, sh.limit)
		}
		g.chunkNext++
		return Op{Kind: Insert, Index: g.chunkNext - 1}, true
	}
	slot := &sh.inflight[g.w].v
	slot.Store(sh.next.Load()) // published before taking an index: see Bounds
	i := sh.next.Add(1) - 1
	if i >= sh.limit {
		slot.Store(none)
		return Op{}, false
	}
	g.insertPending = true
	return Op{Kind: Insert, Index: i}, true
}

// Done tells the generator that the operation it returned has completed.
func (g *Gen) Done(op Op) {
	if op.Kind == Insert && g.insertPending {
		g.insertPending = false
		g.sh.inflight[g.w].v.Store(none)
	}
}

// delete takes the oldest key to delete. turned reports that a churn workload turns the
// delete into an update to keep enough keys.
func (g *Gen) delete() (op Op, ok, turned bool) {
	sh := g.sh
	if g.spec.Churn {
		lo, hi := sh.Bounds()
		if hi-lo <= sh.base/2 || hi <= lo {
			return Op{}, false, true
		}
	}
	i := sh.lo.Add(1) - 1
	if _, hi := sh.Bounds(); i >= hi {
		if !g.spec.Churn {
			return Op{}, false, false // every key is gone
		}
		return Op{}, false, true
	}
	return Op{Kind: Delete, Index: i}, true, false
}
