package alloc

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/google/btree"
)

var (
	// ErrInvalid is returned for a zero length or size, an extent whose end overflows uint64 or
	// lies beyond End, a batch whose total overflows uint64, and an attempt to shrink the space.
	ErrInvalid = errors.New("alloc: invalid extent or size")

	// ErrOverlap is returned by Free when the extent overlaps space that is already free.
	ErrOverlap = errors.New("alloc: extent overlaps free space")

	// ErrNoSpace is returned by Alloc and AllocRun when the free space cannot hold the request.
	ErrNoSpace = errors.New("alloc: not enough free space")

	// ErrNotFree is returned by Reserve when part of the extent is not free.
	ErrNotFree = errors.New("alloc: extent is not entirely free")
)

// degree is the degree of both B-trees; 32 keeps a node (up to 63 16-byte extents) about a
// kilobyte wide and the trees shallow.
const degree = 32

// freeListSize is how many unused tree nodes the two trees keep for reuse between them.
const freeListSize = 64

// Extent is a contiguous range of units [Off, Off+Len).
type Extent struct {
	Off uint64 // first unit
	Len uint64 // number of units
}

// End returns the offset just past the extent, Off+Len. It wraps around if the sum overflows
// uint64; the allocator never hands out or accepts such an extent.
func (e Extent) End() uint64 { return e.Off + e.Len }

// String returns the extent as "[off,end)".
func (e Extent) String() string { return fmt.Sprintf("[%d,%d)", e.Off, e.Off+e.Len) }

func lessByOff(x, y Extent) bool { return x.Off < y.Off }

func lessBySize(x, y Extent) bool {
	if x.Len != y.Len {
		return x.Len < y.Len
	}
	return x.Off < y.Off
}

// Allocator tracks the free extents of the range [0, End()) and allocates from them by best fit.
// The zero value is not usable; call New.
//
// An Allocator is not safe for concurrent use: one goroutine owns it and makes every call.
type Allocator struct {
	byOff  *btree.BTreeG[Extent] // free extents by offset
	bySize *btree.BTreeG[Extent] // the same extents by (length, offset)
	free   uint64                // total free units
	end    uint64                // end of the managed range
}

// New returns an allocator that manages an empty range: End is 0 and nothing is free. Call Grow
// to add space.
func New() *Allocator {
	fl := btree.NewFreeListG[Extent](freeListSize)
	return &Allocator{
		byOff:  btree.NewWithFreeListG(degree, lessByOff, fl),
		bySize: btree.NewWithFreeListG(degree, lessBySize, fl),
	}
}

// NewUsed returns an allocator for the range [0, end) in which exactly the extents of used are
// allocated and everything else is free: the state recovery rebuilds from a scan. used must be
// in ascending offset order without overlaps; NewUsed returns ErrInvalid (wrapped) for an
// empty, out-of-range or overflowing extent and ErrOverlap (wrapped) for extents out of order
// or overlapping. It costs O(g log g) for g free gaps, however many extents are used.
func NewUsed(end uint64, used []Extent) (*Allocator, error) {
	a := New()
	a.end = end
	var at uint64 // everything below at is accounted for
	for _, u := range used {
		if !a.valid(u) {
			return nil, fmt.Errorf("used extent %v below end %d: %w", u, end, ErrInvalid)
		}
		if u.Off < at {
			return nil, fmt.Errorf("used extent %v starts below %d: %w", u, at, ErrOverlap)
		}
		a.addGap(Extent{Off: at, Len: u.Off - at})
		at = u.End()
	}
	a.addGap(Extent{Off: at, Len: end - at})
	return a, nil
}

// addGap adds a free extent that touches no other free extent; an empty one is ignored.
func (a *Allocator) addGap(g Extent) {
	if g.Len == 0 {
		return
	}
	a.byOff.ReplaceOrInsert(g)
	a.bySize.ReplaceOrInsert(g)
	a.free += g.Len
}

// End returns the end of the managed range: every offset the allocator hands out or accepts is
// below it.
func (a *Allocator) End() uint64 { return a.end }

// FreeUnits returns the total number of free units.
func (a *Allocator) FreeUnits() uint64 { return a.free }

// Extents returns the number of free extents. Free extents never touch, so this is also the
// number of maximal free runs.
func (a *Allocator) Extents() int { return a.byOff.Len() }

// Largest returns the length of the largest free extent, or 0 if nothing is free. An Alloc of at
// most Largest units succeeds.
func (a *Allocator) Largest() uint64 {
	e, _ := a.bySize.Max()
	return e.Len
}

// Fragmentation returns the share of free space outside the largest free extent,
// (FreeUnits − Largest) / FreeUnits, in [0, 1). It is 0 when nothing is free or the free space
// is one extent.
func (a *Allocator) Fragmentation() float64 {
	if a.free == 0 {
		return 0
	}
	return float64(a.free-a.Largest()) / float64(a.free)
}

// Walk calls fn for every free extent in ascending offset order until fn returns false. fn must
// not call methods of the allocator that change it.
func (a *Allocator) Walk(fn func(Extent) bool) {
	a.byOff.Ascend(fn)
}

// Alloc allocates n units from the smallest free extent that can hold them (the lowest such
// extent if several have the same length) and returns them, taken from the start of that
// extent. It returns ErrInvalid if n is 0 and ErrNoSpace if no free extent has n units.
func (a *Allocator) Alloc(n uint64) (Extent, error) {
	if n == 0 {
		return Extent{}, ErrInvalid
	}
	run, ok := a.bestFit(n)
	if !ok {
		return Extent{}, ErrNoSpace
	}
	e := Extent{Off: run.Off, Len: n}
	a.carve(run, e)
	return e, nil
}

// AllocRun allocates one extent for each of sizes and appends them to dst in the order of sizes,
// returning the extended slice.
//
// If one free extent can hold the sum of sizes, the batch is cut from the best fit for the sum
// (as Alloc would choose it) and the extents are consecutive: extent i+1 starts where extent i
// ends. Otherwise each size is allocated by best fit on its own, the largest sizes first (equal
// sizes in the order given), which packs better than the order given.
//
// AllocRun is all or nothing. It returns ErrInvalid if a size is 0 or the sum overflows uint64,
// and ErrNoSpace if the batch cannot be placed; in both cases the free space is unchanged and
// dst is returned with its original length, though the spare capacity beyond it may have been
// written. An empty sizes returns dst and no error. The caller may reuse sizes once AllocRun
// returns.
func (a *Allocator) AllocRun(sizes []uint64, dst []Extent) ([]Extent, error) {
	var sum uint64
	for _, n := range sizes {
		if n == 0 || n > math.MaxUint64-sum {
			return dst, ErrInvalid
		}
		sum += n
	}
	if len(sizes) == 0 {
		return dst, nil
	}
	if sum > a.free {
		return dst, ErrNoSpace
	}
	base := len(dst)
	dst = slices.Grow(dst, len(sizes))[:base+len(sizes)]
	out := dst[base:]

	if run, ok := a.bestFit(sum); ok {
		a.carve(run, Extent{Off: run.Off, Len: sum})
		off := run.Off
		for i, n := range sizes {
			out[i] = Extent{Off: off, Len: n}
			off += n
		}
		return dst, nil
	}

	// Fallback: place the sizes one by one, largest first. To do so without scratch memory,
	// out[j] first holds {Off: index into sizes, Len: size} while it is sorted into placement
	// order, then {Off: allocated offset, Len: index into sizes} while it is sorted back.
	for i, n := range sizes {
		out[i] = Extent{Off: uint64(i), Len: n}
	}
	slices.SortFunc(out, func(x, y Extent) int {
		if c := cmp.Compare(y.Len, x.Len); c != 0 {
			return c
		}
		return cmp.Compare(x.Off, y.Off)
	})
	for j := range out {
		idx, n := out[j].Off, out[j].Len
		run, ok := a.bestFit(n)
		if !ok {
			// Give back what this batch took. Each extent was allocated above and is not free,
			// so the release cannot overlap, and coalescing restores the exact earlier set of
			// free extents.
			for _, got := range out[:j] {
				a.release(Extent{Off: got.Off, Len: sizes[got.Len]})
			}
			return dst[:base], ErrNoSpace
		}
		a.carve(run, Extent{Off: run.Off, Len: n})
		out[j] = Extent{Off: run.Off, Len: idx}
	}
	slices.SortFunc(out, func(x, y Extent) int { return cmp.Compare(x.Len, y.Len) })
	for i := range out {
		out[i].Len = sizes[i]
	}
	return dst, nil
}

// Free returns the extent e to the free space, merging it with the free extents that end where
// it starts and start where it ends. e may be all or part of earlier allocations, or any other
// range below End that is not free.
//
// Free returns ErrInvalid (wrapped) if e.Len is 0 or e does not lie within [0, End()), and
// ErrOverlap (wrapped) if any unit of e is already free; in both cases nothing changes.
func (a *Allocator) Free(e Extent) error {
	if !a.valid(e) {
		return fmt.Errorf("cannot free extent %v below end %d: %w", e, a.end, ErrInvalid)
	}
	if !a.release(e) {
		return fmt.Errorf("cannot free extent %v: %w", e, ErrOverlap)
	}
	return nil
}

// Reserve removes the extent e from the free space, as if it had been allocated. Recovery uses it
// to mark live records (and any header area) after Grow made the whole file free.
//
// Reserve returns ErrInvalid (wrapped) if e.Len is 0 or e does not lie within [0, End()), and
// ErrNotFree (wrapped) if any unit of e is not free; in both cases nothing changes.
func (a *Allocator) Reserve(e Extent) error {
	if !a.valid(e) {
		return fmt.Errorf("cannot reserve extent %v below end %d: %w", e, a.end, ErrInvalid)
	}
	run, ok := a.floor(e.Off)
	if !ok || run.End() < e.End() {
		return fmt.Errorf("cannot reserve extent %v: %w", e, ErrNotFree)
	}
	a.carve(run, e)
	return nil
}

// Grow extends the managed range to newEnd and adds the new tail [End(), newEnd) to the free
// space, merging it with a free extent that ends at the old End. Growing to the current End does
// nothing. Grow returns ErrInvalid (wrapped) if newEnd is below End: the space never shrinks.
func (a *Allocator) Grow(newEnd uint64) error {
	if newEnd < a.end {
		return fmt.Errorf("cannot shrink space from %d to %d: %w", a.end, newEnd, ErrInvalid)
	}
	if newEnd == a.end {
		return nil
	}
	tail := Extent{Off: a.end, Len: newEnd - a.end}
	a.end = newEnd
	a.release(tail) // nothing at or beyond the old end was free, so this cannot overlap
	return nil
}

// valid reports whether e is non-empty and lies within [0, a.end) without overflow.
func (a *Allocator) valid(e Extent) bool {
	return e.Len != 0 && e.Off <= a.end && e.Len <= a.end-e.Off
}

// bestFit returns the smallest free extent of at least n units, the lowest among equals.
func (a *Allocator) bestFit(n uint64) (Extent, bool) {
	var got Extent
	var ok bool
	a.bySize.AscendGreaterOrEqual(Extent{Len: n}, func(e Extent) bool {
		got, ok = e, true
		return false
	})
	return got, ok
}

// floor returns the free extent with the greatest offset not above off.
func (a *Allocator) floor(off uint64) (Extent, bool) {
	var got Extent
	var ok bool
	a.byOff.DescendLessOrEqual(Extent{Off: off}, func(e Extent) bool {
		got, ok = e, true
		return false
	})
	return got, ok
}

// ceil returns the free extent with the least offset not below off.
func (a *Allocator) ceil(off uint64) (Extent, bool) {
	var got Extent
	var ok bool
	a.byOff.AscendGreaterOrEqual(Extent{Off: off}, func(e Extent) bool {
		got, ok = e, true
		return false
	})
	return got, ok
}

// carve removes e from the free extent run that contains it, putting back the parts of run
// before and after e.
func (a *Allocator) carve(run, e Extent) {
	a.bySize.Delete(run)
	if head := (Extent{Off: run.Off, Len: e.Off - run.Off}); head.Len > 0 {
		a.byOff.ReplaceOrInsert(head) // same offset as run: replaces it in place
		a.bySize.ReplaceOrInsert(head)
	} else {
		a.byOff.Delete(run)
	}
	if tail := (Extent{Off: e.End(), Len: run.End() - e.End()}); tail.Len > 0 {
		a.byOff.ReplaceOrInsert(tail)
		a.bySize.ReplaceOrInsert(tail)
	}
	a.free -= e.Len
}

// release adds the valid extent e to the free space, coalescing it with its neighbours. It
// reports false, changing nothing, if e overlaps a free extent.
func (a *Allocator) release(e Extent) bool {
	prev, hasPrev := a.floor(e.Off)
	if hasPrev && prev.End() > e.Off {
		return false
	}
	// No free extent starts at e.Off (it would have been prev), so ceil finds the successor.
	next, hasNext := a.ceil(e.Off)
	if hasNext && next.Off < e.End() {
		return false
	}
	merged := e
	if hasPrev && prev.End() == e.Off {
		a.bySize.Delete(prev)
		merged = Extent{Off: prev.Off, Len: prev.Len + merged.Len} // replaces prev in byOff below
	}
	if hasNext && next.Off == e.End() {
		a.bySize.Delete(next)
		a.byOff.Delete(next)
		merged.Len += next.Len
	}
	a.byOff.ReplaceOrInsert(merged)
	a.bySize.ReplaceOrInsert(merged)
	a.free += e.Len
	return true
}
