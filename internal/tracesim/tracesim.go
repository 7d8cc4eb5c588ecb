// Package tracesim generates request traces with skewed popularity (with the load kit's
// zipfian sampler) and replays them against reference cache policies (exact LRU, FIFO), for
// tests and benchmarks that compare the store's CLOCK cache with them.
package tracesim

import (
	"container/list"
	"math/rand/v2"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// ZipfTrace returns length requests for items items drawn from a zipfian(theta) with the
// given seed (theta 0 draws every item alike). Item 0 is the most popular.
func ZipfTrace(seed uint64, items, length int, theta float64) []int32 {
	z := gen.NewZipf(uint64(items), theta)
	r := rand.New(rand.NewPCG(seed, 5))
	trace := make([]int32, length)
	for i := range trace {
		trace[i] = int32(z.Rank(r))
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
