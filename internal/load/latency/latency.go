// Package latency is the latency histogram of the load generator and of the comparison with
// other stores: an HdrHistogram (github.com/HdrHistogram/hdrhistogram-go) with one
// configuration, defined here, so that a p99 means the same thing in both tools.
//
// The configuration: values in nanoseconds from Lowest (1 ns) to Highest (one hour), with
// SignificantFigures (3) decimal digits. Every value below 2048 ns has its own bucket; above,
// a bucket is at most 1/1024 of its values wide. A histogram holds about 270 KiB of counters.
//
// The quantile convention is HdrHistogram's own: Quantile(q) finds the recorded value of rank
// max(1, floor(q*Count() + 0.5)) (rank 1 the smallest) and reports the highest value of its
// bucket. The result is thus never below the value of that rank, and at most RelativeError
// above it; Max is reported the same way. A latency above Highest counts as Highest.
package latency

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	// Lowest is the smallest latency told apart from zero, in nanoseconds.
	Lowest = 1
	// Highest is the largest latency recorded as itself; longer ones count as Highest.
	Highest = int64(time.Hour)
	// SignificantFigures is the number of decimal digits every recorded value keeps.
	SignificantFigures = 3
	// RelativeError bounds how far above a value its bucket's highest value lies:
	// HdrHistogram keeps 2^11 sub-buckets per power of two for three significant figures, so
	// a bucket holding v is less than v/1024 wide.
	RelativeError = 1.0 / 1024
)

// New returns an empty HdrHistogram with the kit's configuration, for a recorder that needs
// the HdrHistogram itself (for example behind a lock).
func New() *hdrhistogram.Histogram {
	return hdrhistogram.New(Lowest, Highest, SignificantFigures)
}

// Histogram records latencies. The zero value is empty and ready; it allocates its counters
// on the first Record or Merge. A Histogram is not safe for concurrent use: give each
// goroutine its own and Merge them for reporting.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// Record adds one latency; a negative d counts as 0 and one above Highest as Highest.
func (h *Histogram) Record(d time.Duration) {
	if h.h == nil {
		h.h = New()
	}
	_ = h.h.RecordValue(min(max(int64(d), 0), Highest)) // in range: it cannot fail
}

// Merge adds every latency recorded in o to h; o is not modified.
func (h *Histogram) Merge(o *Histogram) {
	if o.h == nil || o.h.TotalCount() == 0 {
		return
	}
	if h.h == nil {
		h.h = New()
	}
	h.h.Merge(o.h) // same configuration: nothing is dropped
}

// Reset empties h, keeping its counters allocated.
func (h *Histogram) Reset() {
	if h.h != nil {
		h.h.Reset()
	}
}

// Count returns the number of recorded latencies.
func (h *Histogram) Count() int64 {
	if h.h == nil {
		return 0
	}
	return h.h.TotalCount()
}

// Quantile returns the q-quantile of the recorded latencies under the convention of the
// package documentation; Quantile(0) is the lowest value of the smallest latency's bucket. q
// is clamped to [0, 1] (NaN counts as 0). An empty h returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	switch {
	case !(q > 0):
		q = 0
	case q > 1:
		q = 1
	}
	return time.Duration(h.h.ValueAtQuantile(q * 100))
}

// Max returns the largest recorded latency, as the highest value of its bucket; 0 when h is
// empty.
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Max())
}

// Mean returns the mean of the recorded latencies, each counted as the middle of its bucket;
// 0 when h is empty.
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Mean())
}
