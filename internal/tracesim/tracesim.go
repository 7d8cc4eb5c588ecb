// Package tracesim generates request traces with skewed popularity and replays them against
// reference cache policies (exact LRU, FIFO), for tests and benchmarks that compare the store's
// CLOCK cache with them.
package tracesim

import (
	"container/list"
	"math"
	"math/rand/v2"
)

// Zipfian draws item ranks in [0, n) with P(rank i) proportional to 1/(i+1)^theta, by the
// method of Gray et al., "Quickly Generating Billion-Record Synthetic Databases" (1994), the
// generator YCSB uses. Unlike math/rand/v2's Zipf it accepts theta < 1, such as YCSB's
// 0.99. Rank 0 is the most popular item.
type Zipfian struct {
	rng   *rand.Rand
	n     float64
	theta float64
	alpha float64 // 1 / (1 - theta)
	zetan float64 // sum over i in [1, n] of 1/i^theta
	eta   float64
	half  float64 // 1 + 0.5^theta: the cumulative weight of ranks 0 and 1
}

// NewZipfian returns a generator of ranks in [0, n) drawn with rng.
func NewZipfian(rng *rand.Rand, n int, theta float64) *Zipfian {
	var zetan float64
	for i := 1; i <= n; i++ {
		zetan += 1 / math.Pow(float64(i), theta)
	}
	zeta2 := 1 + math.Pow(0.5, theta)
	return &Zipfian{
		rng:   rng,
		n:     float64(n),
		theta: theta,
		alpha: 1 / (1 - theta),
		zetan: zetan,
		eta:   (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta2/zetan),
		half:  zeta2,
	}
}

// Next returns the next rank.
func (z *Zipfian) Next() int32 {
	u := z.rng.Float64()
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.half:
		return 1
	}
	r := int32(z.n * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(r, int32(z.n)-1)
}

// ZipfTrace returns length requests for items items drawn from a zipfian(theta) with the
// given seed.
func ZipfTrace(seed uint64, items, length int, theta float64) []int32 {
	z := NewZipfian(rand.New(rand.NewPCG(seed, 5)), items, theta)
	trace := make([]int32, length)
	for i := range trace {
		trace[i] = z.Next()
	}
	return trace
}

// LRUHits replays trace against an exact LRU cache of capacity items and returns the
// hits among the requests from index warm on.
func LRUHits(trace []int32, capacity, warm int) int {
	order := list.New() // front: most recently used
	where := make(map[int32]*list.Element, capacity+1)
	hits := 0
	for i, k := range trace {
		if e, ok := where[k]; ok {
			order.MoveToFront(e)
			if i >= warm {
				hits++
			}
			continue
		}
		where[k] = order.PushFront(k)
		if order.Len() > capacity {
			delete(where, order.Remove(order.Back()).(int32))
		}
	}
	return hits
}

// FIFOHits replays trace against a FIFO cache of capacity items (CLOCK without
// reference bits) and returns the hits among the requests from index warm on.
func FIFOHits(trace []int32, items, capacity, warm int) int {
	resident := make([]bool, items)
	queue := make([]int32, capacity) // circular; oldest at next once full
	next, filled := 0, 0
	hits := 0
	for i, k := range trace {
		if resident[k] {
			if i >= warm {
				hits++
			}
			continue
		}
		if filled == capacity {
			resident[queue[next]] = false
		} else {
			filled++
		}
		resident[k] = true
		queue[next] = k
		next = (next + 1) % capacity
	}
	return hits
}
