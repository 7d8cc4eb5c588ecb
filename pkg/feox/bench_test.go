package feox_test

import (
	"encoding/binary"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/feoxdb/feox-go/pkg/feox"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// The benchmarks measure the store against two baselines over the same keys in the same run:
// a bare xsync.Map[string][]byte and a 64-way sharded map[string][]byte behind sync.RWMutex.
// Run them with
//
//	go test -run '^$' -bench . -benchmem ./pkg/feox/
//
// and compare ns/op between impl=feox and the baselines of the same op.

const (
	benchKeys     = 1 << 20 // preloaded keys (1,048,576)
	benchKeySize  = 16
	benchValSize  = 100
	benchSeqLen   = 1 << 22 // length of the precomputed random index sequence
	benchRangeLen = 100
)

// benchData is the fixture shared by the read and update benchmarks.
type benchData struct {
	keys    [][]byte // preloaded keys
	absent  [][]byte // keys never stored
	seq     []uint32 // random indexes into keys
	value   []byte
	store   *feox.Store
	xs      *xsync.Map[string, []byte]
	sharded *shardedMap
}

var (
	benchOnce sync.Once
	benchFix  *benchData
	keyOnce   sync.Once
	keyFix    *benchData
)

func randomKeys(r *rand.Rand, n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		k := make([]byte, benchKeySize)
		binary.LittleEndian.PutUint64(k, r.Uint64())
		binary.LittleEndian.PutUint64(k[8:], r.Uint64())
		keys[i] = k
	}
	return keys
}

// keyFixture returns the fixture's keys, index sequence and value without its stores, for the
// persistent-mode benchmarks: they build their own stores, and a heap free of the three
// preloaded ones keeps the garbage collector out of their figures.
func keyFixture(b *testing.B) *benchData {
	b.Helper()
	keyOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 2))
		d := &benchData{
			keys:   randomKeys(r, benchKeys),
			absent: randomKeys(r, benchKeys),
			seq:    make([]uint32, benchSeqLen),
			value:  make([]byte, benchValSize),
		}
		for i := range d.seq {
			d.seq[i] = uint32(r.IntN(benchKeys))
		}
		keyFix = d
	})
	return keyFix
}

func fixture(b *testing.B) *benchData {
	b.Helper()
	benchOnce.Do(func() {
		k := keyFixture(b)
		d := &benchData{
			keys:    k.keys,
			absent:  k.absent,
			seq:     k.seq,
			value:   k.value,
			xs:      xsync.NewMap[string, []byte](),
			sharded: newShardedMap(),
		}
		st, err := feox.Open(feox.Options{})
		if err != nil {
			panic(err)
		}
		d.store = st
		for _, k := range d.keys {
			if _, err := st.Insert(k, d.value); err != nil {
				panic(err)
			}
			d.xs.Store(string(k), append([]byte(nil), d.value...))
			d.sharded.set(string(k), append([]byte(nil), d.value...))
		}
		benchFix = d
	})
	return benchFix
}

// shardedMap is the lock-based baseline: 64 maps, each behind its own RWMutex.
type shardedMap struct {
	seed   maphash.Seed
	shards [64]struct {
		mu sync.RWMutex
		m  map[string][]byte
		_  [40]byte
	}
}

func newShardedMap() *shardedMap {
	s := &shardedMap{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string][]byte)
	}
	return s
}

func (s *shardedMap) shard(k []byte) int { return int(maphash.Bytes(s.seed, k) & 63) }

func (s *shardedMap) get(k []byte) ([]byte, bool) {
	sh := &s.shards[s.shard(k)]
	sh.mu.RLock()
	v, ok := sh.m[string(k)]
	var c []byte
	if ok {
		c = append([]byte(nil), v...)
	}
	sh.mu.RUnlock()
	return c, ok
}

func (s *shardedMap) set(k string, v []byte) {
	sh := &s.shards[s.shard([]byte(k))]
	sh.mu.Lock()
	sh.m[k] = v
	sh.mu.Unlock()
}

// run runs op(i) b.N times, on one goroutine or on GOMAXPROCS goroutines that each start at a
// different point of the index sequence.
func run(b *testing.B, parallel bool, op func(i int)) {
	b.ReportAllocs()
	runtime.GC() // start every measurement with the same heap state: the fixture is large
	if !parallel {
		b.ResetTimer()
		for i := range b.N {
			op(i)
		}
		return
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919 * 131
		for pb.Next() {
			op(i)
			i++
		}
	})
}

func modes(b *testing.B, fn func(b *testing.B, parallel bool)) {
	b.Run("goroutines=1", func(b *testing.B) { fn(b, false) })
	b.Run("goroutines=parallel", func(b *testing.B) { fn(b, true) })
}

func BenchmarkGetHit(b *testing.B) {
	d := fixture(b)
	b.Run("impl=feox", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				if _, err := d.store.Get(d.keys[d.seq[i&(benchSeqLen-1)]]); err != nil {
					b.Fatal(err)
				}
			})
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				v, ok := d.xs.Load(string(k))
				if !ok {
					b.Fatal("missing")
				}
				_ = append([]byte(nil), v...)
			})
		})
	})
	b.Run("impl=sharded", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				if _, ok := d.sharded.get(d.keys[d.seq[i&(benchSeqLen-1)]]); !ok {
					b.Fatal("missing")
				}
			})
		})
	})
}

func BenchmarkGetMiss(b *testing.B) {
	d := fixture(b)
	b.Run("impl=feox", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				_, _ = d.store.Get(d.absent[d.seq[i&(benchSeqLen-1)]])
			})
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				_, _ = d.xs.Load(string(d.absent[d.seq[i&(benchSeqLen-1)]]))
			})
		})
	})
	b.Run("impl=sharded", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				_, _ = d.sharded.get(d.absent[d.seq[i&(benchSeqLen-1)]])
			})
		})
	})
}

func BenchmarkView(b *testing.B) {
	d := fixture(b)
	var sink atomic.Int64
	b.Run("impl=feox", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				err := d.store.View(d.keys[d.seq[i&(benchSeqLen-1)]], func(v []byte) error {
					if len(v) != benchValSize || v[len(v)-1] != 0 { // a view reads the value
						sink.Add(1)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				v, ok := d.xs.Load(string(d.keys[d.seq[i&(benchSeqLen-1)]]))
				if !ok || len(v) != benchValSize || v[len(v)-1] != 0 {
					sink.Add(1)
				}
			})
		})
	})
}

func BenchmarkUpdate(b *testing.B) {
	d := fixture(b)
	b.Run("impl=feox", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				if _, err := d.store.Insert(d.keys[d.seq[i&(benchSeqLen-1)]], d.value); err != nil {
					b.Fatal(err)
				}
			})
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				d.xs.Store(string(k), append([]byte(nil), d.value...))
			})
		})
	})
	b.Run("impl=sharded", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				d.sharded.set(string(k), append([]byte(nil), d.value...))
			})
		})
	})
}

func BenchmarkMixed80_20(b *testing.B) {
	d := fixture(b)
	b.Run("impl=feox", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				if i%5 == 4 {
					_, _ = d.store.Insert(k, d.value)
				} else {
					_, _ = d.store.Get(k)
				}
			})
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				if i%5 == 4 {
					d.xs.Store(string(k), append([]byte(nil), d.value...))
				} else if v, ok := d.xs.Load(string(k)); ok {
					_ = append([]byte(nil), v...)
				}
			})
		})
	})
	b.Run("impl=sharded", func(b *testing.B) {
		modes(b, func(b *testing.B, p bool) {
			run(b, p, func(i int) {
				k := d.keys[d.seq[i&(benchSeqLen-1)]]
				if i%5 == 4 {
					d.sharded.set(string(k), append([]byte(nil), d.value...))
				} else {
					_, _ = d.sharded.get(k)
				}
			})
		})
	})
}

func BenchmarkRange100(b *testing.B) {
	d := fixture(b)
	modes(b, func(b *testing.B, p bool) {
		run(b, p, func(i int) {
			kv, err := d.store.Range(d.keys[d.seq[i&(benchSeqLen-1)]], nil, benchRangeLen)
			if err != nil || len(kv) == 0 {
				b.Fatal(len(kv), err)
			}
		})
	})
}

// BenchmarkScan100 measures a streaming Scan that stops after benchRangeLen pairs, as the
// comparison's scan workload does.
func BenchmarkScan100(b *testing.B) {
	d := fixture(b)
	modes(b, func(b *testing.B, p bool) {
		run(b, p, func(i int) {
			n := 0
			for range d.store.Scan(d.keys[d.seq[i&(benchSeqLen-1)]], nil) {
				if n++; n == benchRangeLen {
					break
				}
			}
			if n == 0 {
				b.Fatal("empty scan")
			}
		})
	})
}

// churnFixture is a fresh store and baselines preloaded with the shared keys, for benchmarks
// that create and delete keys.
func churnStore(b *testing.B, d *benchData) (*feox.Store, *xsync.Map[string, []byte]) {
	b.Helper()
	st, err := feox.Open(feox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	xs := xsync.NewMap[string, []byte]()
	for _, k := range d.keys {
		if _, err := st.Insert(k, d.value); err != nil {
			b.Fatal(err)
		}
		xs.Store(string(k), append([]byte(nil), d.value...))
	}
	return st, xs
}

// BenchmarkInsertDelete measures creating a new key (both indexes) and deleting an existing one
// on a store of 1M keys. Each iteration number maps to a distinct key, so b.N must stay below
// 1M; use -benchtime with an explicit count such as 500000x for these.
func BenchmarkInsertDelete(b *testing.B) {
	d := fixture(b)
	st, xs := churnStore(b, d)
	defer st.Close()
	limit := func(b *testing.B) {
		if b.N > benchKeys {
			b.Skipf("b.N = %d exceeds the %d distinct keys; use -benchtime %dx or less", b.N, benchKeys, benchKeys)
		}
	}
	b.Run("op=insert/impl=feox", func(b *testing.B) {
		limit(b)
		run(b, false, func(i int) {
			if _, err := st.Insert(d.absent[i], d.value); err != nil {
				b.Fatal(err)
			}
		})
		b.StopTimer()
		for i := range b.N {
			_ = st.Delete(d.absent[i])
		}
	})
	b.Run("op=insert/impl=xsync", func(b *testing.B) {
		limit(b)
		run(b, false, func(i int) {
			xs.Store(string(d.absent[i]), append([]byte(nil), d.value...))
		})
		b.StopTimer()
		for i := range b.N {
			xs.Delete(string(d.absent[i]))
		}
	})
	b.Run("op=delete/impl=feox", func(b *testing.B) {
		limit(b)
		run(b, false, func(i int) {
			if err := st.Delete(d.keys[i]); err != nil {
				b.Fatal(err)
			}
		})
		b.StopTimer()
		for i := range b.N {
			_, _ = st.Insert(d.keys[i], d.value)
		}
	})
	b.Run("op=delete/impl=xsync", func(b *testing.B) {
		limit(b)
		run(b, false, func(i int) {
			xs.Delete(string(d.keys[i]))
		})
		b.StopTimer()
		for i := range b.N {
			xs.Store(string(d.keys[i]), append([]byte(nil), d.value...))
		}
	})
}

// discard is a backend that drops every batch at once.
type discard struct{}

func (discard) Submit(*stages.Batch) error   { return nil }
func (discard) Complete(*stages.Batch) error { return nil }

// BenchmarkPipelineUpdate measures Insert of existing keys through the facade with a write
// pipeline whose backend discards every batch, against the same on a memory-only store, on
// 100K keys.
func BenchmarkPipelineUpdate(b *testing.B) {
	d := fixture(b)
	const n = 100_000
	for _, mode := range []string{"memory", "pipeline"} {
		var st *feox.Store
		var err error
		if mode == "memory" {
			st, err = feox.Open(feox.Options{})
		} else {
			st, err = feox.OpenWithBackend(feox.Options{}, func(int) stages.Backend { return discard{} })
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range d.keys[:n] {
			if _, err := st.Insert(k, d.value); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("mode="+mode, func(b *testing.B) {
			modes(b, func(b *testing.B, p bool) {
				run(b, p, func(i int) {
					if _, err := st.Insert(d.keys[d.seq[i&(benchSeqLen-1)]%n], d.value); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
