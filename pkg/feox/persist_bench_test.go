package feox_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// The persistent-mode benchmarks use 1M keys of 16 bytes with 100-byte values (the read
// benchmarks' fixture keys) and run one iteration each; run them with
//
//	go test -run '^$' -bench 'Load|Open|PersistUpdate|Space' -benchtime 1x ./pkg/feox/
//
// They report keys/s (throughput), bytes/record (data file bytes per live record) and, for
// Open, the recovery scan's speed against a plain sequential read of the same file.

// openBench opens a memory-only or persistent store in dir.
func openBench(b *testing.B, mode, dir string) *feox.Store {
	b.Helper()
	o := feox.Options{}
	if mode == "persistent" {
		o.Path = filepath.Join(dir, "bench.feox")
	}
	st, err := feox.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// heapWarm makes warmHeap run once per process.
var heapWarm sync.Once

// warmHeap loads the fixture into a memory-only store, overwrites it once and closes it, so that
// the Go heap has grown to the size these benchmarks need before the first one is timed. The
// first run in a process otherwise pays for the page faults of a heap growing from nothing,
// which made the first (memory-only) load measure at half the speed of a second one.
func warmHeap(b *testing.B, d *benchData) {
	b.Helper()
	heapWarm.Do(func() {
		st := openBench(b, "memory", "")
		loadKeys(b, st, d.keys, d.value, 2)
		loadKeys(b, st, d.keys, d.value, 2)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
	})
}

// loadKeys inserts keys with g goroutines, each taking an interleaved share.
func loadKeys(b *testing.B, st *feox.Store, keys [][]byte, value []byte, g int) {
	b.Helper()
	var wg sync.WaitGroup
	for w := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += g {
				if _, err := st.Insert(keys[i], value); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkLoad measures loading 1M keys, including the final Flush, in memory-only and
// persistent mode, with 1 and 2 goroutines.
func BenchmarkLoad(b *testing.B) {
	d := keyFixture(b)
	warmHeap(b, d)
	for _, mode := range []string{"memory", "persistent"} {
		for _, g := range []int{1, 2} {
			b.Run(fmt.Sprintf("mode=%s/goroutines=%d", mode, g), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					dir := b.TempDir()
					st := openBench(b, mode, dir)
					runtime.GC()
					b.StartTimer()
					start := time.Now()
					loadKeys(b, st, d.keys, d.value, g)
					if err := st.Flush(); err != nil {
						b.Fatal(err)
					}
					el := time.Since(start)
					b.StopTimer()
					b.ReportMetric(float64(len(d.keys))/el.Seconds(), "keys/s")
					if mode == "persistent" {
						s := st.Stats()
						b.ReportMetric(float64(s.DiskLiveBytes)/float64(s.Keys), "bytes/record")
						b.ReportMetric(float64(s.Syncs), "syncs")
					}
					if err := st.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkPersistUpdate measures updates of random existing keys and an 80/20 get/update mix
// on a loaded store, memory-only against persistent, with 1 and 2 goroutines; the Flush at the
// end is included.
func BenchmarkPersistUpdate(b *testing.B) {
	d := keyFixture(b)
	warmHeap(b, d)
	const ops = 1 << 20
	for _, mode := range []string{"memory", "persistent"} {
		dir := b.TempDir()
		st := openBench(b, mode, dir)
		loadKeys(b, st, d.keys, d.value, 2)
		// An untimed pass of updates, so that the first timed run does not absorb the load's
		// aftermath (the ordered index and the garbage collector catching up).
		loadKeys(b, st, d.keys, d.value, 2)
		if err := st.Flush(); err != nil {
			b.Fatal(err)
		}
		for _, mix := range []string{"update", "mixed"} {
			for _, g := range []int{1, 2} {
				b.Run(fmt.Sprintf("op=%s/mode=%s/goroutines=%d", mix, mode, g), func(b *testing.B) {
					for range b.N {
						runtime.GC()
						start := time.Now()
						var wg sync.WaitGroup
						for w := range g {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for i := w; i < ops; i += g {
									k := d.keys[d.seq[i&(benchSeqLen-1)]]
									if mix == "mixed" && i%5 != 4 {
										_, _ = st.Get(k)
										continue
									}
									if _, err := st.Insert(k, d.value); err != nil {
										b.Error(err)
										return
									}
								}
							}()
						}
						wg.Wait()
						if err := st.Flush(); err != nil {
							b.Fatal(err)
						}
						b.ReportMetric(float64(ops)/time.Since(start).Seconds(), "ops/s")
					}
				})
			}
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpace measures the data file's size on disk (allocated, as du counts it) after a
// load of 1M keys and its Flush, then after 2M updates of keys drawn uniformly at random, their
// Flush, and the cleaner settled (until the allocated size has not shrunk for settleQuiet, at
// most settleMax), with the updates' throughput and the records the cleaner moved per update,
// for several values of Options.MaxGarbage (0: the default).
func BenchmarkSpace(b *testing.B) {
	d := keyFixture(b)
	warmHeap(b, d)
	for _, mg := range []float64{0, 0.1, 0.5, 1} {
		b.Run(fmt.Sprintf("max-garbage=%g", mg), func(b *testing.B) {
			for range b.N {
				measureSpace(b, d, mg)
			}
		})
	}
}

// measureSpace runs one BenchmarkSpace measurement with Options.MaxGarbage mg.
func measureSpace(b *testing.B, d *benchData, mg float64) {
	st, err := feox.Open(feox.Options{Path: filepath.Join(b.TempDir(), "space.feox"), MaxGarbage: mg})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	loadKeys(b, st, d.keys, d.value, 1)
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	s := st.Stats()
	b.ReportMetric(float64(s.DiskAllocatedBytes)/float64(s.Keys), "load-B/record")
	moved := s.RecordsMoved
	r := rand.New(rand.NewPCG(1, 2))
	const updates = 2_000_000
	start := time.Now()
	for range updates {
		if _, err := st.Insert(d.keys[r.IntN(len(d.keys))], d.value); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(updates/time.Since(start).Seconds(), "updates/s")
	s = st.Stats()
	b.ReportMetric(s.SpaceAmplification, "busy-space-amp")
	best, since := s.DiskAllocatedBytes, time.Now()
	for deadline := time.Now().Add(settleMax); time.Now().Before(deadline) && time.Since(since) < settleQuiet; {
		time.Sleep(100 * time.Millisecond)
		if s = st.Stats(); s.DiskAllocatedBytes < best {
			best, since = s.DiskAllocatedBytes, time.Now()
		}
	}
	b.ReportMetric(s.SpaceAmplification, "settled-space-amp")
	b.ReportMetric(float64(s.DiskAllocatedBytes)/float64(s.Keys), "settled-B/record")
	b.ReportMetric(float64(s.RecordsMoved-moved)/updates, "moves/update")
}

// How long BenchmarkSpace waits for the cleaner to settle.
const (
	settleQuiet = 3 * time.Second
	settleMax   = time.Minute
)

// BenchmarkOpen measures Open of a data file holding 1M records (the recovery scan and the
// rebuild of the hash index) against a plain sequential read of the same file, and the time
// until a Range returns (ms-to-range: the ordered index, built after Open returns, is ready).
func BenchmarkOpen(b *testing.B) {
	d := keyFixture(b)
	dir := b.TempDir()
	st := openBench(b, "persistent", dir)
	loadKeys(b, st, d.keys, d.value, 2)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "bench.feox")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("what=read", func(b *testing.B) {
		buf := make([]byte, 8<<20)
		for range b.N {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for {
				n, err := f.Read(buf)
				if n == 0 || err != nil {
					break
				}
			}
			b.ReportMetric(float64(fi.Size())/time.Since(start).Seconds()/1e6, "MB/s")
			f.Close()
		}
	})
	b.Run("what=open", func(b *testing.B) {
		for range b.N {
			runtime.GC()
			start := time.Now()
			st, err := feox.Open(feox.Options{Path: path})
			if err != nil {
				b.Fatal(err)
			}
			el := time.Since(start)
			b.StopTimer()
			// The ordered index is built after Open returns: a Range waits for it.
			if _, err := st.Range(nil, nil, 1); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-range")
			b.ReportMetric(float64(fi.Size())/el.Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(st.Len())/el.Seconds(), "records/s")
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
