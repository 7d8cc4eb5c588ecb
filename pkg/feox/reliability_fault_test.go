package feox_test

// Fault injection at the I/O backend: every shard's disk.Writer is wrapped (OpenWithHooks) by
// a faultWriter that fails batches with ENOSPC or EIO, writes only a prefix of a batch, fails
// the data sync after the writes, or slows every batch down. The tests check that the failure
// comes back from Flush and Stats, that reads and the in-memory state are unaffected, that the
// pipeline retries on its own and a later Flush succeeds, and that a reopened store holds
// exactly what was written.
//
// Long mode: FEOX_FAULT_ROUNDS=N runs N rounds of TestReliability_Fault_Random (default 3).

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/disk"
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
	for _, kind := range []faultKind{faultEIO, faultShort, faultSync} {
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
			if err := st.Close(); err == nil {
				t.Fatalf("Close during a %v returned nil", kind)
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
	rounds := envInt("FEOX_FAULT_ROUNDS", 3)
	for round := range rounds {
		seed := rand.Uint64()
		t.Run(fmt.Sprintf("round=%d", round), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("seed %d", seed)
				}
			}()
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
