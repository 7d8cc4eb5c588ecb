package feox_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// cleanerOptions are the options of the cleaner tests' stores: a one-segment initial file, one
// shard (so that the tests know which segment a record lands in), no expiry sweep.
func cleanerOptions(path string) feox.Options {
	return feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 1, FlushInterval: time.Millisecond}}
}

// fillSegment inserts small keys named prefix-N until the head segment has moved past seg.
func fillSegment(t *testing.T, st *feox.Store, prefix string, seg int) int {
	t.Helper()
	n := 0
	for ; ; n++ {
		k := fmt.Sprintf("%s-%05d", prefix, n)
		if _, err := st.Insert([]byte(k), []byte("filler-"+k)); err != nil {
			t.Fatal(err)
		}
		if n%256 == 255 {
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			if st.SegmentOf(k) > seg {
				return n + 1
			}
		}
	}
}

// checkFillers checks that prefix-0 .. prefix-(n-1) hold their values.
func checkFillers(t *testing.T, st *feox.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("%s-%05d", prefix, i)
		v, err := st.Get([]byte(k))
		if err != nil || string(v) != "filler-"+k {
			t.Fatalf("Get(%s) = %q, %v; want %q", k, v, err, "filler-"+k)
		}
	}
}

// TestCleaner_DeletionOutlivesOlderCopies puts two older versions of a key in two segments and
// its deletion record in the second, then cleans only the second: the deletion record must be
// moved, not dropped, because the first segment still holds a version of the key; a reopen
// must find the key absent. Once the first segment is erased too, the deletion record goes.
func TestCleaner_DeletionOutlivesOlderCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ghost.feox")
	st, err := openIO(cleanerOptions(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Insert([]byte("k"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	a := fillSegment(t, st, "a", 0)
	if got := st.SegmentOf("a-00000"); got != 0 {
		t.Fatalf("first filler in segment %d, want 0", got)
	}
	if _, err := st.Insert([]byte("k"), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	tombSeg := st.SegmentOf("k")
	if tombSeg != 1 || st.KeptDeletions() != 1 {
		t.Fatalf("deletion record in segment %d, %d kept; want segment 1, 1 kept", tombSeg, st.KeptDeletions())
	}
	b := fillSegment(t, st, "b", 1)
	if err := st.CleanSegments(1); err != nil {
		t.Fatal(err)
	}
	if st.KeptDeletions() != 1 || st.SegmentOf("k") <= 1 {
		t.Fatalf("after cleaning segment 1: %d deletion records kept, in segment %d; want 1, moved past 1",
			st.KeptDeletions(), st.SegmentOf("k"))
	}
	// The first segment still holds v1: recovery must see it lose to the deletion record, and
	// keep that record for it.
	st = reopenStore(t, st, cleanerOptions(path))
	if _, err := st.Get([]byte("k")); !errors.Is(err, feox.ErrNotFound) {
		t.Fatalf("Get(k) after reopen = %v, want ErrNotFound", err)
	}
	if st.KeptDeletions() != 1 {
		t.Fatalf("%d deletion records kept after reopen, want 1 (v1 is still on disk)", st.KeptDeletions())
	}
	checkFillers(t, st, "a", a)
	checkFillers(t, st, "b", b)
	// Erase everything that holds garbage, the deletion record's segment included: with v1
	// gone, the record goes too.
	for deadline := time.Now().Add(waitBound); st.KeptDeletions() != 0 && time.Now().Before(deadline); {
		st.SealHead()
		if _, err := st.CleanAll(); err != nil {
			t.Fatal(err)
		}
	}
	if st.KeptDeletions() != 0 {
		t.Fatalf("%d deletion records kept after cleaning every segment, want 0", st.KeptDeletions())
	}
	st = reopenStore(t, st, cleanerOptions(path))
	defer st.Close()
	if _, err := st.Get([]byte("k")); !errors.Is(err, feox.ErrNotFound) {
		t.Fatalf("Get(k) after the last reopen = %v, want ErrNotFound", err)
	}
	if st.KeptDeletions() != 0 {
		t.Fatalf("%d deletion records found by recovery, want 0", st.KeptDeletions())
	}
	checkFillers(t, st, "a", a)
	checkFillers(t, st, "b", b)
}

// TestCleaner_OverwritesKeepTheFileBounded overwrites the same keys with 4 KiB values many
// times, with the background cleaner alone reclaiming space: the file must stay within a small
// multiple of the live data, and a reopen must find the newest values and the same live bytes.
func TestCleaner_OverwritesKeepTheFileBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bounded.feox")
	opts := cleanerOptions(path)
	opts.Pipeline.Shards = 2
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	const keys, rounds = 500, 60
	val := func(k, r int) []byte {
		return fmt.Appendf(bytes.Repeat([]byte{'x'}, 4000), "key %d round %d", k, r)
	}
	for r := range rounds {
		for k := range keys {
			if _, err := st.Insert(fmt.Appendf(nil, "key-%04d", k), val(k, r)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	s := st.Stats()
	live := int64(keys * 4096)
	t.Logf("file %d MiB, live %d KiB, garbage %d KiB, free %d MiB, %d segments cleaned, %d records moved",
		s.DiskBytes>>20, s.DiskLiveBytes>>10, s.DiskGarbageBytes>>10, s.DiskFreeBytes>>20, s.SegmentsCleaned, s.RecordsMoved)
	if s.DiskLiveBytes != live {
		t.Errorf("DiskLiveBytes = %d, want %d", s.DiskLiveBytes, live)
	}
	if s.SegmentsCleaned == 0 {
		t.Errorf("the cleaner erased no segment while %d MiB were written into a file of %d MiB", rounds*live>>20, s.DiskBytes>>20)
	}
	if max := 16 * live; s.DiskBytes > max {
		t.Errorf("file grew to %d bytes for %d live bytes (bound %d)", s.DiskBytes, live, max)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The cleaner may have grown the file between Stats and Close: compare with its size now.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err = openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s2 := st.Stats()
	if s2.DiskLiveBytes != live || s2.DiskBytes != fi.Size() {
		t.Errorf("after reopen: live %d, file %d; before: live %d, file %d", s2.DiskLiveBytes, s2.DiskBytes, live, fi.Size())
	}
	for k := range keys {
		v, err := st.Get(fmt.Appendf(nil, "key-%04d", k))
		if err != nil || !bytes.Equal(v, val(k, rounds-1)) {
			t.Fatalf("key %d after reopen: %.40q, %v", k, v, err)
		}
	}
}

// TestCleaner_DeletedKeysLeaveNothing deletes every key and cleans: once the segments that held
// the keys' versions are erased, their deletion records go too, and nothing live is left.
func TestCleaner_DeletedKeysLeaveNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.feox")
	st, err := openIO(cleanerOptions(path))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3000 {
		if _, err := st.Insert(fmt.Appendf(nil, "k%05d", i), bytes.Repeat([]byte{'v'}, 300)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if err := st.Delete(fmt.Appendf(nil, "k%05d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	// Every deletion record is kept until the segments of its key's values are erased; the
	// background cleaner may already have erased some (they hold nothing live any more).
	// Read in this order: if no segment was erased after the count, none was before it.
	if n, cleaned := st.KeptDeletions(), st.Stats().SegmentsCleaned; cleaned == 0 && n != 3000 {
		t.Fatalf("%d deletion records kept with no segment erased, want 3000", n)
	}
	// Each round erases what the previous one left: the values' segments first, which frees
	// the deletion records, whose segments (and the copies the cleaner made of them) follow.
	// The background cleaner may hold a segment meanwhile: go on until nothing is left.
	deadline := time.Now().Add(waitBound)
	for {
		st.SealHead()
		if _, err := st.CleanAll(); err != nil {
			t.Fatal(err)
		}
		s := st.Stats()
		if (s.DiskLiveBytes == 0 && s.DiskGarbageBytes == 0) || time.Now().After(deadline) {
			break
		}
	}
	s := st.Stats()
	if s.DiskLiveBytes != 0 || st.KeptDeletions() != 0 || s.DiskGarbageBytes != 0 {
		t.Fatalf("after deleting everything and cleaning: live %d, garbage %d, %d deletion records kept; want 0",
			s.DiskLiveBytes, s.DiskGarbageBytes, st.KeptDeletions())
	}
}

// TestCleaner_RacesWritersAndDiskReads runs writers (inserts, overwrites, deletes), readers of
// values that live only on disk, and a loop of cleaning rounds at once: every read returns the
// key's own value or ErrNotFound, never an error; the final contents match a model, before and
// after a reopen.
func TestCleaner_RacesWritersAndDiskReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.feox")
	opts := cleanerOptions(path)
	opts.DisableCache = true
	opts.Pipeline.Shards = 2
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	const writers, keysPer, ops = 3, 200, 6000
	value := func(k string, n int) []byte {
		return fmt.Appendf(bytes.Repeat([]byte{'.'}, n%1500), "%s=%d", k, n)
	}
	models := make([]map[string][]byte, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for w := range writers {
		models[w] = map[string][]byte{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range ops {
				k := fmt.Sprintf("w%d-%03d", w, r.IntN(keysPer))
				if r.IntN(5) == 0 {
					if err := st.Delete([]byte(k)); err != nil && !errors.Is(err, feox.ErrNotFound) {
						errs <- err
						return
					}
					delete(models[w], k)
					continue
				}
				v := value(k, i)
				if _, err := st.Insert([]byte(k), v); err != nil {
					errs <- err
					return
				}
				models[w][k] = v
			}
		}()
	}
	var bg sync.WaitGroup
	for rd := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("w%d-%03d", r.IntN(writers), r.IntN(keysPer))
				v, err := st.Get([]byte(k))
				if errors.Is(err, feox.ErrNotFound) {
					continue
				}
				if err != nil || !bytes.Contains(v, []byte(k+"=")) {
					errs <- fmt.Errorf("Get(%s) = %.60q, %v", k, v, err)
					return
				}
			}
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			st.SealHead()
			if _, err := st.CleanAll(); err != nil {
				errs <- fmt.Errorf("CleanAll: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	check := func(st *feox.Store, when string) {
		t.Helper()
		n := 0
		for w := range writers {
			for k, v := range models[w] {
				got, err := st.Get([]byte(k))
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("%s: Get(%s) = %.60q, %v; want %.60q", when, k, got, err, v)
				}
			}
			n += len(models[w])
		}
		if st.Len() != n {
			t.Fatalf("%s: Len = %d, want %d", when, st.Len(), n)
		}
	}
	check(st, "before reopen")
	if s := st.Stats(); s.SegmentsCleaned == 0 || s.RecordsMoved == 0 {
		t.Errorf("the test did not exercise the cleaner: %d segments cleaned, %d records moved", s.SegmentsCleaned, s.RecordsMoved)
	}
	st = reopenStore(t, st, opts)
	defer st.Close()
	check(st, "after reopen")
}

// TestCleaner_KeptDeletionsStayBounded churns keys (insert new ones, delete the previous
// round's) in a file with plenty of free space: the deletion records kept for their older
// copies cost memory, so once they pass the bound the cleaner erases the segments of those
// copies even though space is not short, and the kept records fall back under the bound.
func TestCleaner_KeptDeletionsStayBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "churn.feox")
	opts := cleanerOptions(path)
	opts.FileSize = 64 << 20
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const bound, perRound, rounds = 2000, 1000, 30
	st.SetTombsMin(bound)
	val := bytes.Repeat([]byte{'c'}, 200)
	for r := range rounds {
		for i := range perRound {
			if _, err := st.Insert(fmt.Appendf(nil, "r%02d-%04d", r, i), val); err != nil {
				t.Fatal(err)
			}
			if r > 0 {
				if err := st.Delete(fmt.Appendf(nil, "r%02d-%04d", r-1, i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// The bound is the larger of tombsMin and the live sectors (one per live key here).
	limit := bound + perRound
	deadline := time.Now().Add(waitBound)
	for st.KeptDeletions() > limit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := st.Stats()
	if n := st.KeptDeletions(); n > limit {
		t.Fatalf("%d deletion records kept after %d deletes, want at most %d (segments cleaned %d, free %d MiB)",
			n, (rounds-1)*perRound, limit, s.SegmentsCleaned, s.DiskFreeBytes>>20)
	}
	if st.Len() != perRound {
		t.Fatalf("Len = %d, want %d", st.Len(), perRound)
	}
}
