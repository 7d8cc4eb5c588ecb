package ring

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// benchCap is the capacity of the ring and of the channel it is compared with.
const benchCap = 1024

// benchBatch is the consumer's PopBatch size.
const benchBatch = 256

// split returns how many of n items producer p of np sends.
func split(n, np, p int) int {
	k := n / np
	if p < n%np {
		k++
	}
	return k
}

// BenchmarkMPSC compares the ring with a buffered channel of the same capacity: np
// producers send b.N items in total to one consumer. ns/op is nanoseconds per item. The
// two implementations run back to back for each producer count, so that their ratio is
// taken under the same machine conditions.
func BenchmarkMPSC(b *testing.B) {
	for _, np := range []int{1, 2, 4, 8} {
		for _, impl := range []string{"ring", "chan"} {
			b.Run(fmt.Sprintf("impl=%s/producers=%d", impl, np), func(b *testing.B) {
				b.ReportAllocs()
				if impl == "ring" {
					benchRing(b, np)
				} else {
					benchChan(b, np)
				}
			})
		}
	}
}

func benchRing(b *testing.B, np int) {
	r := New[int](benchCap)
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := range np {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range split(b.N, np, p) {
				if err := r.Push(i); err != nil {
					panic(err)
				}
			}
		}()
	}
	buf := make([]int, 0, benchBatch)
	sum := 0
	for got := 0; got < b.N; {
		buf = r.PopBatch(buf[:0], benchBatch)
		if len(buf) == 0 {
			r.Wait()
			continue
		}
		got += len(buf)
		for _, v := range buf {
			sum += v
		}
		if len(buf) < benchBatch/8 {
			runtime.Gosched() // consumer pacing, as the package doc recommends
		}
	}
	wg.Wait()
	b.StopTimer()
	runtime.KeepAlive(sum)
	st := r.Stats()
	b.ReportMetric(float64(st.Waits)/float64(b.N), "waits/item")
	b.ReportMetric(float64(st.Sleeps)/float64(b.N), "sleeps/item")
}

func benchChan(b *testing.B, np int) {
	ch := make(chan int, benchCap)
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := range np {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range split(b.N, np, p) {
				ch <- i
			}
		}()
	}
	sum := 0
	for range b.N {
		sum += <-ch
	}
	wg.Wait()
	b.StopTimer()
	runtime.KeepAlive(sum)
}

// vyukov is a minimal bounded queue with Vyukov's per-slot sequence numbers, kept here
// only to compare its slot protocol with the ring's (see BenchmarkSlotProtocol).
type vyukov struct {
	_     [64]byte
	slots []vslot
	mask  uint64
	_     [64]byte
	tail  atomic.Uint64
	_     [64]byte
	head  atomic.Uint64
	_     [64]byte
}

type vslot struct {
	seq atomic.Uint64
	val int
}

// newVyukov returns an empty queue of c slots; c must be a power of two, at least 2.
func newVyukov(c int) *vyukov {
	q := &vyukov{slots: make([]vslot, c), mask: uint64(c - 1)}
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
	return q
}

func (q *vyukov) tryPush(v int) bool {
	t := q.tail.Load()
	for {
		s := &q.slots[t&q.mask]
		switch d := int64(s.seq.Load() - t); {
		case d == 0:
			if q.tail.CompareAndSwap(t, t+1) {
				s.val = v
				s.seq.Store(t + 1)
				return true
			}
			t = q.tail.Load()
		case d < 0:
			return false
		default:
			t = q.tail.Load()
		}
	}
}

func (q *vyukov) popBatch(dst []int, max int) []int {
	h := q.head.Load()
	for range max {
		s := &q.slots[h&q.mask]
		if s.seq.Load() != h+1 {
			break
		}
		dst = append(dst, s.val)
		s.seq.Store(h + q.mask + 1) // frees the slot: one store per item
		h++
	}
	q.head.Store(h)
	return dst
}

// BenchmarkSlotProtocol compares the ring's reservation protocol (CAS on tail against a
// cached head, a commit mark per slot, head published once per batch) with Vyukov's
// sequence slots (a slot load before each CAS, a store per popped item to free the slot).
// One goroutine pushes a batch and pops it, so only the protocols' own costs show, not
// scheduling. ns/op is nanoseconds per item.
func BenchmarkSlotProtocol(b *testing.B) {
	for _, impl := range []string{"reserve", "vyukov"} {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("impl=%s/batch=%d", impl, batch), func(b *testing.B) {
				b.ReportAllocs()
				var push func(int) bool
				var pop func([]int, int) []int
				if impl == "reserve" {
					r := New[int](benchCap)
					push, pop = r.TryPush, r.PopBatch
				} else {
					q := newVyukov(benchCap)
					push, pop = q.tryPush, q.popBatch
				}
				buf := make([]int, 0, batch)
				for i := 0; i < b.N; i += batch {
					for j := range batch {
						push(j)
					}
					buf = pop(buf[:0], batch)
				}
			})
		}
	}
}
