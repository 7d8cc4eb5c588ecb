package ring_test

import (
	"fmt"
	"sync"

	"github.com/feoxdb/feox-go/pkg/ring"
)

// Example shows the shape of a shard owner: producers Push, the owner pops batches until
// the ring is closed and drained.
func Example() {
	r := ring.New[int](4)
	var wg sync.WaitGroup
	for p := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if err := r.Push(p*100 + i); err != nil {
					return // the ring was closed
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		r.Close()
	}()

	sum, n := 0, 0
	batch := make([]int, 0, 16)
	for r.Wait() {
		batch = r.PopBatch(batch[:0], cap(batch))
		for _, v := range batch {
			sum += v
			n++
		}
	}
	fmt.Println(n, sum, r.Push(1))
	// Output: 15 1530 ring: closed
}

// ExampleMPSC_TryPush shows TryPush refusing an item when the ring is full.
func ExampleMPSC_TryPush() {
	r := ring.New[string](2)
	fmt.Println(r.TryPush("a"), r.TryPush("b"), r.TryPush("c"), r.Len(), r.Cap())
	fmt.Println(r.PopBatch(nil, 10))
	// Output:
	// true true false 2 2
	// [a b]
}
