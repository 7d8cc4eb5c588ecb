// Package hist is a log-linear histogram of non-negative integers (latencies in nanoseconds),
// in the style of HdrHistogram: values below 128 have a bucket each, and every power-of-two
// range above is split into 128 equal buckets. A quantile is reported as the midpoint of the
// bucket that holds it, so it is within RelativeError of the exact quantile of the recorded
// values.
//
// A Histogram is not safe for concurrent use. The intended pattern is one histogram per
// goroutine, recorded into without any synchronisation, and merged into a total once the
// goroutine has handed it over.
package hist

import (
	"math"
	"math/bits"
)

const (
	// subBits is the number of bits of a value that select its sub-bucket within a power of
	// two: 2^subBits buckets per power of two.
	subBits  = 7
	subCount = 1 << subBits

	// MaxValue is the largest value the buckets resolve (2^40 - 1, about 18 minutes in
	// nanoseconds). Larger values are counted in the last bucket; Max still reports them
	// exactly.
	MaxValue = 1<<40 - 1

	// numBuckets covers every value up to MaxValue: subCount exact buckets, then subCount
	// per power of two from 2^subBits to 2^39.
	numBuckets = (40-subBits)*subCount + subCount

	// RelativeError bounds |Quantile(q) - exact| / exact, where exact is the recorded value
	// of rank ceil(q*Count()) and at most MaxValue: half a bucket's width over the bucket's
	// lower bound, at most 1/2^(subBits+1). Values below 128 are exact.
	RelativeError = 1.0 / (2 * subCount)
)

// Histogram counts values in log-linear buckets. The zero value is an empty histogram ready
// for use; it allocates its buckets (34 KiB) on the first Record or Merge.
type Histogram struct {
	counts []uint64
	count  uint64
	sum    uint64
	min    uint64
	max    uint64
}

// bucketOf returns the index of the bucket that holds v.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	if v > MaxValue {
		v = MaxValue
	}
	shift := bits.Len64(v) - 1 - subBits // v>>shift is in [subCount, 2*subCount)
	return shift*subCount + int(v>>shift)
}

// bucketRange returns the smallest value of bucket i and the number of values it holds.
func bucketRange(i int) (low, width uint64) {
	if i < 2*subCount {
		return uint64(i), 1
	}
	shift := i/subCount - 1
	mantissa := uint64(i%subCount + subCount)
	return mantissa << shift, 1 << shift
}

// Record adds one value; a negative value counts as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	h.counts[bucketOf(u)]++
	if h.count == 0 || u < h.min {
		h.min = u
	}
	if u > h.max {
		h.max = u
	}
	h.count++
	h.sum += u
}

// Merge adds every value recorded in o to h. o is not modified.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.count += o.count
	h.sum += o.sum
}

// Reset empties h, keeping its buckets allocated.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.count, h.sum, h.min, h.max = 0, 0, 0, 0
}

// Count returns the number of recorded values.
func (h *Histogram) Count() int64 { return int64(h.count) }

// Min returns the smallest recorded value, or 0 when h is empty.
func (h *Histogram) Min() int64 { return int64(h.min) }

// Max returns the largest recorded value, or 0 when h is empty.
func (h *Histogram) Max() int64 { return int64(h.max) }

// Mean returns the mean of the recorded values, or 0 when h is empty.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.count)
}

// Quantile returns the value of rank ceil(q*Count()) among the recorded values in ascending
// order (rank 1 is the smallest), to within RelativeError. Quantile(0) is Min and
// Quantile(1) is Max, both exact. An empty histogram returns 0; q is clamped to [0, 1].
func (h *Histogram) Quantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	switch {
	case q <= 0 || math.IsNaN(q):
		return int64(h.min)
	case q >= 1:
		return int64(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = min(max(rank, 1), h.count)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := low + width/2
			// The exact value lies in [low, low+width) and in [min, max]: clamping can only
			// bring v closer to it.
			return int64(min(max(v, h.min), h.max))
		}
	}
	return int64(h.max) // not reached: the counts add up to count
}
