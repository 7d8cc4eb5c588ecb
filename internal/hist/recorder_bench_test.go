package hist_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/feoxdb/feox-go/internal/hist"
	"github.com/feoxdb/feox-go/internal/load/latency"
)

// sampleMask is pkg/feox's latencySampleMask: one call in 64 is timed.
const sampleMask = 63

// recorder is what a store's Get or Insert records its sampled latency into.
type recorder interface {
	Record(d time.Duration)
}

// lockedHDR is an HdrHistogram with the load kit's configuration behind a mutex: what Stats
// would use instead of this package.
type lockedHDR struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// Record adds d under the lock, clamped to the histogram's range as the load kit does.
func (l *lockedHDR) Record(d time.Duration) {
	v := min(max(int64(d), 0), latency.Highest)
	l.mu.Lock()
	_ = l.h.RecordValue(v)
	l.mu.Unlock()
}

// discard records nothing: the cost of the sampling alone.
type discard struct{}

// Record does nothing.
func (discard) Record(time.Duration) {}

// sampleStart is pkg/feox's sampleStart, with sampling optional: the start time of a timed
// call, or the zero time for one that is not timed.
func sampleStart(sampled bool) time.Time {
	if sampled && rand.Uint32()&sampleMask != 0 {
		return time.Time{}
	}
	return time.Now()
}

// sampleEnd is pkg/feox's sampleEnd: it records the latency of a timed call into r.
func sampleEnd(r recorder, start time.Time) {
	if !start.IsZero() {
		r.Record(time.Since(start))
	}
}

// BenchmarkRecorder measures what the latency recording of Stats costs each Get or Insert,
// under b.RunParallel with 1 and 2 goroutines (GOMAXPROCS set to match): this package's
// lock-free histogram as pkg/feox uses it (one call in 64 timed), an HdrHistogram behind a
// sync.Mutex with the same sampling, the same unsampled (every call timed), and the sampling
// alone. The recorders are called through an interface, which costs each of them the same
// indirect call on the timed calls. Compare the medians of
//
//	go test -run '^$' -bench Recorder -count 5 ./internal/hist/
//
// docs/DECISIONS.md (14) records the figures and what they decided.
func BenchmarkRecorder(b *testing.B) {
	recorders := []struct {
		name    string
		sampled bool
		make    func() recorder
	}{
		{"sampling-only", true, func() recorder { return discard{} }},
		{"hist", true, func() recorder { return new(hist.Histogram) }},
		{"locked-hdr", true, func() recorder { return &lockedHDR{h: latency.New()} }},
		{"locked-hdr-unsampled", false, func() recorder { return &lockedHDR{h: latency.New()} }},
	}
	for _, g := range []int{1, 2} {
		for _, rc := range recorders {
			b.Run(fmt.Sprintf("recorder=%s/goroutines=%d", rc.name, g), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(g))
				r := rc.make()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						sampleEnd(r, sampleStart(rc.sampled))
					}
				})
			})
		}
	}
}
