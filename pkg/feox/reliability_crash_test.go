package feox_test

// The crash matrix: for every crash point of the write protocol (datafile.CrashPoints) and the two
// points of the faultWriter ("mid-batch": half of a batch's bytes written; "written-before-sync":
// all written, not synced), a child process (this test binary, re-executed) writes a seeded
// sequence of overwrites, deletes, TTL writes and TTL changes, calls Flush every
// relCrashFlushEvery operations and prints "F <n>" after each Flush that returned nil, and
// kills itself with SIGKILL the k-th time it reaches the point (k random). Further children
// are killed by a timer at a random moment, or after a random sector write while a random
// share of their batches fail with injected faults (and are retried). The parent reopens the
// file and checks every key: the state the Flush covered or a later one, with the right
// expiry, nothing that was never written; Open must succeed, and a second reopen must find
// the same contents.
//
// Long mode: FEOX_CRASH_LONG=N kills N children per crash point and N at random moments
// (default 5 per point and 10 at random: 55 kills). FEOX_REL_SEED=S replays a run.

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/pkg/feox"
)

const (
	relCrashEnvPath   = "FEOX_REL_CRASH_PATH"
	relCrashEnvSeed   = "FEOX_REL_CRASH_SEED"
	relCrashEnvPoint  = "FEOX_REL_CRASH_POINT"
	relCrashEnvK      = "FEOX_REL_CRASH_K"
	relCrashEnvShards = "FEOX_REL_CRASH_SHARDS"
	relCrashEnvFaults = "FEOX_REL_CRASH_FAULTS"

	relCrashFlushEvery = 100
	relCrashMaxOps     = 4000
	// relCrashMaxValue makes the live data outgrow the 1 MiB initial file, so that the "grow"
	// and "grown" points are reached.
	relCrashMaxValue = 20000
)

// relCrashOptions are the options of the child's store.
func relCrashOptions(path string, shards int) feox.Options {
	return feox.Options{Path: path, FileSize: 1 << 16, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: shards, BatchEntries: 24, FlushInterval: 2 * time.Millisecond}}
}

// TestReliabilityCrashChild is the child's body; it runs only when the parent sets its
// environment.
func TestReliabilityCrashChild(t *testing.T) {
	path := os.Getenv(relCrashEnvPath)
	if path == "" {
		return // not a child
	}
	seed, _ := strconv.ParseUint(os.Getenv(relCrashEnvSeed), 10, 64)
	point := os.Getenv(relCrashEnvPoint)
	k, _ := strconv.ParseInt(os.Getenv(relCrashEnvK), 10, 64)
	shards, _ := strconv.Atoi(os.Getenv(relCrashEnvShards))
	faults, _ := strconv.Atoi(os.Getenv(relCrashEnvFaults))
	fail := func(err error) {
		fmt.Println("E", err)
		os.Exit(3)
	}
	var hits atomic.Int64
	crash := func(p string) {
		if p == point && hits.Add(1) == k {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	var wrap *faultSet
	if point == pointMidBatch || point == pointBeforeSync || point == pointSector {
		wrap = &faultSet{crash: crash}
	}
	if faults > 0 {
		if wrap == nil {
			wrap = &faultSet{}
		}
		wrap.randomPermille.Store(int32(faults))
	}
	var st *feox.Store
	var err error
	if wrap != nil {
		st, err = openHooksIO(relCrashOptions(path, shards), wrap.wrap, crash)
	} else {
		st, err = openHooksIO(relCrashOptions(path, shards), nil, crash)
	}
	if err != nil {
		fail(err)
	}
	next := relOps(seed, relCrashMaxValue)
	out := bufio.NewWriter(os.Stdout)
	for i := range relCrashMaxOps {
		if err := applyRelOp(st, next()); err != nil {
			fail(err)
		}
		if (i+1)%relCrashFlushEvery == 0 {
			// With injected faults a Flush may fail; the pipeline retries, and a later Flush
			// covers the writes once it returns nil.
			err := st.Flush()
			for try := 0; err != nil && faults > 0 && try < 1000; try++ {
				err = st.Flush()
			}
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(out, "F %d\n", i+1)
			out.Flush()
		}
	}
	fmt.Println("X") // the point was not reached k times: exit without Close, like a crash
	os.Exit(0)
}

// relCrashRun is one child run of the matrix.
type relCrashRun struct {
	point  string // "" for a kill at a random moment
	k      int64
	seed   uint64
	shards int
	after  time.Duration // the timer of a random kill
	faults int           // per-mille of batches failed with a random fault
}

func (c relCrashRun) String() string {
	return fmt.Sprintf("point %q k %d seed %d shards %d timer %v faults %d/1000", c.point, c.k, c.seed, c.shards, c.after, c.faults)
}

// TestReliability_CrashMatrix kills children at every crash point and at random moments and
// checks recovery after each kill.
func TestReliability_CrashMatrix(t *testing.T) {
	if os.Getenv(relCrashEnvPath) != "" {
		return
	}
	perPoint, random := 5, 10
	if n := envInt("FEOX_CRASH_LONG", 0); n > 0 {
		perPoint, random = n, n
	}
	seed, _ := envSeed(t, "FEOX_REL_SEED")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: FEOX_REL_SEED=%d go test -race -run '^TestReliability_CrashMatrix$' ./pkg/feox/", seed)
		}
	})
	r := rand.New(rand.NewPCG(seed, 3))
	var runs []relCrashRun
	points := append(datafile.CrashPoints(), pointMidBatch, pointBeforeSync)
	for _, p := range points {
		for range perPoint {
			k := 1 + r.Int64N(20)
			switch p {
			case "grow", "grown":
				k = 1 + r.Int64N(2) // the file grows a few times in a run
			case "moved", "erased":
				k = 1 + r.Int64N(3) // the cleaner runs a few times in a run
			}
			runs = append(runs, relCrashRun{point: p, k: k, seed: r.Uint64(), shards: 1 + r.IntN(3)})
		}
	}
	for i := range random {
		run := relCrashRun{seed: r.Uint64(), shards: 1 + r.IntN(3), after: time.Duration(20+r.IntN(300)) * time.Millisecond}
		if i%2 == 1 {
			// Killed after a random sector write while batches fail at random and are retried.
			run.point, run.k, run.after = pointSector, 1+r.Int64N(3000), 0
			run.faults = 50 + r.IntN(250)
		}
		runs = append(runs, run)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kills, torn := map[string]int{}, int64(0)
	for i, run := range runs {
		path := filepath.Join(dir, fmt.Sprintf("crash-%d.feox", i))
		flushed, killed := runRelCrashChild(t, exe, path, run)
		if killed {
			kills[run.point]++
		}
		h := replayRel(run.seed, relCrashMaxValue, flushed, flushed+2*relCrashFlushEvery)
		torn += verifyRelReopen(t, path, h, fmt.Sprintf("run %d (%v, %d ops flushed, killed %v)", i, run, flushed, killed))
		os.Remove(path)
	}
	total := 0
	for _, n := range kills {
		total += n
	}
	t.Logf("%d children, %d killed (per point: %v), %d torn records skipped at reopen", len(runs), total, kills, torn)
	for _, p := range points {
		if kills[p] == 0 {
			t.Errorf("no child reached crash point %q", p)
		}
	}
}

// runRelCrashChild runs one child to its death and returns the last flushed operation count
// and whether SIGKILL ended it.
func runRelCrashChild(t *testing.T, exe, path string, run relCrashRun) (flushed int, killed bool) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestReliabilityCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), relCrashEnvPath+"="+path, relCrashEnvSeed+"="+strconv.FormatUint(run.seed, 10),
		relCrashEnvPoint+"="+run.point, relCrashEnvK+"="+strconv.FormatInt(run.k, 10),
		relCrashEnvShards+"="+strconv.Itoa(run.shards), relCrashEnvFaults+"="+strconv.Itoa(run.faults))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if run.after > 0 {
		timer := time.AfterFunc(run.after, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "F "):
			flushed, _ = strconv.Atoi(line[2:])
		case strings.HasPrefix(line, "E "):
			t.Errorf("child (%v) failed: %s", run, line)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return flushed, true
		}
	}
	if err != nil {
		t.Fatalf("child (%v) ended with %v; stderr:\n%s", run, err, stderr.String())
	}
	return flushed, false
}

// verifyRelReopen opens the data file at path, checks it against h, closes it, opens it again
// and checks that the contents did not change. It returns the torn records the first Open
// skipped.
func verifyRelReopen(t *testing.T, path string, h relHistory, what string) int64 {
	t.Helper()
	st, err := openIO(feox.Options{Path: path, TTLSweepInterval: -1})
	if err != nil {
		t.Fatalf("%s: Open after the crash failed: %v", what, err)
	}
	torn := st.Stats().CorruptRecords
	if err := verifyRel(st, h); err != nil {
		st.Close()
		t.Fatalf("%s: %v", what, err)
	}
	first := storeContents(st)
	if err := st.Close(); err != nil {
		t.Fatalf("%s: Close after recovery: %v", what, err)
	}
	st, err = openIO(feox.Options{Path: path, TTLSweepInterval: -1})
	if err != nil {
		t.Fatalf("%s: second Open after the crash failed: %v", what, err)
	}
	defer st.Close()
	if d := diffContents(storeContents(st), first); d != "" {
		t.Fatalf("%s: the second Open after recovery differs from the first: %s", what, d)
	}
	if c := st.Stats().CorruptRecords; c != 0 {
		t.Fatalf("%s: the second Open found %d torn records; the first should have erased them", what, c)
	}
	return torn
}
