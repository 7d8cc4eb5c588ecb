package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestBucket_Bounds ensures every value falls in the bucket whose bounds hold it and that
// buckets are ordered.
func TestBucket_Bounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	check := func(v int64) {
		t.Helper()
		b := bucket(v)
		if b < 0 || b >= buckets {
			t.Fatalf("bucket(%d) = %d out of range", v, b)
		}
		if lo := lower(b); v < lo {
			t.Fatalf("bucket(%d) = %d starts at %d", v, b, lo)
		}
		if b+1 < buckets {
			if hi := lower(b + 1); hi > 0 && v >= hi { // hi <= 0: past int64, the last group
				t.Fatalf("bucket(%d) = %d ends at %d", v, b, hi)
			}
		}
	}
	for v := range int64(4096) {
		check(v)
	}
	for range 100_000 {
		check(int64(r.Uint64() >> uint(r.IntN(63)+1)))
	}
	check(1<<63 - 1)
}

// TestQuantile_MatchesSorted ensures quantiles are within the bucket resolution of the exact
// ones, for uniform and heavy-tailed inputs, and after a Merge.
func TestQuantile_MatchesSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	gens := map[string]func() int64{
		"uniform":   func() int64 { return r.Int64N(1_000_000) },
		"lognormal": func() int64 { return int64(1000 * (1 + r.ExpFloat64()*r.ExpFloat64()*50)) },
	}
	for name, g := range gens {
		t.Run("dist="+name, func(t *testing.T) {
			var a, b Hist
			var all []int64
			for i := range 50_000 {
				v := g()
				all = append(all, v)
				if i%2 == 0 {
					a.Record(time.Duration(v))
				} else {
					b.Record(time.Duration(v))
				}
			}
			a.Merge(&b)
			slices.Sort(all)
			if a.Count() != uint64(len(all)) || a.Max() != time.Duration(all[len(all)-1]) {
				t.Fatalf("count %d max %v, want %d %v", a.Count(), a.Max(), len(all), all[len(all)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := float64(all[int(q*float64(len(all)))-1])
				got := float64(a.Quantile(q))
				if got < exact*0.93 || got > exact*1.07 {
					t.Errorf("q=%v: got %v, exact %v", q, got, exact)
				}
			}
		})
	}
}

// TestQuantile_Empty ensures an empty histogram reports zero.
func TestQuantile_Empty(t *testing.T) {
	var h Hist
	if q := h.Quantile(0.99); q != 0 {
		t.Fatalf("Quantile = %v", q)
	}
}
