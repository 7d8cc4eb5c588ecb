package hist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactQuantile returns the value of rank ceil(q*n) of sorted, the definition Quantile follows.
func exactQuantile(sorted []int64, q float64) int64 {
	switch {
	case q <= 0:
		return sorted[0]
	case q >= 1:
		return sorted[len(sorted)-1]
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// samples returns n values drawn from a named distribution with a fixed seed.
func samples(dist string, n int, seed uint64) []int64 {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]int64, n)
	for i := range out {
		switch dist {
		case "small": // every value has its own bucket
			out[i] = r.Int64N(200)
		case "loguniform": // spreads over many powers of two
			out[i] = int64(math.Exp(r.Float64() * math.Log(1e10)))
		case "latency": // a body near 1µs with a long tail
			out[i] = int64(800 + r.ExpFloat64()*400 + math.Pow(r.Float64(), 40)*5e7)
		}
	}
	return out
}

var quantiles = []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}

// checkQuantiles fails the test when a quantile of h is farther from the exact sample quantile
// than RelativeError allows.
func checkQuantiles(t *testing.T, h *Histogram, sorted []int64) {
	t.Helper()
	for _, q := range quantiles {
		got, want := h.Quantile(q), exactQuantile(sorted, q)
		if err := math.Abs(float64(got-want)) / math.Max(float64(want), 1); err > RelativeError {
			t.Errorf("Quantile(%v) = %d, exact %d: relative error %.5f > %.5f", q, got, want, err, RelativeError)
		}
	}
}

// TestHistogram_QuantileWithinRelativeError compares quantiles against a sorted exact sample
// for several distributions.
func TestHistogram_QuantileWithinRelativeError(t *testing.T) {
	for _, dist := range []string{"small", "loguniform", "latency"} {
		t.Run("dist="+dist, func(t *testing.T) {
			vals := samples(dist, 200_000, 1)
			var h Histogram
			for _, v := range vals {
				h.Record(v)
			}
			sorted := slices.Clone(vals)
			slices.Sort(sorted)
			checkQuantiles(t, &h, sorted)
			if h.Count() != int64(len(vals)) || h.Min() != sorted[0] || h.Max() != sorted[len(sorted)-1] {
				t.Fatalf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(),
					len(vals), sorted[0], sorted[len(sorted)-1])
			}
			var sum float64
			for _, v := range vals {
				sum += float64(v)
			}
			if mean := sum / float64(len(vals)); math.Abs(h.Mean()-mean) > 1e-6*mean {
				t.Fatalf("Mean() = %v, want %v", h.Mean(), mean)
			}
		})
	}
}

// TestHistogram_BucketBoundaries ensures every bucket's range is contiguous with the next
// and that bucketOf maps both ends of a bucket to it, so no value falls between buckets.
func TestHistogram_BucketBoundaries(t *testing.T) {
	var next uint64
	for i := range numBuckets {
		low, width := bucketRange(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, low, next)
		}
		if bucketOf(low) != i || bucketOf(low+width-1) != i {
			t.Fatalf("bucket %d [%d, %d]: bucketOf gives %d and %d", i, low, low+width-1,
				bucketOf(low), bucketOf(low+width-1))
		}
		if i >= subCount && float64(width)/2/float64(low) > RelativeError {
			t.Fatalf("bucket %d: half width %d over low %d exceeds RelativeError", i, width/2, low)
		}
		next = low + width
	}
	if next != MaxValue+1 {
		t.Fatalf("buckets end at %d, want %d", next, uint64(MaxValue+1))
	}
}

// TestHistogram_Merge ensures merging per-goroutine histograms gives the histogram of all the
// values: same counts, extremes and quantiles.
func TestHistogram_Merge(t *testing.T) {
	vals := samples("latency", 100_000, 2)
	var whole Histogram
	parts := make([]Histogram, 4)
	for i, v := range vals {
		whole.Record(v)
		parts[i%len(parts)].Record(v)
	}
	var merged Histogram
	merged.Merge(&Histogram{}) // merging an empty histogram changes nothing
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if !slices.Equal(merged.counts, whole.counts) || merged.count != whole.count ||
		merged.sum != whole.sum || merged.min != whole.min || merged.max != whole.max {
		t.Fatalf("merged histogram differs from the whole")
	}
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	checkQuantiles(t, &merged, sorted)

	merged.Reset()
	if merged.Count() != 0 || merged.Quantile(0.5) != 0 || merged.Max() != 0 {
		t.Fatalf("after Reset: count %d, p50 %d, max %d", merged.Count(), merged.Quantile(0.5), merged.Max())
	}
	merged.Record(5)
	if merged.Min() != 5 || merged.Max() != 5 || merged.Quantile(0.5) != 5 {
		t.Fatalf("after Reset and Record(5): min %d max %d p50 %d", merged.Min(), merged.Max(), merged.Quantile(0.5))
	}
}

// TestHistogram_EdgeValues covers an empty histogram, negative values and values beyond
// MaxValue.
func TestHistogram_EdgeValues(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram reports non-zero figures")
	}
	h.Record(-7)
	if h.Min() != 0 || h.Max() != 0 {
		t.Fatalf("negative value: min %d max %d, want 0 0", h.Min(), h.Max())
	}
	h.Record(math.MaxInt64)
	if h.Max() != math.MaxInt64 || h.Quantile(1) != math.MaxInt64 {
		t.Fatalf("huge value: max %d, Quantile(1) %d", h.Max(), h.Quantile(1))
	}
	if got := h.Quantile(0.99); got < MaxValue/2 {
		t.Fatalf("Quantile(0.99) = %d, want the last bucket", got)
	}
}

func BenchmarkHistogram_Record(b *testing.B) {
	vals := samples("latency", 4096, 3)
	b.ReportAllocs()
	var h Histogram
	h.Record(0) // allocate the buckets before timing
	for i := 0; b.Loop(); i++ {
		h.Record(vals[i&4095])
	}
}

func BenchmarkHistogram_Quantile(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			var h Histogram
			for _, v := range samples("latency", n, 4) {
				h.Record(v)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.Quantile(0.99)
			}
		})
	}
}
