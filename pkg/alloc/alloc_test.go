package alloc

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// build returns an allocator over [0, end) whose free space is exactly free.
func build(t testing.TB, end uint64, free ...Extent) *Allocator {
	t.Helper()
	a := New()
	if err := a.Grow(end); err != nil {
		t.Fatalf("Grow(%d): %v", end, err)
	}
	if end > 0 {
		if err := a.Reserve(Extent{Off: 0, Len: end}); err != nil {
			t.Fatalf("Reserve all: %v", err)
		}
	}
	for _, e := range free {
		if err := a.Free(e); err != nil {
			t.Fatalf("Free(%v): %v", e, err)
		}
	}
	return a
}

// extents returns the free extents of a in offset order.
func extents(a *Allocator) []Extent {
	var out []Extent
	a.Walk(func(e Extent) bool { out = append(out, e); return true })
	return out
}

// expect fails unless a's free space is exactly want and a's invariants hold.
func expect(t testing.TB, a *Allocator, want ...Extent) {
	t.Helper()
	if got := extents(a); !slices.Equal(got, want) {
		t.Fatalf("free extents %v, want %v", got, want)
	}
	if err := checkInvariants(a); err != nil {
		t.Fatal(err)
	}
}

func checkErr(t testing.TB, got, want error) {
	t.Helper()
	if (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
		t.Fatalf("error %v, want %v", got, want)
	}
}

// TestExtent_EndString ensures End and String describe the half-open range.
func TestExtent_EndString(t *testing.T) {
	e := Extent{Off: 16, Len: 4}
	if e.End() != 20 {
		t.Fatalf("End() = %d, want 20", e.End())
	}
	if s := e.String(); s != "[16,20)" {
		t.Fatalf("String() = %q, want %q", s, "[16,20)")
	}
}

// TestAllocator_New ensures a new allocator manages nothing and refuses every allocation.
func TestAllocator_New(t *testing.T) {
	a := New()
	if a.End() != 0 || a.FreeUnits() != 0 || a.Largest() != 0 || a.Extents() != 0 || a.Fragmentation() != 0 {
		t.Fatalf("new allocator: end %d free %d largest %d extents %d fragmentation %v",
			a.End(), a.FreeUnits(), a.Largest(), a.Extents(), a.Fragmentation())
	}
	if _, err := a.Alloc(1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Alloc(1) on empty allocator: %v, want ErrNoSpace", err)
	}
	if err := a.Free(Extent{Off: 0, Len: 1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Free beyond end 0: %v, want ErrInvalid", err)
	}
	expect(t, a)
}

// TestAllocator_Alloc ensures best fit (smallest extent, lowest offset among equals), allocation
// from the extent's start, reinsertion of the remainder, and the error cases.
func TestAllocator_Alloc(t *testing.T) {
	three := []Extent{{1000, 100}, {2000, 50}, {3000, 75}}
	for _, tc := range []struct {
		name     string
		free     []Extent
		n        uint64
		want     Extent
		err      error
		freeWant []Extent
	}{
		{"zero", three, 0, Extent{}, ErrInvalid, three},
		{"nothing free", nil, 1, Extent{}, ErrNoSpace, nil},
		{"too large", three, 101, Extent{}, ErrNoSpace, three},
		{"smallest that fits", three, 45, Extent{2000, 45}, nil,
			[]Extent{{1000, 100}, {2045, 5}, {3000, 75}}},
		{"exact fit removes extent", three, 75, Extent{3000, 75}, nil,
			[]Extent{{1000, 100}, {2000, 50}}},
		{"skips too small", three, 76, Extent{1000, 76}, nil,
			[]Extent{{1076, 24}, {2000, 50}, {3000, 75}}},
		{"tie goes to lowest offset", []Extent{{500, 8}, {100, 8}, {300, 8}}, 8, Extent{100, 8}, nil,
			[]Extent{{300, 8}, {500, 8}}},
		{"whole space", []Extent{{0, 4096}}, 4096, Extent{0, 4096}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 4096, tc.free...)
			got, err := a.Alloc(tc.n)
			checkErr(t, err, tc.err)
			if got != tc.want {
				t.Fatalf("Alloc(%d) = %v, want %v", tc.n, got, tc.want)
			}
			expect(t, a, tc.freeWant...)
		})
	}
}

// TestAllocator_AllocRun ensures a batch lands in one run when one extent can hold its sum, falls
// back to largest-first best fit otherwise, appends to dst, and is all or nothing.
func TestAllocator_AllocRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		free     []Extent
		sizes    []uint64
		want     []Extent
		err      error
		freeWant []Extent
	}{
		{"empty batch", []Extent{{0, 10}}, nil, nil, nil, []Extent{{0, 10}}},
		{"zero size", []Extent{{0, 10}}, []uint64{2, 0}, nil, ErrInvalid, []Extent{{0, 10}}},
		{"sum overflows", []Extent{{0, 10}}, []uint64{math.MaxUint64, 1}, nil, ErrInvalid, []Extent{{0, 10}}},
		{"one run, best fit for the sum", []Extent{{0, 100}, {200, 10}, {300, 8}}, []uint64{3, 2, 4},
			[]Extent{{200, 3}, {203, 2}, {205, 4}}, nil, []Extent{{0, 100}, {209, 1}, {300, 8}}},
		{"one run, exact", []Extent{{40, 6}}, []uint64{1, 5}, []Extent{{40, 1}, {41, 5}}, nil, nil},
		{"fallback, largest first", []Extent{{0, 6}, {10, 5}}, []uint64{3, 3, 5},
			[]Extent{{0, 3}, {3, 3}, {10, 5}}, nil, nil},
		{"fallback, equal sizes in order", []Extent{{0, 2}, {10, 2}, {20, 1}}, []uint64{2, 1, 2},
			[]Extent{{0, 2}, {20, 1}, {10, 2}}, nil, nil},
		{"fallback, remainders", []Extent{{0, 4}, {10, 7}}, []uint64{3, 6},
			[]Extent{{0, 3}, {10, 6}}, nil, []Extent{{3, 1}, {16, 1}}},
		{"no space, nothing kept", []Extent{{0, 6}, {10, 5}}, []uint64{4, 4, 3}, nil, ErrNoSpace,
			[]Extent{{0, 6}, {10, 5}}},
		{"sum above free", []Extent{{0, 6}}, []uint64{4, 4}, nil, ErrNoSpace, []Extent{{0, 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 4096, tc.free...)
			prefix := []Extent{{9, 9}}
			got, err := a.AllocRun(tc.sizes, prefix)
			checkErr(t, err, tc.err)
			if !slices.Equal(got, append([]Extent{{9, 9}}, tc.want...)) {
				t.Fatalf("AllocRun(%v) = %v, want prefix then %v", tc.sizes, got, tc.want)
			}
			expect(t, a, tc.freeWant...)
		})
	}
}

// TestAllocator_AllocRun_NoAllocs ensures AllocRun into a buffer with room does not allocate,
// on either path.
func TestAllocator_AllocRun_NoAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		free  []Extent
		sizes []uint64
	}{
		{"one run", []Extent{{0, 64}}, []uint64{4, 8, 2}},
		{"fallback", []Extent{{0, 4}, {8, 8}, {20, 2}}, []uint64{4, 8, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 64, tc.free...)
			dst := make([]Extent, 0, len(tc.sizes))
			allocs := testing.AllocsPerRun(50, func() {
				out, err := a.AllocRun(tc.sizes, dst[:0])
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range out {
					if err := a.Free(e); err != nil {
						t.Fatal(err)
					}
				}
			})
			if allocs != 0 {
				t.Fatalf("AllocRun+Free allocated %v times per run", allocs)
			}
			expect(t, a, tc.free...)
		})
	}
}

// TestAllocator_Free ensures release coalesces with neither, one or both neighbours, and that
// invalid and overlapping releases change nothing.
func TestAllocator_Free(t *testing.T) {
	base := []Extent{{10, 10}, {40, 10}}
	for _, tc := range []struct {
		name     string
		e        Extent
		err      error
		freeWant []Extent
	}{
		{"zero length", Extent{25, 0}, ErrInvalid, base},
		{"beyond end", Extent{95, 10}, ErrInvalid, base},
		{"starts at end", Extent{100, 1}, ErrInvalid, base},
		{"overflow", Extent{30, math.MaxUint64 - 10}, ErrInvalid, base},
		{"no neighbour", Extent{25, 5}, nil, []Extent{{10, 10}, {25, 5}, {40, 10}}},
		{"merge before", Extent{20, 5}, nil, []Extent{{10, 15}, {40, 10}}},
		{"merge after", Extent{30, 10}, nil, []Extent{{10, 10}, {30, 20}}},
		{"merge both", Extent{20, 20}, nil, []Extent{{10, 40}}},
		{"at start of space", Extent{0, 10}, nil, []Extent{{0, 20}, {40, 10}}},
		{"at end of space", Extent{90, 10}, nil, []Extent{{10, 10}, {40, 10}, {90, 10}}},
		{"double free", Extent{10, 10}, ErrOverlap, base},
		{"overlaps prev tail", Extent{19, 3}, ErrOverlap, base},
		{"overlaps next head", Extent{35, 6}, ErrOverlap, base},
		{"inside free", Extent{12, 2}, ErrOverlap, base},
		{"covers free", Extent{5, 20}, ErrOverlap, base},
		{"covers two", Extent{0, 60}, ErrOverlap, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 100, base...)
			checkErr(t, a.Free(tc.e), tc.err)
			expect(t, a, tc.freeWant...)
		})
	}
}

// TestAllocator_Reserve ensures a free range is removed whole, from the head, tail or middle of an
// extent, and that ranges not entirely free are rejected without change.
func TestAllocator_Reserve(t *testing.T) {
	base := []Extent{{10, 10}, {40, 10}}
	for _, tc := range []struct {
		name     string
		e        Extent
		err      error
		freeWant []Extent
	}{
		{"zero length", Extent{12, 0}, ErrInvalid, base},
		{"beyond end", Extent{99, 2}, ErrInvalid, base},
		{"overflow", Extent{12, math.MaxUint64}, ErrInvalid, base},
		{"whole extent", Extent{10, 10}, nil, []Extent{{40, 10}}},
		{"head", Extent{40, 3}, nil, []Extent{{10, 10}, {43, 7}}},
		{"tail", Extent{15, 5}, nil, []Extent{{10, 5}, {40, 10}}},
		{"middle", Extent{42, 5}, nil, []Extent{{10, 10}, {40, 2}, {47, 3}}},
		{"allocated", Extent{25, 5}, ErrNotFree, base},
		{"runs past extent", Extent{15, 6}, ErrNotFree, base},
		{"starts before extent", Extent{9, 2}, ErrNotFree, base},
		{"spans two extents", Extent{10, 40}, ErrNotFree, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 100, base...)
			checkErr(t, a.Reserve(tc.e), tc.err)
			expect(t, a, tc.freeWant...)
		})
	}
}

// TestAllocator_Grow ensures the new tail becomes free, merges with a free extent ending at the
// old end, and that shrinking is rejected.
func TestAllocator_Grow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		free     []Extent
		newEnd   uint64
		err      error
		freeWant []Extent
		endWant  uint64
	}{
		{"merges with free tail", []Extent{{10, 10}, {90, 10}}, 150, nil, []Extent{{10, 10}, {90, 60}}, 150},
		{"tail allocated", []Extent{{10, 10}}, 150, nil, []Extent{{10, 10}, {100, 50}}, 150},
		{"same end", []Extent{{90, 10}}, 100, nil, []Extent{{90, 10}}, 100},
		{"shrink", []Extent{{90, 10}}, 99, ErrInvalid, []Extent{{90, 10}}, 100},
		{"to the top of uint64", nil, math.MaxUint64, nil, []Extent{{100, math.MaxUint64 - 100}}, math.MaxUint64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 100, tc.free...)
			checkErr(t, a.Grow(tc.newEnd), tc.err)
			if a.End() != tc.endWant {
				t.Fatalf("End() = %d, want %d", a.End(), tc.endWant)
			}
			expect(t, a, tc.freeWant...)
		})
	}

	// From nothing, as a fresh file is set up.
	a := New()
	checkErr(t, a.Grow(64), nil)
	expect(t, a, Extent{0, 64})
}

// TestAllocator_Stats ensures FreeUnits, Largest, Extents and Fragmentation describe the free
// space.
func TestAllocator_Stats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		free    []Extent
		units   uint64
		largest uint64
		count   int
		frag    float64
	}{
		{"nothing free", nil, 0, 0, 0, 0},
		{"one extent", []Extent{{5, 30}}, 30, 30, 1, 0},
		{"two equal", []Extent{{0, 10}, {20, 10}}, 20, 10, 2, 0.5},
		{"mixed", []Extent{{0, 1}, {2, 6}, {10, 1}}, 8, 6, 3, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := build(t, 100, tc.free...)
			if a.FreeUnits() != tc.units || a.Largest() != tc.largest || a.Extents() != tc.count ||
				a.Fragmentation() != tc.frag {
				t.Fatalf("free %d largest %d extents %d fragmentation %v, want %d %d %d %v",
					a.FreeUnits(), a.Largest(), a.Extents(), a.Fragmentation(),
					tc.units, tc.largest, tc.count, tc.frag)
			}
		})
	}
}

// TestAllocator_Walk ensures Walk visits extents in offset order and stops when fn returns false.
func TestAllocator_Walk(t *testing.T) {
	a := build(t, 100, Extent{70, 5}, Extent{10, 5}, Extent{40, 5})
	var seen []Extent
	a.Walk(func(e Extent) bool {
		seen = append(seen, e)
		return len(seen) < 2
	})
	if want := []Extent{{10, 5}, {40, 5}}; !slices.Equal(seen, want) {
		t.Fatalf("Walk visited %v, want %v", seen, want)
	}
}

// TestAllocator_FreeAfterAlloc ensures freeing allocations in any order coalesces back to the
// single original extent.
func TestAllocator_FreeAfterAlloc(t *testing.T) {
	a := build(t, 1000, Extent{0, 1000})
	rng := rand.New(rand.NewPCG(1, 2))
	var got []Extent
	for a.FreeUnits() > 0 {
		e, err := a.Alloc(min(1+rng.Uint64N(20), a.Largest()))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	expect(t, a)
	rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	for _, e := range got {
		if err := a.Free(e); err != nil {
			t.Fatalf("Free(%v): %v", e, err)
		}
		if err := checkInvariants(a); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, a, Extent{0, 1000})
}

// fragmented returns an allocator with n free extents of 1 to 16 units, each followed by one
// allocated unit, so no two can merge.
func fragmented(tb testing.TB, n int, rng *rand.Rand) *Allocator {
	tb.Helper()
	a := New()
	var off uint64
	for range n {
		l := 1 + rng.Uint64N(16)
		if err := a.Grow(off + l + 1); err != nil {
			tb.Fatal(err)
		}
		if err := a.Reserve(Extent{Off: off + l, Len: 1}); err != nil {
			tb.Fatal(err)
		}
		off += l + 1
	}
	return a
}

// BenchmarkAllocator_Churn measures one Alloc plus one Free on a fragmented allocator. In
// pattern=pair the extent is freed at once (the free list returns to its state); in
// pattern=window the oldest of 1024 live allocations is freed, so extents keep splitting and
// merging.
func BenchmarkAllocator_Churn(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
	}{
		{"extents=10k", 10_000},
		{"extents=1M", 1_000_000},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), 7))
		a := fragmented(b, tc.n, rng)
		sizes := make([]uint64, 4096)
		for i := range sizes {
			sizes[i] = 1 + rng.Uint64N(16)
		}
		name := tc.name
		b.Run(name+"/pattern=pair", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e, err := a.Alloc(sizes[i%len(sizes)])
				if err != nil {
					b.Fatal(err)
				}
				if err := a.Free(e); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(name+"/pattern=window", func(b *testing.B) {
			live := make([]Extent, 1024)
			for i := range live {
				e, err := a.Alloc(sizes[i])
				if err != nil {
					b.Fatal(err)
				}
				live[i] = e
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				slot := i % len(live)
				if err := a.Free(live[slot]); err != nil {
					b.Fatal(err)
				}
				e, err := a.Alloc(sizes[i%len(sizes)])
				if err != nil {
					b.Fatal(err)
				}
				live[slot] = e
				i++
			}
			b.StopTimer()
			for _, e := range live {
				if err := a.Free(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllocator_AllocRun measures placing and freeing a batch of 16 records on a fragmented
// allocator with 10k free extents, either in one run or by the per-record fallback.
func BenchmarkAllocator_AllocRun(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := fragmented(b, 10_000, rng)
	for _, tc := range []struct {
		name string
		size uint64
	}{
		{"path=run", 1},      // 16 units fit one extent
		{"path=fallback", 2}, // 32 units fit none
	} {
		b.Run(tc.name, func(b *testing.B) {
			sizes := slices.Repeat([]uint64{tc.size}, 16)
			dst := make([]Extent, 0, len(sizes))
			b.ReportAllocs()
			for b.Loop() {
				out, err := a.AllocRun(sizes, dst[:0])
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range out {
					if err := a.Free(e); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestNewUsed checks that NewUsed frees exactly the gaps between the used extents and rejects
// used lists that are out of range, out of order or overlapping.
func TestNewUsed(t *testing.T) {
	tests := []struct {
		name string
		end  uint64
		used []Extent
		free []Extent
		err  error
	}{
		{"nothing used", 10, nil, []Extent{{0, 10}}, nil},
		{"empty range", 0, nil, nil, nil},
		{"all used", 10, []Extent{{0, 10}}, nil, nil},
		{"touching used", 10, []Extent{{0, 3}, {3, 7}}, nil, nil},
		{"gaps", 20, []Extent{{2, 3}, {8, 2}, {15, 5}}, []Extent{{0, 2}, {5, 3}, {10, 5}}, nil},
		{"tail free", 20, []Extent{{0, 4}}, []Extent{{4, 16}}, nil},
		{"empty extent", 10, []Extent{{2, 0}}, nil, ErrInvalid},
		{"beyond end", 10, []Extent{{8, 3}}, nil, ErrInvalid},
		{"overflow", 10, []Extent{{5, math.MaxUint64}}, nil, ErrInvalid},
		{"overlap", 10, []Extent{{0, 4}, {3, 2}}, nil, ErrOverlap},
		{"out of order", 10, []Extent{{5, 1}, {1, 1}}, nil, ErrOverlap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewUsed(tc.end, tc.used)
			checkErr(t, err, tc.err)
			if err != nil {
				return
			}
			if a.End() != tc.end {
				t.Fatalf("End() = %d, want %d", a.End(), tc.end)
			}
			expect(t, a, tc.free...)
		})
	}
}

// TestNewUsed_MatchesReserve compares NewUsed with the slow path it replaces (Grow, then one
// Reserve per used extent) over random layouts, and checks that the result keeps allocating
// and freeing like any allocator.
func TestNewUsed_MatchesReserve(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 200 {
		end := uint64(1 + r.IntN(500))
		var used []Extent
		for at := uint64(r.IntN(3)); at < end; {
			n := min(uint64(1+r.IntN(8)), end-at)
			used = append(used, Extent{Off: at, Len: n})
			at += n + uint64(r.IntN(4))
		}
		slow := New()
		if err := slow.Grow(end); err != nil {
			t.Fatal(err)
		}
		for _, u := range used {
			if err := slow.Reserve(u); err != nil {
				t.Fatalf("round %d: Reserve(%v): %v", round, u, err)
			}
		}
		fast, err := NewUsed(end, used)
		if err != nil {
			t.Fatalf("round %d: NewUsed: %v", round, err)
		}
		expect(t, fast, extents(slow)...)
		for _, u := range used {
			if err := fast.Free(u); err != nil {
				t.Fatalf("round %d: Free(%v): %v", round, u, err)
			}
		}
		expect(t, fast, Extent{Off: 0, Len: end})
	}
}
