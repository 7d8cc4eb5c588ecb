package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile returns the value the package's convention picks among sorted values: the
// one of rank max(1, floor(q*n + 0.5)).
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Floor(q*float64(len(sorted)) + 0.5))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// TestHistogram_QuantileWithinPrecision records samples of several shapes and checks that
// every quantile lies at or above the exact value of its rank and at most RelativeError above
// it, and exactly on it below 2048 ns.
func TestHistogram_QuantileWithinPrecision(t *testing.T) {
	shapes := map[string]func(r *rand.Rand) int64{
		"small":       func(r *rand.Rand) int64 { return r.Int64N(3000) },
		"log-uniform": func(r *rand.Rand) int64 { return int64(math.Exp(r.Float64() * math.Log(float64(Highest)))) },
		"bimodal": func(r *rand.Rand) int64 {
			if r.IntN(100) == 0 {
				return 5_000_000 + r.Int64N(1_000_000)
			}
			return 800 + r.Int64N(400)
		},
	}
	for name, draw := range shapes {
		t.Run("shape="+name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			values := make([]int64, 50_001)
			for i := range values {
				values[i] = draw(r)
				h.Record(time.Duration(values[i]))
			}
			slices.Sort(values)
			if h.Count() != int64(len(values)) {
				t.Fatalf("Count() = %d, want %d", h.Count(), len(values))
			}
			for _, q := range []float64{0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
				exact := exactQuantile(values, q)
				got := int64(h.Quantile(q))
				if got < exact || float64(got) > float64(exact)*(1+RelativeError) || exact < 2048 && got != exact {
					t.Errorf("q=%v: got %d, exact %d (allowed up to %.0f)", q, got, exact, float64(exact)*(1+RelativeError))
				}
			}
			if mx := int64(h.Max()); mx < values[len(values)-1] || float64(mx) > float64(values[len(values)-1])*(1+RelativeError) {
				t.Errorf("Max() = %d, largest value %d", mx, values[len(values)-1])
			}
			if lo := int64(h.Quantile(0)); lo > values[0] || float64(lo) < float64(values[0])*(1-RelativeError) {
				t.Errorf("Quantile(0) = %d, smallest value %d", lo, values[0])
			}
		})
	}
}

// TestHistogram_Edges checks the zero value, the clamping of values and of q, and Reset.
func TestHistogram_Edges(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("an empty histogram reports values")
	}
	h.Reset() // on the zero value: nothing to do
	h.Record(-time.Second)
	h.Record(3 * time.Hour)
	if h.Quantile(0) != 0 || h.Quantile(math.NaN()) != 0 {
		t.Errorf("a negative latency is not counted as 0: %v", h.Quantile(0))
	}
	if got := int64(h.Quantile(2)); got < Highest || float64(got) > float64(Highest)*(1+RelativeError) {
		t.Errorf("a latency past Highest reads %d, want about %d", got, Highest)
	}
	h.Reset()
	if h.Count() != 0 || h.Quantile(1) != 0 {
		t.Errorf("after Reset: count %d, max %v", h.Count(), h.Quantile(1))
	}
	h.Record(1500)
	h.Record(2500)
	if m := h.Mean(); m < 1999 || m > 2001 {
		t.Errorf("Mean() = %v, want 2µs", m)
	}
}

// TestHistogram_Merge ensures merged histograms report what one histogram of all the values
// reports, and that merging an empty one changes nothing.
func TestHistogram_Merge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all, a, b, empty Histogram
	for i := range 20_000 {
		d := time.Duration(r.Int64N(int64(time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var total Histogram
	total.Merge(&empty)
	if total.Count() != 0 {
		t.Fatal("merging an empty histogram recorded values")
	}
	total.Merge(&a)
	total.Merge(&b)
	total.Merge(&empty)
	if total.Count() != all.Count() {
		t.Fatalf("merged count %d, want %d", total.Count(), all.Count())
	}
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if total.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: merged %v, all %v", q, total.Quantile(q), all.Quantile(q))
		}
	}
}

// TestNew_Configuration ensures New carries the documented configuration.
func TestNew_Configuration(t *testing.T) {
	h := New()
	if h.LowestTrackableValue() != Lowest || h.HighestTrackableValue() != Highest || h.SignificantFigures() != SignificantFigures {
		t.Fatalf("New() tracks %d..%d with %d figures", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
	}
}

func BenchmarkHistogram_Record(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xfffff) * 10)
	}
}
