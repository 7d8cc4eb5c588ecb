package ring

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// ErrClosed is returned by Push once the ring has been closed.
var ErrClosed = errors.New("ring: closed")

// MaxCapacity is the largest capacity New accepts; larger requests are clamped to it.
const MaxCapacity = 1 << 30

// closedBit is set in the tail word by Close. Positions never reach it (2^63 pushes).
const closedBit = uint64(1) << 63

// Spin budgets of the slow paths. Each spin step is a runtime.Gosched, which lets the
// other side run on a busy machine instead of burning the CPU it is waiting for.
const (
	pushSpins = 8  // full-ring retries a producer makes before it parks
	waitSpins = 16 // empty-ring checks the consumer makes before it sleeps
)

// Stats is a snapshot of a ring's slow-path counters.
type Stats struct {
	// Waits counts the times a producer parked because the ring was full (backpressure).
	Waits int64
	// Sleeps counts the times the consumer went to sleep in Wait because the ring was empty.
	Sleeps int64
	// HighWater is the largest backlog the consumer found at a PopBatch call: the items it
	// popped, or the ring's Len when max cut the batch short.
	HighWater int64
}

// slot holds one item and the commit mark that publishes it.
type slot[T any] struct {
	// seq is pos+1 once the item for position pos has been written into val.
	seq atomic.Uint64
	val T
	// Keeps the seq and val of neighbouring slots on different cache lines (see the package
	// doc), whatever the size of T.
	_ [56]byte
}

// MPSC is a bounded multi-producer, single-consumer FIFO queue.
//
// Any number of goroutines may call TryPush, Push, Close, Len, Cap and Stats at the same
// time. PopBatch and Wait belong to the one consumer goroutine and must not be called
// concurrently with each other. Items pushed by one goroutine are popped in the order
// they were pushed.
type MPSC[T any] struct {
	_ cpu.CacheLinePad

	// Read-only after New.
	slots    []slot[T]
	mask     uint64
	capacity uint64
	wake     chan struct{} // 1-slot token that wakes the sleeping consumer
	pushSpin int           // pushSpins; tests lower it to stress the slow paths
	waitSpin int           // waitSpins; likewise
	// Test hooks, nil outside tests: run on the slow paths just before a producer parks
	// and before the consumer announces its sleep, to force the races those paths handle.
	beforePark  func()
	beforeSleep func()
	_           cpu.CacheLinePad

	// Written by producers on every push.
	tail      atomic.Uint64 // next position to reserve, with closedBit once closed
	headCache atomic.Uint64 // a recent value of head; never ahead of it
	_         cpu.CacheLinePad

	// Written by the consumer once per batch.
	head      atomic.Uint64 // next position to pop
	highWater atomic.Int64
	sleeps    atomic.Int64
	_         cpu.CacheLinePad

	// Read by producers on every push, written only around a consumer sleep.
	sleeping atomic.Uint32 // 1 while the consumer is (about to be) blocked on wake
	closed   atomic.Bool   // set by Close after closedBit, for the consumer to poll
	_        cpu.CacheLinePad

	// Producer parking (slow path).
	parked atomic.Int32 // producers between their park check and their wake-up
	waits  atomic.Int64
	mu     sync.Mutex
	cond   sync.Cond
	_      cpu.CacheLinePad
}

// New returns an empty ring with room for capacity items, rounded up to a power of two.
// A capacity below 1 is clamped to 1 and one above MaxCapacity to MaxCapacity.
func New[T any](capacity int) *MPSC[T] {
	c := roundCapacity(capacity)
	r := &MPSC[T]{
		slots:    make([]slot[T], c),
		mask:     c - 1,
		capacity: c,
		wake:     make(chan struct{}, 1),
		pushSpin: pushSpins,
		waitSpin: waitSpins,
	}
	r.cond.L = &r.mu
	return r
}

// roundCapacity clamps capacity to [1, MaxCapacity] and rounds it up to a power of two.
func roundCapacity(capacity int) uint64 {
	c := uint64(1)
	for c < uint64(min(max(capacity, 1), MaxCapacity)) {
		c <<= 1
	}
	return c
}

// Cap returns the number of items the ring can hold.
func (r *MPSC[T]) Cap() int { return int(r.capacity) }

// Len returns the number of items pushed (or being pushed) and not yet popped. It is a
// snapshot that may be stale by the time it returns.
func (r *MPSC[T]) Len() int {
	h := r.head.Load()
	t := r.tail.Load() &^ closedBit
	n := int64(t - h) // head can pass the tail we loaded; clamp below
	return int(min(max(n, 0), int64(r.capacity)))
}

// Stats returns a snapshot of the ring's counters.
func (r *MPSC[T]) Stats() Stats {
	return Stats{Waits: r.waits.Load(), Sleeps: r.sleeps.Load(), HighWater: r.highWater.Load()}
}

// pushResult tells TryPush's callers why a push did not happen.
type pushResult int

const (
	pushOK pushResult = iota
	pushFull
	pushClosed
)

// TryPush appends v if there is room and the ring is open, and reports whether it did.
// It never blocks. An accepted item is delivered to the consumer even if Close follows.
func (r *MPSC[T]) TryPush(v T) bool { return r.push(v) == pushOK }

func (r *MPSC[T]) push(v T) pushResult {
	t, res := r.reserve()
	if res == pushOK {
		r.commit(t, v)
	}
	return res
}

// reserve claims the next position if there is room and the ring is open.
func (r *MPSC[T]) reserve() (uint64, pushResult) {
	t := r.tail.Load()
	for {
		if t&closedBit != 0 {
			return 0, pushClosed
		}
		// Signed: a stale t may be behind headCache; then the CAS below fails and we retry.
		if int64(t-r.headCache.Load()) >= int64(r.capacity) {
			h := r.head.Load() // seq-cst load: pairs with the consumer's head.Store after zeroing slots
			if int64(t-h) >= int64(r.capacity) {
				if t2 := r.tail.Load(); t2 != t {
					t = t2 // the ring moved on while we looked; decide again
					continue
				}
				return 0, pushFull
			}
			r.headCache.Store(h) // may move it back if racing; a stale value is only conservative
		}
		// The CAS both reserves position t and fails if Close set closedBit meanwhile, so a
		// reservation is always made before Close and counted in the tail Close freezes.
		if r.tail.CompareAndSwap(t, t+1) {
			break
		}
		t = r.tail.Load()
	}
	return t, pushOK
}

// commit stores v at reserved position t, publishes it and wakes the consumer if it sleeps.
func (r *MPSC[T]) commit(t uint64, v T) {
	s := &r.slots[t&r.mask]
	s.val = v
	s.seq.Store(t + 1) // seq-cst store: publishes val to the consumer's seq.Load
	// Dekker pair with Wait: we store seq then load sleeping; the consumer stores sleeping
	// then loads seq. Sequential consistency means one of us sees the other's store.
	if r.sleeping.Load() != 0 {
		r.wakeConsumer()
	}
}

// wakeConsumer hands the sleeping consumer a token. The CAS makes sure only one producer
// per sleep pays for the channel send.
func (r *MPSC[T]) wakeConsumer() {
	if r.sleeping.CompareAndSwap(1, 0) {
		select {
		case r.wake <- struct{}{}:
		default: // a token is already pending; the consumer will wake for it
		}
	}
}

// Push appends v, waiting for room while the ring is full: it retries briefly, then parks
// until the consumer frees a slot. It never drops v. It returns ErrClosed if the ring is
// closed before v is accepted, including while Push is parked.
func (r *MPSC[T]) Push(v T) error {
	spins := 0
	for {
		switch r.push(v) {
		case pushOK:
			return nil
		case pushClosed:
			return ErrClosed
		}
		if spins < r.pushSpin {
			spins++
			runtime.Gosched()
			continue
		}
		if r.beforePark != nil {
			r.beforePark()
		}
		if !r.park() {
			return ErrClosed
		}
	}
}

// park blocks the producer until the ring seems to have room (true) or is closed (false).
func (r *MPSC[T]) park() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Seq-cst add before the head load: Dekker pair with the consumer's head.Store followed
	// by its parked.Load, so either it sees us parked or we see the slots it freed.
	r.parked.Add(1)
	defer r.parked.Add(-1)
	for {
		t := r.tail.Load()
		if t&closedBit != 0 {
			return false
		}
		if int64(t-r.head.Load()) < int64(r.capacity) {
			return true
		}
		r.waits.Add(1)
		// We hold mu from the check to here and Wait releases it atomically, so a consumer
		// that saw parked > 0 signals only after we are on the wait list.
		r.cond.Wait()
	}
}

// wakeProducers wakes up to n parked producers after the consumer freed n slots.
func (r *MPSC[T]) wakeProducers(n int) {
	r.mu.Lock()
	for k := min(n, int(r.parked.Load())); k > 0; k-- {
		r.cond.Signal()
	}
	r.mu.Unlock()
}

// PopBatch appends up to max available items to dst in FIFO order and returns the
// extended slice. It never blocks and returns dst unchanged when nothing is ready. Only
// the consumer may call it. The ring keeps no reference to the popped items.
func (r *MPSC[T]) PopBatch(dst []T, max int) []T {
	if max <= 0 {
		return dst
	}
	// The scan reads only slots and head, never tail: polling the producers' tail line
	// would steal it from their CAS on every call (measured several times slower).
	h := r.head.Load() // only this goroutine writes head
	n := uint64(max)
	var zero T
	i := uint64(0)
	for ; i < n; i++ {
		s := &r.slots[(h+i)&r.mask]
		if s.seq.Load() != h+i+1 { // seq-cst load: acquires the producer's val write
			break // reserved but not committed yet; FIFO stops here
		}
		dst = append(dst, s.val)
		s.val = zero // drop the reference so the GC can free the item
	}
	if i == 0 {
		return dst
	}
	seen := int64(i)
	if i == n { // cut short by max: look at the whole backlog, once per full batch
		if backlog := int64(r.tail.Load()&^closedBit - h); backlog > seen {
			seen = backlog
		}
	}
	if seen > r.highWater.Load() {
		r.highWater.Store(seen) // only the consumer writes highWater
	}
	// Seq-cst store after the zeroing: a producer that sees the new head (directly or
	// through headCache) reuses these slots only after they were cleared.
	r.head.Store(h + i)
	if r.parked.Load() > 0 { // Dekker pair with park's parked.Add then head.Load
		r.wakeProducers(int(i))
	}
	return dst
}

// Wait blocks the consumer until an item is ready to pop (true) or the ring is closed and
// every accepted item has been popped (false). It spins briefly before it sleeps. Only the
// consumer may call it.
func (r *MPSC[T]) Wait() bool {
	for spins := 0; ; spins++ {
		if ready, drained := r.check(); ready || drained {
			return ready
		}
		if spins < r.waitSpin {
			runtime.Gosched()
			continue
		}
		if r.beforeSleep != nil {
			r.beforeSleep()
		}
		// Announce the sleep, then check once more: a producer that commits after our
		// check sees sleeping == 1 (Dekker pair with push) and sends a token.
		r.sleeping.Store(1)
		if ready, drained := r.check(); ready || drained {
			r.sleeping.Store(0)
			return ready
		}
		r.sleeps.Add(1)
		<-r.wake
		// A producer cleared the flag before sending; Close and stale tokens do not.
		// A stale token only costs one extra loop.
		r.sleeping.Store(0)
		spins = r.waitSpin
	}
}

// check reports whether the item at head is committed, and whether the ring is closed
// with nothing left to pop.
func (r *MPSC[T]) check() (ready, drained bool) {
	h := r.head.Load()
	if r.slots[h&r.mask].seq.Load() == h+1 {
		return true, false
	}
	if !r.closed.Load() { // keeps the spinning consumer off the producers' tail line
		return false, false
	}
	// Close set closedBit before closed, so this load sees it. The tail is frozen from then
	// on: every accepted push has a position below it, so reaching it means all of them
	// were popped.
	return false, r.tail.Load()&^closedBit == h
}

// Close stops the ring from accepting items and wakes the consumer and every parked
// producer. Items accepted before Close can still be popped. Close is idempotent.
func (r *MPSC[T]) Close() {
	if r.tail.Or(closedBit)&closedBit != 0 {
		return
	}
	r.closed.Store(true)
	// Unconditional token: a consumer that checked closed before the store above is asleep
	// or about to be, and a full channel already holds a token for it.
	select {
	case r.wake <- struct{}{}:
	default:
	}
	// Producers hold mu from their closed check until they wait, so after this Lock each
	// of them either saw the bit or is on the wait list.
	r.mu.Lock()
	r.cond.Broadcast()
	r.mu.Unlock()
}
