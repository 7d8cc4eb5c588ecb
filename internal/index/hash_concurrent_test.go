package index

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestHash_Concurrent ensures that lookups stay right while writers insert, update, replace
// and remove overlapping keys and the table is rebuilt under them: a key never removed is
// found by every lookup with a value written for it, no lookup returns another key's cell or
// value, and the index ends as the writers' last changes of each key left it.
func TestHash_Concurrent(t *testing.T) {
	const (
		stable  = 200    // keys inserted first and never removed
		churn   = 30_000 // keys inserted and removed throughout, as the table grows
		writers = 4
		readers = 3
	)
	ops := 40_000
	if testing.Short() {
		ops = 10_000
	}
	keys := make([]string, stable+churn)
	for i := range keys {
		if i < stable {
			keys[i] = fmt.Sprint("s", i)
		} else {
			keys[i] = fmt.Sprint("c", i)
		}
	}
	m := NewHash[hval](0)
	// last holds what each key's most recent Compute left, written inside fn: the key's
	// critical section orders these plain writes (the race detector checks that it does).
	last := make([]*Cell[hval], len(keys))
	for i, k := range keys[:stable] {
		m.Compute(k, func(*Cell[hval]) *Cell[hval] {
			c := m.NewCell(k)
			c.Store(&hval{key: k})
			last[i] = c
			return c
		})
	}

	var failed atomic.Bool
	fail := func(format string, args ...any) {
		if !failed.Swap(true) {
			t.Errorf(format, args...)
		}
	}
	var done atomic.Bool
	var wg, rg sync.WaitGroup
	// Readers first, so that they run while the table grows from one bucket.
	var tables atomic.Int64
	for r := range readers {
		rg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			seen := map[*table[hval]]bool{}
			for !done.Load() && !failed.Load() {
				if tab := m.table.Load(); !seen[tab] {
					seen[tab] = true
					if n := int64(len(seen)); n > tables.Load() {
						tables.Store(n) // the most any reader saw; a race between readers here is harmless
					}
				}
				if rng.IntN(500) == 0 {
					visited := map[*Cell[hval]]bool{}
					stables := 0
					m.Range(func(c *Cell[hval]) bool {
						if visited[c] {
							fail("Range visited %q twice", c.Key())
						}
						visited[c] = true
						if c.Key()[0] == 's' {
							stables++
						}
						return true
					})
					if stables != stable {
						fail("Range visited %d keys never removed, want %d", stables, stable)
					}
					continue
				}
				i := rng.IntN(len(keys))
				k := keys[i]
				v, c := m.Load(k), m.Cell(k)
				switch {
				case i < stable && (v == nil || c == nil):
					fail("%q, never removed, not found: value %v, cell %p", k, v, c)
				case v != nil && v.key != k:
					fail("Load(%q) returned a value of %q", k, v.key)
				case c != nil && c.Key() != k:
					fail("Cell(%q) returned the cell of %q", k, c.Key())
				}
				if n := m.Len(); n < stable || n > len(keys) {
					fail("Len %d out of [%d, %d]", n, stable, len(keys))
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for n := range ops {
				if failed.Load() {
					return
				}
				i := rng.IntN(len(keys))
				k := keys[i]
				v := &hval{key: k, ver: w<<32 | n}
				op := rng.IntN(10)
				m.Compute(k, func(c *Cell[hval]) *Cell[hval] {
					if c != last[i] {
						fail("Compute(%q) got cell %p, the last change left %p", k, c, last[i])
					}
					switch {
					case c != nil && op < 4: // update in place
						c.Store(v)
					case op < 6 || c == nil && i >= stable: // replace or insert
						c = m.NewCell(k)
						c.Store(v)
					case i >= stable: // remove
						c = nil
					}
					last[i] = c
					return c
				})
			}
		})
	}
	wg.Wait()
	done.Store(true)
	rg.Wait()
	if failed.Load() {
		return
	}
	n := 0
	for i, k := range keys {
		if c := m.Cell(k); c != last[i] {
			t.Errorf("%q ends with cell %p, its last change left %p", k, c, last[i])
		}
		if last[i] != nil {
			n++
			if m.Load(k) != last[i].Load() {
				t.Errorf("%q ends with value %v, want %v", k, m.Load(k), last[i].Load())
			}
		}
	}
	if m.Len() != n {
		t.Errorf("Len %d, want %d", m.Len(), n)
	}
	if err := checkHash(m); err != nil {
		t.Error(err)
	}
	t.Logf("a reader saw %d tables; %d keys, %d buckets at the end", tables.Load(), n, len(m.table.Load().buckets))
	if tables.Load() < 3 {
		t.Errorf("a reader saw only %d tables; the test needs resizes under them", tables.Load())
	}
}

// counted is a value changed in place, without atomics, inside Compute.
type counted struct{ n int }

// TestHash_Compute_Exclusive ensures that Compute runs fn for one key at a time: counters
// changed without atomics inside fn, on a few keys, by many goroutines, while other keys come
// and go and the table is rebuilt, add up exactly (and the race detector stays quiet).
func TestHash_Compute_Exclusive(t *testing.T) {
	const goroutines, hot = 8, 4
	iters := 5_000
	if testing.Short() {
		iters = 1_000
	}
	m := NewHash[counted](0)
	var plain [hot]int // changed only inside fn of key i
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for n := range iters {
				i := rng.IntN(hot)
				m.Compute(fmt.Sprint("hot", i), func(c *Cell[counted]) *Cell[counted] {
					plain[i]++
					if c == nil {
						c = m.NewCell(fmt.Sprint("hot", i))
						c.Store(&counted{})
					}
					c.Load().n++
					return c
				})
				// Other keys, inserted and removed, keep the table growing and rebuilt.
				k := fmt.Sprint("other", g, "-", n%300)
				m.Compute(k, func(c *Cell[counted]) *Cell[counted] {
					if c == nil {
						return m.NewCell(k)
					}
					return nil
				})
			}
		})
	}
	wg.Wait()
	total, plainTotal := 0, 0
	for i := range hot {
		c := m.Cell(fmt.Sprint("hot", i))
		if c == nil || c.Load().n != plain[i] {
			t.Fatalf("hot%d: cell %p, counter differs from %d", i, c, plain[i])
		}
		total += c.Load().n
		plainTotal += plain[i]
	}
	if total != goroutines*iters || plainTotal != total {
		t.Errorf("counters add up to %d and %d, want %d", total, plainTotal, goroutines*iters)
	}
	if err := checkHash(m); err != nil {
		t.Error(err)
	}
}

// TestHash_Concurrent_SameBuckets ensures that writers of different keys racing for the slots
// of the same few buckets never lose or misplace each other's cells: each goroutine inserts
// and removes keys of its own in a table of four buckets, and at every step finds exactly what
// it left.
func TestHash_Concurrent_SameBuckets(t *testing.T) {
	const goroutines, own = 4, 4 // 16 keys at most in 28 slots: rebuilt only for deleted slots
	iters := 40_000
	if testing.Short() {
		iters = 5_000
	}
	m := NewHash[hval](capacity(4))
	var failed atomic.Bool
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			keys := make([]string, own)
			for i := range keys {
				keys[i] = fmt.Sprint(g, "-", i)
			}
			cells := make([]*Cell[hval], own)
			rng := rand.New(rand.NewPCG(uint64(g), 4))
			for range iters {
				if failed.Load() {
					return
				}
				i := rng.IntN(own)
				k := keys[i]
				m.Compute(k, func(c *Cell[hval]) *Cell[hval] {
					if c == nil {
						c = m.NewCell(k)
						c.Store(&hval{key: k})
						return c
					}
					return nil
				})
				if cells[i] == nil {
					cells[i] = m.Cell(k)
					if cells[i] == nil {
						failed.Store(true)
						t.Errorf("%q lost right after its insertion", k)
					}
				} else {
					cells[i] = nil
				}
				for j, c := range cells {
					if got := m.Cell(keys[j]); got != c {
						failed.Store(true)
						t.Errorf("Cell(%q) = %p, want %p", keys[j], got, c)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := checkHash(m); err != nil {
		t.Error(err)
	}
}
