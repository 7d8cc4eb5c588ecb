package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
)

// benchKeys is the number of keys of the benchmarks' indexes, 1M (2^20, so a mask picks one).
const benchKeys = 1 << 20

// hashFixture is one index of benchKeys 16-byte keys of each kind, built once and shared by
// the benchmarks, with its keys in an order of lookup unrelated to the order of insertion
// (which is that of the cells in memory), as many keys that are not in them, and spare keys
// to insert and remove.
type hashFixture struct {
	keys, misses, spares []string
	ours                 *Hash[int64]
	xs                   *xsync.Map[string, *Cell[int64]]
}

// benchKey returns a 16-byte key drawn from rng.
func benchKey(rng *rand.Rand) string { return fmt.Sprintf("%016x", rng.Uint64()) }

var hashBench = sync.OnceValue(func() *hashFixture {
	rng := rand.New(rand.NewPCG(1, 2))
	f := &hashFixture{ours: NewHash[int64](0), xs: xsync.NewMap[string, *Cell[int64]]()}
	seen := map[string]bool{}
	fresh := func(n int) []string {
		keys := make([]string, 0, n)
		for len(keys) < n {
			if k := benchKey(rng); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		return keys
	}
	f.keys, f.misses, f.spares = fresh(benchKeys), fresh(benchKeys), fresh(1<<16)
	v := int64(1)
	for _, k := range f.keys {
		f.ours.Compute(k, func(*Cell[int64]) *Cell[int64] { c := f.ours.NewCell(k); c.Store(&v); return c })
		c := f.ours.NewCell(k)
		c.Store(&v)
		f.xs.Store(c.Key(), c)
	}
	rng.Shuffle(len(f.keys), func(i, j int) { f.keys[i], f.keys[j] = f.keys[j], f.keys[i] })
	return f
})

// impls names the indexes compared, ours first; each benchmark runs them one after the other
// for every case, so that a noisy machine disturbs both alike.
var impls = []string{"ours", "xsync"}

// BenchmarkHash_Load measures a lookup of a key's value, of keys present (hit=true) or not,
// from one goroutine or from GOMAXPROCS of them (par=true).
func BenchmarkHash_Load(b *testing.B) {
	f := hashBench()
	for _, hit := range []bool{true, false} {
		keys := f.keys
		if !hit {
			keys = f.misses
		}
		for _, par := range []bool{false, true} {
			for _, impl := range impls {
				load := func(k string) *int64 { return f.ours.Load(k) }
				if impl == "xsync" {
					load = func(k string) *int64 {
						if c, _ := f.xs.Load(k); c != nil {
							return c.Load()
						}
						return nil
					}
				}
				b.Run(fmt.Sprintf("keys=1M/hit=%v/par=%v/impl=%s", hit, par, impl), func(b *testing.B) {
					loop(b, par, func(i int) {
						if (load(keys[i&(benchKeys-1)]) != nil) != hit {
							panic("wrong result")
						}
					})
				})
			}
		}
	}
}

// BenchmarkHash_ComputeUpdate measures Compute storing a new value in an existing key's cell.
func BenchmarkHash_ComputeUpdate(b *testing.B) {
	f := hashBench()
	vals := make([]int64, 1024)
	for _, par := range []bool{false, true} {
		for _, impl := range impls {
			update := func(k string, v *int64) {
				f.ours.Compute(k, func(c *Cell[int64]) *Cell[int64] { c.Store(v); return c })
			}
			if impl == "xsync" {
				update = func(k string, v *int64) {
					f.xs.Compute(k, func(c *Cell[int64], _ bool) (*Cell[int64], xsync.ComputeOp) {
						c.Store(v)
						return c, xsync.CancelOp
					})
				}
			}
			b.Run(fmt.Sprintf("keys=1M/par=%v/impl=%s", par, impl), func(b *testing.B) {
				loop(b, par, func(i int) { update(f.keys[i&(benchKeys-1)], &vals[i&1023]) })
			})
		}
	}
}

// loop runs op(i) for i = 0, 1, ... b.N times, from one goroutine, or (par) from GOMAXPROCS
// goroutines, each starting at its own eighth of the keys.
func loop(b *testing.B, par bool, op func(i int)) {
	b.ReportAllocs()
	if !par {
		i := 0
		for b.Loop() {
			op(i)
			i++
		}
		return
	}
	var start atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(benchKeys / 8))
		for pb.Next() {
			op(i)
			i++
		}
	})
}

// BenchmarkHash_ComputeChurn measures Compute inserting and removing keys: each operation
// inserts a key of a set of 64K spare keys if absent and removes it if present, so the
// index holds 1M keys plus some of the spares, and ours keeps reusing and rebuilding away
// deleted slots. An insertion allocates the key's cell.
func BenchmarkHash_ComputeChurn(b *testing.B) {
	f := hashBench()
	for _, impl := range impls {
		toggle := func(k string) {
			f.ours.Compute(k, func(c *Cell[int64]) *Cell[int64] {
				if c == nil {
					return f.ours.NewCell(k)
				}
				return nil
			})
		}
		if impl == "xsync" {
			toggle = func(k string) {
				f.xs.Compute(k, func(c *Cell[int64], loaded bool) (*Cell[int64], xsync.ComputeOp) {
					if !loaded {
						return f.ours.NewCell(k), xsync.UpdateOp
					}
					return nil, xsync.DeleteOp
				})
			}
		}
		b.Run(fmt.Sprintf("keys=1M/impl=%s", impl), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				toggle(f.spares[i&(len(f.spares)-1)])
				i++
			}
		})
	}
}

// liveHeap returns the bytes of live heap objects after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}

// indexBytes returns the heap bytes per key that an index of n keys of 16 bytes takes, ours
// or xsync's, beside the cells, which both hold; and the bytes per key of the cells.
func indexBytes(impl string, n int) (index, cells float64) {
	rng := rand.New(rand.NewPCG(3, 4))
	maker := NewHash[int64](0)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(rng)
	}
	all := make([]*Cell[int64], n)
	before := liveHeap()
	for i, k := range keys {
		all[i] = maker.NewCell(k)
	}
	withCells := liveHeap()
	var m any
	if impl == "ours" {
		h := NewHash[int64](0)
		h.seed = maker.seed // the cells' hashes are under maker's seed
		for _, c := range all {
			h.Compute(c.Key(), func(*Cell[int64]) *Cell[int64] { return c })
		}
		m = h
	} else {
		x := xsync.NewMap[string, *Cell[int64]]()
		for _, c := range all {
			x.Store(c.Key(), c) // the key's bytes are the cell's, as a store would keep them
		}
		m = x
	}
	after := liveHeap()
	runtime.KeepAlive(m)
	runtime.KeepAlive(all)
	runtime.KeepAlive(keys) // or the collections above would free them in the middle
	return float64(after-withCells) / float64(n), float64(withCells-before) / float64(n)
}

// BenchmarkHash_Memory measures the heap an index of 1M keys takes (B/key, beside the cells)
// and its cells (cell-B/key); ns/op is the time to build it, key by key, from empty.
func BenchmarkHash_Memory(b *testing.B) {
	for _, impl := range impls {
		b.Run("keys=1M/impl="+impl, func(b *testing.B) {
			var index, cells float64
			for b.Loop() {
				index, cells = indexBytes(impl, benchKeys)
			}
			b.ReportMetric(index, "B/key")
			b.ReportMetric(cells, "cell-B/key")
		})
	}
}

// TestHash_Memory ensures that an index of 1M keys takes at most 20 bytes per key beside its
// cells.
func TestHash_Memory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an index of 1M keys")
	}
	index, cells := indexBytes("ours", benchKeys)
	t.Logf("%.1f B/key in the index, %.1f B/key in cells", index, cells)
	if index > 20 {
		t.Errorf("%.1f B/key in the index, want at most 20", index)
	}
}
