package cache

import (
	"container/list"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// zipfian draws item ranks in [0, n) with P(rank i) proportional to 1/(i+1)^theta, by the
// method of Gray et al., "Quickly Generating Billion-Record Synthetic Databases" (1994), the
// generator YCSB uses. Unlike math/rand/v2's Zipf it accepts theta < 1, such as YCSB's
// 0.99. Rank 0 is the most popular item.
type zipfian struct {
	rng   *rand.Rand
	n     float64
	theta float64
	alpha float64 // 1 / (1 - theta)
	zetan float64 // sum over i in [1, n] of 1/i^theta
	eta   float64
	half  float64 // 1 + 0.5^theta: the cumulative weight of ranks 0 and 1
}

func newZipfian(rng *rand.Rand, n int, theta float64) *zipfian {
	var zetan float64
	for i := 1; i <= n; i++ {
		zetan += 1 / math.Pow(float64(i), theta)
	}
	zeta2 := 1 + math.Pow(0.5, theta)
	return &zipfian{
		rng:   rng,
		n:     float64(n),
		theta: theta,
		alpha: 1 / (1 - theta),
		zetan: zetan,
		eta:   (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta2/zetan),
		half:  zeta2,
	}
}

func (z *zipfian) next() int32 {
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

// zipfTrace returns length requests for items items drawn from a zipfian(theta) with the
// given seed.
func zipfTrace(seed uint64, items, length int, theta float64) []int32 {
	z := newZipfian(rand.New(rand.NewPCG(seed, 5)), items, theta)
	trace := make([]int32, length)
	for i := range trace {
		trace[i] = z.next()
	}
	return trace
}

// simulateClock replays trace against a Cache that holds capacity equal-size items, the
// way the store would use it: a hit touches the handle; a miss admits the item and evicts
// until the cache is back under its watermark. It returns the hits among the requests from
// index warm on.
func simulateClock(trace []int32, items, capacity, warm int) int {
	c := New[int32](Config{HighWatermark: int64(capacity), LowWatermark: int64(capacity)})
	handles := make([]*Handle[int32], items)
	evict := func(k int32) bool {
		handles[k] = nil
		return true
	}
	hits := 0
	for i, k := range trace {
		if h := handles[k]; h != nil {
			c.Touch(h)
			if i >= warm {
				hits++
			}
			continue
		}
		handles[k] = c.Admit(k, 1)
		for c.NeedsEvict() {
			c.Evict(evict)
		}
	}
	return hits
}

// simulateLRU replays trace against an exact LRU cache of capacity items and returns the
// hits among the requests from index warm on.
func simulateLRU(trace []int32, capacity, warm int) int {
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

// simulateFIFO replays trace against a FIFO cache of capacity items (CLOCK without
// reference bits) and returns the hits among the requests from index warm on.
func simulateFIFO(trace []int32, items, capacity, warm int) int {
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

// TestZipfian ensures the generator is skewed as a zipfian should be: the share of the most
// popular item is close to 1/zeta(n, theta), and ranks are in range.
func TestZipfian(t *testing.T) {
	const n, draws = 1000, 200_000
	z := newZipfian(rand.New(rand.NewPCG(1, 2)), n, 0.99)
	var counts [n]int
	for range draws {
		r := z.next()
		if r < 0 || r >= n {
			t.Fatalf("rank %d out of [0, %d)", r, n)
		}
		counts[r]++
	}
	for _, rank := range []int{0, 1, 9} {
		want := draws / math.Pow(float64(rank+1), 0.99) / z.zetan
		if got := float64(counts[rank]); math.Abs(got-want) > 0.1*want {
			t.Errorf("rank %d drawn %v times; want about %.0f", rank, got, want)
		}
	}
}

// TestCache_HitRate ensures CLOCK keeps at least 95% of an exact LRU's hit rate on a
// zipfian(0.99) trace with a cache of a tenth of the items, and that its reference bits pay
// off: it must beat FIFO, which already reaches about 95% of LRU on this trace. The trace is
// fixed by its seed, so this checks policy quality, not timing.
func TestCache_HitRate(t *testing.T) {
	const items, capacity, requests = 100_000, 10_000, 200_000
	trace := zipfTrace(42, items, requests, 0.99)
	clock := float64(simulateClock(trace, items, capacity, 0)) / requests
	lru := float64(simulateLRU(trace, capacity, 0)) / requests
	fifo := float64(simulateFIFO(trace, items, capacity, 0)) / requests
	t.Logf("hit ratio: CLOCK %.4f, LRU %.4f, FIFO %.4f, CLOCK/LRU %.4f", clock, lru, fifo,
		clock/lru)
	if lru < 0.3 {
		t.Fatalf("LRU hit ratio %.4f: the trace is not skewed as a zipfian(0.99)", lru)
	}
	if clock < 0.95*lru {
		t.Errorf("CLOCK hit ratio %.4f is below 95%% of LRU's %.4f", clock, lru)
	}
	if clock <= fifo {
		t.Errorf("CLOCK hit ratio %.4f is no better than FIFO's %.4f", clock, fifo)
	}
}

// BenchmarkHitRate replays one zipfian trace against CLOCK and an exact LRU of the same
// capacity and reports both hit ratios (after a warm-up of a quarter of the trace), their
// ratio, and each simulation's cost per request; FIFO's hit ratio is reported for scale.
func BenchmarkHitRate(b *testing.B) {
	const items, requests = 1_000_000, 4_000_000
	for _, pct := range []int{10, 1} {
		for _, theta := range []float64{0.99, 0.8} {
			name := fmt.Sprintf("items=1M/cache=%dpct/theta=%.2f", pct, theta)
			b.Run(name, func(b *testing.B) {
				capacity, warm := items*pct/100, requests/4
				trace := zipfTrace(42, items, requests, theta)
				b.ReportAllocs()
				var clockHits, lruHits, fifoHits int
				var clockTime, lruTime time.Duration
				for b.Loop() {
					start := time.Now()
					clockHits = simulateClock(trace, items, capacity, warm)
					clockTime += time.Since(start)
					start = time.Now()
					lruHits = simulateLRU(trace, capacity, warm)
					lruTime += time.Since(start)
					fifoHits = simulateFIFO(trace, items, capacity, warm)
				}
				clock := float64(clockHits) / float64(requests-warm)
				lru := float64(lruHits) / float64(requests-warm)
				b.ReportMetric(clock, "clock-hit-ratio")
				b.ReportMetric(lru, "lru-hit-ratio")
				b.ReportMetric(clock/lru, "clock/lru")
				b.ReportMetric(float64(fifoHits)/float64(requests-warm), "fifo-hit-ratio")
				b.ReportMetric(float64(clockTime.Nanoseconds())/float64(b.N*requests), "clock-ns/req")
				b.ReportMetric(float64(lruTime.Nanoseconds())/float64(b.N*requests), "lru-ns/req")
			})
		}
	}
}
