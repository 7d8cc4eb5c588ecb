package cache

import (
	"fmt"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/tracesim"
)

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

// TestCache_HitRate ensures CLOCK keeps at least 95% of an exact LRU's hit rate on a
// zipfian(0.99) trace with a cache of a tenth of the items, and that its reference bits pay
// off: it must beat FIFO, which already reaches about 95% of LRU on this trace. The trace is
// fixed by its seed, so this checks policy quality, not timing.
func TestCache_HitRate(t *testing.T) {
	const items, capacity, requests = 100_000, 10_000, 200_000
	trace := tracesim.ZipfTrace(42, items, requests, 0.99)
	clock := float64(simulateClock(trace, items, capacity, 0)) / requests
	lru := float64(tracesim.LRUHits(trace, capacity, 0)) / requests
	fifo := float64(tracesim.FIFOHits(trace, items, capacity, 0)) / requests
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
				trace := tracesim.ZipfTrace(42, items, requests, theta)
				b.ReportAllocs()
				var clockHits, lruHits, fifoHits int
				var clockTime, lruTime time.Duration
				for b.Loop() {
					start := time.Now()
					clockHits = simulateClock(trace, items, capacity, warm)
					clockTime += time.Since(start)
					start = time.Now()
					lruHits = tracesim.LRUHits(trace, capacity, warm)
					lruTime += time.Since(start)
					fifoHits = tracesim.FIFOHits(trace, items, capacity, warm)
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
