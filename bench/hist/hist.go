// Package hist records latencies in a log-linear histogram: buckets of a sixteenth of a
// power of two, so a quantile is known to within about 6%, in constant memory.
package hist

import (
	"math/bits"
	"time"
)

// subBits is log2 of the number of buckets per power of two.
const subBits = 4

const (
	sub     = 1 << subBits
	buckets = (64 - subBits + 1) * sub
)

// Hist counts durations. The zero value is empty and ready; a Hist is owned by one goroutine
// and merged into another with Merge.
type Hist struct {
	counts [buckets]uint64
	n      uint64
	max    int64
}

// bucket returns the bucket of v >= 0: values below sub have one bucket each; above, the
// power of two of v picks a group of sub buckets and the next subBits bits pick one of them.
func bucket(v int64) int {
	if v < sub {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1 - subBits
	return (exp+1)*sub + int(uint64(v)>>uint(exp)) - sub
}

// lower returns the smallest value of bucket b.
func lower(b int) int64 {
	if b < sub {
		return int64(b)
	}
	exp := b/sub - 1
	return int64(sub+b%sub) << uint(exp)
}

// Record adds one duration; a negative one counts as zero.
func (h *Hist) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds every count of o to h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded durations.
func (h *Hist) Count() uint64 { return h.n }

// Max returns the largest recorded duration.
func (h *Hist) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns an upper estimate of the q-quantile (0 < q <= 1): the middle of the bucket
// holding it, never more than Max. It returns 0 for an empty histogram.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			lo := lower(b)
			hi := lower(b + 1)
			if hi <= lo { // past int64: the last group
				return time.Duration(h.max)
			}
			return time.Duration(min((lo+hi)/2, h.max))
		}
	}
	return time.Duration(h.max)
}
