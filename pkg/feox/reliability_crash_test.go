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
	"bytes"
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

	"github.com/feoxdb/feox-go/internal/crashtest"
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
	if n := crashtest.Count(crashLongEnv, 0); n > 0 {
		perPoint, random = n, n
	}
	seed := crashtest.Seed(t, crashSeedEnv)
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

// relKeys is the number of keys of the crash and power-loss sequences.
const relKeys = 120

// relOp is one operation of the sequence the crash and power-loss tests replay.
type relOp struct {
	kind  byte // 'p' put, 't' put with a 1-hour TTL, 'd' delete, 'u' UpdateTTL 1 hour, 'P' Persist
	key   string
	value string
}

// relOps returns the seeded operation sequence; maxValue bounds the value length.
func relOps(seed uint64, maxValue int) func() relOp {
	r := rand.New(rand.NewPCG(seed, 0xfe0c))
	i := 0
	return func() relOp {
		defer func() { i++ }()
		op := relOp{key: fmt.Sprintf("rel-%03d", r.IntN(relKeys))}
		switch p := r.IntN(100); {
		case p < 15:
			op.kind = 'd'
		case p < 20:
			op.kind = 'u'
		case p < 24:
			op.kind = 'P'
		case p < 36:
			op.kind = 't'
		default:
			op.kind = 'p'
		}
		if op.kind == 'p' || op.kind == 't' {
			op.value = fmt.Sprintf("v%d-%s", i, strings.Repeat(string(rune('a'+i%26)), r.IntN(maxValue)))
		}
		return op
	}
}

// relTTL is the TTL of the sequence's expiring writes: long enough never to pass in a test.
const relTTL = time.Hour

// applyRelOp applies op to st. Errors the sequence expects (ErrNotFound of a delete or TTL
// change of an absent key) are not errors.
func applyRelOp(st *feox.Store, op relOp) error {
	k := []byte(op.key)
	var err error
	switch op.kind {
	case 'p':
		_, err = st.Insert(k, []byte(op.value))
	case 't':
		_, err = st.InsertWithTTL(k, []byte(op.value), relTTL)
	case 'd':
		err = st.Delete(k)
	case 'u':
		err = st.UpdateTTL(k, relTTL)
	case 'P':
		err = st.Persist(k)
	}
	if errors.Is(err, feox.ErrNotFound) && op.kind != 'p' && op.kind != 't' {
		err = nil
	}
	return err
}

// relState is the state of one key: absent, or a value with or without an expiry.
type relState struct {
	present bool
	value   string
	ttl     bool
}

func (s relState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%.24q (%d bytes, ttl %v)", s.value, len(s.value), s.ttl)
}

// relHistory is what a crash may leave of every key: its state after the operations a Flush
// covered, and every state it took after them.
type relHistory struct {
	at    map[string]relState
	later map[string][]relState
}

// replayRel replays the first total operations of the sequence; the first flushed of them were
// covered by a Flush.
func replayRel(seed uint64, maxValue, flushed, total int) relHistory {
	h := relHistory{at: map[string]relState{}, later: map[string][]relState{}}
	cur := map[string]relState{}
	next := relOps(seed, maxValue)
	for i := range total {
		op := next()
		s := cur[op.key]
		switch op.kind {
		case 'p', 't':
			s = relState{present: true, value: op.value, ttl: op.kind == 't'}
		case 'd':
			s = relState{}
		case 'u':
			s.ttl = s.present
		case 'P':
			s.ttl = false
		}
		cur[op.key] = s
		if i < flushed {
			h.at[op.key] = s
		} else {
			h.later[op.key] = append(h.later[op.key], s)
		}
	}
	return h
}

// verifyRel checks a recovered store against h: every key holds its flushed state or a later
// one (with a matching expiry), and no key outside the sequence exists.
func verifyRel(st *feox.Store, h relHistory) error {
	for i := range relKeys {
		k := fmt.Sprintf("rel-%03d", i)
		v, err := st.Get([]byte(k))
		if err != nil && !errors.Is(err, feox.ErrNotFound) {
			return fmt.Errorf("Get(%s): %v", k, err)
		}
		got := relState{present: err == nil, value: string(v)}
		if got.present {
			ttl, err := st.TTL([]byte(k))
			switch {
			case err != nil:
				return fmt.Errorf("TTL(%s) of a present key: %v", k, err)
			case ttl == feox.NoExpiry:
			case ttl > 0 && ttl <= relTTL:
				got.ttl = true
			default:
				return fmt.Errorf("TTL(%s) = %v, want NoExpiry or in (0, %v]", k, ttl, relTTL)
			}
		}
		ok := got == h.at[k]
		for _, s := range h.later[k] {
			ok = ok || got == s
		}
		if !ok {
			return fmt.Errorf("key %s recovered as %v; flushed state %v, %d later states %v",
				k, got, h.at[k], len(h.later[k]), h.later[k])
		}
	}
	n := 0
	for k := range st.Scan(nil, nil) {
		if !bytes.HasPrefix(k, []byte("rel-")) || len(k) != 7 {
			return fmt.Errorf("recovered a key that was never written: %q", k)
		}
		n++
	}
	if st.Len() != n {
		return fmt.Errorf("Len = %d, Scan yields %d keys", st.Len(), n)
	}
	return nil
}

const (
	crashLongEnv = "FEOX_CRASH_LONG"
	crashSeedEnv = "FEOX_CRASH_SEED"
)
