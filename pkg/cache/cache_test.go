package cache

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"weak"
)

// admitN admits n entries of size bytes each with values start, start+1, ... and returns
// their handles.
func admitN(c *Cache[int], start, n int, size int64) []*Handle[int] {
	hs := make([]*Handle[int], n)
	for i := range hs {
		hs[i] = c.Admit(start+i, size)
	}
	return hs
}

// collect returns an eviction callback that accepts every value and appends it to *got.
func collect(got *[]int) func(int) bool {
	return func(v int) bool {
		*got = append(*got, v)
		return true
	}
}

// TestNew_Defaults ensures New fills in the documented defaults and clamps the low
// watermark to the high one.
func TestNew_Defaults(t *testing.T) {
	tests := []struct {
		cfg                Config
		wantHigh, wantLow  int64
		wantMaxExamination int
	}{
		{cfg: Config{}, wantHigh: DefaultHighWatermark, wantLow: DefaultHighWatermark * 7 / 8,
			wantMaxExamination: DefaultMaxEvictPerCall},
		{cfg: Config{HighWatermark: 800}, wantHigh: 800, wantLow: 700,
			wantMaxExamination: DefaultMaxEvictPerCall},
		{cfg: Config{HighWatermark: 800, LowWatermark: 100, MaxEvictPerCall: 5}, wantHigh: 800,
			wantLow: 100, wantMaxExamination: 5},
		{cfg: Config{HighWatermark: 800, LowWatermark: 900}, wantHigh: 800, wantLow: 800,
			wantMaxExamination: DefaultMaxEvictPerCall},
		{cfg: Config{HighWatermark: -1, LowWatermark: -1, MaxEvictPerCall: -1},
			wantHigh: DefaultHighWatermark, wantLow: DefaultHighWatermark * 7 / 8,
			wantMaxExamination: DefaultMaxEvictPerCall},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.cfg), func(t *testing.T) {
			c := New[int](tt.cfg)
			if c.HighWatermark() != tt.wantHigh || c.LowWatermark() != tt.wantLow ||
				c.maxExamine != tt.wantMaxExamination {
				t.Errorf("high, low, max = %d, %d, %d; want %d, %d, %d", c.HighWatermark(),
					c.LowWatermark(), c.maxExamine, tt.wantHigh, tt.wantLow, tt.wantMaxExamination)
			}
		})
	}
}

// TestCache_Evict_SecondChance ensures a touched entry is passed over once, with its bit
// cleared, and that victims come in admission order otherwise.
func TestCache_Evict_SecondChance(t *testing.T) {
	tests := []struct {
		name    string
		touched []int // values touched before the sweep
		want    []int // victims, in order
	}{
		{"none", nil, []int{0, 1, 2}},
		{"first", []int{0}, []int{1, 2, 3}},
		{"first-two", []int{0, 1}, []int{2, 3, 0}},
		{"all", []int{0, 1, 2, 3}, []int{0, 1, 2}},
		{"last", []int{3}, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 4 entries of 10 bytes: 40 > high 35; evicting down to low 10 takes 3 victims.
			c := New[int](Config{HighWatermark: 35, LowWatermark: 10})
			hs := admitN(c, 0, 4, 10)
			for _, v := range tt.touched {
				c.Touch(hs[v])
			}
			var got []int
			n, bytes := c.Evict(collect(&got))
			if !slices.Equal(got, tt.want) || n != len(tt.want) || bytes != int64(10*len(tt.want)) {
				t.Errorf("Evict = %d, %d, victims %v; want victims %v", n, bytes, got, tt.want)
			}
			if c.Resident() != 10 || c.Len() != 1 {
				t.Errorf("Resident, Len = %d, %d; want 10, 1", c.Resident(), c.Len())
			}
		})
	}
}

// TestCache_Watermarks ensures NeedsEvict and Evict follow the watermarks, with hysteresis:
// once the high watermark is crossed, eviction goes on down to the low one even across
// calls that stop early.
func TestCache_Watermarks(t *testing.T) {
	c := New[int](Config{HighWatermark: 100, LowWatermark: 50, MaxEvictPerCall: 2})
	admitN(c, 0, 10, 10)
	if c.NeedsEvict() {
		t.Fatalf("NeedsEvict at the high watermark (Resident %d)", c.Resident())
	}
	if n, _ := c.Evict(collect(new([]int))); n != 0 {
		t.Fatalf("Evict under the high watermark evicted %d", n)
	}
	admitN(c, 10, 1, 10)
	var got []int
	var calls int
	for c.NeedsEvict() {
		calls++
		if calls > 10 {
			t.Fatalf("NeedsEvict still true after %d calls, Resident %d", calls, c.Resident())
		}
		before := c.Stats().Examined
		n, bytes := c.Evict(collect(&got))
		if n > 2 || bytes != int64(10*n) || c.Stats().Examined-before > 2 {
			t.Fatalf("call %d evicted %d (%d bytes) after examining %d: bound is 2", calls, n,
				bytes, c.Stats().Examined-before)
		}
	}
	// 110 bytes down to 50: 6 victims, 2 per call.
	if calls != 3 || c.Resident() != 50 || !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("%d calls, Resident %d, victims %v; want 3 calls, 50, [0 1 2 3 4 5]", calls,
			c.Resident(), got)
	}
	// Between the watermarks without a crossing: nothing to do.
	admitN(c, 11, 5, 10)
	if c.NeedsEvict() || c.Resident() != 100 {
		t.Errorf("NeedsEvict = %v at Resident %d; want false at 100", c.NeedsEvict(), c.Resident())
	}
}

// TestCache_Evict_Bound ensures one call examines at most MaxEvictPerCall entries and at most
// twice as many as are live, whatever fn answers.
func TestCache_Evict_Bound(t *testing.T) {
	tests := []struct {
		max, entries int
		touchAll     bool
		accept       bool
		wantExamined uint64
		wantEvicted  int
	}{
		{max: 5, entries: 20, accept: true, wantExamined: 5, wantEvicted: 5},
		{max: 5, entries: 20, touchAll: true, accept: true, wantExamined: 5, wantEvicted: 0},
		{max: 100, entries: 20, accept: false, wantExamined: 40, wantEvicted: 0},
		{max: 100, entries: 20, touchAll: true, accept: false, wantExamined: 40, wantEvicted: 0},
		{max: 100, entries: 20, touchAll: true, accept: true, wantExamined: 40, wantEvicted: 20},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("max=%d/entries=%d/touched=%v/accept=%v", tt.max, tt.entries,
			tt.touchAll, tt.accept)
		t.Run(name, func(t *testing.T) {
			// Entries of 2 bytes over a low watermark of 1: the sweep never stops for the
			// watermark while entries remain.
			c := New[int](Config{HighWatermark: 1, LowWatermark: 1, MaxEvictPerCall: tt.max})
			for _, h := range admitN(c, 0, tt.entries, 2) {
				if tt.touchAll {
					c.Touch(h)
				}
			}
			offers := 0
			n, _ := c.Evict(func(int) bool { offers++; return tt.accept })
			st := c.Stats()
			if st.Examined != tt.wantExamined || n != tt.wantEvicted {
				t.Errorf("examined %d, evicted %d; want %d, %d", st.Examined, n,
					tt.wantExamined, tt.wantEvicted)
			}
			if !tt.accept && st.Refused != uint64(offers) {
				t.Errorf("Stats.Refused = %d, fn refused %d", st.Refused, offers)
			}
			if !c.NeedsEvict() && c.Len() > 0 {
				t.Errorf("NeedsEvict false with %d bytes resident over low watermark 1", c.Resident())
			}
		})
	}
}

// TestCache_Remove ensures Remove forgets a live entry once, ignores nil, never-admitted,
// removed and evicted handles, and that a removed entry is never offered to fn.
func TestCache_Remove(t *testing.T) {
	c := New[int](Config{HighWatermark: 25, LowWatermark: 1})
	hs := admitN(c, 0, 3, 10)
	c.Remove(hs[1])
	c.Remove(hs[1])
	c.Remove(nil)
	c.Remove(new(Handle[int]))
	if c.Resident() != 20 || c.Len() != 2 || c.Stats().Removes != 1 {
		t.Fatalf("Resident, Len, Removes = %d, %d, %d; want 20, 2, 1", c.Resident(), c.Len(),
			c.Stats().Removes)
	}
	admitN(c, 3, 1, 10) // 30 > 25
	var got []int
	c.Evict(collect(&got))
	if !slices.Equal(got, []int{0, 2, 3}) {
		t.Errorf("victims %v; want [0 2 3]", got)
	}
	c.Remove(hs[0]) // evicted already
	if st := c.Stats(); st.Removes != 1 || st.Resident != 0 || st.Len != 0 {
		t.Errorf("after Remove of an evicted handle: %+v", st)
	}
	if err := c.checkInvariants(); err != nil {
		t.Error(err)
	}
}

// TestCache_Remove_DuringEvict ensures a Remove that finds its entry in fn waits for fn:
// if fn accepts, the entry counts once, as evicted; if fn refuses, Remove then forgets it
// and it is never offered again.
func TestCache_Remove_DuringEvict(t *testing.T) {
	for _, accept := range []bool{true, false} {
		t.Run(fmt.Sprintf("accept=%v", accept), func(t *testing.T) {
			c := New[int](Config{HighWatermark: 5, LowWatermark: 1, MaxEvictPerCall: 1})
			waiting := make(chan struct{})
			var once sync.Once
			c.removeWait = func() { once.Do(func() { close(waiting) }) }
			hs := admitN(c, 0, 1, 10)
			removed := make(chan struct{})
			offers := 0
			var returnedEarly bool
			c.Evict(func(int) bool {
				offers++
				go func() {
					c.Remove(hs[0])
					close(removed)
				}()
				<-waiting // Remove has seen the entry being evicted and is about to wait
				select {
				case <-removed:
					returnedEarly = true
				default:
				}
				return accept
			})
			<-removed
			if returnedEarly {
				t.Errorf("Remove returned while fn was running")
			}
			st := c.Stats()
			wantRemoves, wantEvictions := uint64(0), uint64(1)
			if !accept {
				wantRemoves, wantEvictions = 1, 0
			}
			if st.Resident != 0 || st.Len != 0 || st.Removes != wantRemoves ||
				st.Evictions != wantEvictions {
				t.Errorf("Stats = %+v; want nothing resident, %d removes, %d evictions", st,
					wantRemoves, wantEvictions)
			}
			admitN(c, 1, 1, 10)
			c.Evict(func(int) bool { offers++; return true })
			if offers != 2 {
				t.Errorf("fn called %d times; want 2 (the removed entry must not be offered)", offers)
			}
			if err := c.checkInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCache_Resize ensures the slot ring drops tombstones when it fills and shrinks after a
// large eviction, keeping the clock order.
func TestCache_Resize(t *testing.T) {
	c := New[int](Config{HighWatermark: 1 << 40})
	hs := admitN(c, 0, 1024, 1)
	if len(c.slots) != 1024 {
		t.Fatalf("%d slots for 1024 entries; want 1024", len(c.slots))
	}
	for _, h := range hs[:200] {
		c.Remove(h) // tombstones under a quarter of the live entries: no compaction yet
	}
	if len(c.slots) != 1024 || c.n != 1024 {
		t.Fatalf("%d slots, %d occupied after 200 removals; want 1024, 1024", len(c.slots), c.n)
	}
	admitN(c, 1024, 1, 1) // ring full: compacts 824 live entries plus the new one into 2048 slots
	if len(c.slots) != 2048 || c.n != 825 {
		t.Fatalf("%d slots, %d occupied; want 2048, 825", len(c.slots), c.n)
	}
	for _, h := range hs[200:1000] {
		c.Remove(h) // tombstones pass a quarter of the live entries: Remove compacts
	}
	if tombs := c.n - c.Len(); tombs > max(c.Len()/4, minSlots)+1 {
		t.Fatalf("%d tombstones beside %d live entries after 800 more removals", tombs, c.Len())
	}
	if err := c.checkInvariants(); err != nil {
		t.Fatal(err)
	}

	c = New[int](Config{HighWatermark: 1000, LowWatermark: 10, MaxEvictPerCall: 2000})
	admitN(c, 0, 1001, 1)
	var got []int
	c.Evict(collect(&got))
	if len(got) != 991 || got[0] != 0 || got[990] != 990 {
		t.Fatalf("evicted %d entries from %v to %v; want 0 to 990", len(got), got[0], got[len(got)-1])
	}
	if len(c.slots) != 32 || c.n != 10 {
		t.Errorf("%d slots, %d occupied; want 32, 10", len(c.slots), c.n)
	}
	admitN(c, 1001, 1, 1000) // crosses again; the survivors go first, in order
	got = got[:0]
	c.Evict(collect(&got))
	if want := []int{991, 992, 993, 994, 995, 996, 997, 998, 999, 1000, 1001}; !slices.Equal(got, want) {
		t.Errorf("victims %v; want %v", got, want)
	}
	if err := c.checkInvariants(); err != nil {
		t.Error(err)
	}
}

// TestCache_Touch_NoAlloc ensures the read path's Touch does not allocate.
func TestCache_Touch_NoAlloc(t *testing.T) {
	c := New[int](Config{})
	h := c.Admit(1, 1)
	if allocs := testing.AllocsPerRun(100, func() { c.Touch(h) }); allocs != 0 {
		t.Errorf("Touch allocates %v times per call", allocs)
	}
}

// owner is a value that carries its own cache entry, as AdmitHandle expects.
type owner struct {
	name string
	ce   Handle[*owner]
}

// TestAdmitHandle checks that an entry embedded in its value behaves like one from Admit
// (counted, touched, evicted with its value, removed), and that admitting it twice panics.
func TestAdmitHandle(t *testing.T) {
	c := New[*owner](Config{HighWatermark: 10, LowWatermark: 6})
	a, b := &owner{name: "a"}, &owner{name: "b"}
	c.AdmitHandle(&a.ce, a, 6)
	c.AdmitHandle(&b.ce, b, 6)
	if st := c.Stats(); st.Len != 2 || st.Resident != 12 || st.Admits != 2 {
		t.Fatalf("after two admissions: %+v", st)
	}
	c.Touch(&b.ce) // b gets a second chance: the hand takes a first
	var evicted []string
	c.Evict(func(o *owner) bool {
		evicted = append(evicted, o.name)
		return true
	})
	if len(evicted) != 1 || evicted[0] != "a" {
		t.Fatalf("evicted %q, want [a]", evicted)
	}
	c.Remove(&b.ce)
	if st := c.Stats(); st.Len != 0 || st.Resident != 0 {
		t.Fatalf("after eviction and removal: %+v", st)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second AdmitHandle of the same entry did not panic")
		}
	}()
	c.AdmitHandle(&a.ce, a, 1)
}

// TestAdmitHandle_TombstonesBounded checks that removed entries embedded in their owners do not
// keep the owners reachable without bound: neither in a phase of removals alone (nothing is
// admitted, nothing evicted) nor under updates that admit a new owner and remove the old one.
// Weak pointers tell which owners the collector could free.
func TestAdmitHandle_TombstonesBounded(t *testing.T) {
	alive := func(ws []weak.Pointer[owner]) int {
		runtime.GC()
		n := 0
		for _, w := range ws {
			if w.Value() != nil {
				n++
			}
		}
		return n
	}
	t.Run("removals", func(t *testing.T) {
		c := New[*owner](Config{HighWatermark: 1 << 40})
		var ws []weak.Pointer[owner]
		for range 1000 {
			o := &owner{}
			c.AdmitHandle(&o.ce, o, 1)
			ws = append(ws, weak.Make(o))
		}
		for _, w := range ws {
			c.Remove(&w.Value().ce)
		}
		// At most minSlots+1 tombstones wait for the next compaction.
		if n := alive(ws); n > minSlots+1 {
			t.Fatalf("%d of 1000 removed owners still reachable, want at most %d", n, minSlots+1)
		}
		runtime.KeepAlive(c) // the ring is what would keep them
	})
	t.Run("updates", func(t *testing.T) {
		const live = 100
		c := New[*owner](Config{HighWatermark: 1 << 40})
		cur := make([]*owner, live)
		var ws []weak.Pointer[owner]
		for i := range 20000 {
			o := &owner{}
			c.AdmitHandle(&o.ce, o, 1)
			ws = append(ws, weak.Make(o))
			if old := cur[i%live]; old != nil {
				c.Remove(&old.ce)
			}
			cur[i%live] = o
		}
		// The live owners, and at most a quarter as many tombstones (or minSlots), plus one
		// over the bound.
		if bound := live + max(live/4, minSlots) + 1; alive(ws) > bound {
			t.Fatalf("%d owners reachable with %d live, want at most %d", alive(ws), live, bound)
		}
		if st := c.Stats(); st.Len != live {
			t.Fatalf("Len = %d, want %d", st.Len, live)
		}
		runtime.KeepAlive(cur)
		runtime.KeepAlive(c)
	})
}
