package feox_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/tracesim"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// The cache benchmarks run on persistent stores; run them with
//
//	go test -run '^$' -bench 'CacheGet|CacheZipf' -benchtime 1x ./pkg/feox/
//
// BenchmarkCacheGet compares Get of a resident value with Get of a value on disk (DisableCache:
// every read goes to the file, verified). BenchmarkCacheZipf replays a zipfian(0.99) trace of
// reads with the cache holding a tenth of the values, reports the store's hit rate next to an
// exact LRU's over the same trace, and the throughput against the same trace with the cache
// disabled.

const (
	cacheBenchKeys  = 20_000
	cacheBenchValue = 4096
	cacheBenchTrace = 400_000
)

// loadCacheStore opens a persistent store in dir with opts and writes the benchmark's keys.
func loadCacheStore(b *testing.B, dir string, opts feox.Options) *feox.Store {
	b.Helper()
	opts.Path = filepath.Join(dir, "cache.feox")
	s, err := openIO(opts)
	if err != nil {
		b.Fatal(err)
	}
	v := make([]byte, cacheBenchValue)
	for i := range cacheBenchKeys {
		if _, err := s.Insert(cacheKey(i), v); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkCacheGet(b *testing.B) {
	trace := tracesim.ZipfTrace(1, cacheBenchKeys, cacheBenchTrace, 0) // theta 0: uniform
	keys := make([][]byte, cacheBenchKeys)
	for i := range keys {
		keys[i] = cacheKey(i)
	}
	for _, mode := range []string{"resident", "disk"} {
		b.Run("value="+mode, func(b *testing.B) {
			s := loadCacheStore(b, b.TempDir(), feox.Options{DisableCache: mode == "disk"})
			defer s.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Get(keys[trace[i%len(trace)]]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCacheZipf(b *testing.B) {
	trace := tracesim.ZipfTrace(2, cacheBenchKeys, cacheBenchTrace, 0.99)
	keys := make([][]byte, cacheBenchKeys)
	for i := range keys {
		keys[i] = cacheKey(i)
	}
	// A tenth of the values, plus what the keys alone are charged (MaxMemory bounds both).
	capacity := cacheBenchKeys / 10
	budget := int64(capacity*cacheBenchValue) + cacheBenchKeys*(16+128)
	for _, mode := range []string{"cache", "nocache"} {
		b.Run("mode="+mode, func(b *testing.B) {
			s := loadCacheStore(b, b.TempDir(), feox.Options{MaxMemory: budget, DisableCache: mode == "nocache"})
			defer s.Close()
			warm := len(trace) / 4
			for _, k := range trace[:warm] {
				if _, err := s.Get(keys[k]); err != nil {
					b.Fatal(err)
				}
			}
			before := s.Stats()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for _, k := range trace[warm:] {
					if _, err := s.Get(keys[k]); err != nil {
						b.Fatal(err)
					}
				}
			}
			el := time.Since(start)
			b.StopTimer()
			after := s.Stats()
			hits := after.CacheHits - before.CacheHits
			misses := after.CacheMisses - before.CacheMisses
			b.ReportMetric(float64(b.N*(len(trace)-warm))/el.Seconds(), "gets/s")
			hitRate := float64(hits) / float64(hits+misses)
			b.ReportMetric(hitRate, "hit-ratio")
			if mode == "cache" {
				lru := float64(tracesim.LRUHits(trace, capacity, warm)) / float64(len(trace)-warm)
				b.ReportMetric(lru, "lru-hit-ratio")
				b.ReportMetric(hitRate/lru, "hit/lru")
			}
		})
	}
}
