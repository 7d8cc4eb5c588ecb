package tracesim

import (
	"math"
	"testing"
)

// TestZipfTrace ensures a trace is skewed as a zipfian should be: the shares of the first
// ranks are close to (rank+1)^-theta / zeta(n, theta), and every item is in range.
func TestZipfTrace(t *testing.T) {
	const n, draws, theta = 1000, 200_000, 0.99
	var counts [n]int
	for _, item := range ZipfTrace(1, n, draws, theta) {
		if item < 0 || item >= n {
			t.Fatalf("item %d out of [0, %d)", item, n)
		}
		counts[item]++
	}
	var zeta float64
	for k := 1; k <= n; k++ {
		zeta += math.Pow(float64(k), -theta)
	}
	for _, rank := range []int{0, 1, 9} {
		want := draws * math.Pow(float64(rank+1), -theta) / zeta
		if got := float64(counts[rank]); math.Abs(got-want) > 0.1*want {
			t.Errorf("rank %d drawn %v times; want about %.0f", rank, got, want)
		}
	}
}

// TestHits ensures LRU and FIFO count hits as their policies say on a small trace.
func TestHits(t *testing.T) {
	trace := []int32{0, 1, 0, 2, 0, 1}
	// Capacity 2. LRU: 0 miss, 1 miss, 0 hit, 2 miss (evicts 1), 0 hit, 1 miss: 2 hits.
	if got := LRUHits(trace, 2, 0); got != 2 {
		t.Errorf("LRU hits %d, want 2", got)
	}
	// FIFO: 0 miss, 1 miss, 0 hit, 2 miss (evicts 0), 0 miss (evicts 1), 1 miss: 1 hit.
	if got := FIFOHits(trace, 3, 2, 0); got != 1 {
		t.Errorf("FIFO hits %d, want 1", got)
	}
	if got := LRUHits(trace, 2, 3); got != 1 {
		t.Errorf("LRU hits from request 3 on: %d, want 1", got)
	}
}
