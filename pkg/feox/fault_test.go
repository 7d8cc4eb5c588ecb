package feox_test

// Fault injection at the I/O backend: every shard's disk.Writer is wrapped (OpenWithHooks) by
// a faultWriter that fails batches with ENOSPC or EIO, writes only a prefix of a batch, fails
// the data sync after the writes, slows every batch down, or holds or pauses one batch so that
// a test can order batches exactly. The tests check that the failure comes back from Flush and
// Stats, that reads and the in-memory state are unaffected, that the pipeline retries on its
// own and a later Flush succeeds, that a reopened store (and a copy of the file taken after a
// successful Flush, which is what a crash leaves) holds exactly what was written, and that
// deletes covered by a Flush survive retries of older failed writes. A child process under
// RLIMIT_FSIZE (internal/crashtest runs it) checks ErrStoreFull against a real refusal to grow
// the file.
//
// Long mode: FEOX_FAULT_ROUNDS=N runs N rounds of TestReliability_Fault_Random (default 3);
// FEOX_FAULT_SEED=S replays the rounds from seed S (a failure logs the command).

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// faultModel is what the store must hold: key -> value.
type faultModel map[string]string

// faultWrites applies n writes to st and m: overwrites of existing keys, new keys and deletes.
func faultWrites(t *testing.T, st *feox.Store, m faultModel, r *rand.Rand, round, n int) {
	t.Helper()
	faultWritesLog(t, st, m, r, round, n, nil)
}

// deletedMark is the history entry of a delete.
const deletedMark = "\x00deleted"

// faultWritesLog is faultWrites that also records every state each key took in hist (deletes
// as deletedMark), unless hist is nil.
func faultWritesLog(t *testing.T, st *feox.Store, m faultModel, r *rand.Rand, round, n int, hist map[string][]string) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("fk-%03d", r.IntN(150))
		if r.IntN(5) == 0 {
			err := st.Delete([]byte(k))
			if _, present := m[k]; present != (err == nil) || (err != nil && !errors.Is(err, feox.ErrNotFound)) {
				t.Fatalf("Delete(%s) = %v with the key present: %v", k, err, present)
			}
			delete(m, k)
			if hist != nil {
				hist[k] = append(hist[k], deletedMark)
			}
			continue
		}
		v := fmt.Sprintf("r%d-%d-%s", round, i, strings.Repeat("f", r.IntN(2000)))
		if _, err := st.Insert([]byte(k), []byte(v)); err != nil {
			t.Fatalf("Insert(%s) during a fault: %v", k, err)
		}
		m[k] = v
		if hist != nil {
			hist[k] = append(hist[k], v)
		}
	}
}

// checkModel fails the test unless every read of st agrees with m.
func checkModel(t *testing.T, st *feox.Store, m faultModel, when string) {
	t.Helper()
	if d := diffContents(storeContents(st), m); d != "" {
		t.Fatalf("%s: Scan: %s", when, d)
	}
	for k, v := range m {
		got, err := st.Get([]byte(k))
		if err != nil || string(got) != v {
			t.Fatalf("%s: Get(%s) = %.20q, %v; want %.20q", when, k, got, err, v)
		}
	}
	if st.Len() != len(m) {
		t.Fatalf("%s: Len = %d, want %d", when, st.Len(), len(m))
	}
}

// TestReliability_Fault_SurfacesAndHeals injects each fault into every batch for a while:
// Flush must return it (errors.Is with the injected error) and Stats must count it, reads must
// keep returning the last written values, the pipeline must retry on its own once the fault
// clears, a later Flush must succeed, and a reopened store must hold exactly what was written
// with no corrupt record.
func TestReliability_Fault_SurfacesAndHeals(t *testing.T) {
	tests := []struct {
		kind faultKind
		want error // nil: Flush succeeds
	}{
		{faultNoSpace, syscall.ENOSPC},
		{faultEIO, syscall.EIO},
		{faultShort, io.ErrShortWrite},
		{faultSync, syscall.EIO},
		{faultSlow, nil},
	}
	for _, tc := range tests {
		for _, noCache := range []bool{false, true} {
			t.Run(fmt.Sprintf("fault=%v/nocache=%v", tc.kind, noCache), func(t *testing.T) {
				faultScenario(t, tc.kind, tc.want, noCache)
			})
		}
	}
}

func faultScenario(t *testing.T, kind faultKind, want error, noCache bool) {
	path := filepath.Join(t.TempDir(), "fault.feox")
	opts := feox.Options{Path: path, FileSize: 1 << 20, DisableCache: noCache, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 2, BatchEntries: 32, FlushInterval: 2 * time.Millisecond}}
	fs := &faultSet{}
	fs.slow.Store(int64(3 * time.Millisecond))
	st, err := openHooksIO(opts, fs.wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(uint64(kind), 1))
	m := faultModel{}

	// Healthy: the first round is durable.
	faultWrites(t, st, m, r, 0, 300)
	if err := st.Flush(); err != nil {
		t.Fatalf("Flush before the fault: %v", err)
	}

	// Faulty: every batch fails (or is slow).
	fs.set(kind)
	before := st.Stats().WriteErrors
	faultWrites(t, st, m, r, 1, 200)
	err = st.Flush()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Flush with a %v = %v, want nil", kind, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Flush with a %v = %v, want an error matching %v", kind, err, want)
	}
	errs := st.Stats().WriteErrors - before
	if (want != nil) != (errs > 0) {
		t.Fatalf("Stats().WriteErrors grew by %d during a %v (injected %d)", errs, kind, fs.injected.Load())
	}
	checkModel(t, st, m, "during the fault")
	faultWrites(t, st, m, r, 2, 100) // writes keep being accepted
	checkModel(t, st, m, "during the fault, after more writes")
	if want != nil {
		if err := st.Flush(); !errors.Is(err, want) {
			t.Fatalf("second Flush during a %v = %v, want an error matching %v", kind, err, want)
		}
	}

	// Healed: the pipeline retries on its own, without a Flush.
	fs.set(faultNone)
	eventually(t, waitBound, "every write durable after the fault clears", func() bool {
		for k := range m {
			if !st.Durable([]byte(k)) {
				return false
			}
		}
		return true
	})
	if err := st.Flush(); err != nil {
		t.Fatalf("Flush after the fault cleared: %v", err)
	}
	checkModel(t, st, m, "after healing")
	s := st.Stats()
	if s.WriteErrors < errs {
		t.Fatalf("WriteErrors went down: %d < %d", s.WriteErrors, errs)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close after healing: %v", err)
	}

	st2, err := openIO(feox.Options{Path: path, DisableCache: noCache})
	if err != nil {
		t.Fatalf("reopen after a %v: %v", kind, err)
	}
	defer st2.Close()
	checkModel(t, st2, m, "after reopen")
	if c := st2.Stats().CorruptRecords; c != 0 {
		t.Fatalf("reopen after a healed %v found %d corrupt records", kind, c)
	}
}

// TestReliability_Fault_WriteNoSpaceIsStoreFull checks that a batch write the filesystem
// refuses for want of space (ENOSPC in a sparse region of the file: both backends return an
// error wrapping disk.ErrFull then) comes back from Flush as ErrStoreFull, the store's
// sentinel for "the filesystem refused to grow the data file".
func TestReliability_Fault_WriteNoSpaceIsStoreFull(t *testing.T) {
	fs := &faultSet{}
	st, err := openHooksIO(feox.Options{Path: filepath.Join(t.TempDir(), "full.feox"),
		Pipeline: feox.PipelineOptions{Shards: 1}}, fs.wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs.set(faultNoSpace)
	mustInsert(t, st, "k", "v")
	err = st.Flush()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Flush = %v, want the injected ENOSPC", err)
	}
	if !errors.Is(err, feox.ErrStoreFull) {
		t.Errorf("Flush after a write refused with ENOSPC = %q: matches disk.ErrFull %v, but not feox.ErrStoreFull",
			err, errors.Is(err, disk.ErrFull))
	}
	fs.set(faultNone)
	if err := st.Flush(); err != nil {
		t.Fatalf("Flush after the space came back: %v", err)
	}
	wantValue(t, st, "k", "v")
}

// TestReliability_Fault_CloseDuringFault checks that Close returns the injected error when the
// disk fails at that moment, and that a reopen finds every write a successful Flush covered.
func TestReliability_Fault_CloseDuringFault(t *testing.T) {
	for _, tc := range []struct {
		kind faultKind
		want error
	}{{faultEIO, syscall.EIO}, {faultShort, io.ErrShortWrite}, {faultSync, syscall.EIO}} {
		kind := tc.kind
		t.Run("fault="+kind.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "close.feox")
			fs := &faultSet{}
			st, err := openHooksIO(feox.Options{Path: path, FileSize: 1 << 20,
				Pipeline: feox.PipelineOptions{Shards: 2, BatchEntries: 16}}, fs.wrap, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(7, uint64(kind)))
			m := faultModel{}
			faultWrites(t, st, m, r, 0, 200)
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			covered := faultModel{}
			for k, v := range m {
				covered[k] = v
			}
			fs.set(kind)
			// Overwrite, delete and create keys that Close then fails to write.
			hist := map[string][]string{}
			faultWritesLog(t, st, m, r, 1, 100, hist)
			if err := st.Close(); !errors.Is(err, tc.want) {
				t.Fatalf("Close during a %v = %v, want an error matching %v", kind, err, tc.want)
			}
			if err := st.Close(); err != nil {
				t.Fatalf("second Close = %v, want nil", err)
			}
			st2, err := openIO(feox.Options{Path: path})
			if err != nil {
				t.Fatalf("reopen after a failed Close: %v", err)
			}
			defer st2.Close()
			// Every key holds its covered state or one it took during the fault (a failed
			// batch may have reached the disk in part).
			got := storeContents(st2)
			allowed := func(k, state string) bool {
				want, ok := covered[k]
				if !ok {
					want = deletedMark
				}
				return state == want || slices.Contains(hist[k], state)
			}
			for k, v := range got {
				if !allowed(k, v) {
					t.Fatalf("key %s = %.20q after reopen: neither its flushed state %.20q nor one of its %d later states",
						k, v, covered[k], len(hist[k]))
				}
			}
			for k := range covered {
				if _, ok := got[k]; !ok && !allowed(k, deletedMark) {
					t.Fatalf("key %s lost: flushed, and never deleted after", k)
				}
			}
		})
	}
}

// TestReliability_Fault_Random runs writers while batches fail at random with random faults,
// checks that every Flush either succeeds or returns one of the injected errors, and that a
// Flush after the faults stop, a Close and a reopen leave exactly the written contents.
func TestReliability_Fault_Random(t *testing.T) {
	rounds := crashtest.Count("FEOX_FAULT_ROUNDS", 3)
	first := crashtest.Seed(t, "FEOX_FAULT_SEED")
	for round := range rounds {
		seed := first + uint64(round)
		t.Run(fmt.Sprintf("round=%d", round), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 2))
			path := filepath.Join(t.TempDir(), "random.feox")
			fs := &faultSet{}
			fs.slow.Store(int64(time.Millisecond))
			opts := feox.Options{Path: path, FileSize: 1 << 20, MaxMemory: 1 << 20,
				Pipeline: feox.PipelineOptions{Shards: 1 + r.IntN(3), BatchEntries: 8 + r.IntN(64),
					FlushInterval: time.Millisecond, DisableCoalesce: r.IntN(2) == 0}}
			st, err := openHooksIO(opts, fs.wrap, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			m := faultModel{}
			failed := 0
			for step := range 30 {
				// A fault in one step of three: long outages make the pipeline back off for up
				// to a second per batch, which only slows the test down.
				kind := faultNone
				if r.IntN(3) == 0 {
					kind = faultKind(1 + r.IntN(int(faultSlow)))
				}
				fs.set(kind)
				faultWrites(t, st, m, r, step, 1+r.IntN(60))
				err := st.Flush()
				switch {
				case err == nil:
					// A crash now must recover exactly the model: the Flush covered every
					// write, and a copy of the file is what a crash leaves (batches still
					// retrying superseded versions may be caught half written).
					if r.IntN(2) == 0 {
						checkSnapshot(t, path, m, fmt.Sprintf("step %d", step))
					}
				case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EIO), errors.Is(err, io.ErrShortWrite):
					failed++
				default:
					t.Fatalf("step %d: Flush = %v, not an injected error", step, err)
				}
				if r.IntN(4) == 0 {
					checkModel(t, st, m, fmt.Sprintf("step %d", step))
				}
			}
			fs.set(faultNone)
			if err := st.Flush(); err != nil {
				t.Fatalf("Flush after the faults stopped: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st2, err := openIO(feox.Options{Path: path})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer st2.Close()
			checkModel(t, st2, m, "after reopen")
			if c := st2.Stats().CorruptRecords; c != 0 {
				t.Fatalf("reopen found %d corrupt records", c)
			}
			t.Logf("%d of 30 flushes failed, %d batches injected with faults", failed, fs.injected.Load())
		})
	}
}

// fsizeChild is the child process of the tests that need the filesystem to refuse to grow the
// data file: it runs fsizeScenario in Mode on the file at Path under a file size limit
// (RLIMIT_FSIZE; Go ignores SIGXFSZ, so the system calls fail with EFBIG).
type fsizeChild struct {
	Path, Mode string
}

func (f fsizeChild) String() string { return "mode " + f.Mode }

// run is the child's body.
func (f fsizeChild) run(c *crashtest.Child) {
	if err := fsizeScenario(f.Path, f.Mode); err != nil {
		c.Fail(err)
	}
}

// fsizeScenario fills a 1 MiB store past its size while the file may not grow beyond 1.125
// MiB: Flush must fail with ErrStoreFull, WriteErrors must count it, and reads keep working.
// Then, by mode, room is made: "grow" lifts the limit, "delete" deletes the keys whose values
// did not reach the disk (so nothing more needs room). A Flush must then succeed within
// waitBound, and a reopen must find exactly the contents.
func fsizeScenario(path, mode string) error {
	const limit = 1<<20 + 128<<10 // below the first growth step (a quarter of the file)
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		return fmt.Errorf("getrlimit: %v", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: orig.Max}); err != nil {
		return fmt.Errorf("setrlimit: %v", err)
	}
	// Batches close at 80 entries (records of about 4 KB) or at a Flush, never on a timer: three
	// fit in the 1 MiB data area (one segment) and the fourth does not, which leaves room for
	// the deletion records of the "delete" mode.
	opts := feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 1, BatchEntries: 80, FlushInterval: time.Hour}}
	st, err := openIO(opts)
	if err != nil {
		return err
	}
	defer st.Close()
	m := faultModel{}
	for i := range 300 {
		k, v := fmt.Sprintf("full-%03d", i), fmt.Sprintf("%03d-%s", i, strings.Repeat("v", 4000))
		if _, err := st.Insert([]byte(k), []byte(v)); err != nil {
			return fmt.Errorf("Insert %d: %v", i, err)
		}
		m[k] = v
	}
	if err := st.Flush(); !errors.Is(err, feox.ErrStoreFull) {
		return fmt.Errorf("Flush of 1.3 MB of records into a 1 MiB file that may not grow = %v, want ErrStoreFull", err)
	}
	if st.Stats().WriteErrors == 0 {
		return errors.New("WriteErrors did not count the refused growth")
	}
	if d := diffContents(storeContents(st), m); d != "" {
		return fmt.Errorf("in-memory state after ErrStoreFull: %s", d)
	}
	switch mode {
	case "grow":
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
			return fmt.Errorf("setrlimit: %v", err)
		}
	case "delete":
		durable := 0
		for k := range m {
			if st.Durable([]byte(k)) {
				durable++
				continue
			}
			if err := st.Delete([]byte(k)); err != nil {
				return fmt.Errorf("Delete(%s): %v", k, err)
			}
			delete(m, k)
		}
		// The deletion records must fit in what the durable values left free of the segment.
		// Each batch of up to 80 is a frame: a header, the records (their sequence numbers
		// taken at their longest), padding to format.FrameAlign.
		frames := func(n, size int) int {
			per := (format.FrameHeaderSize + 80*size + format.FrameAlign - 1) / format.FrameAlign * format.FrameAlign
			return (n + 79) / 80 * per
		}
		valueSize := format.PackedSize(&format.Record{Key: []byte("full-000"), Value: make([]byte, 4004), Seq: 1 << 63})
		deleteSize := format.PackedSize(&format.Record{Key: []byte("full-000"), Seq: 1 << 63})
		if free := 1<<20 - frames(durable, valueSize); durable == 0 || free < frames(300-durable, deleteSize) {
			return fmt.Errorf("%d of 300 keys durable: %d bytes free for %d deletion records", durable, free, 300-durable)
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	deadline := time.Now().Add(waitBound)
	for err = st.Flush(); err != nil; err = st.Flush() {
		if time.Now().After(deadline) {
			s := st.Stats()
			return fmt.Errorf("mode %s: every Flush for %v after making room failed, the last with: %v "+
				"(%d keys left, %d writes accepted, %d durable, %d coalesced, %d failed batches, %d live disk bytes)",
				mode, waitBound, err, len(m), s.WritesBuffered, s.WritesDurable, s.WritesCoalesced, s.WriteErrors, s.DiskLiveBytes)
		}
		time.Sleep(time.Millisecond)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("Close: %v", err)
	}
	st2, err := openIO(opts)
	if err != nil {
		return fmt.Errorf("reopen: %v", err)
	}
	defer st2.Close()
	if d := diffContents(storeContents(st2), m); d != "" {
		return fmt.Errorf("after reopen: %s", d)
	}
	return nil
}

// runFsizeChild runs the fsizeChild of t's test in mode; t fails unless its scenario passes.
func runFsizeChild(t *testing.T, mode string) {
	t.Helper()
	if res := crashtest.Run(t, fsizeChild{Path: filepath.Join(t.TempDir(), "full.feox"), Mode: mode}, crashtest.Options{}); res.Killed {
		t.Fatalf("the child of mode %s was killed", mode)
	}
}

// TestReliability_Fault_GrowRefusedIsStoreFull makes the filesystem refuse to grow the data
// file: Flush returns ErrStoreFull, reads keep working, and once the filesystem lets the file
// grow again a Flush succeeds and a reopen finds exactly the contents.
func TestReliability_Fault_GrowRefusedIsStoreFull(t *testing.T) {
	crashtest.AsChild(t, fsizeChild.run)
	runFsizeChild(t, "grow")
}

// TestReliability_Fault_StoreFullHealsByDeleting makes the store full (ErrStoreFull) and then
// deletes every key whose value did not reach the disk, so that only their deletion records
// need room, and there is room for them: a Flush must then succeed, and a reopen find exactly
// the remaining keys.
func TestReliability_Fault_StoreFullHealsByDeleting(t *testing.T) {
	crashtest.AsChild(t, fsizeChild.run)
	runFsizeChild(t, "delete")
}

// TestReliability_Fault_DeleteOvertakesFailedWrite fails a batch holding an overwrite of a key
// while the key's delete and two more writes wait behind it in later batches, which succeed;
// the failed overwrite is then retried after the delete is durable. A Flush returns nil, so
// the delete must survive any crash from then on: the test copies the file right after the
// Flush and after every sector the next batch writes (a crash at each of those moments), and
// also reopens the store after Close; the key must be absent every time.
func TestReliability_Fault_DeleteOvertakesFailedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overtake.feox")
	var (
		armed atomic.Bool
		mu    sync.Mutex
		snaps [][]byte
	)
	fs := &faultSet{hold: make(chan struct{})}
	fs.crash = func(point string) {
		if point == pointSector && armed.Load() {
			data, err := os.ReadFile(path)
			if err != nil {
				panic(err)
			}
			mu.Lock()
			snaps = append(snaps, data)
			mu.Unlock()
		}
	}
	st := openVictimStore(t, path, fs, 1, time.Millisecond)
	accepted := st.Stats().WritesBuffered
	fs.held.Store(true)
	mustInsert(t, st, "victim", "new") // its batch is held, then fails
	if err := st.Delete([]byte("victim")); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, st, "other-1", "1")
	mustInsert(t, st, "other-2", "2")
	// Each write is in a batch of its own (BatchEntries 1) before the held one fails.
	eventually(t, waitBound, "the writes batched", func() bool { return st.Stats().WritesBuffered == accepted+4 })
	close(fs.hold)
	flushUntilOK(t, st)
	wantAbsent(t, st, "victim")
	afterFlush, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The next batch: one more write, and the zeroing of what the failed batch left.
	armed.Store(true)
	mustInsert(t, st, "other-3", "3")
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	armed.Store(false)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	images := append([][]byte{afterFlush}, snaps...)
	mu.Unlock()
	for i, img := range images {
		what := "a crash right after the Flush"
		if i > 0 {
			what = fmt.Sprintf("a crash after sector write %d of %d of the next batch", i, len(images)-1)
		}
		wantVictimGone(t, what, path, img)
	}
	wantVictimGone(t, "Close and reopen", path, nil)
}

// TestReliability_Fault_RecreatedAfterFailedDelete deletes a durable key in a batch that
// fails; before its retry is written, the key is created again and deleted again in one later
// batch (which coalescing may reduce to nothing). A Flush then returns nil, so the key must be
// absent after a crash (a copy of the file) and after Close and reopen.
func TestReliability_Fault_RecreatedAfterFailedDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recreated.feox")
	fs := &faultSet{hold: make(chan struct{}), pause: make(chan struct{})}
	// Batches close at 2 entries or at a Flush (or a retry), never on the timer.
	st := openVictimStore(t, path, fs, 2, time.Hour)
	base, batches := st.Stats(), fs.batches.Load()
	flushes := make(chan error, 3)
	goFlush := func() { go func() { flushes <- st.Flush() }() }
	barriers := func(n int64) func() bool {
		return func() bool { return st.Stats().Barriers >= base.Barriers+n }
	}

	// The delete's batch is held in the writer, then fails.
	fs.held.Store(true)
	if err := st.Delete([]byte("victim")); err != nil {
		t.Fatal(err)
	}
	goFlush()
	eventually(t, waitBound, "the delete's batch in the writer", func() bool { return fs.batches.Load() == batches+1 })
	// Another batch queues behind it and will be paused in the writer.
	fs.paused.Store(true)
	mustInsert(t, st, "blocker", "b")
	goFlush()
	eventually(t, waitBound, "the second batch shipped", barriers(2))
	close(fs.hold) // the delete fails and waits for its retry
	eventually(t, waitBound, "the failure recorded and the second batch in the writer", func() bool {
		return st.Stats().WriteErrors > base.WriteErrors && fs.batches.Load() == batches+2
	})
	// The retry's batch is opened (by a Flush) and queues behind the paused one...
	goFlush()
	eventually(t, waitBound, "the retry's batch shipped", barriers(3))
	// ...and the key is created and deleted again, both in one later batch.
	mustInsert(t, st, "victim", "new")
	if err := st.Delete([]byte("victim")); err != nil {
		t.Fatal(err)
	}
	close(fs.pause)
	for range 3 {
		<-flushes // the first two report the failure, the third may
	}
	flushUntilOK(t, st)
	wantAbsent(t, st, "victim")
	snapshot, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wantVictimGone(t, "a crash right after the Flush", path, snapshot)
	wantVictimGone(t, "Close and reopen", path, nil)
}

// openVictimStore opens a store of one shard at path whose batches go through fs and close at
// batchEntries entries, at a Flush or after flushInterval, and makes the key "victim" durable
// with the value "old". The store is closed when the test ends.
func openVictimStore(t *testing.T, path string, fs *faultSet, batchEntries int, flushInterval time.Duration) *feox.Store {
	t.Helper()
	st, err := openHooksIO(feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 1, BatchEntries: batchEntries, FlushInterval: flushInterval}}, fs.wrap, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mustInsert(t, st, "victim", "old")
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	return st
}

// wantVictimGone opens image, a copy of the data file at path, or the file itself when image
// is nil, and fails t unless the key "victim" is absent: its delete, which a Flush covered,
// must survive what happened (what).
func wantVictimGone(t *testing.T, what, path string, image []byte) {
	t.Helper()
	if image != nil {
		path = filepath.Join(t.TempDir(), "crash.feox")
		if err := os.WriteFile(path, image, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := openIO(feox.Options{Path: path})
	if err != nil {
		t.Fatalf("after %s: Open: %v", what, err)
	}
	v, err := st.Get([]byte("victim"))
	st.Close()
	if !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("after %s, the deleted key holds %q (%v): its delete, covered by a Flush, was undone", what, v, err)
	}
}

// checkSnapshot copies the data file of a running store, opens the copy and checks that it
// holds exactly m.
func checkSnapshot(t *testing.T, path string, m faultModel, when string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "snapshot.feox")
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := openIO(feox.Options{Path: cp, TTLSweepInterval: -1})
	if err != nil {
		t.Fatalf("%s: opening a copy taken after a successful Flush: %v", when, err)
	}
	defer st.Close()
	if d := diffContents(storeContents(st), m); d != "" {
		t.Fatalf("%s: a copy taken after a successful Flush: %s", when, d)
	}
}

// flushUntilOK calls Flush until it succeeds (failed batches are retried after a backoff),
// up to 100 times, and fails t if it never does.
func flushUntilOK(t *testing.T, st *feox.Store) {
	t.Helper()
	var err error
	for range 100 {
		if err = st.Flush(); err == nil {
			return
		}
	}
	t.Fatalf("Flush never succeeded: %v", err)
}
