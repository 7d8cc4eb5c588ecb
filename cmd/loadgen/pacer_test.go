package main

import (
	"context"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/load/workload"
)

// pacerModel is the pacer's specification, kept simple: a mutex, and exact arithmetic on
// big integers.
type pacerModel struct {
	mu          sync.Mutex
	rate, slack int64
	next        int64
}

// slotTime is floor(k*1e9/rate).
func (m *pacerModel) slotTime(k int64) int64 {
	n := new(big.Int).Mul(big.NewInt(k), big.NewInt(int64(time.Second)))
	return n.Quo(n, big.NewInt(m.rate)).Int64()
}

// reserve takes the first slot at or after next whose start is not more than slack before
// now.
func (m *pacerModel) reserve(now int64) (int64, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.next
	if limit := now - m.slack; m.slotTime(k) < limit {
		// The least k with k*1e9/rate >= limit: ceil(limit*rate/1e9).
		n := new(big.Int).Mul(big.NewInt(limit), big.NewInt(m.rate))
		n.Add(n, big.NewInt(int64(time.Second)-1))
		k = n.Quo(n, big.NewInt(int64(time.Second))).Int64()
	}
	m.next = k + 1
	return k, time.Duration(m.slotTime(k) - now)
}

// TestPacer_SlotArithmetic checks slot times and the first slot at a time on exact values,
// rates that do not divide a second, and values near the end of the 128-bit range used.
func TestPacer_SlotArithmetic(t *testing.T) {
	tests := []struct {
		rate       int64
		k          int64
		slotTime   int64
		t          int64
		firstSlot  int64
		commentary string
	}{
		{1, 3, 3e9, 3e9, 3, "one a second"},
		{1, 0, 0, -5, 0, "before the origin"},
		{1000, 7, 7e6, 7e6 + 1, 8, "just after a slot"},
		{3, 1, 333_333_333, 333_333_333, 1, "a third of a second, rounded down"},
		{3, 2, 666_666_666, 333_333_334, 2, "just after the rounded slot"},
		{7, 7, 1e9, 1e9 - 1, 7, "rounding does not drift"},
		{maxRate, 5, 5, 5, 5, "one a nanosecond"},
		{20_000, 72_000_000_000, 3_600_000_000_000_000, 3_600_000_000_000_001, 72_000_000_001, "a thousand hours at 20K/s"},
		{maxRate, 1 << 62, 1 << 62, 1 << 62, 1 << 62, "products past 64 bits"},
	}
	for _, tt := range tests {
		p := newPacer(tt.rate, 0)
		if got := p.slotTime(tt.k); got != tt.slotTime {
			t.Errorf("%s: rate %d: slotTime(%d) = %d, want %d", tt.commentary, tt.rate, tt.k, got, tt.slotTime)
		}
		if got := p.firstSlotAt(tt.t); got != tt.firstSlot {
			t.Errorf("%s: rate %d: firstSlotAt(%d) = %d, want %d", tt.commentary, tt.rate, tt.t, got, tt.firstSlot)
		}
	}
	// firstSlotAt(t) is the least slot starting at or after t, for random rates and times.
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		rate := 1 + r.Int64N(maxRate)
		p := newPacer(rate, 0)
		at := 1 + r.Int64N(int64(100*time.Hour))
		k := p.firstSlotAt(at)
		if p.slotTime(k) < at || k > 0 && p.slotTime(k-1) >= at {
			t.Fatalf("rate %d: firstSlotAt(%d) = %d, whose start is %d (the previous one %d)", rate, at, k, p.slotTime(k), p.slotTime(k-1))
		}
	}
}

// TestPacer_Reserve follows one pacer through a scripted sequence of reservations, with the
// time given by the test.
func TestPacer_Reserve(t *testing.T) {
	ms := int64(time.Millisecond)
	p := newPacer(1000, 20*time.Millisecond) // a slot per millisecond
	steps := []struct {
		now  int64
		slot int64
		wait time.Duration
		why  string
	}{
		{0, 0, 0, "the first slot starts at the origin"},
		{0, 1, time.Millisecond, "the next one a slot later"},
		{0, 2, 2 * time.Millisecond, "a third worker waits two slots"},
		{ms / 2, 3, 2500 * time.Microsecond, "slots are handed out in order"},
		{10 * ms, 4, -6 * time.Millisecond, "behind schedule within the slack: no wait, no slot skipped"},
		{10 * ms, 5, -5 * time.Millisecond, "catching up"},
		{1000 * ms, 980, -20 * time.Millisecond, "after a stall, the slots older than the slack are skipped"},
		{1000*ms + 1, 981, -19*time.Millisecond - 1, "and the rest of the slack is made up"},
		{990 * ms, 982, -8 * time.Millisecond, "a clock read before a concurrent reservation still gets the next slot"},
	}
	for _, s := range steps {
		slot, wait := p.reserve(s.now)
		if slot != s.slot || wait != s.wait {
			t.Fatalf("%s: reserve(%d) = slot %d, wait %v; want slot %d, wait %v", s.why, s.now, slot, wait, s.slot, s.wait)
		}
	}
}

// TestPacer_BurstAfterStall ensures that after a long idle time the workers get at most the
// slack's worth of slots (plus the current one) without waiting, at any rate.
func TestPacer_BurstAfterStall(t *testing.T) {
	for _, tt := range []struct {
		rate      int64
		slack     time.Duration
		wantBurst int
	}{
		{1000, 20 * time.Millisecond, 21}, // the slots of [now-20ms, now]
		{20_000, 20 * time.Millisecond, 401},
		{3, 20 * time.Millisecond, 1}, // slots are 333 ms apart: only the one at now
		{1_000_000, time.Millisecond, 1001},
	} {
		p := newPacer(tt.rate, tt.slack)
		p.reserve(0)
		stalled := int64(time.Hour)
		burst := 0
		for burst <= tt.wantBurst { // a longer burst fails without counting it all
			if _, wait := p.reserve(stalled); wait > 0 {
				break
			}
			burst++
		}
		if burst != tt.wantBurst {
			t.Errorf("rate %d, slack %v: %d operations without waiting after a stall, want %d", tt.rate, tt.slack, burst, tt.wantBurst)
		}
	}
}

// simWorker is a worker of simulate: its operations take op, and its sleeps end late by up
// to lateness.
type simWorker struct {
	op    time.Duration
	ready int64
	ops   int64
}

// simulate runs workers against a pacer of rate slots per second for span nanoseconds of
// simulated time, as the runner's workers do: reserve a slot, sleep for the wait (waking
// late by up to lateness, as timers do), run the operation. A stall from stallAt for
// stallFor holds every worker back. It returns each worker's operation count and their
// total.
func simulate(rate int64, ops []time.Duration, lateness time.Duration, span, stallAt, stallFor int64) (counts []int64, total int64) {
	p := newPacer(rate, pacerSlack)
	r := rand.New(rand.NewPCG(uint64(rate), uint64(len(ops))))
	ws := make([]simWorker, len(ops))
	for i, d := range ops {
		ws[i].op = d
	}
	for {
		w := &ws[0]
		for i := range ws { // the first worker ready; ties go to the lowest index
			if ws[i].ready < w.ready {
				w = &ws[i]
			}
		}
		now := w.ready
		if now >= stallAt && now < stallAt+stallFor {
			w.ready = stallAt + stallFor
			continue
		}
		_, wait := p.reserve(now)
		start := now
		if wait > 0 {
			start += int64(wait)
			if lateness > 0 {
				start += r.Int64N(int64(lateness))
			}
		}
		if start > span {
			break
		}
		w.ops++
		total++
		w.ready = start + int64(w.op)
	}
	for i := range ws {
		counts = append(counts, ws[i].ops)
	}
	return counts, total
}

// TestPacer_Simulated runs simulated workers on a simulated clock and checks that together
// they reach the rate and no more, that equal workers share it evenly, that a slow worker
// leaves its share to the others, that late wake-ups are made up, and that a stall costs
// the slots it missed beyond the slack.
func TestPacer_Simulated(t *testing.T) {
	const span = int64(10 * time.Second)
	us := time.Microsecond
	tests := []struct {
		name           string
		rate           int64
		ops            []time.Duration
		lateness       time.Duration
		stallAt, stall int64
		wantLo, wantHi int64
		// maxSpread bounds the difference between the counts of the first even workers.
		even      int
		maxSpread int64
		// slowLo and slowHi bound the last worker's count, when slowHi is not 0.
		slowLo, slowHi int64
	}{
		{name: "two equal workers", rate: 20_000, ops: []time.Duration{10 * us, 10 * us},
			wantLo: 200_000, wantHi: 200_001, even: 2, maxSpread: 1},
		{name: "eight equal workers, rate not dividing a second", rate: 7_777, ops: slices.Repeat([]time.Duration{50 * us}, 8),
			wantLo: 77_770, wantHi: 77_771, even: 8, maxSpread: 1},
		{name: "a quick and a slower worker that both keep up", rate: 1000, ops: []time.Duration{10 * us, 800 * us},
			wantLo: 10_000, wantHi: 10_001, even: 2, maxSpread: 1},
		// The slow worker runs an operation every 5 ms plus its wait for a slot (up to 3 ms).
		{name: "a worker too slow for its share", rate: 1000, ops: []time.Duration{10 * us, 10 * us, 5 * time.Millisecond},
			wantLo: 10_000, wantHi: 10_001, even: 2, maxSpread: 1, slowLo: 1250, slowHi: 2000},
		{name: "workers too slow for the rate run unpaced", rate: 100_000, ops: []time.Duration{100 * us, 100 * us},
			wantLo: 200_000, wantHi: 200_002, even: 2, maxSpread: 1},
		{name: "timers late by up to 1ms", rate: 20_000, ops: []time.Duration{10 * us, 10 * us}, lateness: time.Millisecond,
			wantLo: 199_980, wantHi: 200_001, even: 2, maxSpread: 2000},
		// The slots of [0, 3s], one more reserved before the stall, then the slack's worth
		// of slots missed during the stall and every slot of [5s, 10s]: 60,002 + 100,401.
		{name: "a 2s stall", rate: 20_000, ops: []time.Duration{10 * us, 10 * us}, stallAt: int64(3 * time.Second), stall: int64(2 * time.Second),
			wantLo: 160_403, wantHi: 160_403, even: 2, maxSpread: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stallAt := tt.stallAt
			if tt.stall == 0 {
				stallAt = -1
			}
			counts, total := simulate(tt.rate, tt.ops, tt.lateness, span, stallAt, tt.stall)
			if total < tt.wantLo || total > tt.wantHi {
				t.Errorf("%d operations in %v, want %d to %d (counts %v)", total, time.Duration(span), tt.wantLo, tt.wantHi, counts)
			}
			if lo, hi := slices.Min(counts[:tt.even]), slices.Max(counts[:tt.even]); hi-lo > tt.maxSpread {
				t.Errorf("worker counts %v differ by %d, want at most %d", counts, hi-lo, tt.maxSpread)
			}
			if slow := counts[len(counts)-1]; tt.slowHi > 0 && (slow < tt.slowLo || slow > tt.slowHi) {
				t.Errorf("the slow worker ran %d operations, want %d to %d (counts %v)", slow, tt.slowLo, tt.slowHi, counts)
			}
		})
	}
}

// TestPacer_Model runs random reservations, at random and sometimes decreasing times (a
// clock read before a concurrent reservation), on the pacer and on the model, and compares
// every answer.
func TestPacer_Model(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		rate := []int64{1, 3, 1000, 20_000, 7_777_777, maxRate}[round%6]
		slack := time.Duration(r.Int64N(int64(50 * time.Millisecond)))
		p, m := newPacer(rate, slack), &pacerModel{rate: rate, slack: int64(slack)}
		now := int64(0)
		for i := range 500 {
			switch x := r.IntN(100); {
			case x < 60: // a little later
				now += r.Int64N(2 * int64(time.Second) / rate)
			case x < 80: // an earlier reading
				now -= r.Int64N(int64(slack) + 1)
			case x < 95: // the same instant
			default: // a stall
				now += r.Int64N(int64(10 * time.Second))
			}
			gotK, gotW := p.reserve(now)
			wantK, wantW := m.reserve(now)
			if gotK != wantK || gotW != wantW {
				t.Fatalf("rate %d slack %v, reservation %d at %d: got slot %d wait %v, the model slot %d wait %v",
					rate, slack, i, now, gotK, gotW, wantK, wantW)
			}
		}
	}
}

// TestPacer_Stress runs concurrent reservations. With the clock standing still, the workers
// must get exactly the slots 0..n-1 between them; with a clock that moves (and jumps), every
// slot must be handed out once, in increasing order to each worker, and none more than the
// slack before the time it was asked at.
func TestPacer_Stress(t *testing.T) {
	const workers, each = 4, 5000
	for _, moving := range []bool{false, true} {
		p := newPacer(10_000, time.Millisecond)
		var clock atomic.Int64 // the shared fake clock; its ordering is irrelevant to the test
		got := make([][]int64, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 5))
				for range each {
					now := clock.Load()
					if moving {
						step := r.Int64N(int64(50 * time.Microsecond))
						if r.IntN(1000) == 0 {
							step = int64(10 * time.Millisecond)
						}
						now = clock.Add(step)
					}
					k, wait := p.reserve(now)
					if wait < -time.Millisecond {
						t.Errorf("slot %d asked for at %d starts %v before", k, now, -wait)
						return
					}
					if n := len(got[w]); n > 0 && got[w][n-1] >= k {
						t.Errorf("worker %d got slot %d after %d", w, k, got[w][n-1])
						return
					}
					got[w] = append(got[w], k)
				}
			})
		}
		wg.Wait()
		all := slices.Concat(got...)
		slices.Sort(all)
		if len(all) != workers*each {
			t.Fatalf("moving %v: %d reservations, want %d", moving, len(all), workers*each)
		}
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				t.Fatalf("moving %v: slot %d handed out twice", moving, all[i])
			}
		}
		if !moving && all[len(all)-1] != workers*each-1 {
			t.Fatalf("standing clock: the slots are not 0..%d (last %d)", workers*each-1, all[len(all)-1])
		}
	}
}

// TestControl_PaceWakesOnHalt ensures a worker waiting for its slot returns as soon as the
// phase is stopped, without running its operation: its slot is an hour away, so a pace that
// did not wake would hang the test.
func TestControl_PaceWakesOnHalt(t *testing.T) {
	c := &control{stopped: make(chan struct{}), pacer: newPacer(1, pacerSlack), origin: time.Now()}
	c.pacer.next.Store(3600)
	result := make(chan bool)
	var timer *time.Timer
	go func() { result <- c.pace(&timer) }()
	c.halt()
	if <-result {
		t.Fatal("pace returned true after halt")
	}
	if timer == nil || !c.stop.Load() {
		t.Fatalf("timer %v, stop %v", timer, c.stop.Load())
	}
	c.halt() // a second halt (the deadline and an interruption both) must not panic
}

// TestRunner_RateCapsPhase runs a paced phase on the real clock and checks the cap itself,
// which holds whatever the machine's speed: no operation starts before its slot, so a phase
// of elapsed time at rate r runs at most floor(elapsed*r)+1 operations. The rate of one
// operation a second ends the phase while three of the four workers wait for their slots.
func TestRunner_RateCapsPhase(t *testing.T) {
	rn := newTestRunner(t, nil, "--goroutines=4", "--keys=1000")
	spec, _ := workload.Lookup("ycsb-a", 0)
	for _, tt := range []struct {
		rate     int64
		duration time.Duration
	}{{2000, 300 * time.Millisecond}, {1, 50 * time.Millisecond}} {
		res := rn.runPhase(context.Background(), &phase{name: "run", spec: &spec, shared: workload.NewShared(1000, 1<<40, 4),
			duration: tt.duration, rate: tt.rate, seed: 2, period: 10 * time.Millisecond})
		n := res.total().lat.Count()
		limit := int64(res.elapsed)*tt.rate/int64(time.Second) + 1
		if n < 1 || n > limit {
			t.Errorf("rate %d: %d operations in %v, want 1 to %d", tt.rate, n, res.elapsed, limit)
		}
	}
}

// BenchmarkPacer_Reserve measures a reservation from one goroutine and from GOMAXPROCS
// goroutines at once, with the clock standing still (every slot ahead of it).
func BenchmarkPacer_Reserve(b *testing.B) {
	b.Run("goroutines=1", func(b *testing.B) {
		p := newPacer(maxRate, pacerSlack)
		b.ReportAllocs()
		for b.Loop() {
			p.reserve(0)
		}
	})
	b.Run("goroutines="+strconv.Itoa(runtime.GOMAXPROCS(0)), func(b *testing.B) {
		p := newPacer(maxRate, pacerSlack)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p.reserve(0)
			}
		})
	})
}
