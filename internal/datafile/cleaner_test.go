package datafile

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
)

// cleanerOptions are the options of the cleaner tests' stores: a one-segment initial file, one
// shard (so that the tests know which segment a record lands in).
func cleanerOptions(path string) storeOptions { return storeOptions{path: path} }

// fillSegment inserts small keys named prefix-N until the head segment has moved past seg.
func fillSegment(t *testing.T, st *testStore, prefix string, seg int) int {
	t.Helper()
	n := 0
	for ; ; n++ {
		k := fmt.Sprintf("%s-%05d", prefix, n)
		st.put(k, []byte("filler-"+k))
		if n%256 == 255 {
			st.flush()
			if st.segmentOf(k) > seg {
				return n + 1
			}
		}
	}
}

// checkFillers checks that prefix-0 .. prefix-(n-1) hold their values.
func checkFillers(t *testing.T, st *testStore, prefix string, n int) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("%s-%05d", prefix, i)
		v, err := st.get(k)
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
	opts := cleanerOptions(path)
	// No garbage bound: on a slow machine the fillers' small batches leave enough padding for
	// the background cleaner to empty the first segment itself, which retires the deletion
	// record early (correctly, but not what this test looks at).
	opts.maxGarbage = 1
	st := openTestStore(t, opts)
	st.put("k", []byte("v1"))
	a := fillSegment(t, st, "a", 0)
	if got := st.segmentOf("a-00000"); got != 0 {
		t.Fatalf("first filler in segment %d, want 0", got)
	}
	st.put("k", []byte("v2"))
	st.flush()
	if err := st.del("k"); err != nil {
		t.Fatal(err)
	}
	st.flush()
	tombSeg := st.segmentOf("k")
	if tombSeg != 1 || st.f.keptDeletions() != 1 {
		t.Fatalf("deletion record in segment %d, %d kept; want segment 1, 1 kept", tombSeg, st.f.keptDeletions())
	}
	b := fillSegment(t, st, "b", 1)
	if err := st.f.cleanSegments(1); err != nil {
		t.Fatal(err)
	}
	if st.f.keptDeletions() != 1 || st.segmentOf("k") <= 1 {
		t.Fatalf("after cleaning segment 1: %d deletion records kept, in segment %d; want 1, moved past 1",
			st.f.keptDeletions(), st.segmentOf("k"))
	}
	// The first segment still holds v1: recovery must see it lose to the deletion record, and
	// keep that record for it.
	st = st.reopen()
	if _, err := st.get("k"); !errors.Is(err, errNotFound) {
		t.Fatalf("Get(k) after reopen = %v, want ErrNotFound", err)
	}
	if st.f.keptDeletions() != 1 {
		t.Fatalf("%d deletion records kept after reopen, want 1 (v1 is still on disk)", st.f.keptDeletions())
	}
	checkFillers(t, st, "a", a)
	checkFillers(t, st, "b", b)
	// Erase everything that holds garbage, the deletion record's segment included: with v1
	// gone, the record goes too.
	for deadline := time.Now().Add(waitBound); st.f.keptDeletions() != 0 && time.Now().Before(deadline); {
		st.f.sealHead()
		if _, err := st.f.cleanAll(); err != nil {
			t.Fatal(err)
		}
	}
	if st.f.keptDeletions() != 0 {
		t.Fatalf("%d deletion records kept after cleaning every segment, want 0", st.f.keptDeletions())
	}
	st = st.reopen()
	if _, err := st.get("k"); !errors.Is(err, errNotFound) {
		t.Fatalf("Get(k) after the last reopen = %v, want ErrNotFound", err)
	}
	if st.f.keptDeletions() != 0 {
		t.Fatalf("%d deletion records found by recovery, want 0", st.f.keptDeletions())
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
	opts.shards = 2
	st := openTestStore(t, opts)
	const keys, rounds = 500, 60
	val := func(k, r int) []byte {
		return fmt.Appendf(bytes.Repeat([]byte{'x'}, 4000), "key %d round %d", k, r)
	}
	for r := range rounds {
		for k := range keys {
			st.put(fmt.Sprintf("key-%04d", k), val(k, r))
		}
		st.flush()
	}
	s := st.f.Stats()
	live := st.liveBytes()
	t.Logf("file %d MiB, live %d KiB, garbage %d KiB, free %d MiB, %d segments cleaned, %d records moved",
		s.Size>>20, s.Live>>10, s.Garbage>>10, s.Free>>20, s.Cleaned, s.Moved)
	if s.Live != live {
		t.Errorf("DiskLiveBytes = %d, want %d", s.Live, live)
	}
	if s.Cleaned == 0 {
		t.Errorf("the cleaner erased no segment while %d MiB were written into a file of %d MiB", rounds*live>>20, s.Size>>20)
	}
	if max := 16 * live; s.Size > max {
		t.Errorf("file grew to %d bytes for %d live bytes (bound %d)", s.Size, live, max)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	// The cleaner may have grown the file between Stats and Close: compare with its size now.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st = openTestStore(t, opts)
	s2 := st.f.Stats()
	if s2.Live != live || s2.Size != fi.Size() {
		t.Errorf("after reopen: live %d, file %d; before: live %d, file %d", s2.Live, s2.Size, live, fi.Size())
	}
	for k := range keys {
		v, err := st.get(fmt.Sprintf("key-%04d", k))
		if err != nil || !bytes.Equal(v, val(k, rounds-1)) {
			t.Fatalf("key %d after reopen: %.40q, %v", k, v, err)
		}
	}
}

// TestCleaner_DeletedKeysLeaveNothing deletes every key and cleans: once the segments that held
// the keys' versions are erased, their deletion records go too, and nothing live is left.
func TestCleaner_DeletedKeysLeaveNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.feox")
	st := openTestStore(t, cleanerOptions(path))
	for i := range 3000 {
		st.put(fmt.Sprintf("k%05d", i), bytes.Repeat([]byte{'v'}, 300))
	}
	st.flush()
	for i := range 3000 {
		if err := st.del(fmt.Sprintf("k%05d", i)); err != nil {
			t.Fatal(err)
		}
	}
	st.flush()
	// Every deletion record is kept until the segments of its key's values are erased; the
	// background cleaner may already have erased some (they hold nothing live any more).
	// Read in this order: if no segment was erased after the count, none was before it.
	if n, cleaned := st.f.keptDeletions(), st.f.Stats().Cleaned; cleaned == 0 && n != 3000 {
		t.Fatalf("%d deletion records kept with no segment erased, want 3000", n)
	}
	// Each round erases what the previous one left: the values' segments first, which frees
	// the deletion records, whose segments (and the copies the cleaner made of them) follow.
	// The background cleaner may hold a segment meanwhile: go on until nothing is left.
	deadline := time.Now().Add(waitBound)
	for {
		st.f.sealHead()
		if _, err := st.f.cleanAll(); err != nil {
			t.Fatal(err)
		}
		s := st.f.Stats()
		if (s.Live == 0 && s.Garbage == 0) || time.Now().After(deadline) {
			break
		}
	}
	s := st.f.Stats()
	if s.Live != 0 || st.f.keptDeletions() != 0 || s.Garbage != 0 {
		t.Fatalf("after deleting everything and cleaning: live %d, garbage %d, %d deletion records kept; want 0",
			s.Live, s.Garbage, st.f.keptDeletions())
	}
}

// TestCleaner_RacesWritersAndDiskReads runs writers (inserts, overwrites, deletes), readers of
// values that live only on disk, and a loop of cleaning rounds at once: every read returns the
// key's own value or ErrNotFound, never an error; the final contents match a model, before and
// after a reopen.
func TestCleaner_RacesWritersAndDiskReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.feox")
	opts := cleanerOptions(path)
	opts.shards = 2
	st := openTestStore(t, opts)
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
					if err := st.del(k); err != nil && !errors.Is(err, errNotFound) {
						errs <- err
						return
					}
					delete(models[w], k)
					continue
				}
				v := value(k, i)
				if err := st.write(k, v, false); err != nil {
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
				v, err := st.get(k)
				if errors.Is(err, errNotFound) {
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
			st.f.sealHead()
			if _, err := st.f.cleanAll(); err != nil {
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
	st.flush()
	check := func(st *testStore, when string) {
		t.Helper()
		n := 0
		for w := range writers {
			for k, v := range models[w] {
				got, err := st.get(k)
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("%s: Get(%s) = %.60q, %v; want %.60q", when, k, got, err, v)
				}
			}
			n += len(models[w])
		}
		if st.len() != n {
			t.Fatalf("%s: Len = %d, want %d", when, st.len(), n)
		}
	}
	check(st, "before reopen")
	if s := st.f.Stats(); s.Cleaned == 0 || s.Moved == 0 {
		t.Errorf("the test did not exercise the cleaner: %d segments cleaned, %d records moved", s.Cleaned, s.Moved)
	}
	st = st.reopen()
	check(st, "after reopen")
}

// TestCleaner_KeptDeletionsStayBounded churns keys (insert new ones, delete the previous
// round's) in a file with plenty of free space: the deletion records kept for their older
// copies cost memory, so once they pass the bound the cleaner erases the segments of those
// copies even though space is not short, and the kept records fall back under the bound.
func TestCleaner_KeptDeletionsStayBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "churn.feox")
	opts := cleanerOptions(path)
	opts.fileSize = 64 << 20
	st := openTestStore(t, opts)
	const bound, perRound, rounds = 2000, 1000, 30
	st.f.mu.Lock()
	st.f.keptMin = bound
	st.f.mu.Unlock()
	val := bytes.Repeat([]byte{'c'}, 200)
	for r := range rounds {
		for i := range perRound {
			st.put(fmt.Sprintf("r%02d-%04d", r, i), val)
			if r > 0 {
				if err := st.del(fmt.Sprintf("r%02d-%04d", r-1, i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		st.flush()
	}
	// The bound is the larger of keptMin and the other live records (one per live key here).
	limit := bound + perRound
	deadline := time.Now().Add(waitBound)
	for st.f.keptDeletions() > limit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := st.f.Stats()
	if n := st.f.keptDeletions(); n > limit {
		t.Fatalf("%d deletion records kept after %d deletes, want at most %d (segments cleaned %d, free %d MiB)",
			n, (rounds-1)*perRound, limit, s.Cleaned, s.Free>>20)
	}
	if st.len() != perRound {
		t.Fatalf("Len = %d, want %d", st.len(), perRound)
	}
}

// TestCleaner_UniformOverwritesSettle overwrites keys picked uniformly at random, many times
// over, with the background cleaner alone reclaiming space, in a file that starts at one
// segment: once the writers stop, the cleaner must bring the space the file takes on disk
// (allocated, as du counts it) to within 1/(1-MaxGarbage) of the live bytes and two segments
// (the head's room, a victim's worth of garbage); while they write, it may hold more. Every
// key must then read its newest value, before and after a reopen.
func TestCleaner_UniformOverwritesSettle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uniform.feox")
	opts := cleanerOptions(path)
	opts.shards = 2
	st := openTestStore(t, opts)
	const keys, writes = 20_000, 100_000
	val := func(k, n int) []byte { return fmt.Appendf(bytes.Repeat([]byte{'u'}, 300), "%d:%d", k, n) }
	last := make([]int, keys)
	r := rand.New(rand.NewPCG(7, 7))
	for n := range keys + writes {
		k := n
		if n >= keys {
			k = r.IntN(keys)
		}
		st.put(fmt.Sprintf("k%05d", k), val(k, n))
		last[k] = n
	}
	st.flush()
	live := st.liveBytes()
	bound := float64(live)/(1-DefaultMaxGarbage) + 2*segBytes
	var s Stats
	for deadline := time.Now().Add(waitBound); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s = st.f.Stats(); float64(s.Allocated) <= bound {
			break
		}
	}
	t.Logf("file %d MiB, allocated %d KiB, live %d KiB, garbage %d KiB, %d segments cleaned, %d records moved",
		s.Size>>20, s.Allocated>>10, s.Live>>10, s.Garbage>>10, s.Cleaned, s.Moved)
	if s.Live != live {
		t.Errorf("DiskLiveBytes = %d, want %d", s.Live, live)
	}
	if float64(s.Allocated) > bound {
		t.Errorf("allocated %d bytes for %d live once the writers stopped, want at most %.0f", s.Allocated, live, bound)
	}
	check := func(st *testStore, when string) {
		t.Helper()
		for k := range keys {
			if v, err := st.get(fmt.Sprintf("k%05d", k)); err != nil || !bytes.Equal(v, val(k, last[k])) {
				t.Fatalf("%s: key %d: %.40q, %v", when, k, v, err)
			}
		}
	}
	check(st, "before reopen")
	check(st.reopen(), "after reopen")
}
