package feox

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// clockShards is the number of version clocks; a key's clock is chosen by its hash.
const clockShards = 64

// clock issues sequence numbers for the keys that hash to it and tracks their explicit-timestamp
// writers in flight. Every mutation of a key takes the next sequence number of the key's clock,
// so sequence numbers order the versions of a key even across a delete and a recreation with a
// lower timestamp.
type clock struct {
	_ cpu.CacheLinePad
	// seq counts mutations; a writer's start is compared with a tombstone's seq. Go's atomics
	// are sequentially consistent, which the in-flight protocol in apply relies on.
	seq atomic.Uint64
	// inflight counts explicit-timestamp writers between their start and their publication;
	// while it is zero a delete need not leave a tombstone.
	inflight atomic.Int64
	_        cpu.CacheLinePad
}

// wallNow returns the wall clock in Unix nanoseconds.
func wallNow() int64 { return time.Now().UnixNano() }

// autoTS returns the automatic timestamp of a new version of a key whose newest record is old
// (nil if none): the wall clock, raised to old.ts+1 where the wall clock has not passed it
// (stalled, stepped back, or overtaken by an explicit future timestamp). It returns 0 when old
// holds the largest timestamp there is, which no automatic write can beat.
func autoTS(now int64, old *record) uint64 {
	ts := uint64(max(now, 1))
	if old != nil && old.ts >= ts {
		if old.ts == math.MaxUint64 {
			return 0
		}
		ts = old.ts + 1
	}
	return ts
}
