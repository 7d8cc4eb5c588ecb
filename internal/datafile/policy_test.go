package datafile

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestChooseVictims ensures the cleaner's choice of victims: by LFS cost-benefit,
// (1-u)*age/(1+u), best first; never a segment with less garbage than the goal's floor; and no
// more than the goal asks for (garbage to free, victims, live bytes to move).
func TestChooseVictims(t *testing.T) {
	const mib = segBytes
	seg := func(n uint32, livePct, age uint64) candidate {
		return candidate{seg: n, live: mib * livePct / 100, used: mib, age: age}
	}
	all := goal{victims: 64, moveBytes: 64 * mib, excess: math.MaxUint64}
	with := func(f func(g *goal)) goal {
		g := all
		f(&g)
		return g
	}
	f := func(name string, cands []candidate, g goal, want ...uint32) {
		t.Helper()
		if got := chooseVictims(nil, slices.Clone(cands), g); !slices.Equal(got, want) {
			t.Errorf("%s: victims %v, want %v", name, got, want)
		}
	}
	// Benefits: 1: 0.5*101/1.5 = 33.7; 2: 0.8*11/1.2 = 7.3; 3: 0.1*1001/1.1 = 91.
	mixed := []candidate{seg(1, 50, 100), seg(2, 20, 10), seg(3, 90, 1000)}
	f("cost-benefit order: the old cold segment first, the young empty one last", mixed, all, 3, 1, 2)
	f("a floor on garbage leaves the cold segment out", mixed, with(func(g *goal) { g.minGarbage = mib / 8 }), 1, 2)
	f("at most g.victims", mixed, with(func(g *goal) { g.victims = 2 }), 3, 1)
	f("no more than frees the excess", mixed, with(func(g *goal) { g.excess = mib / 2 }), 3, 1)
	f("an excess met by the first victim", mixed, with(func(g *goal) { g.excess = 1 }), 3)
	f("live bytes to move bound the round, but for the first victim", mixed,
		with(func(g *goal) { g.moveBytes = mib / 2 }), 3)
	f("a victim that would pass the bound on moves is skipped, not the round ended", mixed,
		with(func(g *goal) { g.moveBytes = mib * 115 / 100 }), 3, 2)
	f("equal ages: the emptiest first (greedy)",
		[]candidate{seg(1, 60, 50), seg(2, 10, 50), seg(3, 30, 50)}, all, 2, 3, 1)
	f("equal benefits: by segment", []candidate{seg(7, 40, 9), seg(4, 40, 9)}, all, 4, 7)
	f("a segment without garbage never pays", []candidate{seg(1, 100, 1<<40)}, all)
	f("nothing to free", mixed, with(func(g *goal) { g.excess = 0 }))
	f("no victims allowed", mixed, with(func(g *goal) { g.victims = 0 }))
}

// TestGarbageBound ensures the bound on garbage: MaxGarbage while the writers are quiet; while
// they are busy, a bound whose space amplification, 1/(1-bound), is 1.5 times as large; 1 (no
// bound) either way.
func TestGarbageBound(t *testing.T) {
	for _, c := range []struct {
		maxGarbage float64
		busy       bool
		want       float64
	}{
		{0.25, false, 0.25},
		{0.25, true, 0.5},
		{0.1, true, 0.4},
		{0.5, true, 2.0 / 3},
		{1, false, 1},
		{1, true, 1},
	} {
		b := garbageBound(c.maxGarbage, c.busy)
		if math.Abs(b-c.want) > 1e-12 {
			t.Errorf("garbageBound(%v, busy %v) = %v, want %v", c.maxGarbage, c.busy, b, c.want)
		}
		if c.maxGarbage < 1 {
			quiet, amp := 1/(1-c.maxGarbage), 1/(1-b)
			if c.busy && math.Abs(amp-1.5*quiet) > 1e-9 {
				t.Errorf("busy bound %v: amplification %v, want 1.5 x %v", b, amp, quiet)
			}
		}
	}
}

// TestActivity_Update ensures the writers count as busy from a window in which they wrote at
// cleanBusyBytes per cleanPeriod, as quiet from one in which they wrote less, and that a window
// closes at the first look half a period after it opened, not before.
func TestActivity_Update(t *testing.T) {
	var a activity
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		at      time.Duration
		written int64
		want    bool
	}{
		{0, 0, false}, // opens the first window
		{cleanPeriod / 4, 10 * cleanBusyBytes, false},      // too soon to close it
		{cleanPeriod, 10 * cleanBusyBytes, true},           // a busy window
		{cleanPeriod * 5 / 4, 10 * cleanBusyBytes, true},   // too soon: the verdict stands
		{2 * cleanPeriod, 10*cleanBusyBytes + 1024, false}, // hardly a write in a period: quiet
		{4 * cleanPeriod, 12 * cleanBusyBytes, false},      // 2 segments in 2 periods: just under
		{5 * cleanPeriod, 13 * cleanBusyBytes, true},       // a segment in a period
	}
	for i, s := range steps {
		if got := a.update(at(s.at), s.written); got != s.want {
			t.Errorf("step %d (at %v, %d bytes written): busy %v, want %v", i, s.at, s.written, got, s.want)
		}
	}
}
