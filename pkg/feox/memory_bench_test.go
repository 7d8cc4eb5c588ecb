package feox_test

import (
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// BenchmarkMemoryPerRecord measures what a record costs in memory: the live heap that a load of
// 1M records (1,048,576) adds, per record, against what MemoryUsage charges for them. Run it
// with
//
//	go test -run '^$' -bench MemoryPerRecord -benchtime 1x ./pkg/feox/
//
// and for a heap profile of one shape, taken at the measurement with the store still open
// (docs/DECISIONS.md, 19)
//
//	go test -run '^$' -bench 'MemoryPerRecord/^mode=memory$/^key=16$/^value=100$' -benchtime 1x \
//	    -memprofilerate 512 -record-heap-profile mem.prof ./pkg/feox/
//	go tool pprof -sample_index=inuse_space -top mem.prof
//
// Each iteration opens a store, collects garbage twice and reads HeapAlloc, loads the records
// with one goroutine (persistent stores: then Flush, and wait until the values are resident in
// the cache, or with DisableCache until every value has left memory), applies the ordered
// index's log, collects garbage twice and reads HeapAlloc again. It reports
//
//   - heap-B/record: the growth of HeapAlloc over the load, per record;
//   - MemoryUsage-B/record: Stats().MemoryBytes (MemoryUsage) per record;
//   - usage/heap: the ratio of the two (1 when MemoryUsage tells the truth);
//   - gc-cpu-share: the garbage collector's share of the CPU time available to the process
//     (GOMAXPROCS x wall time) during the load, from runtime/metrics; gc-busy-share, its share
//     of the CPU time the process did not leave idle. The runtime updates these figures at the
//     end of each collection, so the load's figures are those up to the end of the first
//     forced collection after it, less the mean of the two forced collections that follow
//     (which have the same live heap to mark). They vary from run to run and with the
//     machine's load.
//
// The fixture's keys are allocated before the first HeapAlloc, so they do not count.
func BenchmarkMemoryPerRecord(b *testing.B) {
	for _, sh := range []memShape{
		{name: "mode=memory/key=16/value=100", keySize: 16, valSize: 100},
		{name: "mode=persistent/key=16/value=100", persistent: true, keySize: 16, valSize: 100},
		{name: "mode=persistent-evicted/key=16/value=100", persistent: true, evicted: true, keySize: 16, valSize: 100},
		{name: "mode=memory/key=32/value=1024", keySize: 32, valSize: 1024},
		{name: "mode=memory/counters/key=16", counters: true, keySize: 16, valSize: 8},
	} {
		b.Run(sh.name, func(b *testing.B) {
			keys := memKeys(b, sh.keySize)
			value := make([]byte, sh.valSize)
			var sum memFigures
			for range b.N {
				f := measureMemory(b, sh, keys, value)
				sum.heap += f.heap
				sum.usage += f.usage
				sum.gcShare += f.gcShare
				sum.gcBusy += f.gcBusy
			}
			n := float64(b.N)
			b.ReportMetric(sum.heap/n, "heap-B/record")
			b.ReportMetric(sum.usage/n, "MemoryUsage-B/record")
			b.ReportMetric(sum.usage/sum.heap, "usage/heap")
			b.ReportMetric(sum.gcShare/n, "gc-cpu-share")
			b.ReportMetric(sum.gcBusy/n, "gc-busy-share")
		})
	}
}

// recordHeapProfile names the file to which BenchmarkMemoryPerRecord writes a heap profile at
// each measurement, while the store is still open (-memprofile writes one at the end of the
// run, when the store is gone). Each measurement overwrites it: pick one shape with -bench.
var recordHeapProfile = flag.String("record-heap-profile", "",
	"write a heap profile of each BenchmarkMemoryPerRecord measurement to this file")

// memShape is one kind of record BenchmarkMemoryPerRecord loads.
type memShape struct {
	name string
	// persistent opens a store with a data file; evicted sets DisableCache, so that every value
	// leaves memory once it is durable.
	persistent, evicted bool
	// counters creates each key with Increment instead of Insert (valSize is then 8).
	counters         bool
	keySize, valSize int
}

// memFigures are one measurement's results, per record where it applies.
type memFigures struct {
	heap, usage, gcShare, gcBusy float64
}

var (
	memKeysMu sync.Mutex
	memKeySet = map[int][][]byte{}
)

// memKeys returns benchKeys distinct random keys of size bytes: the read benchmarks' fixture keys
// for 16 bytes, a fixture of its own (made once) for other sizes.
func memKeys(b *testing.B, size int) [][]byte {
	b.Helper()
	if size == benchKeySize {
		return keyFixture(b).keys
	}
	memKeysMu.Lock()
	defer memKeysMu.Unlock()
	if keys, ok := memKeySet[size]; ok {
		return keys
	}
	r := rand.New(rand.NewPCG(3, uint64(size)))
	keys := make([][]byte, benchKeys)
	for i := range keys {
		k := make([]byte, size)
		for j := 0; j+8 <= size; j += 8 {
			binary.LittleEndian.PutUint64(k[j:], r.Uint64())
		}
		keys[i] = k
	}
	memKeySet[size] = keys
	return keys
}

// gcMetrics names the runtime/metrics samples measureMemory reads.
var gcMetrics = []string{
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
}

// cpuSample is a reading of gcMetrics: GC, total and idle CPU seconds.
type cpuSample struct{ gc, total, idle float64 }

func readCPU() cpuSample {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, name := range gcMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	f := func(i int) float64 {
		if s[i].Value.Kind() != metrics.KindFloat64 {
			return 0
		}
		return s[i].Value.Float64()
	}
	return cpuSample{gc: f(0), total: f(1), idle: f(2)}
}

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{gc: a.gc - b.gc, total: a.total - b.total, idle: a.idle - b.idle}
}

// liveHeap collects garbage twice (the second collection frees what the first one's
// finalizers and sweeping left) and returns HeapAlloc.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measureMemory runs one BenchmarkMemoryPerRecord measurement of sh.
func measureMemory(b *testing.B, sh memShape, keys [][]byte, value []byte) memFigures {
	b.Helper()
	b.StopTimer()
	o := feox.Options{DisableCache: sh.evicted}
	if sh.persistent {
		o.Path = filepath.Join(b.TempDir(), "mem.feox")
	}
	st, err := feox.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	}()
	before := liveHeap()
	cpu0 := readCPU()
	b.StartTimer()

	if sh.counters {
		for _, k := range keys {
			if _, err := st.Increment(k, 1); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		loadKeys(b, st, keys, value, 1)
	}
	n := int64(len(keys))
	if sh.persistent {
		if err := st.Flush(); err != nil {
			b.Fatal(err)
		}
		// Flush returns once the records are on disk; the complete stage admits the values
		// to the cache, or with DisableCache replaces each record by its stub, on its own
		// goroutine.
		settled := func(s feox.Stats) bool { return s.CacheBytes == n*feox.CacheCharge(sh.valSize) }
		if sh.evicted {
			settled = func(s feox.Stats) bool { return s.CacheEvictions == n }
		}
		deadline := time.Now().Add(waitBound)
		for s := st.Stats(); !settled(s); s = st.Stats() {
			if time.Now().After(deadline) {
				b.Fatalf("the values did not settle within %v: %d cached bytes, %d evictions, %d keys",
					waitBound, s.CacheBytes, s.CacheEvictions, s.Keys)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A Range applies what is left of the ordered index's log, so that every key is in the tree.
	if _, err := st.Range(nil, nil, 1); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()

	runtime.GC()
	cpu1 := readCPU()
	after := liveHeap()
	cpu2 := readCPU()
	if *recordHeapProfile != "" {
		writeHeapProfile(b, *recordHeapProfile)
	}
	s := st.Stats()
	runtime.KeepAlive(st)
	if s.Keys != n {
		b.Fatalf("%d keys after the load, want %d", s.Keys, n)
	}
	// The load's CPU: up to the end of the first forced collection after it, less what one
	// forced collection of this heap costs (the mean of the next two: liveHeap's).
	load := cpu1.sub(cpu0)
	forced := cpu2.sub(cpu1)
	load.gc -= forced.gc / 2
	load.total -= forced.total / 2
	load.idle -= forced.idle / 2
	var f memFigures
	f.heap = float64(int64(after)-int64(before)) / float64(n)
	f.usage = float64(s.MemoryBytes) / float64(n)
	if load.total > 0 {
		f.gcShare = load.gc / load.total
	}
	if busy := load.total - load.idle; busy > 0 {
		f.gcBusy = load.gc / busy
	}
	b.StartTimer()
	return f
}

// writeHeapProfile writes the heap profile as of the last garbage collection to path.
func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
