package feox_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// wallNs returns the wall clock in nanoseconds since the Unix epoch, the unit of timestamps.
func wallNs() uint64 { return uint64(time.Now().UnixNano()) }

// TestStore_InsertWithTimestamp ensures that an explicit timestamp must be strictly newer than
// the key's current one, that a refused write changes nothing, and that 0 is automatic.
func TestStore_InsertWithTimestamp(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	steps := []struct {
		value       string
		ts          uint64
		wantCreated bool
		wantErr     error
		wantValue   string
	}{
		{"a", 100, true, nil, "a"},
		{"b", 100, false, feox.ErrOlderTimestamp, "a"}, // equal is refused
		{"c", 99, false, feox.ErrOlderTimestamp, "a"},
		{"d", 1, false, feox.ErrOlderTimestamp, "a"},
		{"e", 101, false, nil, "e"},
		{"f", 0, false, nil, "f"}, // automatic: the wall clock, far above 101
		{"g", 102, false, feox.ErrOlderTimestamp, "f"},
		{"h", 0, false, nil, "h"},
		{"i", math.MaxUint64 >> 1, false, nil, "i"},
		{"j", math.MaxUint64>>1 - 1, false, feox.ErrOlderTimestamp, "i"},
	}
	for i, st := range steps {
		created, err := s.InsertWithTimestamp(k, []byte(st.value), st.ts)
		if created != st.wantCreated || !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("step %d: InsertWithTimestamp(%q, ts %d) = %v, %v; want %v, %v",
				i, st.value, st.ts, created, err, st.wantCreated, st.wantErr)
		}
		wantValue(t, s, "k", st.wantValue)
	}
}

// TestStore_DeleteWithTimestamp ensures the timestamp rule for deletes, ErrNotFound for an
// absent key, and that ts 0 is automatic.
func TestStore_DeleteWithTimestamp(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	if err := s.DeleteWithTimestamp(k, 5); !errors.Is(err, feox.ErrNotFound) {
		t.Fatalf("DeleteWithTimestamp(absent) = %v, want ErrNotFound", err)
	}
	if _, err := s.InsertWithTimestamp(k, []byte("v"), 100); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []uint64{1, 99, 100} {
		if err := s.DeleteWithTimestamp(k, ts); !errors.Is(err, feox.ErrOlderTimestamp) {
			t.Fatalf("DeleteWithTimestamp(ts %d) over ts 100 = %v, want ErrOlderTimestamp", ts, err)
		}
		wantValue(t, s, "k", "v")
	}
	if err := s.DeleteWithTimestamp(k, 101); err != nil {
		t.Fatalf("DeleteWithTimestamp(101): %v", err)
	}
	wantAbsent(t, s, "k")
	if err := s.DeleteWithTimestamp(k, 102); !errors.Is(err, feox.ErrNotFound) {
		t.Fatalf("DeleteWithTimestamp after delete = %v, want ErrNotFound", err)
	}
	if _, err := s.InsertWithTimestamp(k, []byte("v"), 100); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWithTimestamp(k, 0); err != nil {
		t.Fatalf("DeleteWithTimestamp(ts 0) over ts 100: %v", err)
	}
	wantAbsent(t, s, "k")
	mustInsert(t, s, "k", "auto")
	if err := s.DeleteWithTimestamp(k, 1000); !errors.Is(err, feox.ErrOlderTimestamp) {
		t.Fatalf("DeleteWithTimestamp(1000) over an automatic timestamp = %v, want ErrOlderTimestamp", err)
	}
	if err := s.DeleteWithTimestamp(k, wallNs()+uint64(time.Hour)); err != nil {
		t.Fatalf("DeleteWithTimestamp(now + 1h) over an automatic timestamp: %v", err)
	}
}

// TestStore_Timestamp_FutureRaisesClock ensures that a successful explicit timestamp in the
// future raises the key's clock: later automatic writes still succeed and are newer than it.
func TestStore_Timestamp_FutureRaisesClock(t *testing.T) {
	autoWrites := []struct {
		name string
		call func(s *feox.Store, k []byte) error
	}{
		{"Insert", func(s *feox.Store, k []byte) error { _, err := s.Insert(k, []byte("auto")); return err }},
		{"InsertWithTTL", func(s *feox.Store, k []byte) error {
			_, err := s.InsertWithTTL(k, []byte("auto"), time.Hour)
			return err
		}},
		{"InsertWithTimestamp(0)", func(s *feox.Store, k []byte) error { _, err := s.InsertWithTimestamp(k, []byte("auto"), 0); return err }},
		{"CompareAndSwap", func(s *feox.Store, k []byte) error {
			ok, err := s.CompareAndSwap(k, []byte("future"), []byte("auto"))
			if err == nil && !ok {
				return errNotSwapped
			}
			return err
		}},
		{"JSONPatch", func(s *feox.Store, k []byte) error {
			return s.JSONPatch(k, []byte(`[{"op":"replace","path":"","value":"auto"}]`))
		}},
	}
	for _, w := range autoWrites {
		t.Run(w.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			k := []byte("k")
			future := wallNs() + uint64(time.Hour)
			if _, err := s.InsertWithTimestamp(k, []byte("future"), future); err != nil {
				t.Fatal(err)
			}
			if w.name == "JSONPatch" {
				if _, err := s.InsertWithTimestamp(k, []byte(`"future"`), future+1); err != nil {
					t.Fatal(err)
				}
				future++
			}
			if err := w.call(s, k); err != nil {
				t.Fatalf("automatic write after an explicit future timestamp: %v", err)
			}
			// The automatic write is newer than the future timestamp, so neither it nor the next
			// one may win.
			for _, ts := range []uint64{future, future + 1} {
				if _, err := s.InsertWithTimestamp(k, []byte("stale"), ts); !errors.Is(err, feox.ErrOlderTimestamp) {
					t.Fatalf("InsertWithTimestamp(%d) after an automatic write = %v, want ErrOlderTimestamp", ts, err)
				}
			}
			if v, _ := s.Get(k); string(v) == "stale" || string(v) == "future" {
				t.Fatalf("value = %q, want the automatic write's", v)
			}
			if err := s.Delete(k); err != nil {
				t.Fatalf("automatic Delete after the raise: %v", err)
			}
		})
	}
}

// TestStore_Timestamp_DeleteNoTombstone ensures that a delete leaves no lasting tombstone: the
// key may be re-created with a lower explicit timestamp than the deleted version had.
func TestStore_Timestamp_DeleteNoTombstone(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	if _, err := s.InsertWithTimestamp(k, []byte("v1"), 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWithTimestamp(k, 2000); err != nil {
		t.Fatal(err)
	}
	created, err := s.InsertWithTimestamp(k, []byte("v2"), 500)
	if err != nil || !created {
		t.Fatalf("InsertWithTimestamp(500) after DeleteWithTimestamp(2000) = %v, %v; want created", created, err)
	}
	wantValue(t, s, "k", "v2")
	if err := s.Delete(k); err != nil {
		t.Fatal(err)
	}
	if created, err := s.InsertWithTimestamp(k, []byte("v3"), 1); err != nil || !created {
		t.Fatalf("InsertWithTimestamp(1) after an automatic Delete = %v, %v; want created", created, err)
	}
}

// TestStore_Timestamp_FailedWritesKeepClock ensures that a write that fails does not move the
// clock: an explicit future timestamp that was refused does not make later automatic
// timestamps jump past it.
func TestStore_Timestamp_FailedWritesKeepClock(t *testing.T) {
	failures := []struct {
		name string
		call func(s *feox.Store, k []byte, ts uint64) error
		want error
	}{
		{"DeleteWithTimestamp of an absent key", func(s *feox.Store, k []byte, ts uint64) error {
			return s.DeleteWithTimestamp(k, ts)
		}, feox.ErrNotFound},
		{"InsertWithTimestamp out of memory", func(s *feox.Store, k []byte, ts uint64) error {
			_, err := s.InsertWithTimestamp(k, make([]byte, 64), ts)
			return err
		}, feox.ErrOutOfMemory},
		{"InsertWithTimestamp with an invalid value", func(s *feox.Store, k []byte, ts uint64) error {
			_, err := s.InsertWithTimestamp(k, make([]byte, feox.MaxValueSize+1), ts)
			return err
		}, feox.ErrInvalidValue},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			s := openStore(t, feox.Options{MaxMemory: feox.Charge(1, 8)})
			k := []byte("k")
			future := wallNs() + uint64(time.Hour)
			if err := f.call(s, k, future); !errors.Is(err, f.want) {
				t.Fatalf("failing write = %v, want %v", err, f.want)
			}
			mustInsert(t, s, "k", "auto")
			// With the clock untouched the automatic timestamp is about now, so an explicit
			// timestamp half an hour ahead is newer.
			if _, err := s.InsertWithTimestamp(k, []byte("later"), future-uint64(30*time.Minute)); err != nil {
				t.Fatalf("InsertWithTimestamp(now + 30m) after the failed write: %v (the failed write raised the clock)", err)
			}
		})
	}
}

// TestStore_Timestamp_ClockIsPerKey ensures that an explicit future timestamp on one key does
// not raise the automatic timestamps of other keys: the contract defines an automatic
// timestamp as the wall clock, raised only where the key itself needs it. Each other key gets
// an automatic write, then an explicit one a millisecond ahead of the wall clock read after
// it, which must be newer. (The explicit timestamps increase with the wall clock, so a clock
// they raise cannot make a later key's check fail.)
func TestStore_Timestamp_ClockIsPerKey(t *testing.T) {
	s := openStore(t, feox.Options{})
	if _, err := s.InsertWithTimestamp([]byte("future"), []byte("v"), wallNs()+uint64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var raised []string
	for i := range 500 {
		k := []byte(fmt.Sprintf("other%03d", i))
		if _, err := s.Insert(k, []byte("auto")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InsertWithTimestamp(k, []byte("later"), wallNs()+uint64(time.Millisecond)); err != nil {
			raised = append(raised, string(k))
		}
	}
	if len(raised) > 0 {
		t.Errorf("after InsertWithTimestamp(\"future\", now + 1h), %d of 500 other keys refused an explicit timestamp of now + 1ms over their automatic one (e.g. %q): their automatic timestamps were raised past the wall clock",
			len(raised), raised[0])
	}
}

// TestStore_Timestamp_MaxTimestamp ensures the rules for the largest timestamp: the key
// accepts no later write until it is deleted, a delete works, and other keys are unaffected.
func TestStore_Timestamp_MaxTimestamp(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("max")
	if _, err := s.InsertWithTimestamp(k, []byte("v"), math.MaxUint64); err != nil {
		t.Fatalf("InsertWithTimestamp(MaxUint64): %v", err)
	}
	if _, err := s.InsertWithTimestamp(k, []byte("w"), math.MaxUint64); !errors.Is(err, feox.ErrOlderTimestamp) {
		t.Fatalf("a second InsertWithTimestamp(MaxUint64) = %v, want ErrOlderTimestamp", err)
	}
	if _, err := s.Insert(k, []byte("w")); !errors.Is(err, feox.ErrOlderTimestamp) {
		t.Fatalf("Insert over timestamp MaxUint64 = %v, want ErrOlderTimestamp (no automatic timestamp beats it)", err)
	}
	wantValue(t, s, "max", "v")
	failed := 0
	var first error
	for i := range 500 {
		other := []byte(fmt.Sprintf("other%03d", i))
		for round := range 3 {
			if _, err := s.Insert(other, []byte{byte(round)}); err != nil {
				failed++
				if first == nil {
					first = fmt.Errorf("Insert(%q) round %d: %w", other, round, err)
				}
				break
			}
		}
		if _, err := s.Increment(append(other, 'c'), 1); err != nil {
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("after one key was written with timestamp MaxUint64, %d automatic writes of other keys failed; first: %v", failed, first)
	}
	// "accepts no later write until it is deleted": the delete itself must work.
	if err := s.Delete(k); err != nil {
		t.Fatalf("Delete of the key at timestamp MaxUint64 = %v, want success", err)
	}
	if created, err := s.Insert(k, []byte("again")); err != nil || !created {
		t.Fatalf("Insert after the delete = %v, %v; want created", created, err)
	}
}

// TestStore_Timestamp_AutoAfterDelete ensures that a deleted version's timestamp does not
// linger in the key's clock: once a key is deleted it has no current timestamp, so an
// automatic write of it takes the wall clock and an explicit timestamp a millisecond ahead of
// the wall clock is newer still. Other keys' explicit-timestamp writers are kept in flight,
// as they decide whether a delete leaves a temporary tombstone.
func TestStore_Timestamp_AutoAfterDelete(t *testing.T) {
	s := openStore(t, feox.Options{})
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for g := range 2 {
		bg.Go(func() {
			for i := uint64(1); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.InsertWithTimestamp([]byte(fmt.Sprintf("bg%d-%03d", g, i%256)), []byte("x"), i)
			}
		})
	}
	defer func() { close(stop); bg.Wait() }()
	deletes := []struct {
		name string
		del  func(k []byte, future uint64) error
	}{
		{"DeleteWithTimestamp(now + 1h)", func(k []byte, future uint64) error {
			if _, err := s.InsertWithTimestamp(k, []byte("v"), 1000); err != nil {
				return err
			}
			return s.DeleteWithTimestamp(k, future)
		}},
		{"Delete of a version at now + 1h", func(k []byte, future uint64) error {
			if _, err := s.InsertWithTimestamp(k, []byte("v"), future); err != nil {
				return err
			}
			return s.Delete(k)
		}},
	}
	for d, del := range deletes {
		t.Run(del.name, func(t *testing.T) {
			var raised []string
			for i := range 500 {
				k := []byte(fmt.Sprintf("k%d-%04d", d, i))
				if err := del.del(k, wallNs()+uint64(time.Hour)); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Insert(k, []byte("auto")); err != nil {
					t.Fatal(err)
				}
				if _, err := s.InsertWithTimestamp(k, []byte("later"), wallNs()+uint64(time.Millisecond)); err != nil {
					raised = append(raised, string(k))
				}
			}
			if len(raised) > 0 {
				t.Errorf("%d of 500 keys refused an explicit timestamp of now + 1ms after the delete and an automatic Insert (e.g. %q): the automatic timestamp was raised past the deleted version's",
					len(raised), raised[0])
			}
		})
	}
}

// TestStore_Timestamp_InsertAfterNearMaxDelete ensures that plain Inserts of a key deleted
// with a timestamp near the maximum keep working: a delete leaves no lasting tombstone, and
// Insert never fails with ErrOlderTimestamp.
func TestStore_Timestamp_InsertAfterNearMaxDelete(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	if _, err := s.InsertWithTimestamp(k, []byte("v"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWithTimestamp(k, math.MaxUint64-1); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		created, err := s.Insert(k, []byte{byte(i)})
		if err != nil || created != (i == 0) {
			t.Fatalf("Insert %d after DeleteWithTimestamp(MaxUint64-1) = %v, %v; want created %v, nil", i, created, err, i == 0)
		}
	}
}

// TestStore_Timestamp_DeleteOvertakesInsert races InsertWithTimestamp(k, 150) against
// DeleteWithTimestamp(k, 200) on a key at timestamp 100, many times. Every outcome must be one
// of a serial order: the insert is refused only when the delete overtook it (key absent), and
// once the delete has returned a new InsertWithTimestamp(k, 150) succeeds unless the racing
// insert landed after the delete (no lasting tombstone).
func TestStore_Timestamp_DeleteOvertakesInsert(t *testing.T) {
	s := openStore(t, feox.Options{})
	// Keep explicit-timestamp writers of other keys in flight throughout, so that deletes meet
	// in-flight writers of their clock and must guard against them.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := uint64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.InsertWithTimestamp([]byte(fmt.Sprintf("bg%02d", i%64)), []byte("x"), i)
		}
	})
	defer func() { close(stop); bg.Wait() }()

	const rounds = 2000
	for r := range rounds {
		k := []byte(fmt.Sprintf("race%05d", r))
		if _, err := s.InsertWithTimestamp(k, []byte("base"), 100); err != nil {
			t.Fatal(err)
		}
		var insErr, delErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; _, insErr = s.InsertWithTimestamp(k, []byte("old"), 150) })
		wg.Go(func() { <-start; delErr = s.DeleteWithTimestamp(k, 200) })
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Fatalf("round %d: DeleteWithTimestamp(200) over ts 100 or 150 = %v", r, delErr)
		}
		v, getErr := s.Get(k)
		switch {
		case insErr == nil && errors.Is(getErr, feox.ErrNotFound):
			// insert, then delete
		case insErr == nil && getErr == nil && string(v) == "old":
			// delete, then an insert that started after it
		case errors.Is(insErr, feox.ErrOlderTimestamp) && errors.Is(getErr, feox.ErrNotFound):
			// the delete overtook the insert in flight
		default:
			t.Fatalf("round %d: insert %v, delete %v, then Get = %q, %v: no serial order explains it", r, insErr, delErr, v, getErr)
		}
		if getErr == nil {
			continue // the key holds ts 150; a new write at 150 is rightly refused
		}
		if created, err := s.InsertWithTimestamp(k, []byte("new"), 150); err != nil || !created {
			t.Fatalf("round %d: InsertWithTimestamp(150) after DeleteWithTimestamp(200) returned = %v, %v; want created (no lasting tombstone)", r, created, err)
		}
		wantValue(t, s, string(k), "new")
	}
	if n := s.Len(); n < rounds {
		t.Errorf("Len = %d, want at least %d", n, rounds)
	}
}

// TestStore_Timestamp_DeleteThenInsertSequential ensures, with explicit-timestamp writers of
// other keys in flight, that a delete never leaves a tombstone visible to reads, Len or
// MemoryUsage, and that re-creating the key with a lower timestamp succeeds at once.
func TestStore_Timestamp_DeleteThenInsertSequential(t *testing.T) {
	s := openStore(t, feox.Options{})
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for g := range 2 {
		bg.Go(func() {
			k := []byte(fmt.Sprintf("bg%d", g))
			for i := uint64(1); ; i++ {
				// Write before looking at stop, so the key exists even if this goroutine
				// first runs after the main loop has finished.
				s.InsertWithTimestamp(k, []byte("12345678"), i)
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	for i := range 1000 {
		k := []byte(fmt.Sprintf("k%04d", i))
		if _, err := s.InsertWithTimestamp(k, []byte("v"), 1000); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWithTimestamp(k, 2000); err != nil {
			t.Fatal(err)
		}
		if s.Contains(k) {
			t.Fatalf("%s visible after its delete", k)
		}
		if kvs, _ := s.Range(k, k, 1); len(kvs) != 0 {
			t.Fatalf("Range shows %s after its delete", k)
		}
		if created, err := s.InsertWithTimestamp(k, []byte("w"), 1500); err != nil || !created {
			t.Fatalf("InsertWithTimestamp(%s, 1500) after DeleteWithTimestamp(2000) = %v, %v", k, created, err)
		}
		if err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	bg.Wait()
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2 (the background keys)", s.Len())
	}
	if got, want := s.MemoryUsage(), 2*feox.Charge(3, 8); got != want {
		t.Errorf("MemoryUsage = %d, want %d: deleted keys are still charged", got, want)
	}
}
