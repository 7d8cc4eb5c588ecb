package feox_test

// Crash tests, on the harness of internal/crashtest. A child process (this test binary, run
// again) writes a seeded sequence of puts, deletes, 1-hour TTL puts, UpdateTTL and Persist to a
// persistent store, calls Flush every few operations and reports what each Flush that returned
// nil covered, and dies by SIGKILL. The parent opens the file the child left and checks every
// key: the state the last reported Flush covered or one written after it, with the right
// expiry, and no key that was never written; Open must succeed, and a second Open must find
// the same contents and no torn frame.
//
//   - TestCrash_SIGKILL kills 50 children at random moments (a timer), with batches of up to
//     256 entries, so that the kills land in io_uring and pwrite batches.
//   - TestReliability_CrashMatrix kills 5 children at every crash point of the write protocol
//     (datafile.CrashPoints) and at the fault wrapper's "mid-batch" (half of a batch's bytes
//     written) and "written-before-sync" (all written, not synced) points, the k-th time they
//     reach it (k random); 5 more by a timer, and 5 after a random sector write while a random
//     share of their batches fail with injected faults and are retried: 55 children. Values up
//     to 20 KB make the 64 KiB file grow and its segments fill with garbage, so that "grow",
//     "grown", "moved" and "erased" are reached; the test fails if a point never is.
//   - TestReliability_Bank_Crash (bank_test.go) checks the bank's invariant on the same harness.
//
// The power-loss test (power_test.go) replays the same sequence and checks its images with the
// same functions.
//
// Environment:
//
//	FEOX_CRASH_LONG=N  runs N times as many children in each crash test (TestCrash_SIGKILL 50N,
//	                   the matrix 5N per point and 10N others, the bank 2N files of 4 kills)
//	FEOX_CRASH_SEED=S  replays the run of seed S (a failing test logs the whole command)
//	FEOX_CRASH_CHILD   set by the harness in a child process: its test and parameters

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// The environment variables of the crash tests; see above.
const (
	crashLongEnv = "FEOX_CRASH_LONG"
	crashSeedEnv = "FEOX_CRASH_SEED"
)

// crashKeys is the number of keys of the crash and power-loss sequences.
const crashKeys = 120

// crashKey returns key i of the sequences: "key-" and three digits.
func crashKey(i int) string { return fmt.Sprintf("key-%03d", i) }

// crashOp is one operation of the sequence the crash and power-loss tests replay.
type crashOp struct {
	kind  byte // 'p' put, 't' put with a 1-hour TTL, 'd' delete, 'u' UpdateTTL 1 hour, 'P' Persist
	key   string
	value string
}

// crashOps returns the seeded operation sequence; maxValue bounds the value length.
func crashOps(seed uint64, maxValue int) func() crashOp {
	r := rand.New(rand.NewPCG(seed, 0xfe0c))
	i := 0
	return func() crashOp {
		defer func() { i++ }()
		op := crashOp{key: crashKey(r.IntN(crashKeys))}
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

// crashTTL is the TTL of the sequence's expiring writes: long enough never to pass in a test.
const crashTTL = time.Hour

// apply applies op to st. Errors the sequence expects (ErrNotFound of a delete or TTL change
// of an absent key) are not errors.
func (op crashOp) apply(st *feox.Store) error {
	k := []byte(op.key)
	var err error
	switch op.kind {
	case 'p':
		_, err = st.Insert(k, []byte(op.value))
	case 't':
		_, err = st.InsertWithTTL(k, []byte(op.value), crashTTL)
	case 'd':
		err = st.Delete(k)
	case 'u':
		err = st.UpdateTTL(k, crashTTL)
	case 'P':
		err = st.Persist(k)
	}
	if errors.Is(err, feox.ErrNotFound) && op.kind != 'p' && op.kind != 't' {
		err = nil
	}
	return err
}

// crashState is the state of one key: absent, or a value with or without an expiry.
type crashState struct {
	present bool
	value   string
	ttl     bool
}

func (s crashState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%.24q (%d bytes, ttl %v)", s.value, len(s.value), s.ttl)
}

// crashHistory replays the first total operations of the sequence, the first flushed of which
// a Flush covered, and returns what a crash may leave of each key.
func crashHistory(seed uint64, maxValue, flushed, total int) *crashtest.History[crashState] {
	h := crashtest.NewHistory[crashState]()
	cur := map[string]crashState{}
	next := crashOps(seed, maxValue)
	for i := range total {
		op := next()
		s := cur[op.key]
		switch op.kind {
		case 'p', 't':
			s = crashState{present: true, value: op.value, ttl: op.kind == 't'}
		case 'd':
			s = crashState{}
		case 'u':
			s.ttl = s.present
		case 'P':
			s.ttl = false
		}
		cur[op.key] = s
		h.Set(op.key, s, i < flushed)
	}
	return h
}

// checkCrashed checks a recovered store against h: every key holds its flushed state or a
// later one (with a matching expiry), and no key outside the sequence exists.
func checkCrashed(st *feox.Store, h *crashtest.History[crashState]) error {
	for i := range crashKeys {
		k := crashKey(i)
		v, err := st.Get([]byte(k))
		if err != nil && !errors.Is(err, feox.ErrNotFound) {
			return fmt.Errorf("Get(%s): %v", k, err)
		}
		got := crashState{present: err == nil, value: string(v)}
		if got.present {
			ttl, err := st.TTL([]byte(k))
			switch {
			case err != nil:
				return fmt.Errorf("TTL(%s) of a present key: %v", k, err)
			case ttl == feox.NoExpiry:
			case ttl > 0 && ttl <= crashTTL:
				got.ttl = true
			default:
				return fmt.Errorf("TTL(%s) = %v, want NoExpiry or in (0, %v]", k, ttl, crashTTL)
			}
		}
		if err := h.Check(k, got); err != nil {
			return err
		}
	}
	n := 0
	for k := range st.Scan(nil, nil) {
		if !bytes.HasPrefix(k, []byte("key-")) || len(k) != 7 {
			return fmt.Errorf("recovered a key that was never written: %q", k)
		}
		n++
	}
	if st.Len() != n {
		return fmt.Errorf("Len = %d, Scan yields %d keys", st.Len(), n)
	}
	return nil
}

// checkReopens opens the data file at path, checks it against h, closes it, opens it again and
// checks that the contents did not change and that no torn frame is left. It returns the torn
// frames the first Open skipped.
func checkReopens(t *testing.T, path string, h *crashtest.History[crashState], what string) int64 {
	t.Helper()
	st, err := openIO(feox.Options{Path: path, TTLSweepInterval: -1})
	if err != nil {
		t.Fatalf("%s: Open after the crash failed: %v", what, err)
	}
	torn := st.Stats().CorruptRecords
	if err := checkCrashed(st, h); err != nil {
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
		t.Fatalf("%s: the second Open found %d torn frames; the first should have erased them", what, c)
	}
	return torn
}

// crashChild is a child process of the crash tests: its store, what it writes, and where it
// dies. The parent encodes it for the child (crashtest.Run).
type crashChild struct {
	Opts       feox.Options // of the child's store, Path included
	Seed       uint64       // of the operation sequence
	MaxValue   int          // bounds the values' length
	FlushEvery int          // operations between two Flushes
	MaxOps     int          // operations after which the child stops as a crash would; 0: none
	Point      string       // the crash point where the child kills itself; "" for none
	K          int64        // the child kills itself the K-th time it reaches Point
	Faults     int          // per mille of batches failed with a random fault (and retried)

	After time.Duration `json:"-"` // the timer that kills the child; 0 for none
}

func (c crashChild) String() string {
	return fmt.Sprintf("point %q k %d seed %d shards %d timer %v faults %d/1000",
		c.Point, c.K, c.Seed, c.Opts.Pipeline.Shards, c.After, c.Faults)
}

// run is the child's body: it writes until it is killed or has done MaxOps operations, and
// reports the operations each Flush covered.
func (c crashChild) run(ch *crashtest.Child) {
	var crash func(string)
	if c.Point != "" {
		crash = crashtest.KillAt(c.Point, c.K)
	}
	var wrap func(int, disk.Writer, *disk.File) (disk.Writer, error)
	if c.Point == pointMidBatch || c.Point == pointBeforeSync || c.Point == pointSector || c.Faults > 0 {
		fs := &faultSet{}
		if c.Point != "" {
			fs.crash = crash
		}
		fs.randomPermille.Store(int32(c.Faults))
		wrap = fs.wrap
	}
	st, err := openHooksIO(c.Opts, wrap, crash)
	if err != nil {
		ch.Fail(err)
	}
	next := crashOps(c.Seed, c.MaxValue)
	for i := 1; c.MaxOps == 0 || i <= c.MaxOps; i++ {
		if err := next().apply(st); err != nil {
			ch.Fail(err)
		}
		if i%c.FlushEvery != 0 {
			continue
		}
		// With injected faults a Flush may fail; the pipeline retries, and a later Flush
		// covers the writes once it returns nil.
		err := st.Flush()
		for try := 0; err != nil && c.Faults > 0 && try < 1000; try++ {
			err = st.Flush()
		}
		if err != nil {
			ch.Fail(err)
		}
		ch.Flushed(uint64(i))
	}
}

// runCrashChild runs child i (crashtest.Run) and checks the file it left; it returns whether
// SIGKILL ended the child and the torn frames the first Open skipped.
func runCrashChild(t *testing.T, i int, c crashChild) (killed bool, torn int64) {
	t.Helper()
	res := crashtest.Run(t, c, crashtest.Options{KillAfter: c.After})
	flushed := res.Ops()
	// The child reports a Flush after it returned, and writes on only after the report.
	written := flushed + 2*c.FlushEvery
	if c.MaxOps > 0 {
		written = min(written, c.MaxOps)
	}
	h := crashHistory(c.Seed, c.MaxValue, flushed, written)
	torn = checkReopens(t, c.Opts.Path, h, fmt.Sprintf("child %d (%v, %d ops flushed, killed %v)", i, c, flushed, res.Killed))
	os.Remove(c.Opts.Path)
	return res.Killed, torn
}

// TestCrash_SIGKILL kills children at random moments and checks the recovery after each kill.
func TestCrash_SIGKILL(t *testing.T) {
	crashtest.AsChild(t, crashChild.run)
	r := rand.New(rand.NewPCG(crashtest.Seed(t, crashSeedEnv), 7))
	dir := t.TempDir()
	for i := range 50 * crashtest.Count(crashLongEnv, 1) {
		// Batches of up to 256 entries: with IOAuto a shard then has an io_uring, and the
		// batches a Flush or the 5 ms timer closes under 32 KiB go through pwrite beside it,
		// so the kills land in both paths.
		runCrashChild(t, i, crashChild{
			Opts: feox.Options{Path: filepath.Join(dir, fmt.Sprintf("crash-%d.feox", i)), FileSize: 1 << 20,
				Pipeline: feox.PipelineOptions{FlushInterval: 5 * time.Millisecond, BatchEntries: 256}},
			Seed: r.Uint64(), MaxValue: 3000, FlushEvery: 150,
			After: time.Duration(20+r.IntN(180)) * time.Millisecond,
		})
	}
}

// TestReliability_CrashMatrix kills children at every crash point and at random moments and
// checks the recovery after each kill.
func TestReliability_CrashMatrix(t *testing.T) {
	crashtest.AsChild(t, crashChild.run)
	long := crashtest.Count(crashLongEnv, 1)
	r := rand.New(rand.NewPCG(crashtest.Seed(t, crashSeedEnv), 3))
	dir := t.TempDir()
	child := func() crashChild {
		// Values up to 20 KB make the live data outgrow the 64 KiB initial file, so that the
		// "grow" and "grown" points are reached.
		return crashChild{
			Opts: feox.Options{FileSize: 1 << 16, TTLSweepInterval: -1,
				Pipeline: feox.PipelineOptions{Shards: 1 + r.IntN(3), BatchEntries: 24, FlushInterval: 2 * time.Millisecond}},
			Seed: r.Uint64(), MaxValue: 20000, FlushEvery: 100, MaxOps: 4000,
		}
	}
	var children []crashChild
	points := append(datafile.CrashPoints(), pointMidBatch, pointBeforeSync)
	for _, p := range points {
		for range 5 * long {
			c := child()
			c.Point, c.K = p, 1+r.Int64N(20)
			switch p {
			case "grow", "grown":
				c.K = 1 // the file grows once or twice in a run, some runs not at all
			case "moved", "erased":
				c.K = 1 + r.Int64N(3) // the cleaner runs a few times in a run
			}
			children = append(children, c)
		}
	}
	for i := range 10 * long {
		c := child()
		if i%2 == 0 {
			c.After = time.Duration(20+r.IntN(300)) * time.Millisecond
		} else {
			// Killed after a random sector write while batches fail at random and are retried.
			c.Point, c.K, c.Faults = pointSector, 1+r.Int64N(3000), 50+r.IntN(250)
		}
		children = append(children, c)
	}
	kills, torn := map[string]int{}, int64(0)
	for i, c := range children {
		c.Opts.Path = filepath.Join(dir, fmt.Sprintf("crash-%d.feox", i))
		killed, n := runCrashChild(t, i, c)
		if killed {
			kills[c.Point]++
		}
		torn += n
	}
	total := 0
	for _, n := range kills {
		total += n
	}
	t.Logf("%d children, %d killed (per point: %v), %d torn frames skipped at reopen", len(children), total, kills, torn)
	for _, p := range points {
		if kills[p] == 0 {
			t.Errorf("no child reached crash point %q", p)
		}
	}
}
