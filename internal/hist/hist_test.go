package hist_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/hist"
)

// relErr is the documented relative error bound of a quantile (one sub-bucket of 32).
const relErr = 1.0 / 32

// rangeEnd is the largest duration inside the covered range (2^42-1 ns).
const rangeEnd = time.Duration(1<<42 - 1)

// lastLower is the smallest duration counted in the last bucket, which is unbounded.
const lastLower = time.Duration(63) << 36

// quantiles is the set of quantiles every distribution is checked at.
var quantiles = []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1}

// model is the simple reference the histogram is compared against: every observation, kept in
// a slice under a mutex.
type model struct {
	mu   sync.Mutex
	vals []time.Duration
}

func (m *model) record(d time.Duration) {
	m.mu.Lock()
	m.vals = append(m.vals, max(d, 0))
	m.mu.Unlock()
}

func (m *model) merge(o *model) {
	m.mu.Lock()
	m.vals = append(m.vals, o.vals...)
	m.mu.Unlock()
}

func (m *model) reset() {
	m.mu.Lock()
	m.vals = m.vals[:0]
	m.mu.Unlock()
}

// check compares h with the model: count, max and mean exactly, quantiles within relErr.
func (m *model) check(t *testing.T, h *hist.Histogram, qs ...float64) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	sorted := slices.Clone(m.vals)
	slices.Sort(sorted)
	n := int64(len(sorted))
	if got := h.Count(); got != n {
		t.Fatalf("Count() = %d, want %d", got, n)
	}
	var wantMax, wantMean time.Duration
	if n > 0 {
		var sum int64
		for _, v := range sorted {
			sum += int64(v)
		}
		wantMax, wantMean = sorted[n-1], time.Duration(sum/n)
	}
	if got := h.Max(); got != wantMax {
		t.Fatalf("Max() = %v, want %v", got, wantMax)
	}
	if got := h.Mean(); got != wantMean {
		t.Fatalf("Mean() = %v, want %v", got, wantMean)
	}
	for _, q := range qs {
		got := h.Quantile(q)
		if n == 0 {
			if got != 0 {
				t.Fatalf("Quantile(%v) of an empty histogram = %v, want 0", q, got)
			}
			continue
		}
		rank := min(max(int64(math.Ceil(q*float64(n))), 1), n)
		exact := sorted[rank-1]
		if exact >= lastLower {
			// The last bucket is unbounded (it also holds out-of-range values) and reports Max.
			if got != wantMax {
				t.Fatalf("Quantile(%v) = %v, want Max %v for an out-of-range quantile", q, got, wantMax)
			}
			continue
		}
		hi := exact + time.Duration(float64(exact)*relErr)
		if got < exact || got > hi || got > wantMax {
			t.Fatalf("Quantile(%v) = %v, want in [%v, %v] and <= Max %v (n=%d)", q, got, exact, hi, wantMax, n)
		}
	}
}

// distributions are named generators of deterministic samples.
var distributions = []struct {
	name string
	gen  func(r *rand.Rand, i int) time.Duration
	n    int
}{
	{"constant=1ms", func(*rand.Rand, int) time.Duration { return time.Millisecond }, 1000},
	{"exact=0..31ns", func(_ *rand.Rand, i int) time.Duration { return time.Duration(i % 32) }, 3200},
	{"uniform=1..100000ns", func(_ *rand.Rand, i int) time.Duration { return time.Duration(i + 1) }, 100_000},
	{"uniform=random/1ns..10ms", func(r *rand.Rand, _ int) time.Duration {
		return time.Duration(1 + r.Int64N(int64(10*time.Millisecond)))
	}, 50_000},
	{"exponential=mean50us", func(r *rand.Rand, _ int) time.Duration {
		return time.Duration(r.ExpFloat64() * float64(50*time.Microsecond))
	}, 50_000},
	{"lognormal=median2us", func(r *rand.Rand, _ int) time.Duration {
		return time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(2*time.Microsecond))
	}, 50_000},
	{"bimodal=200ns/5ms", func(r *rand.Rand, _ int) time.Duration {
		if r.IntN(100) == 0 {
			return 5*time.Millisecond + time.Duration(r.Int64N(int64(time.Millisecond)))
		}
		return 200*time.Nanosecond + time.Duration(r.Int64N(50))
	}, 50_000},
	{"powers-of-two=1ns..2^41ns", func(_ *rand.Rand, i int) time.Duration {
		return time.Duration(1) << (i % 42)
	}, 4200},
	{"near-range-end=1h", func(r *rand.Rand, _ int) time.Duration {
		return time.Hour + time.Duration(r.Int64N(int64(time.Minute)))
	}, 1000},
	{"negative=-5ns", func(*rand.Rand, int) time.Duration { return -5 }, 10},
}

// TestHistogram_Quantile_KnownDistributions ensures count, max and mean are exact and every
// quantile lies within the bucket error above the true quantile.
func TestHistogram_Quantile_KnownDistributions(t *testing.T) {
	for _, dist := range distributions {
		t.Run(dist.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, 7))
			var h hist.Histogram
			var m model
			for i := range dist.n {
				d := dist.gen(r, i)
				h.Record(d)
				m.record(d)
			}
			m.check(t, &h, quantiles...)
		})
	}
}

// TestHistogram_EdgeCases checks the documented behaviour at the edges of the range and of q.
func TestHistogram_EdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		record []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"empty/q=1", nil, 1, 0},
		{"zero", []time.Duration{0}, 0.5, 0},
		{"negative counts as zero", []time.Duration{-time.Second}, 1, 0},
		{"exact below 32ns", []time.Duration{17}, 0.5, 17},
		{"clamped to max", []time.Duration{1000}, 1, 1000},
		{"q below 0 is 0", []time.Duration{10, 20}, -3, 10},
		{"q above 1 is 1", []time.Duration{10, 20}, 7, 20},
		{"q NaN is 0", []time.Duration{10, 20}, math.NaN(), 10},
		{"above range reports max", []time.Duration{2 * time.Hour}, 0.5, 2 * time.Hour},
		{"at range end", []time.Duration{rangeEnd}, 1, rangeEnd},
		{"median of two", []time.Duration{5, 1000}, 0.5, 5},
		{"rank rounds up", []time.Duration{1, 2, 3}, 0.34, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist.Histogram
			for _, d := range tt.record {
				h.Record(d)
			}
			if got := h.Quantile(tt.q); got != tt.want {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
			if got := h.Count(); got != int64(len(tt.record)) {
				t.Errorf("Count() = %d, want %d", got, len(tt.record))
			}
		})
	}
}

// TestHistogram_Merge ensures merging parts gives the same answers as recording everything
// into one histogram, whatever the split.
func TestHistogram_Merge(t *testing.T) {
	tests := []struct {
		name  string
		split func(i int) int // which of the parts gets observation i
		parts int
	}{
		{"parts=2/alternate", func(i int) int { return i % 2 }, 2},
		{"parts=2/all-in-first", func(int) int { return 0 }, 2},
		{"parts=2/all-in-second", func(int) int { return 1 }, 2},
		{"parts=5/blocks", func(i int) int { return i / 10_000 }, 5},
		{"parts=3/by-value", func(i int) int { return (i * 7919) % 3 }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			var whole hist.Histogram
			parts := make([]hist.Histogram, tt.parts)
			for i := range 50_000 {
				d := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
				whole.Record(d)
				parts[tt.split(i)].Record(d)
			}
			var merged hist.Histogram
			for i := range parts {
				merged.Merge(&parts[i])
			}
			merged.Merge(nil)
			assertSame(t, &merged, &whole)
		})
	}
}

// TestHistogram_Merge_KeepsLargerMax ensures Merge keeps the larger of the two maxima and
// adds counts and sums.
func TestHistogram_Merge_KeepsLargerMax(t *testing.T) {
	var a, b hist.Histogram
	a.Record(time.Second)
	b.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	if a.Max() != time.Second || a.Count() != 3 || a.Mean() != (1004*time.Millisecond)/3 {
		t.Fatalf("after merge: max %v count %d mean %v", a.Max(), a.Count(), a.Mean())
	}
	b.Merge(&a)
	if b.Max() != time.Second || b.Count() != 5 {
		t.Fatalf("after reverse merge: max %v count %d", b.Max(), b.Count())
	}
}

// TestHistogram_Reset ensures Reset empties the histogram and that it is usable again.
func TestHistogram_Reset(t *testing.T) {
	var h hist.Histogram
	for i := range 1000 {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	h.Reset()
	var empty hist.Histogram
	assertSame(t, &h, &empty)
	h.Record(7 * time.Millisecond)
	if h.Count() != 1 || h.Max() != 7*time.Millisecond || h.Quantile(0) != 7*time.Millisecond {
		t.Fatalf("after reuse: count %d max %v p0 %v", h.Count(), h.Max(), h.Quantile(0))
	}
}

// TestHistogram_Snapshot ensures a snapshot equals the source and does not follow it.
func TestHistogram_Snapshot(t *testing.T) {
	var h hist.Histogram
	for i := range 10_000 {
		h.Record(time.Duration(i*i) * time.Nanosecond)
	}
	s := h.Snapshot()
	assertSame(t, s, &h)
	before := s.Quantile(0.5)
	for range 10_000 {
		h.Record(time.Hour)
	}
	if s.Count() != 10_000 || s.Quantile(0.5) != before || s.Max() == time.Hour {
		t.Fatalf("snapshot changed: count %d p50 %v (was %v) max %v", s.Count(), s.Quantile(0.5), before, s.Max())
	}
}

// TestHistogram_ModelCheck runs random operations against the histogram and the locked model
// and compares them after every query.
func TestHistogram_ModelCheck(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			gen := func() time.Duration {
				switch r.IntN(4) {
				case 0:
					return time.Duration(r.Int64N(64)) - 8 // small, some negative
				case 1:
					return time.Duration(r.ExpFloat64() * float64(time.Microsecond))
				case 2:
					return time.Duration(r.Int64N(int64(time.Second)))
				default:
					return time.Duration(r.Int64N(int64(3 * time.Hour))) // some out of range
				}
			}
			var h hist.Histogram
			var m model
			for range 3000 {
				switch op := r.IntN(100); {
				case op < 80:
					d := gen()
					h.Record(d)
					m.record(d)
				case op < 88:
					var oh hist.Histogram
					var om model
					for range r.IntN(50) {
						d := gen()
						oh.Record(d)
						om.record(d)
					}
					h.Merge(&oh)
					m.merge(&om)
				case op < 90:
					h.Reset()
					m.reset()
				case op < 95:
					m.check(t, h.Snapshot(), r.Float64())
				default:
					m.check(t, &h, r.Float64(), 0, 1)
				}
			}
			m.check(t, &h, quantiles...)
		})
	}
}

// TestHistogram_ConcurrentRecord ensures concurrent Records (and readers running beside them)
// lose no observation: the total count is exact and the final state matches the model.
func TestHistogram_ConcurrentRecord(t *testing.T) {
	const (
		writers   = 8
		perWriter = 20_000
	)
	var h hist.Histogram
	var m model
	var shared hist.Histogram // filled by concurrent Merges of per-writer histograms
	var wg sync.WaitGroup
	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		// A reader polling beside the writers must only ever see Count grow and quantiles
		// ordered.
		var last int64
		for {
			select {
			case <-done:
				readerErr <- nil
				return
			default:
			}
			n := h.Count()
			if n < last {
				readerErr <- fmt.Errorf("Count went backwards: %d after %d", n, last)
				return
			}
			last = n
			s := h.Snapshot()
			if p50, p99 := s.Quantile(0.5), s.Quantile(0.99); p50 > p99 {
				readerErr <- fmt.Errorf("p50 %v above p99 %v", p50, p99)
				return
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var own hist.Histogram
			var local model
			for range perWriter {
				d := time.Duration(r.ExpFloat64() * float64(100*time.Microsecond))
				h.Record(d)
				own.Record(d)
				local.vals = append(local.vals, d)
			}
			shared.Merge(&own)
			m.merge(&local)
		})
	}
	wg.Wait()
	close(done)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	if got := h.Count(); got != writers*perWriter {
		t.Fatalf("Count() = %d, want %d", got, writers*perWriter)
	}
	m.check(t, &h, quantiles...)
	assertSame(t, &shared, &h)
}

// TestHistogram_Record_NoAllocs ensures Record does not allocate.
func TestHistogram_Record_NoAllocs(t *testing.T) {
	var h hist.Histogram
	d := time.Duration(0)
	allocs := testing.AllocsPerRun(1000, func() {
		d += 997
		h.Record(d)
	})
	if allocs != 0 {
		t.Fatalf("Record allocates %v times per call", allocs)
	}
}

// assertSame fails unless a and b give identical answers to every query.
func assertSame(t *testing.T, a, b *hist.Histogram) {
	t.Helper()
	if a.Count() != b.Count() || a.Max() != b.Max() || a.Mean() != b.Mean() {
		t.Fatalf("count/max/mean %d/%v/%v, want %d/%v/%v", a.Count(), a.Max(), a.Mean(), b.Count(), b.Max(), b.Mean())
	}
	for q := 0.0; q <= 1; q += 0.001 {
		if qa, qb := a.Quantile(q), b.Quantile(q); qa != qb {
			t.Fatalf("Quantile(%v) = %v, want %v", q, qa, qb)
		}
	}
}

func BenchmarkHistogram_Record(b *testing.B) {
	b.Run("goroutines=1", func(b *testing.B) {
		b.ReportAllocs()
		var h hist.Histogram
		d := time.Duration(0)
		for b.Loop() {
			d = (d + 7919) & (1<<30 - 1)
			h.Record(d)
		}
	})
	b.Run("goroutines=parallel/histograms=shared", func(b *testing.B) {
		b.ReportAllocs()
		var h hist.Histogram
		b.RunParallel(func(pb *testing.PB) {
			d := time.Duration(0)
			for pb.Next() {
				d = (d + 7919) & (1<<30 - 1)
				h.Record(d)
			}
		})
	})
	b.Run("goroutines=parallel/histograms=per-goroutine", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			h := new(hist.Histogram)
			d := time.Duration(0)
			for pb.Next() {
				d = (d + 7919) & (1<<30 - 1)
				h.Record(d)
			}
		})
	})
}

func BenchmarkHistogram_Quantile(b *testing.B) {
	b.ReportAllocs()
	var h hist.Histogram
	r := rand.New(rand.NewPCG(1, 1))
	for range 100_000 {
		h.Record(time.Duration(r.ExpFloat64() * float64(time.Millisecond)))
	}
	for b.Loop() {
		_ = h.Quantile(0.99)
	}
}

// A Histogram needs no constructor; record durations, then read quantiles.
func ExampleHistogram() {
	var h hist.Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	fmt.Println(h.Count(), h.Max(), h.Mean())
	fmt.Println(h.Quantile(0.5) >= 500*time.Microsecond, h.Quantile(0.5) <= 516*time.Microsecond)
	// Output:
	// 1000 1ms 500.5µs
	// true true
}
