package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// maxRate bounds --rate: a nanosecond clock cannot space operations closer than this.
const maxRate = 1_000_000_000

// pacerSlack is how far behind its schedule a pacer may fall before it forgets the slots it
// missed. A worker that oversleeps (timers wake late, the scheduler runs other work, a
// garbage collection pauses everyone) catches up within this slack, so the average rate
// stays exact; after a longer stall the workers issue at most pacerSlack's worth of
// operations back to back, then follow the schedule again.
const pacerSlack = 20 * time.Millisecond

// pacer spaces the operations of a phase so that all its workers together start at most
// rate operations per second. Time is cut into slots, slot k starting k/rate seconds after
// the pacer's origin; each operation takes the next free slot, whichever worker asks, and
// waits for its start. The slots are one schedule shared by the workers: a worker that asks
// more often (because its operations are quicker) gets more of them, and none can hold more
// than the one it waits for, so no worker starves the others and the total is the rate
// whatever the number of workers.
//
// The pacer reads no clock: the caller passes the current time, in nanoseconds since the
// origin, and sleeps for the wait it is given. A pacer is safe for concurrent use.
type pacer struct {
	// rate is the number of slots per second, in [1, maxRate].
	rate uint64
	// slack is pacerSlack in nanoseconds.
	slack int64
	// next is the index of the first slot not handed out yet. It is a ticket counter that
	// publishes no other data, so it needs atomicity only; Go's atomics are sequentially
	// consistent anyway.
	next atomic.Int64
}

// newPacer returns a pacer of rate slots per second (1 <= rate <= maxRate) that forgets
// the slots more than slack in the past.
func newPacer(rate int64, slack time.Duration) *pacer {
	return &pacer{rate: uint64(rate), slack: int64(slack)}
}

// slotTime returns the start of slot k, in nanoseconds since the origin: floor(k*1e9/rate).
// It is exact for any k a run reaches (the 128-bit quotient fits while k/rate is below
// 584 years).
func (p *pacer) slotTime(k int64) int64 {
	hi, lo := bits.Mul64(uint64(k), uint64(time.Second))
	q, _ := bits.Div64(hi, lo, p.rate)
	return int64(q)
}

// firstSlotAt returns the index of the first slot that starts at or after t nanoseconds
// since the origin: the least k with k*1e9/rate >= t, that is ceil(t*rate/1e9); 0 for t <= 0.
func (p *pacer) firstSlotAt(t int64) int64 {
	if t <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(t), p.rate)
	lo, carry := bits.Add64(lo, uint64(time.Second)-1, 0)
	q, _ := bits.Div64(hi+carry, lo, uint64(time.Second))
	return int64(q)
}

// reserve hands the next free slot to an operation that is ready to start at now
// (nanoseconds since the origin). It returns the slot and how long the caller must wait
// before starting the operation: positive when the worker is ahead of the schedule, zero or
// negative (start at once) when it is behind. Slots that started more than the slack before
// now are skipped, never handed out: after a stall, at most the slack's worth of operations
// start without waiting.
func (p *pacer) reserve(now int64) (slot int64, wait time.Duration) {
	earliest := p.firstSlotAt(now - p.slack)
	for {
		n := p.next.Load()
		k := max(n, earliest)
		// A compare-and-swap rather than an Add: skipping the missed slots moves next by
		// more than one, and must not undo a concurrent reservation.
		if p.next.CompareAndSwap(n, k+1) {
			return k, time.Duration(p.slotTime(k) - now)
		}
	}
}
