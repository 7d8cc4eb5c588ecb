// Package crashtest is the crash-test harness of the module's tests: a test runs its own test
// binary again as a child process that writes to a store and reports what each Flush covered,
// the child dies by SIGKILL (at a crash point it reaches, or when a timer fires), and the test
// opens the store the child left and checks it against the reports. The package also gives
// randomized tests their seeds and long modes from the environment, with the command that
// replays a failure, and keeps the history of the writes a crash may leave (History).
//
// It is test support: only _test.go files import it.
//
// # One test, two processes
//
// A crash test is one test function with both sides. AsChild comes first; in the parent it
// returns at once:
//
//	func TestX(t *testing.T) {
//		crashtest.AsChild(t, func(p params, c *crashtest.Child) {
//			// open the store at p.Path with crashtest.KillAt(p.Point, p.K) as its crash hook,
//			// write, and after each Flush that returned nil: c.Flushed(n)
//		})
//		res := crashtest.Run(t, params{Path: path, Point: "synced", K: 3}, crashtest.Options{})
//		// open path and check it against res.Flushed
//	}
//
// Run starts the test binary with -test.run naming the test and the parameters, encoded as
// JSON, in the environment variable ChildEnv; in that process AsChild decodes them, runs the
// body instead of the rest of the test, and exits. The parameters must survive encoding/json:
// exported fields, which the parent may leave out of the encoding (`json:"-"`) where only it
// needs them.
//
// # What the child says
//
// The child writes lines to its standard output: "F n ..." after each Flush that returned nil
// (Flushed), "E message" when it fails (Fail) and "X" when its body returned without being
// killed. Anything else it prints, and its standard error, the parent shows when the child
// fails.
package crashtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ChildEnv names the environment variable that makes a test binary a crash test's child: it
// holds the name of the test and the child's parameters, as JSON.
const ChildEnv = "FEOX_CRASH_CHILD"

// DefaultTimeout is the longest a child may live when Options.Timeout is 0.
const DefaultTimeout = 2 * time.Minute

// spec is the value of ChildEnv.
type spec struct {
	Test   string          `json:"test"`
	Params json.RawMessage `json:"params"`
}

// Child is the child process's side of a crash test: how it reports to its parent. Its methods
// are safe for concurrent use.
type Child struct {
	mu  sync.Mutex
	out *bufio.Writer
}

// AsChild runs body as the child process and exits, when this process is the child that Run
// started for t's test; otherwise it returns at once. body receives the parameters the parent
// gave Run, decoded into a P. If body returns, the child exits at once, without running
// deferred calls or t's cleanups (as a crash would), and its parent's Result says it was not
// killed.
func AsChild[P any](t testing.TB, body func(p P, c *Child)) {
	v := os.Getenv(ChildEnv)
	if v == "" {
		return
	}
	c := &Child{out: bufio.NewWriter(os.Stdout)}
	var s spec
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		c.Fail(fmt.Errorf("%s: %w", ChildEnv, err))
	}
	if s.Test != t.Name() {
		return // a child of another test
	}
	var p P
	if err := json.Unmarshal(s.Params, &p); err != nil {
		c.Fail(fmt.Errorf("%s: the parameters of %s: %w", ChildEnv, s.Test, err))
	}
	body(p, c)
	c.line("X")
	os.Exit(0)
}

// Flushed reports that a Flush returned nil: n says what it covered (the number of operations
// done, or whatever the test counts). The parent's Result keeps the last report.
func (c *Child) Flushed(n ...uint64) {
	b := []byte("F")
	for _, v := range n {
		b = strconv.AppendUint(append(b, ' '), v, 10)
	}
	c.line(string(b))
}

// Fail reports err to the parent and ends the child; the parent's test fails with err.
func (c *Child) Fail(err error) {
	c.line("E " + strings.ReplaceAll(err.Error(), "\n", " / "))
	os.Exit(3)
}

// line writes one line to the parent, at once.
func (c *Child) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.WriteString(s)
	c.out.WriteByte('\n')
	c.out.Flush()
}

// KillAt returns a crash hook that kills the process with SIGKILL the k-th time it is called
// with point; with point "" it never does. The hook is safe for concurrent use.
func KillAt(point string, k int64) func(p string) {
	var hits atomic.Int64
	return func(p string) {
		if point != "" && p == point && hits.Add(1) == k {
			Kill()
		}
	}
}

// Kill ends the process with SIGKILL at once: no deferred call, cleanup or buffered write
// runs.
func Kill() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
	select {} // the signal is on its way
}

// Options say how Run ends a child.
type Options struct {
	// KillAfter, when positive, kills the child with SIGKILL that long after it started (a
	// random moment, if the caller picks it at random).
	KillAfter time.Duration
	// Timeout bounds the child's life: a child still running then is killed and the test
	// fails. 0 means DefaultTimeout.
	Timeout time.Duration
}

// Result is how a child ended and what it reported.
type Result struct {
	// Flushed holds the numbers of the child's last Flushed report; nil if it made none.
	Flushed []uint64
	// Reports counts the child's Flushed reports.
	Reports int
	// Killed reports whether SIGKILL ended the child (its own crash hook, or the timer of
	// Options.KillAfter); otherwise its body returned.
	Killed bool
}

// Ops returns the first number of the last Flushed report, or 0: the operations done when a
// child reports that count.
func (r Result) Ops() int {
	if len(r.Flushed) == 0 {
		return 0
	}
	return int(r.Flushed[0])
}

// Run runs t's test again as a child process (see the package documentation) with params, waits
// until the child dies and returns what it reported. t fails, and Run does not return, if the
// child fails (Fail, a panic, a failed test), reports a data race, ends other than by SIGKILL
// or its body's return, or outlives the timeout; the message shows params (with %v), what the
// child said and how to run it alone.
func Run(t testing.TB, params any, o Options) Result {
	t.Helper()
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatalf("crash child parameters %v: %v", params, err)
	}
	env, err := json.Marshal(spec{Test: t.Name(), Params: raw})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run="+runPattern(t.Name()), "-test.count=1")
	// Under the race detector a process that exits sleeps a second first (atexit_sleep_ms),
	// which a child whose body returns need not.
	cmd.Env = append(os.Environ(), ChildEnv+"="+string(env),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a crash child: %v", err)
	}
	kill := func() { _ = cmd.Process.Kill() }
	if o.KillAfter > 0 {
		defer time.AfterFunc(o.KillAfter, kill).Stop()
	}
	var timedOut atomic.Bool
	defer time.AfterFunc(o.Timeout, func() { timedOut.Store(true); kill() }).Stop()

	var res Result
	var failure string
	var other []string
	finished := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "F" || strings.HasPrefix(line, "F "):
			res.Flushed, res.Reports = parseFlushed(line[1:]), res.Reports+1
		case strings.HasPrefix(line, "E "):
			failure = line[2:]
		case line == "X":
			finished = true
		default:
			other = append(other, line)
		}
	}
	err = cmd.Wait()
	res.Killed = killedBySIGKILL(err)
	switch {
	case timedOut.Load():
		failure = fmt.Sprintf("still running after %v", o.Timeout)
	case failure != "":
	case bytes.Contains(stderr.Bytes(), []byte("WARNING: DATA RACE")):
		failure = "the race detector found a data race"
	case res.Killed || (finished && err == nil):
		return res
	case err == nil:
		failure = "the test ran to its end instead of the child's body"
	default:
		failure = fmt.Sprintf("ended with %v", err)
	}
	t.Fatalf("crash child (%v) failed: %s\n%s", params, failure, childOutput(t.Name(), other, stderr.String(), string(env)))
	return res
}

// parseFlushed returns the numbers of a Flushed report.
func parseFlushed(s string) []uint64 {
	fields := strings.Fields(s)
	n := make([]uint64, 0, len(fields))
	for _, f := range fields {
		v, _ := strconv.ParseUint(f, 10, 64)
		n = append(n, v)
	}
	return n
}

// killedBySIGKILL reports whether err, from exec.Cmd.Wait, says SIGKILL ended the process.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// childOutput describes what a failed child of the test name printed and how to run it alone.
func childOutput(name string, stdout []string, stderr, env string) string {
	var b strings.Builder
	if len(stdout) > 0 {
		fmt.Fprintf(&b, "its other output:\n\t%s\n", strings.Join(stdout, "\n\t"))
	}
	if s := strings.TrimSpace(stderr); s != "" {
		fmt.Fprintf(&b, "its standard error:\n\t%s\n", strings.ReplaceAll(s, "\n", "\n\t"))
	}
	fmt.Fprintf(&b, "to run the child alone (its directory must exist): %s", goTestCommand(name, ChildEnv+"="+shellQuote(env)))
	return b.String()
}

// runPattern returns the -test.run pattern that selects exactly the test or subtest named
// name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
