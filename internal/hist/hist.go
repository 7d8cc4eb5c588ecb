// Package hist provides a fixed-size, allocation-free latency histogram.
//
// The histogram is log-linear in the style of HDR histograms: every power-of-two range of
// nanoseconds is split into 32 equal linear sub-buckets, so a recorded duration is known to
// within 1/32 (about 3%) of its value. Values below 32ns are counted exactly. The covered
// range is 0 .. 2^42-1 ns (about 73 minutes); longer durations are counted in the last bucket.
//
// The store's Stats quantiles come from here; the load generator's and the comparison's come
// from the load kit's HdrHistograms (internal/load/latency). Both report the highest value of
// the bucket that holds the observation of a rank, so both read at or above the true value;
// they differ in the rank, ceil(q*n) here and floor(q*n + 0.5) there (at most one observation
// apart), and in the precision, within 1/32 (about 3%) here and 1/1024 there. A Stats p99 is
// thus comparable with a loadgen p99 of the same operations to within about 3%, once the
// sampling (one call in 64 here) has seen enough calls. docs/DECISIONS.md (14) says why Stats
// keeps this recorder.
package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	// subBits is log2 of the number of linear sub-buckets per power-of-two range.
	subBits = 5
	// subCount is the number of linear sub-buckets per power-of-two range.
	subCount = 1 << subBits
	// maxBits is the bit length of the largest value that gets its own bucket.
	maxBits = 42
	// maxValue is the largest value (in nanoseconds) that gets its own bucket.
	maxValue = 1<<maxBits - 1
	// numBuckets covers the exact group [0, subCount) plus one group per bit length
	// subBits+1 .. maxBits.
	numBuckets = (maxBits - subBits + 1) * subCount
)

// Histogram is a log-linear latency histogram (HDR-style: power-of-two ranges, each split into
// 32 linear sub-buckets, at most 1/32 relative error) covering 1ns .. about 73 minutes.
//
// The zero value is ready to use. Record is safe for concurrent use and does not allocate: it
// performs atomic adds only. The reading methods (Count, Quantile, Max, Mean, Snapshot) may run
// concurrently with Record; they then see some prefix of the concurrent records, not
// necessarily the same one for every counter. Reset and Merge into h are not atomic with
// respect to concurrent Records on h. A Histogram must not be copied after first use; use
// Snapshot.
//
// Heavy concurrent recording into one Histogram contends on its shared counters; give each
// goroutine its own Histogram and Merge them for reporting.
type Histogram struct {
	buckets [numBuckets]atomic.Int64
	count   atomic.Int64
	sum     atomic.Int64
	max     atomic.Int64
}

// bucketIndex returns the bucket that counts value v (0 <= v <= maxValue).
func bucketIndex(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // >= 0 because v >= subCount
	// v>>shift lies in [subCount, 2*subCount): the leading 1 bit plus subBits sub-bucket bits.
	return (shift+1)*subCount + int(v>>uint(shift)) - subCount
}

// bucketUpper returns the largest value counted by bucket i.
func bucketUpper(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := uint(i/subCount - 1)
	lower := uint64(subCount+i%subCount) << shift
	return lower + (1 << shift) - 1
}

// Record adds one observation of d. A negative d counts as 0; a d beyond the covered range
// counts in the last bucket (Max still reports the exact value). Record does not allocate.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	idx := numBuckets - 1
	if v <= maxValue {
		idx = bucketIndex(uint64(v))
	}
	// Plain atomic adds: each counter is independent and readers tolerate seeing them skewed.
	h.buckets[idx].Add(1)
	h.sum.Add(v)
	h.count.Add(1)
	for {
		// A CAS loop keeps max monotonic under concurrent Records; it exits as soon as the
		// stored maximum is at least v, so the common case is one load.
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of recorded observations.
func (h *Histogram) Count() int64 {
	return h.count.Load()
}

// Max returns the largest recorded duration, or 0 when the histogram is empty.
func (h *Histogram) Max() time.Duration {
	return time.Duration(h.max.Load())
}

// Mean returns the arithmetic mean of the recorded durations (exact, not bucketed), or 0 when
// the histogram is empty.
func (h *Histogram) Mean() time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns an upper bound of the q-quantile of the recorded durations: the largest
// value of the bucket that holds the observation of rank ceil(q*Count()), clamped to Max. For
// durations inside the covered range the result is at least the true quantile and at most
// 1/32 above it; the last bucket is treated as unbounded, so a quantile that falls there
// reports Max. q is clamped to [0, 1] (NaN counts as 0); Quantile(0) bounds the smallest
// observation and Quantile(1) is Max. Quantile returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if !(q > 0) {
		q = 0
	} else if q > 1 {
		q = 1
	}
	// Count from the buckets themselves so that the rank stays consistent with what the
	// second pass sees even while Records run concurrently.
	var total int64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	rank = min(rank, total)
	maxSeen := h.max.Load()
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			if i == numBuckets-1 {
				return time.Duration(maxSeen) // the last bucket also holds out-of-range values
			}
			return time.Duration(min(int64(bucketUpper(i)), maxSeen))
		}
	}
	// Only reachable when a concurrent Reset emptied buckets between the two passes.
	return time.Duration(maxSeen)
}

// Merge adds the observations of o into h. o is only read; a nil o is a no-op. Merging a
// histogram that is being recorded into concurrently adds some prefix of its observations.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	for i := range o.buckets {
		if n := o.buckets[i].Load(); n != 0 {
			h.buckets[i].Add(n)
		}
	}
	h.sum.Add(o.sum.Load())
	h.count.Add(o.count.Load())
	om := o.max.Load()
	for {
		m := h.max.Load()
		if om <= m || h.max.CompareAndSwap(m, om) {
			return
		}
	}
}

// Reset discards every observation. Records that run concurrently with Reset may be partly
// kept (for example counted in Count but not in any bucket); reset only between runs.
func (h *Histogram) Reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.sum.Store(0)
	h.count.Store(0)
	h.max.Store(0)
}

// Snapshot returns a copy of h that later Records into h do not change, for reporting.
func (h *Histogram) Snapshot() *Histogram {
	s := new(Histogram)
	s.Merge(h)
	return s
}
