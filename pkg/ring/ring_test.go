package ring

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// encode packs a producer id and its sequence number into one item.
func encode(p, i int) uint64 { return uint64(p)<<32 | uint64(i) }

// decode splits an item made by encode.
func decode(v uint64) (p, i int) { return int(v >> 32), int(uint32(v)) }

// drain pops everything until the ring is closed and empty, checking per-producer FIFO,
// and returns how many items it got from each producer.
func drain(t *testing.T, r *MPSC[uint64], producers int) []int {
	t.Helper()
	next := make([]int, producers)
	buf := make([]uint64, 0, 64)
	for r.Wait() {
		if l := r.Len(); l > r.Cap() {
			t.Errorf("Len() = %d > Cap() = %d", l, r.Cap())
		}
		buf = r.PopBatch(buf[:0], 1+rand.IntN(64))
		if len(buf) == 0 {
			t.Fatal("PopBatch returned nothing after Wait returned true")
		}
		for _, v := range buf {
			p, i := decode(v)
			if p >= producers || i != next[p] {
				t.Fatalf("got item %d of producer %d, want item %d", i, p, next[min(p, producers-1)])
			}
			next[p]++
		}
	}
	return next
}

// spinModes are the slow-path configurations every concurrent test runs under: the
// default spin budgets, and none at all so that producers park and the consumer sleeps as
// often as possible.
var spinModes = []struct {
	name string
	spin bool
}{{"spin=default", true}, {"spin=none", false}}

// newRing returns a ring for tests, with the default spin budgets or none.
func newRing[T any](c int, spin bool) *MPSC[T] {
	r := New[T](c)
	if !spin {
		r.pushSpin, r.waitSpin = 0, 0
	}
	return r
}

// waitParked yields until n producers have parked in total.
func waitParked(r *MPSC[uint64], n int64) {
	for r.Stats().Waits < n {
		runtime.Gosched()
	}
}

// TestRoundCapacity ensures capacities are clamped to [1, MaxCapacity] and rounded up to a
// power of two.
func TestRoundCapacity(t *testing.T) {
	tests := []struct{ in, want int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {1000, 1024}, {1024, 1024}, {1025, 2048},
		{MaxCapacity - 1, MaxCapacity}, {MaxCapacity, MaxCapacity}, {MaxCapacity + 1, MaxCapacity},
	}
	for _, tt := range tests {
		if got := roundCapacity(tt.in); got != uint64(tt.want) {
			t.Errorf("roundCapacity(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
	for _, tt := range tests[:9] {
		if got := New[int](tt.in).Cap(); got != tt.want {
			t.Errorf("New(%d).Cap() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestMPSC_TryPush_Full ensures TryPush fails on a full ring without disturbing it and
// succeeds again once the consumer frees a slot.
func TestMPSC_TryPush_Full(t *testing.T) {
	for _, c := range []int{1, 2, 4} {
		r := New[int](c)
		for i := range c {
			if !r.TryPush(i) {
				t.Fatalf("cap %d: TryPush(%d) = false on a ring with room", c, i)
			}
		}
		if r.TryPush(-1) {
			t.Fatalf("cap %d: TryPush on a full ring = true", c)
		}
		if r.Len() != c {
			t.Fatalf("cap %d: Len() = %d, want %d", c, r.Len(), c)
		}
		got := r.PopBatch(nil, 1)
		if len(got) != 1 || got[0] != 0 {
			t.Fatalf("cap %d: PopBatch(nil, 1) = %v, want [0]", c, got)
		}
		if !r.TryPush(c) {
			t.Fatalf("cap %d: TryPush after a pop = false", c)
		}
		got = r.PopBatch(nil, c+5)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("cap %d: PopBatch = %v, want 1..%d", c, got, c)
			}
		}
		if len(got) != c || r.Len() != 0 {
			t.Fatalf("cap %d: popped %d items, Len() = %d", c, len(got), r.Len())
		}
		if hw := r.Stats().HighWater; hw != int64(c) {
			t.Fatalf("cap %d: HighWater = %d, want %d", c, hw, c)
		}
	}
}

// TestMPSC_PopBatch_Limits ensures PopBatch honours max, appends to dst and returns dst
// unchanged when there is nothing to do.
func TestMPSC_PopBatch_Limits(t *testing.T) {
	r := New[int](8)
	dst := []int{100}
	if got := r.PopBatch(dst, 4); len(got) != 1 {
		t.Fatalf("PopBatch on an empty ring = %v, want [100]", got)
	}
	for i := range 5 {
		r.TryPush(i)
	}
	for _, m := range []int{0, -1} {
		if got := r.PopBatch(dst, m); len(got) != 1 || r.Len() != 5 {
			t.Fatalf("PopBatch(max=%d) = %v with Len() = %d, want no change", m, got, r.Len())
		}
	}
	got := r.PopBatch(dst, 3)
	if want := []int{100, 0, 1, 2}; !equal(got, want) {
		t.Fatalf("PopBatch(max=3) = %v, want %v", got, want)
	}
	if got := r.PopBatch(nil, 10); !equal(got, []int{3, 4}) {
		t.Fatalf("PopBatch(max=10) = %v, want [3 4]", got)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMPSC_PopBatch_ZeroesSlots ensures the ring drops its references to popped items.
func TestMPSC_PopBatch_ZeroesSlots(t *testing.T) {
	r := New[*int](4)
	for i := range 3 {
		r.TryPush(&i)
	}
	if got := r.PopBatch(nil, 2); len(got) != 2 || *got[0] != 0 || *got[1] != 1 {
		t.Fatalf("PopBatch = %v", got)
	}
	for i := range r.slots {
		if want := i == 2; (r.slots[i].val != nil) != want {
			t.Errorf("slot %d holds %v after the pop", i, r.slots[i].val)
		}
	}
}

// TestMPSC_Close ensures Close is idempotent, makes pushes fail with ErrClosed and leaves
// accepted items for the consumer, after which Wait reports false.
func TestMPSC_Close(t *testing.T) {
	r := New[int](4)
	r.TryPush(1)
	if err := r.Push(2); err != nil {
		t.Fatalf("Push = %v", err)
	}
	r.Close()
	r.Close()
	if r.TryPush(3) {
		t.Fatal("TryPush after Close = true")
	}
	if err := r.Push(3); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close = %v, want ErrClosed", err)
	}
	if r.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", r.Len())
	}
	if !r.Wait() {
		t.Fatal("Wait on a closed ring with items = false")
	}
	if got := r.PopBatch(nil, 1); !equal(got, []int{1}) {
		t.Fatalf("PopBatch = %v, want [1]", got)
	}
	if !r.Wait() {
		t.Fatal("Wait on a closed ring with an item = false")
	}
	if got := r.PopBatch(nil, 8); !equal(got, []int{2}) {
		t.Fatalf("PopBatch = %v, want [2]", got)
	}
	for range 2 {
		if r.Wait() {
			t.Fatal("Wait on a closed, drained ring = true")
		}
	}
}

// TestMPSC_Wait_WakesOnPush ensures a sleeping consumer is woken by a push, many times
// over. Each push races with the consumer going to sleep on the empty ring, so a lost
// wake-up hangs the test.
func TestMPSC_Wait_WakesOnPush(t *testing.T) {
	for _, sm := range spinModes {
		t.Run(sm.name, func(t *testing.T) {
			r := newRing[int](2, sm.spin)
			const rounds = 20000
			var acked atomic.Int64 // items the consumer has popped
			go func() {
				for i := range rounds {
					if err := r.Push(i); err != nil {
						t.Errorf("Push = %v", err)
					}
					// Poll rather than block, so the next push lands while the consumer is
					// between its last check and its sleep.
					for acked.Load() <= int64(i) {
						runtime.Gosched()
					}
				}
				r.Close()
			}()
			want := 0
			for r.Wait() {
				got := r.PopBatch(nil, 4)
				if !equal(got, []int{want}) {
					t.Fatalf("PopBatch = %v, want [%d]", got, want)
				}
				want++
				acked.Store(int64(want))
			}
			if want != rounds {
				t.Fatalf("got %d items, want %d", want, rounds)
			}
		})
	}
}

// TestMPSC_Wait_PushBeforeSleep ensures a push that lands after the consumer's last check
// but before it announces its sleep is not missed: the push sees no sleeper and sends no
// token, so only the consumer's re-check after setting the flag can find it.
func TestMPSC_Wait_PushBeforeSleep(t *testing.T) {
	r := newRing[int](4, false)
	r.beforeSleep = func() {
		r.beforeSleep = nil
		if !r.TryPush(7) {
			t.Error("TryPush on an empty ring = false")
		}
	}
	if !r.Wait() {
		t.Fatal("Wait = false on an open ring")
	}
	if got := r.PopBatch(nil, 4); !equal(got, []int{7}) {
		t.Fatalf("PopBatch = %v, want [7]", got)
	}
	if st := r.Stats(); st.Sleeps != 0 {
		t.Fatalf("Sleeps = %d, want 0: the re-check should have found the item", st.Sleeps)
	}
}

// TestMPSC_Push_PopBeforePark ensures a pop that frees a slot after a producer's last try
// but before it parks is not missed: the consumer sees no parked producer and signals
// nobody, so only the producer's re-check after announcing itself can find the room.
func TestMPSC_Push_PopBeforePark(t *testing.T) {
	r := newRing[int](1, false)
	r.TryPush(1)
	r.beforePark = func() {
		r.beforePark = nil
		if got := r.PopBatch(nil, 1); !equal(got, []int{1}) {
			t.Errorf("PopBatch = %v, want [1]", got)
		}
	}
	if err := r.Push(2); err != nil {
		t.Fatalf("Push = %v", err)
	}
	if got := r.PopBatch(nil, 1); !equal(got, []int{2}) {
		t.Fatalf("PopBatch = %v, want [2]", got)
	}
	if st := r.Stats(); st.Waits != 0 {
		t.Fatalf("Waits = %d, want 0: the re-check should have found room", st.Waits)
	}
}

// TestMPSC_Wait_WakesOnClose ensures Close wakes a consumer sleeping on an empty ring.
func TestMPSC_Wait_WakesOnClose(t *testing.T) {
	r := New[int](2)
	done := make(chan bool)
	go func() { done <- r.Wait() }()
	for r.Stats().Sleeps == 0 {
		runtime.Gosched()
	}
	r.Close()
	if <-done {
		t.Fatal("Wait woken by Close on an empty ring = true")
	}
}

// TestMPSC_Wait_InFlightPushAtClose ensures Wait does not report a closed ring drained
// while a push that reserved its position before Close has not committed yet, and that
// the commit wakes the sleeping consumer.
func TestMPSC_Wait_InFlightPushAtClose(t *testing.T) {
	r := New[int](4)
	r.TryPush(1)
	pos, res := r.reserve() // a producer paused between reservation and commit
	if res != pushOK {
		t.Fatalf("reserve = %v, want pushOK", res)
	}
	r.Close()
	if got := r.PopBatch(nil, 4); !equal(got, []int{1}) {
		t.Fatalf("PopBatch = %v, want [1]", got)
	}
	done := make(chan bool)
	go func() { done <- r.Wait() }()
	for r.Stats().Sleeps == 0 {
		runtime.Gosched()
	}
	r.commit(pos, 2)
	if !<-done {
		t.Fatal("Wait with an in-flight push at Close = false")
	}
	if got := r.PopBatch(nil, 4); !equal(got, []int{2}) {
		t.Fatalf("PopBatch = %v, want [2]", got)
	}
	if r.Wait() {
		t.Fatal("Wait on a closed, drained ring = true")
	}
}

// TestMPSC_Stress ensures many producers and one consumer lose, duplicate and reorder
// nothing, for several capacities.
func TestMPSC_Stress(t *testing.T) {
	const producers, perProducer = 8, 5000
	for _, sm := range spinModes {
		for _, c := range []int{1, 2, 64, 1024} {
			t.Run(fmt.Sprintf("%s/cap=%d", sm.name, c), func(t *testing.T) {
				r := newRing[uint64](c, sm.spin)
				var wg sync.WaitGroup
				for p := range producers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range perProducer {
							if p%2 == 0 {
								if err := r.Push(encode(p, i)); err != nil {
									t.Errorf("Push = %v", err)
									return
								}
								continue
							}
							for !r.TryPush(encode(p, i)) {
								runtime.Gosched()
							}
						}
					}()
				}
				go func() {
					wg.Wait()
					r.Close()
				}()
				for p, n := range drain(t, r, producers) {
					if n != perProducer {
						t.Errorf("producer %d: got %d items, want %d", p, n, perProducer)
					}
				}
				if hw := r.Stats().HighWater; hw < 1 || hw > int64(r.Cap()) {
					t.Errorf("HighWater = %d, want in [1, %d]", hw, r.Cap())
				}
			})
		}
	}
}

// TestMPSC_Backpressure ensures producers park on a full 2-slot ring, are woken as the
// consumer frees slots and deliver everything in order.
func TestMPSC_Backpressure(t *testing.T) {
	const producers, perProducer = 16, 1000
	for _, sm := range spinModes {
		t.Run(sm.name, func(t *testing.T) {
			r := newRing[uint64](2, sm.spin)
			// Two filler items from an extra producer id fill the ring before anyone else pushes.
			for i := range 2 {
				if !r.TryPush(encode(producers, i)) {
					t.Fatal("TryPush on an empty ring = false")
				}
			}
			var wg sync.WaitGroup
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perProducer {
						if err := r.Push(encode(p, i)); err != nil {
							t.Errorf("Push = %v", err)
							return
						}
					}
				}()
			}
			waitParked(r, producers) // the ring stays full until we consume, so each one parks
			go func() {
				wg.Wait()
				r.Close()
			}()
			got := drain(t, r, producers+1)
			for p, n := range got[:producers] {
				if n != perProducer {
					t.Errorf("producer %d: got %d items, want %d", p, n, perProducer)
				}
			}
			if got[producers] != 2 {
				t.Errorf("got %d filler items, want 2", got[producers])
			}
			if st := r.Stats(); st.Waits < producers || st.HighWater != 2 {
				t.Errorf("Stats() = %+v, want Waits >= %d and HighWater 2", st, producers)
			}
		})
	}
}

// TestMPSC_Close_ParkedProducers ensures Close wakes producers parked on a full ring with
// ErrClosed and the consumer still drains exactly the accepted items.
func TestMPSC_Close_ParkedProducers(t *testing.T) {
	const producers = 8
	r := New[uint64](2)
	r.TryPush(encode(0, 0))
	r.TryPush(encode(0, 1))
	errs := make(chan error, producers)
	for p := range producers {
		go func() { errs <- r.Push(encode(p+1, 0)) }()
	}
	waitParked(r, producers)
	r.Close()
	for range producers {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("parked Push after Close = %v, want ErrClosed", err)
		}
	}
	got := drain(t, r, producers+1)
	if want := []int{2, 0, 0, 0, 0, 0, 0, 0, 0}; !equal(got, want) {
		t.Fatalf("drained %v items per producer, want %v", got, want)
	}
}

// TestMPSC_Close_RacesPushes ensures a push racing with Close is either accepted and
// delivered or fails with ErrClosed, never accepted and lost.
func TestMPSC_Close_RacesPushes(t *testing.T) {
	const producers = 6
	for _, sm := range spinModes {
		t.Run(sm.name, func(t *testing.T) {
			for round := range 60 {
				c := []int{1, 2, 16}[round%3]
				r := newRing[uint64](c, sm.spin)
				accepted := make([]int, producers)
				var wg sync.WaitGroup
				for p := range producers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; ; i++ {
							v := encode(p, i)
							// Odd producers try the non-blocking path first; Push settles a failure.
							if !(p%2 == 1 && r.TryPush(v)) && r.Push(v) != nil {
								accepted[p] = i
								return
							}
						}
					}()
				}
				var popped atomic.Int64
				go func() {
					// Close at a point that depends on the consumer's progress, not on time.
					for popped.Load() < int64(20+round*23) {
						runtime.Gosched()
					}
					r.Close()
				}()
				next := make([]int, producers)
				buf := make([]uint64, 0, 8)
				for r.Wait() {
					buf = r.PopBatch(buf[:0], 8)
					for _, v := range buf {
						p, i := decode(v)
						if i != next[p] {
							t.Fatalf("round %d: got item %d of producer %d, want %d", round, i, p, next[p])
						}
						next[p]++
					}
					popped.Add(int64(len(buf)))
				}
				wg.Wait()
				if !equal(next, accepted) {
					t.Fatalf("round %d: drained %v items per producer, accepted %v", round, next, accepted)
				}
			}
		})
	}
}

// queueModel is the reference the ring is checked against: a slice behind a mutex.
type queueModel struct {
	mu     sync.Mutex
	items  []int
	cap    int
	closed bool
}

func (m *queueModel) tryPush(v int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.items) == m.cap {
		return false
	}
	m.items = append(m.items, v)
	return true
}

func (m *queueModel) popBatch(limit int) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := min(max(limit, 0), len(m.items))
	out := append([]int(nil), m.items[:n]...)
	m.items = m.items[n:]
	return out
}

func (m *queueModel) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// modelOp is one step of a model check.
type modelOp struct {
	kind byte // opPush, opTryPush, opPop, opClose
	arg  int  // the value pushed or PopBatch's max
}

const (
	opTryPush = iota
	opPush
	opPop
	opClose
	numOps
)

// runModel applies ops to a fresh ring of capacity c and to the model from one goroutine
// and fails at the first difference.
func runModel(t *testing.T, c int, ops []modelOp) {
	t.Helper()
	r := New[int](c)
	m := &queueModel{cap: r.Cap()}
	var buf []int
	for k, op := range ops {
		switch op.kind {
		case opTryPush:
			if got, want := r.TryPush(op.arg), m.tryPush(op.arg); got != want {
				t.Fatalf("op %d: TryPush(%d) = %v, model says %v", k, op.arg, got, want)
			}
		case opPush:
			// Push blocks on a full open ring, so only call it when it cannot block.
			if m.len() == m.cap && !m.closed {
				continue
			}
			err := r.Push(op.arg)
			if want := m.tryPush(op.arg); want != (err == nil) || (err != nil && !errors.Is(err, ErrClosed)) {
				t.Fatalf("op %d: Push(%d) = %v, model accepts: %v", k, op.arg, err, want)
			}
		case opPop:
			buf = r.PopBatch(buf[:0], op.arg)
			if want := m.popBatch(op.arg); !equal(buf, want) {
				t.Fatalf("op %d: PopBatch(max=%d) = %v, model says %v", k, op.arg, buf, want)
			}
		case opClose:
			r.Close()
			m.closed = true
		}
		if r.Len() != m.len() {
			t.Fatalf("op %d: Len() = %d, model says %d", k, r.Len(), m.len())
		}
		if m.len() > 0 || m.closed {
			// Wait cannot block here: it has an item or a closed, drained ring to report.
			if got, want := r.Wait(), m.len() > 0; got != want {
				t.Fatalf("op %d: Wait() = %v, model says %v", k, got, want)
			}
		}
	}
	// Whatever the model still holds must come out, in order, after a Close.
	r.Close()
	m.closed = true
	var rest []int
	for r.Wait() {
		rest = r.PopBatch(rest, 3)
	}
	if want := m.popBatch(m.len()); !equal(rest, want) {
		t.Fatalf("final drain = %v, model says %v", rest, want)
	}
}

// TestMPSC_Model ensures random single-goroutine sequences of operations behave exactly
// like the mutex-protected slice queue.
func TestMPSC_Model(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		popMax   int // largest max passed to PopBatch
		pushBias int // pushes per pop on average
	}{
		{"cap=1", 1, 2, 1},
		{"cap=3", 3, 4, 2},
		{"cap=8/drainy", 8, 16, 1},
		{"cap=8/fully", 8, 3, 4},
		{"cap=64", 64, 20, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 7))
				ops := make([]modelOp, 400)
				for i := range ops {
					switch n := rng.IntN(tt.pushBias*2 + 2); {
					case n == 0 && rng.IntN(50) == 0:
						ops[i] = modelOp{kind: opClose}
					case n < 2:
						ops[i] = modelOp{kind: opPop, arg: rng.IntN(tt.popMax+2) - 1}
					default:
						ops[i] = modelOp{kind: byte(n % 2), arg: i}
					}
				}
				runModel(t, tt.capacity, ops)
			}
		})
	}
}

// TestMPSC_Model_Concurrent ensures concurrent producers doing random TryPush and Push
// against a consumer doing random PopBatch sizes agree with the model: each producer
// records an item in its model queue before pushing it (and takes it back if the push
// fails), and the consumer checks every popped item is the head of its producer's queue.
func TestMPSC_Model_Concurrent(t *testing.T) {
	const producers, perProducer = 4, 3000
	for _, sm := range spinModes {
		for _, c := range []int{1, 4, 32} {
			t.Run(fmt.Sprintf("%s/cap=%d", sm.name, c), func(t *testing.T) {
				r := newRing[uint64](c, sm.spin)
				models := make([]queueModel, producers)
				for p := range models {
					models[p].cap = perProducer
				}
				var wg sync.WaitGroup
				for p := range producers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(p), uint64(c)))
						m := &models[p]
						for i := 0; i < perProducer; {
							v := encode(p, i)
							m.tryPush(i)
							var ok bool
							if rng.IntN(2) == 0 {
								ok = r.TryPush(v)
							} else {
								ok = r.Push(v) == nil
							}
							if !ok {
								m.mu.Lock() // the consumer cannot have seen v: it was never accepted
								m.items = m.items[:len(m.items)-1]
								m.mu.Unlock()
								runtime.Gosched()
								continue
							}
							i++
						}
					}()
				}
				go func() {
					wg.Wait()
					r.Close()
				}()
				rng := rand.New(rand.NewPCG(99, uint64(c)))
				var buf []uint64
				total := 0
				for r.Wait() {
					buf = r.PopBatch(buf[:0], 1+rng.IntN(2*c))
					for _, v := range buf {
						p, i := decode(v)
						if p >= producers {
							t.Fatalf("popped %#x, which no producer pushed", v)
						}
						if got := models[p].popBatch(1); !equal(got, []int{i}) {
							t.Fatalf("popped item %d of producer %d, model head is %v", i, p, got)
						}
					}
					total += len(buf)
				}
				for p := range models {
					if n := models[p].len(); n != 0 {
						t.Errorf("producer %d: %d accepted items never popped", p, n)
					}
				}
				if total != producers*perProducer {
					t.Errorf("popped %d items, want %d", total, producers*perProducer)
				}
			})
		}
	}
}

// FuzzRing decodes bytes into a capacity and a sequence of operations and checks them
// against the model.
func FuzzRing(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 1, 2, 3, 2, 9})
	f.Add([]byte{0, 0, 1, 2, 0, 0, 3, 0, 2, 255})
	f.Add([]byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 7, 0, 3, 2, 1, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := int(data[0]%9) - 1 // -1..7 exercises the clamp too
		var ops []modelOp
		for i := 1; i < len(data); i++ {
			op := modelOp{kind: data[i] % numOps, arg: i}
			if op.kind == opPop {
				op.arg = int(data[i]/numOps%12) - 1
			}
			ops = append(ops, op)
		}
		runModel(t, c, ops)
	})
}

// TestVyukovBaseline_Model ensures the Vyukov queue that BenchmarkSlotProtocol measures
// against is a correct bounded FIFO, so the comparison is between equals. The benchmark
// drives it from one goroutine, as this test does. Vyukov's scheme needs at least 2
// slots: with one, a committed slot looks free to the next position.
func TestVyukovBaseline_Model(t *testing.T) {
	for _, c := range []int{2, 4, 16} {
		rng := rand.New(rand.NewPCG(uint64(c), 3))
		q := newVyukov(c)
		m := &queueModel{cap: c}
		var buf []int
		for i := range 2000 {
			if rng.IntN(3) > 0 {
				if got, want := q.tryPush(i), m.tryPush(i); got != want {
					t.Fatalf("cap %d, op %d: tryPush = %v, model says %v", c, i, got, want)
				}
				continue
			}
			n := rng.IntN(c + 2)
			buf = q.popBatch(buf[:0], n)
			if want := m.popBatch(n); !equal(buf, want) {
				t.Fatalf("cap %d, op %d: popBatch(%d) = %v, model says %v", c, i, n, buf, want)
			}
		}
	}
}
