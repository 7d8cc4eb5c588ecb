package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/load/workload"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// newTestRunner returns a runner on a fresh memory-only store with the given flags.
func newTestRunner(t *testing.T, progress *bytes.Buffer, args ...string) *runner {
	t.Helper()
	cfg, err := parseArgs(append([]string{"--mem"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	st, err := feox.Open(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rn := newRunner(&cfg, st, nil)
	if progress != nil {
		rn.progress = progress
	}
	return rn
}

// TestRunner_IntervalsAddUp runs a phase whose workers hand over their intervals every few
// milliseconds and checks that no operation is lost or counted twice on the way: the merged
// count equals the operation budget, and the counter of reported operations agrees.
func TestRunner_IntervalsAddUp(t *testing.T) {
	var progress bytes.Buffer
	rn := newTestRunner(t, &progress, "--goroutines=4", "--keys=1000")
	spec, _ := workload.Lookup("ycsb-b", 0)
	ld, _ := workload.Lookup("load", 0)
	rn.runPhase(context.Background(), &phase{name: "load", spec: &ld, shared: workload.NewLoad(0, 1000, 4),
		seed: 1, live: liveBar, total: 1000, period: time.Millisecond})
	var reported atomic.Int64
	const budget = 60_000
	res := rn.runPhase(context.Background(), &phase{name: "run", spec: &spec, shared: workload.NewShared(1000, 1<<40, 4),
		ops: budget, seed: 2, live: liveLines, period: 2 * time.Millisecond, opsDone: &reported})
	if got := res.total().lat.Count(); got != budget {
		t.Fatalf("merged %d operations, want %d", got, budget)
	}
	if got := reported.Load(); got != budget {
		t.Fatalf("reported %d operations, want %d", got, budget)
	}
	if res.errorCount() != 0 || res.kinds[workload.Read].misses != 0 {
		t.Fatalf("errors %d, read misses %d", res.errorCount(), res.kinds[workload.Read].misses)
	}
	if r, u := res.kinds[workload.Read].lat.Count(), res.kinds[workload.Update].lat.Count(); r+u != budget || u == 0 {
		t.Fatalf("reads %d updates %d", r, u)
	}
	out := progress.String()
	// The load of 1,000 keys may finish before its first tick draws the bar; a bar that was
	// drawn must be erased.
	if strings.Contains(out, "load    [") && !strings.Contains(out, "\r\x1b[K") {
		t.Errorf("progress bar not erased: %q", out)
	}
	if !strings.Contains(out, "ops/s") || !strings.Contains(out, "read p99") {
		t.Errorf("no progress line: %q", out)
	}
}

// TestRunner_LoadRunsOut ensures a load ends by itself once every key is inserted, whatever
// the duration, and that the delete workload ends once every key is gone.
func TestRunner_LoadRunsOut(t *testing.T) {
	rn := newTestRunner(t, nil, "--goroutines=3", "--keys=5000")
	ld, _ := workload.Lookup("load", 0)
	res := rn.runPhase(context.Background(), &phase{name: "load", spec: &ld, shared: workload.NewLoad(0, 5000, 3),
		seed: 1, period: time.Second})
	if n := res.kinds[workload.Insert].lat.Count(); n != 5000 || !res.exhausted || rn.st.Len() != 5000 {
		t.Fatalf("load: %d inserts, exhausted %v, Len %d", n, res.exhausted, rn.st.Len())
	}
	del, _ := workload.Lookup("delete", 0)
	res = rn.runPhase(context.Background(), &phase{name: "run", spec: &del, shared: workload.NewShared(5000, 5000, 3),
		seed: 2, duration: time.Hour, period: time.Second})
	if n := res.kinds[workload.Delete].lat.Count(); n != 5000 || res.kinds[workload.Delete].misses != 0 || rn.st.Len() != 0 {
		t.Fatalf("delete: %d deletes, %d misses, Len %d", n, res.kinds[workload.Delete].misses, rn.st.Len())
	}
}

// TestControl_Claim ensures concurrent claims hand out exactly the budget.
func TestControl_Claim(t *testing.T) {
	for _, budget := range []int64{0, 1, 63, 64, 65, 10_007} {
		c := &control{}
		c.budget.Store(budget)
		var got atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					n := c.claim()
					if n == 0 {
						return
					}
					got.Add(n)
				}
			})
		}
		wg.Wait()
		if got.Load() != budget {
			t.Errorf("budget %d: handed out %d", budget, got.Load())
		}
	}
}

// TestProgressBar checks the bar's rendering at the ends and in the middle.
func TestProgressBar(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{0, 100, "load    [..............................]   0%  0/100  0/s"},
		{50, 100, "load    [###############...............]  50%  50/100  50/s"},
		{100, 100, "load    [##############################] 100%  100/100  100/s"},
	}
	for _, tt := range tests {
		if got := progressBar("load", tt.done, tt.total, time.Second); got != tt.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}
