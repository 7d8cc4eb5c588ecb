package datafile

// The data file's crash test, on the harness of internal/crashtest and the testStore of
// store_test.go. A child process (this test binary, run again) opens a testStore with 2 to 4
// shards over a 1 MiB file, writes a seeded sequence of puts and deletes, flushes every
// crashFlushEvery operations and reports it, and forces a cleaning round (sealHead, then
// cleanAll) every crashCleanEvery operations beside the background cleaner. Values of up to
// 6 KB fill the segments with garbage, so that the cleaner moves records and erases segments,
// and a few values longer than a segment make the file grow again and again. The child kills itself with SIGKILL the k-th time it reaches a crash
// point (each of CrashPoints, k random), or a timer kills it at a random moment. The parent
// opens the file it left, which must succeed, and checks every key, read back from the file:
// it holds the state the last reported flush covered or one written after it, and no key that
// was never written exists; a second open must find the same contents.
//
// Environment:
//
//	FEOX_CRASH_LONG=N  runs N times as many children (default 2 per crash point and 4 at
//	                   random moments)
//	FEOX_CRASH_SEED=S  replays the run of seed S (a failing test logs the whole command)
//	FEOX_CRASH_CHILD   set by the harness in a child process

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
)

const (
	crashKeys       = 200  // keys of the sequence
	crashMaxValue   = 6000 // bytes of a value, at most, but for the large ones
	crashLargeValue = 1 << 20
	crashFlushEvery = 50   // operations between two flushes
	crashCleanEvery = 300  // operations between two forced cleaning rounds
	crashMaxOps     = 4000 // operations after which a child stops as a crash would
)

// crashOp is one operation of the crash test's sequence: a put, or a delete.
type crashOp struct {
	key   string
	value string
	del   bool
}

// crashOps returns the seeded operation sequence.
func crashOps(seed uint64) func() crashOp {
	r := rand.New(rand.NewPCG(seed, 0xdf))
	i := 0
	return func() crashOp {
		defer func() { i++ }()
		op := crashOp{key: fmt.Sprintf("key-%03d", r.IntN(crashKeys))}
		switch p := r.IntN(1000); {
		case p < 200:
			op.del = true
		case p < 205:
			// A value longer than a segment: its record needs a run of free segments, which a
			// fragmented file may not have, so that the file grows again.
			op.value = fmt.Sprintf("v%d-%s", i, strings.Repeat("L", crashLargeValue+r.IntN(crashLargeValue)))
		default:
			op.value = fmt.Sprintf("v%d-%s", i, strings.Repeat(string(rune('a'+i%26)), r.IntN(crashMaxValue)))
		}
		return op
	}
}

// crashState is the state of one key: absent, or a value.
type crashState struct {
	present bool
	value   string
}

func (s crashState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%.24q (%d bytes)", s.value, len(s.value))
}

// crashHistory replays the first total operations of the sequence, the first flushed of which
// a flush covered, and returns what a crash may leave of each key.
func crashHistory(seed uint64, flushed, total int) *crashtest.History[crashState] {
	h := crashtest.NewHistory[crashState]()
	next := crashOps(seed)
	for i := range total {
		op := next()
		h.Set(op.key, crashState{present: !op.del, value: op.value}, i < flushed)
	}
	return h
}

// crashChild is a child process of the crash test: its file and where it dies.
type crashChild struct {
	Path   string
	Shards int
	Seed   uint64 // of the operation sequence
	Point  string // the crash point where the child kills itself; "" for none
	K      int64  // the child kills itself the K-th time it reaches Point

	After time.Duration `json:"-"` // the timer that kills the child; 0 for none
}

func (c crashChild) String() string {
	return fmt.Sprintf("point %q k %d seed %d shards %d timer %v", c.Point, c.K, c.Seed, c.Shards, c.After)
}

// options are the options of the child's store, and of the parent's when it checks the file.
func (c crashChild) options() storeOptions {
	return storeOptions{path: c.Path, shards: c.Shards, batchEntries: 32}
}

// run is the child's body: it writes until it is killed or has done crashMaxOps operations,
// and reports the operations each flush covered.
func (c crashChild) run(ch *crashtest.Child, t *testing.T) {
	opts := c.options()
	if c.Point != "" {
		opts.crash = crashtest.KillAt(c.Point, c.K)
	}
	s, err := tryOpenTestStore(t, opts)
	if err != nil {
		ch.Fail(err)
	}
	next := crashOps(c.Seed)
	for i := 1; i <= crashMaxOps; i++ {
		op := next()
		if err := s.write(op.key, []byte(op.value), op.del); err != nil && !errors.Is(err, errNotFound) {
			ch.Fail(err)
		}
		if i%crashCleanEvery == 0 {
			s.f.sealHead()
			if _, err := s.f.cleanAll(); err != nil {
				ch.Fail(fmt.Errorf("cleaning: %w", err))
			}
		}
		if i%crashFlushEvery == 0 {
			if err := s.pipe.Flush(); err != nil {
				ch.Fail(err)
			}
			ch.Flushed(uint64(i))
		}
	}
}

// TestFile_Open_AfterSIGKILL ensures that Open after a SIGKILL at every crash point and at
// random moments recovers each key's flushed state or a later one, and nothing else.
func TestFile_Open_AfterSIGKILL(t *testing.T) {
	crashtest.AsChild(t, func(c crashChild, ch *crashtest.Child) { c.run(ch, t) })
	long := crashtest.Count("FEOX_CRASH_LONG", 1)
	r := rand.New(rand.NewPCG(crashtest.Seed(t, "FEOX_CRASH_SEED"), 5))
	dir := t.TempDir()
	child := func(i int) crashChild {
		return crashChild{Path: filepath.Join(dir, fmt.Sprintf("crash-%d.feox", i)), Shards: 2 + r.IntN(3), Seed: r.Uint64()}
	}
	var children []crashChild
	for _, p := range CrashPoints() {
		for range 2 * long {
			c := child(len(children))
			c.Point, c.K = p, 1+r.Int64N(20)
			switch p {
			case "grow", "grown":
				c.K = 1 + r.Int64N(2) // the file grows a few times in a run
			case "moved", "erased":
				c.K = 1 + r.Int64N(3) // a run has several cleaning rounds
			}
			children = append(children, c)
		}
	}
	for range 4 * long {
		c := child(len(children))
		c.After = time.Duration(20+r.IntN(300)) * time.Millisecond
		children = append(children, c)
	}
	kills := map[string]int{}
	for i, c := range children {
		res := crashtest.Run(t, c, crashtest.Options{KillAfter: c.After})
		if res.Killed {
			kills[c.Point]++
		}
		flushed := res.Ops()
		h := crashHistory(c.Seed, flushed, min(flushed+2*crashFlushEvery, crashMaxOps))
		checkCrashed(t, c.options(), h, fmt.Sprintf("child %d (%v, %d ops flushed, killed %v)", i, c, flushed, res.Killed))
	}
	t.Logf("%d children, killed per point: %v", len(children), kills)
	for _, p := range CrashPoints() {
		if kills[p] == 0 {
			t.Errorf("no child reached crash point %q", p)
		}
	}
}

// checkCrashed opens the file a child left, which must succeed, checks every key against h,
// and opens the file again, which must find the same contents.
func checkCrashed(t *testing.T, opts storeOptions, h *crashtest.History[crashState], what string) {
	t.Helper()
	var first map[string]string
	for open := range 2 {
		s, err := tryOpenTestStore(t, opts)
		if err != nil {
			t.Fatalf("%s: open %d after the crash: %v", what, open+1, err)
		}
		got := map[string]string{}
		for i := range crashKeys {
			k := fmt.Sprintf("key-%03d", i)
			v, err := s.get(k)
			if err != nil && !errors.Is(err, errNotFound) {
				t.Fatalf("%s: open %d: get %s: %v", what, open+1, k, err)
			}
			if err := h.Check(k, crashState{present: err == nil, value: string(v)}); err != nil {
				t.Fatalf("%s: open %d: %v", what, open+1, err)
			}
			if err == nil {
				got[k] = string(v)
			}
		}
		if n := s.len(); n != len(got) {
			t.Fatalf("%s: open %d: %d keys present, %d of them of the sequence", what, open+1, n, len(got))
		}
		if first == nil {
			first = got
		} else if !maps.Equal(got, first) {
			t.Fatalf("%s: the second open found other contents than the first", what)
		}
		if err := s.close(); err != nil {
			t.Fatalf("%s: close after open %d: %v", what, open+1, err)
		}
	}
}
