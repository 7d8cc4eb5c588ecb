package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMixed_Deterministic ensures a worker's operations depend only on the seed and the
// worker index: equal seeds give equal sequences, different workers or seeds different ones.
func TestMixed_Deterministic(t *testing.T) {
	wl := newMixed(1000, 0.8)
	seq := func(seed, worker uint64) []op {
		r := rand.New(rand.NewPCG(seed, worker))
		ops := make([]op, 200)
		for i := range ops {
			ops[i] = wl.next(r)
		}
		return ops
	}
	equal := func(a, b []op) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !equal(seq(1, 0), seq(1, 0)) {
		t.Fatal("same seed and worker gave different operations")
	}
	if equal(seq(1, 0), seq(1, 1)) {
		t.Fatal("workers 0 and 1 gave the same operations")
	}
	if equal(seq(1, 0), seq(2, 0)) {
		t.Fatal("seeds 1 and 2 gave the same operations")
	}
}

// TestMixed_Proportions ensures the mix of actions follows --read-ratio and the delete share,
// and that keys cover the whole key space and nothing beyond it.
func TestMixed_Proportions(t *testing.T) {
	const (
		n    = 200_000
		keys = 100
	)
	for _, ratio := range []float64{0, 0.5, 0.8, 1} {
		t.Run(fmt.Sprintf("read-ratio=%v", ratio), func(t *testing.T) {
			wl := newMixed(keys, ratio)
			r := rand.New(rand.NewPCG(7, 0))
			var counts [3]int
			var keySeen [keys]bool
			for range n {
				o := wl.next(r)
				if o.key < 0 || o.key >= keys {
					t.Fatalf("key %d outside [0, %d)", o.key, keys)
				}
				keySeen[o.key] = true
				counts[o.action]++
			}
			want := [3]float64{ratio, (1 - ratio) * (1 - mixedDeleteShare), (1 - ratio) * mixedDeleteShare}
			for a, c := range counts {
				if got := float64(c) / n; math.Abs(got-want[a]) > 0.01 {
					t.Errorf("action %d: share %.4f, want %.4f", a, got, want[a])
				}
			}
			for k, ok := range keySeen {
				if !ok {
					t.Fatalf("key %d never chosen in %d operations", k, n)
				}
			}
		})
	}
}

// TestMixed_NoAllocs ensures choosing an operation does not allocate.
func TestMixed_NoAllocs(t *testing.T) {
	var wl workload = newMixed(1_000_000, 0.8)
	r := rand.New(rand.NewPCG(1, 1))
	if n := testing.AllocsPerRun(1000, func() { wl.next(r) }); n != 0 {
		t.Fatalf("next allocates %v times per call", n)
	}
}
