package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// stressVal is the value of one admission in the stress test: what the owner's record
// version would hold.
type stressVal struct {
	id      uint64
	bytes   int64
	removed atomic.Bool  // set by the writer once Remove of its handle has returned
	evicted atomic.Bool  // set by fn when it accepts
	offers  atomic.Int32 // fn calls for this value
}

// stressVersion is what a key points to: the current version's value and handle.
type stressVersion struct {
	v *stressVal
	h *Handle[*stressVal]
}

// TestCache_Stress runs writers (Admit a new version, Remove the old one), readers (Touch)
// and evictors at once and ensures that fn is never called for a removed handle nor again
// for an evicted one, that Resident and Len never go negative, and that at the end they
// equal the bytes and count of the values admitted and neither removed nor evicted.
func TestCache_Stress(t *testing.T) {
	tests := []struct {
		cfg    Config
		refuse int // percentage of offers refused
		keys   int
	}{
		{Config{HighWatermark: 2000, LowWatermark: 1500, MaxEvictPerCall: 64}, 0, 256},
		{Config{HighWatermark: 2000, LowWatermark: 1500, MaxEvictPerCall: 64}, 40, 256},
		{Config{HighWatermark: 300, LowWatermark: 300, MaxEvictPerCall: 4}, 10, 64},
		{Config{HighWatermark: 1 << 20}, 0, 1024}, // no eviction: tombstones and resizes only
	}
	for _, tt := range tests {
		name := fmt.Sprintf("high=%d/low=%d/max=%d/refuse=%d/keys=%d", tt.cfg.HighWatermark,
			tt.cfg.LowWatermark, tt.cfg.MaxEvictPerCall, tt.refuse, tt.keys)
		t.Run(name, func(t *testing.T) {
			stress(t, tt.cfg, tt.refuse, tt.keys)
		})
	}
}

func stress(t *testing.T, cfg Config, refuse, nkeys int) {
	const writers, readers, evictors, writes = 3, 2, 2, 20000
	c := New[*stressVal](cfg)
	keys := make([]atomic.Pointer[stressVersion], nkeys)
	var nextID atomic.Uint64
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}

	var offerCount atomic.Uint64
	fn := func(v *stressVal) bool {
		if v.removed.Load() {
			fail("fn called for value %d after Remove returned", v.id)
		}
		if v.evicted.Load() {
			fail("fn called for value %d after it was evicted", v.id)
		}
		v.offers.Add(1)
		k := offerCount.Add(1)
		if k%7 == 0 {
			runtime.Gosched() // widen the window in which Remove finds the entry being evicted
		}
		if int((k*0x9e3779b97f4a7c15)>>32%100) < refuse {
			return false
		}
		v.evicted.Store(true)
		return true
	}

	all := make([][]*stressVal, writers) // every value each writer admitted
	var done atomic.Bool
	var wg, bg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for range writes {
				k := &keys[rng.IntN(nkeys)]
				var next *stressVersion
				if rng.IntN(10) != 0 { // update; otherwise delete
					v := &stressVal{id: nextID.Add(1), bytes: int64(rng.IntN(32) + 1)}
					all[w] = append(all[w], v)
					next = &stressVersion{v: v, h: c.Admit(v, v.bytes)}
				}
				if old := k.Swap(next); old != nil {
					c.Remove(old.h)
					old.v.removed.Store(true)
				}
				if rng.IntN(16) == 0 && c.NeedsEvict() { // eviction after a write
					c.Evict(fn)
				}
			}
		})
	}
	for r := range readers {
		bg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 4))
			for i := 0; !done.Load(); i++ {
				if i%4 == 0 {
					runtime.Gosched() // on a small machine, let the writers make progress
				}
				if cur := keys[rng.IntN(nkeys/4+1)].Load(); cur != nil { // a hot quarter
					c.Touch(cur.h)
				}
				if c.Resident() < 0 || c.Len() < 0 {
					fail("Resident %d, Len %d: negative", c.Resident(), c.Len())
				}
			}
		})
	}
	for range evictors {
		bg.Go(func() {
			for !done.Load() {
				if !c.NeedsEvict() {
					runtime.Gosched()
					continue
				}
				if n, _ := c.Evict(fn); n == 0 {
					runtime.Gosched() // back off: everything examined was hot or refused
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	bg.Wait()

	var bytes int64
	var live int
	var admitted uint64
	for _, vs := range all {
		for _, v := range vs {
			admitted++
			if v.offers.Load() > 0 && refuse == 0 && !v.evicted.Load() {
				fail("value %d offered without refusals but not evicted", v.id)
			}
			if !v.removed.Load() && !v.evicted.Load() {
				bytes += v.bytes
				live++
			}
		}
	}
	if got := c.Resident(); got != bytes {
		t.Errorf("Resident = %d, want %d", got, bytes)
	}
	if got := c.Len(); got != live {
		t.Errorf("Len = %d, want %d", got, live)
	}
	if st := c.Stats(); st.Admits != admitted {
		t.Errorf("Stats.Admits = %d, want %d", st.Admits, admitted)
	}
	if err := c.checkInvariants(); err != nil {
		t.Error(err)
	}
	st := c.Stats()
	t.Logf("%+v", st)
	if cfg.HighWatermark < 10000 && st.Evictions == 0 {
		t.Errorf("no evictions: the test did not exercise eviction")
	}
}
