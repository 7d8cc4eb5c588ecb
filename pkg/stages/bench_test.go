package stages

import (
	"fmt"
	"sync"
	"testing"
)

// discardBackend makes every batch durable at once and keeps nothing.
type discardBackend struct{}

func (discardBackend) Submit(*Batch) error   { return nil }
func (discardBackend) Complete(*Batch) error { return nil }

// BenchmarkPipeline_Enqueue measures Enqueue throughput into a pipeline whose backend
// discards everything: b.N entries of 100-byte values spread over the producers, each
// writing its own keys, and a final Flush so that every entry went through all the stages.
func BenchmarkPipeline_Enqueue(b *testing.B) {
	const keysPerProducer = 1024
	value := make([]byte, 100)
	for _, shards := range []int{1, 2} {
		for _, producers := range []int{1, 4} {
			b.Run(fmt.Sprintf("shards=%d/producers=%d", shards, producers), func(b *testing.B) {
				p, err := New(Options{Shards: shards, Backend: func(int) Backend { return discardBackend{} }})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				keys := make([][]string, producers)
				shardOfKey := make([][]int, producers)
				for w := range producers {
					for k := range keysPerProducer {
						key := fmt.Sprintf("producer-%d/key-%04d", w, k)
						keys[w] = append(keys[w], key)
						shardOfKey[w] = append(shardOfKey[w], shardOf(p, key))
					}
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := range producers {
					n := b.N / producers
					if w < b.N%producers {
						n++
					}
					wg.Go(func() {
						for i := range n {
							k := i % keysPerProducer
							e := Entry{Key: keys[w][k], Value: value, Seq: uint64(i + 1)}
							if err := p.Enqueue(shardOfKey[w][k], e); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				if err := p.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if st := p.Stats(); st.Accepted != int64(b.N) {
					b.Fatalf("Stats.Accepted = %d, want %d", st.Accepted, b.N)
				}
			})
		}
	}
}
