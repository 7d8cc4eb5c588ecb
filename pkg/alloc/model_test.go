package alloc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// model is a deliberately simple allocator to compare Allocator against: one bool per unit,
// every question answered by a linear scan.
type model struct {
	free []bool // free[u] reports whether unit u is free; len(free) is the end
}

func (m *model) end() uint64 { return uint64(len(m.free)) }

// runs returns the maximal runs of free units in offset order.
func (m *model) runs() []Extent {
	var out []Extent
	for u := 0; u < len(m.free); {
		if !m.free[u] {
			u++
			continue
		}
		start := u
		for u < len(m.free) && m.free[u] {
			u++
		}
		out = append(out, Extent{Off: uint64(start), Len: uint64(u - start)})
	}
	return out
}

func (m *model) inRange(e Extent) bool {
	return e.Len != 0 && e.Off <= m.end() && e.Len <= m.end()-e.Off
}

func (m *model) set(e Extent, free bool) {
	for u := e.Off; u < e.End(); u++ {
		m.free[u] = free
	}
}

// count returns how many units of e are free; e must be in range.
func (m *model) count(e Extent) uint64 {
	var c uint64
	for u := e.Off; u < e.End(); u++ {
		if m.free[u] {
			c++
		}
	}
	return c
}

func (m *model) bestFit(n uint64) (Extent, bool) {
	var best Extent
	found := false
	for _, r := range m.runs() {
		if r.Len >= n && (!found || r.Len < best.Len) {
			best, found = r, true
		}
	}
	return best, found
}

func (m *model) alloc(n uint64) (Extent, error) {
	if n == 0 {
		return Extent{}, ErrInvalid
	}
	r, ok := m.bestFit(n)
	if !ok {
		return Extent{}, ErrNoSpace
	}
	e := Extent{Off: r.Off, Len: n}
	m.set(e, false)
	return e, nil
}

func (m *model) allocRun(sizes []uint64) ([]Extent, error) {
	var sum uint64
	for _, n := range sizes {
		if n == 0 || sum+n < sum {
			return nil, ErrInvalid
		}
		sum += n
	}
	if len(sizes) == 0 {
		return nil, nil
	}
	out := make([]Extent, len(sizes))
	if r, ok := m.bestFit(sum); ok {
		off := r.Off
		for i, n := range sizes {
			out[i] = Extent{Off: off, Len: n}
			off += n
		}
		m.set(Extent{Off: r.Off, Len: sum}, false)
		return out, nil
	}
	order := make([]int, len(sizes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return sizes[order[x]] > sizes[order[y]] })
	for j, i := range order {
		e, err := m.alloc(sizes[i])
		if err != nil {
			for _, k := range order[:j] {
				m.set(out[k], true)
			}
			return nil, ErrNoSpace
		}
		out[i] = e
	}
	return out, nil
}

func (m *model) release(e Extent) error {
	if !m.inRange(e) {
		return ErrInvalid
	}
	if m.count(e) != 0 {
		return ErrOverlap
	}
	m.set(e, true)
	return nil
}

func (m *model) reserve(e Extent) error {
	if !m.inRange(e) {
		return ErrInvalid
	}
	if m.count(e) != e.Len {
		return ErrNotFree
	}
	m.set(e, false)
	return nil
}

func (m *model) grow(newEnd uint64) error {
	if newEnd < m.end() {
		return ErrInvalid
	}
	for m.end() < newEnd {
		m.free = append(m.free, true)
	}
	return nil
}

// checkInvariants returns an error describing the first broken internal invariant of a: the
// trees hold the same extents, extents are non-empty, sorted, within End and never touch
// (coalescing is complete), and the cached statistics agree with the trees.
func checkInvariants(a *Allocator) error {
	var (
		n, largest uint64
		count      int
		prev       Extent
		err        error
	)
	a.Walk(func(e Extent) bool {
		switch {
		case e.Len == 0:
			err = fmt.Errorf("empty free extent %v", e)
		case e.Off > a.end || e.Len > a.end-e.Off:
			err = fmt.Errorf("free extent %v beyond end %d", e, a.end)
		case count > 0 && prev.End() >= e.Off:
			err = fmt.Errorf("free extents %v and %v touch or overlap", prev, e)
		case !a.bySize.Has(e):
			err = fmt.Errorf("free extent %v missing from bySize", e)
		}
		n += e.Len
		largest = max(largest, e.Len)
		count++
		prev = e
		return err == nil
	})
	switch {
	case err != nil:
		return err
	case a.bySize.Len() != count:
		return fmt.Errorf("bySize holds %d extents, byOff %d", a.bySize.Len(), count)
	case a.Extents() != count:
		return fmt.Errorf("Extents() = %d, walked %d", a.Extents(), count)
	case a.FreeUnits() != n:
		return fmt.Errorf("FreeUnits() = %d, extents sum to %d", a.FreeUnits(), n)
	case a.Largest() != largest:
		return fmt.Errorf("Largest() = %d, largest extent %d", a.Largest(), largest)
	}
	var frag float64
	if n > 0 {
		frag = float64(n-largest) / float64(n)
	}
	if got := a.Fragmentation(); got != frag {
		return fmt.Errorf("Fragmentation() = %v, want %v", got, frag)
	}
	return nil
}

// checker applies every operation to an Allocator and a model and fails on any difference in
// results or in the resulting free space.
type checker struct {
	tb   testing.TB
	a    *Allocator
	m    *model
	live []Extent // extents allocated or reserved and not yet freed, to pick frees from
	step int
	last string // the last operation, for failure messages
}

func newChecker(tb testing.TB) *checker {
	return &checker{tb: tb, a: New(), m: &model{}}
}

func (c *checker) fatalf(format string, args ...any) {
	c.tb.Helper()
	c.tb.Fatalf("step %d (%s): %s", c.step, c.last, fmt.Sprintf(format, args...))
}

func (c *checker) sameErr(got, want error) {
	c.tb.Helper()
	if (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
		c.fatalf("error %v, model %v", got, want)
	}
}

// verify compares the whole free space with the model and checks the invariants.
func (c *checker) verify() {
	c.tb.Helper()
	if err := checkInvariants(c.a); err != nil {
		c.fatalf("%v", err)
	}
	if c.a.End() != c.m.end() {
		c.fatalf("End() = %d, model %d", c.a.End(), c.m.end())
	}
	var got []Extent
	c.a.Walk(func(e Extent) bool { got = append(got, e); return true })
	if want := c.m.runs(); !slices.Equal(got, want) {
		c.fatalf("free extents %v, model %v", got, want)
	}
}

// wasFree fails unless every unit of every extent is free in the model (before it is applied).
func (c *checker) wasFree(es ...Extent) {
	c.tb.Helper()
	for _, e := range es {
		if !c.m.inRange(e) || c.m.count(e) != e.Len {
			c.fatalf("allocated %v which is not free in the model", e)
		}
	}
}

func (c *checker) alloc(n uint64) {
	c.tb.Helper()
	c.step++
	c.last = fmt.Sprintf("Alloc(%d)", n)
	got, err := c.a.Alloc(n)
	if err == nil {
		c.wasFree(got)
	}
	want, werr := c.m.alloc(n)
	c.sameErr(err, werr)
	if err == nil {
		if got != want {
			c.fatalf("allocated %v, model's best fit %v", got, want)
		}
		c.live = append(c.live, got)
	}
	c.verify()
}

func (c *checker) allocRun(sizes []uint64) {
	c.tb.Helper()
	c.step++
	c.last = fmt.Sprintf("AllocRun(%v)", sizes)
	prefix := Extent{Off: 7, Len: 7} // a caller's earlier element that must survive
	dst := make([]Extent, 1, 1+c.step%3)
	dst[0] = prefix
	got, err := c.a.AllocRun(sizes, dst)
	if len(got) == 0 || got[0] != prefix {
		c.fatalf("returned slice %v lost the prefix %v", got, prefix)
	}
	got = got[1:]
	if err == nil {
		c.wasFree(got...)
	}
	want, werr := c.m.allocRun(sizes)
	c.sameErr(err, werr)
	if err != nil && len(got) != 0 {
		c.fatalf("failed AllocRun returned extents %v", got)
	}
	if err == nil {
		if !slices.Equal(got, want) {
			c.fatalf("allocated %v, model %v", got, want)
		}
		c.live = append(c.live, got...)
	}
	c.verify()
}

func (c *checker) free(e Extent) {
	c.tb.Helper()
	c.step++
	c.last = fmt.Sprintf("Free(%v)", e)
	c.sameErr(c.a.Free(e), c.m.release(e))
	c.verify()
}

func (c *checker) reserve(e Extent) {
	c.tb.Helper()
	c.step++
	c.last = fmt.Sprintf("Reserve(%v)", e)
	err := c.a.Reserve(e)
	c.sameErr(err, c.m.reserve(e))
	if err == nil {
		c.live = append(c.live, e)
	}
	c.verify()
}

func (c *checker) grow(newEnd uint64) {
	c.tb.Helper()
	c.step++
	c.last = fmt.Sprintf("Grow(%d)", newEnd)
	c.sameErr(c.a.Grow(newEnd), c.m.grow(newEnd))
	c.verify()
}

// takeLive removes and returns live extent i (modulo the count), or false if none is live.
func (c *checker) takeLive(i int) (Extent, bool) {
	if len(c.live) == 0 {
		return Extent{}, false
	}
	i %= len(c.live)
	e := c.live[i]
	c.live[i] = c.live[len(c.live)-1]
	c.live = c.live[:len(c.live)-1]
	return e, true
}

// TestAllocator_Model runs long random operation sequences against the bitmap model and checks,
// after every step, the results, best-fit choices, free totals and complete coalescing.
func TestAllocator_Model(t *testing.T) {
	const (
		seeds   = 6
		steps   = 4000
		maxEnd  = 2048
		maxSize = 48
	)
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			c := newChecker(t)
			c.grow(uint64(rng.IntN(256)))
			size := func() uint64 { return 1 + rng.Uint64N(maxSize) }
			for c.step < steps {
				switch p := rng.IntN(100); {
				case p < 28:
					c.alloc(size())
				case p < 42:
					sizes := make([]uint64, 1+rng.IntN(6))
					for i := range sizes {
						sizes[i] = 1 + rng.Uint64N(maxSize/3)
					}
					c.allocRun(sizes)
				case p < 72:
					e, ok := c.takeLive(rng.IntN(1 << 20))
					if !ok {
						continue
					}
					if rng.IntN(4) == 0 && e.Len > 1 {
						// Free only a part of it; the rest stays allocated for good.
						cut := 1 + rng.Uint64N(e.Len-1)
						if rng.IntN(2) == 0 {
							e = Extent{Off: e.Off, Len: cut}
						} else {
							e = Extent{Off: e.Off + cut, Len: e.Len - cut}
						}
					}
					c.free(e)
				case p < 77:
					// An arbitrary range: usually overlaps free space or is a double free.
					c.free(Extent{Off: rng.Uint64N(c.m.end() + 8), Len: rng.Uint64N(maxSize)})
				case p < 84:
					// A range inside a free extent, as recovery does for live records.
					runs := c.m.runs()
					if len(runs) == 0 {
						continue
					}
					r := runs[rng.IntN(len(runs))]
					off := r.Off + rng.Uint64N(r.Len)
					c.reserve(Extent{Off: off, Len: 1 + rng.Uint64N(r.End()-off)})
				case p < 87:
					c.reserve(Extent{Off: rng.Uint64N(c.m.end() + 8), Len: rng.Uint64N(maxSize)})
				case p < 90:
					// Requests sized by the current free space: exact fits of the largest extent,
					// and batches that need every free unit.
					if c.a.FreeUnits() == 0 {
						continue
					}
					if rng.IntN(2) == 0 {
						c.alloc(c.a.Largest())
						continue
					}
					left := c.a.FreeUnits()
					var sizes []uint64
					for left > 0 && len(sizes) < 8 {
						n := min(left, 1+rng.Uint64N(maxSize))
						sizes = append(sizes, n)
						left -= n
					}
					sizes[len(sizes)-1] += left
					c.allocRun(sizes)
				case p < 94:
					if c.m.end() < maxEnd {
						c.grow(c.m.end() + rng.Uint64N(128))
					} else {
						c.grow(c.m.end() - rng.Uint64N(2)) // same end, or a shrink
					}
				default:
					// Requests that must be rejected whatever the state.
					switch rng.IntN(4) {
					case 0:
						c.alloc(0)
					case 1:
						c.allocRun([]uint64{1, 0, 2})
					case 2:
						c.free(Extent{Off: 1, Len: 1<<64 - 1})
					default:
						c.reserve(Extent{Off: c.m.end(), Len: 1})
					}
				}
			}
		})
	}
}

// FuzzAllocator decodes the input into an operation sequence and runs it against the bitmap
// model, checking results and complete coalescing after every step.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{5, 200, 0, 10, 0, 20, 2, 0, 2, 1})                          // grow, allocs, frees
	f.Add([]byte{5, 100, 1, 4, 3, 5, 7, 9, 1, 3, 1, 2, 3, 2, 0, 2, 1, 2, 2}) // runs, then frees
	f.Add([]byte{5, 60, 4, 10, 0, 5, 4, 30, 0, 5, 0, 7, 1, 3, 9, 9, 9})      // reserve holes, fallback run
	f.Add([]byte{5, 64, 3, 8, 0, 4, 0, 0, 5, 255, 5, 0, 0, 1})               // double free, shrink, Alloc(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxEnd = 4096
		c := newChecker(t)
		next := func() uint64 {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return uint64(b)
		}
		for len(data) > 0 {
			switch next() % 6 {
			case 0:
				c.alloc(next() % 64)
			case 1:
				sizes := make([]uint64, next()%8)
				for i := range sizes {
					sizes[i] = next() % 24 // 0 exercises ErrInvalid
				}
				c.allocRun(sizes)
			case 2:
				if e, ok := c.takeLive(int(next())); ok {
					c.free(e)
				}
			case 3:
				off := (next()<<8 | next()) % (c.m.end() + 4)
				c.free(Extent{Off: off, Len: next() % 64})
			case 4:
				off := (next()<<8 | next()) % (c.m.end() + 4)
				c.reserve(Extent{Off: off, Len: next() % 64})
			case 5:
				switch d := next(); {
				case d == 255:
					c.grow(c.m.end() / 2)
				case c.m.end()+d <= maxEnd:
					c.grow(c.m.end() + d)
				}
			}
		}
	})
}
