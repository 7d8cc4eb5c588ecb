package feox

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// clockShards is the number of version clocks; a key's clock is chosen by its hash.
const clockShards = 64

// clock issues timestamps and sequence numbers for the keys that hash to it. Every record of
// those keys has a timestamp and a sequence number not above last and seq, so a value taken from
// the clock beats every version of every key it serves, including versions already deleted.
type clock struct {
	_ cpu.CacheLinePad
	// last is the newest timestamp issued or observed. Sequentially consistent atomics (the only
	// kind Go has) make a raise visible to the next writer of the same key, which is serialized
	// after us by the hash index's bucket lock anyway.
	last atomic.Uint64
	// seq counts mutations; a writer's start is compared with a tombstone's seq.
	seq atomic.Uint64
	// inflight counts explicit-timestamp writers between their start and their publication;
	// while it is zero a delete need not leave a tombstone.
	inflight atomic.Int64
	_        cpu.CacheLinePad
}

// wallNow returns the wall clock in Unix nanoseconds.
func wallNow() int64 { return time.Now().UnixNano() }

// next returns a candidate automatic timestamp: the wall clock, or last+1 when the wall clock
// has not moved past the newest timestamp (stalled, stepped back, or overtaken by an explicit
// future timestamp). Nothing is published until commit.
func (c *clock) next(now int64) uint64 {
	ts := uint64(max(now, 1))
	if l := c.last.Load(); ts <= l {
		if l == ^uint64(0) {
			return l // saturated: the write will be refused as not newer
		}
		ts = l + 1
	}
	return ts
}

// observe raises last to at least ts.
func (c *clock) observe(ts uint64) {
	for {
		l := c.last.Load()
		if ts <= l || c.last.CompareAndSwap(l, ts) {
			return
		}
	}
}
