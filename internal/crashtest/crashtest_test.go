package crashtest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// params are the parameters of the harness's own test children.
type params struct {
	Point string // the crash point the child reaches after each report
	K     int64  // the report after which it kills itself there
	Loop  bool   // report until killed
	Fail  string // fail with this message after two reports
	Race  bool   // write one variable from two goroutines
}

func (p params) String() string { return fmt.Sprintf("point %q k %d", p.Point, p.K) }

// child is the body of the harness's own test children.
func (p params) child(c *Child) {
	hook := KillAt(p.Point, p.K)
	for i := uint64(1); p.Loop || i <= 3; i++ {
		c.Flushed(i, 10*i)
		if p.Fail != "" && i == 2 {
			c.Fail(errors.New(p.Fail))
		}
		if p.Race && i == 2 {
			racy()
		}
		hook("elsewhere")
		hook("here")
		if p.Loop {
			time.Sleep(time.Millisecond)
		}
	}
}

// racy writes one variable from two goroutines without synchronization.
func racy() {
	n := 0
	done := make(chan bool)
	go func() { n++; done <- true }()
	n++
	<-done
	fmt.Println(n)
}

// TestRun_KillAt ensures that a child killed by its KillAt hook the k-th time it reaches the
// point is reported killed, with its last report before the kill.
func TestRun_KillAt(t *testing.T) {
	AsChild(t, params.child)
	res := Run(t, params{Point: "here", K: 2}, Options{})
	if !res.Killed || !slices.Equal(res.Flushed, []uint64{2, 20}) || res.Reports != 2 || res.Ops() != 2 {
		t.Fatalf("Run = %+v, want killed after the report [2 20], the second", res)
	}
}

// TestRun_KillAfter ensures that the timer of Options.KillAfter kills a child that would run
// on, and that the result says so.
func TestRun_KillAfter(t *testing.T) {
	AsChild(t, params.child)
	res := Run(t, params{Loop: true}, Options{KillAfter: 100 * time.Millisecond})
	if !res.Killed || res.Reports == 0 || res.Ops() != res.Reports {
		t.Fatalf("Run = %+v, want killed after some reports", res)
	}
}

// TestRun_BodyReturns ensures that a child whose body returns is reported not killed, with its
// last report.
func TestRun_BodyReturns(t *testing.T) {
	AsChild(t, params.child)
	res := Run(t, params{Point: "here", K: 4}, Options{})
	if res.Killed || !slices.Equal(res.Flushed, []uint64{3, 30}) || res.Reports != 3 {
		t.Fatalf("Run = %+v, want not killed, after the report [3 30]", res)
	}
}

// fatalTB is a testing.TB whose Fatal and Fatalf record the message and end the goroutine,
// so that a test can see how Run fails.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// runFailing runs Run with p on a fatalTB and returns the message it failed with, or "".
func runFailing(t *testing.T, p params, o Options) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(f, p, o)
	}()
	<-done
	return f.msg
}

// TestRun_ChildFailure ensures that Run fails the test when the child calls Fail, finds a data
// race, or outlives its timeout, with a message that gives the reason, the parameters and how
// to run the child alone.
func TestRun_ChildFailure(t *testing.T) {
	AsChild(t, params.child)
	tests := []struct {
		name string
		p    params
		o    Options
		want string
	}{
		{"Fail", params{Fail: "the disk is on fire", Point: "p"}, Options{}, "failed: the disk is on fire"},
		{"timeout", params{Loop: true}, Options{Timeout: 200 * time.Millisecond}, "still running after 200ms"},
	}
	if raceEnabled {
		tests = append(tests, struct {
			name string
			p    params
			o    Options
			want string
		}{"data race", params{Race: true}, Options{}, "found a data race"})
	}
	for _, tc := range tests {
		msg := runFailing(t, tc.p, tc.o)
		for _, want := range []string{tc.want, tc.p.String(), ChildEnv + "=", "-run '^TestRun_ChildFailure$' ./internal/crashtest/"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: Run failed with %q, which does not say %q", tc.name, msg, want)
			}
		}
	}
}

// TestSeed_ReplayCommand ensures that the replay command names the seed, the FEOX_ settings,
// the test and its package.
func TestSeed_ReplayCommand(t *testing.T) {
	t.Setenv("FEOX_SEED_TEST", "7")
	t.Setenv("FEOX_TEST_IO", "direct")
	t.Setenv("FEOX_QUOTED", "a b")
	if got := Seed(t, "FEOX_SEED_TEST"); got != 7 {
		t.Fatalf("Seed = %d, want 7 from the environment", got)
	}
	got := replayCommand("TestX/sub case", "FEOX_SEED_TEST", 7)
	want := "FEOX_QUOTED='a b' FEOX_SEED_TEST=7 FEOX_TEST_IO=direct go test"
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, " -count=1 -run '^TestX$/^sub case$' ./internal/crashtest/") {
		t.Fatalf("replayCommand = %q, want it to start with %q and end with the run pattern and the package", got, want)
	}
	if Count("FEOX_SEED_TEST", 1) != 7 || Count("FEOX_QUOTED", 3) != 3 || Count("FEOX_UNSET_VARIABLE", 2) != 2 {
		t.Fatal("Count does not return the positive integer in the variable, or else the default")
	}
}

// TestHistory_Check ensures that a key may hold its covered state or a later one, and that a
// key never written may only be absent (the zero state).
func TestHistory_Check(t *testing.T) {
	h := NewHistory[string]()
	h.Set("a", "a1", true)
	h.Set("a", "a2", true)
	h.Set("a", "a3", false)
	h.Set("a", "", false)
	h.Set("b", "b1", false)
	for _, ok := range []struct{ key, state string }{{"a", "a2"}, {"a", "a3"}, {"a", ""}, {"b", ""}, {"b", "b1"}, {"c", ""}} {
		if err := h.Check(ok.key, ok.state); err != nil {
			t.Errorf("Check(%s, %q) = %v, want nil", ok.key, ok.state, err)
		}
	}
	for _, bad := range []struct{ key, state string }{{"a", "a1"}, {"a", "b1"}, {"b", "a2"}, {"c", "c1"}} {
		if err := h.Check(bad.key, bad.state); err == nil {
			t.Errorf("Check(%s, %q) = nil, want an error", bad.key, bad.state)
		}
	}
}
