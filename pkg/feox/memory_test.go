package feox_test

// MemoryUsage and MaxMemory.

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestStore_MemoryUsage ensures that MemoryUsage is the sum of what each present key charges
// for its cell, index entries and record, growing and shrinking with the data.
func TestStore_MemoryUsage(t *testing.T) {
	s := openStore(t, feox.Options{})
	want := int64(0)
	check := func(what string) {
		t.Helper()
		if got := s.MemoryUsage(); got != want {
			t.Fatalf("after %s: MemoryUsage = %d, want %d", what, got, want)
		}
		if got := s.Stats().MemoryBytes; got != want {
			t.Fatalf("after %s: Stats.MemoryBytes = %d, want %d", what, got, want)
		}
	}
	check("open")
	mustInsert(t, s, "alpha", "0123456789")
	want += feox.Charge(5, 10)
	check("a first insert")
	mustInsert(t, s, "b", "")
	want += feox.Charge(1, 0)
	check("a second insert with an empty value")
	mustInsert(t, s, "alpha", "01234567890123456789")
	want += feox.Charge(5, 20) - feox.Charge(5, 10)
	check("growing a value")
	mustInsert(t, s, "alpha", "0")
	want += feox.Charge(5, 1) - feox.Charge(5, 20)
	check("shrinking a value")
	if _, err := s.Increment([]byte("ctr"), 1); err != nil {
		t.Fatal(err)
	}
	want += feox.Charge(3, 8)
	check("creating a counter")
	if err := s.Delete([]byte("alpha")); err != nil {
		t.Fatal(err)
	}
	want -= feox.Charge(5, 1)
	check("a delete")
	for _, k := range []string{"b", "ctr"} {
		if err := s.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	want = 0
	check("deleting every key")
}

// TestStore_MaxMemory ensures that in memory-only mode a write that would take MemoryUsage
// past MaxMemory fails with ErrOutOfMemory and changes nothing, for every kind of write. A
// growing value must cross a size class to take more memory.
func TestStore_MaxMemory(t *testing.T) {
	const keyLen, valLen = 2, 10
	per := feox.Charge(keyLen, valLen)
	s := openStore(t, feox.Options{MaxMemory: 3 * per})
	for _, k := range []string{"k0", "k1"} {
		mustInsert(t, s, k, "0123456789")
	}
	mustInsert(t, s, "k2", "[1,2,3,44]") // 10 bytes of JSON
	if got := s.MemoryUsage(); got != 3*per {
		t.Fatalf("MemoryUsage = %d, want %d (exactly MaxMemory is allowed)", got, 3*per)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Insert of a new key", func() error { _, err := s.Insert([]byte("n"), nil); return err }},
		{"InsertWithTTL of a new key", func() error { _, err := s.InsertWithTTL([]byte("n"), nil, time.Hour); return err }},
		{"InsertWithTimestamp of a new key", func() error { _, err := s.InsertWithTimestamp([]byte("n"), nil, 7); return err }},
		{"InsertIfAbsent", func() error { _, err := s.InsertIfAbsent([]byte("n"), nil); return err }},
		{"Increment of a new key", func() error { _, err := s.Increment([]byte("n"), 1); return err }},
		{"Insert growing a value", func() error { _, err := s.Insert([]byte("k0"), []byte("0123456789ABCDEFGHIJ0123456789")); return err }},
		{"InsertWithTimestamp growing a value", func() error {
			_, err := s.InsertWithTimestamp([]byte("k0"), []byte("0123456789ABCDEFGHIJ0123456789"), 0)
			return err
		}},
		{"CompareAndSwap growing a value", func() error {
			_, err := s.CompareAndSwap([]byte("k1"), []byte("0123456789"), []byte("0123456789ABCDEFGHIJ0123456789"))
			return err
		}},
		{"JSONPatch growing a value", func() error {
			return s.JSONPatch([]byte("k2"), []byte(`[{"op":"add","path":"/-","value":"0123456789ABCDEFGHIJ"}]`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats()
			if err := tt.call(); !errors.Is(err, feox.ErrOutOfMemory) {
				t.Fatalf("got %v, want ErrOutOfMemory", err)
			}
			if got := s.MemoryUsage(); got != 3*per {
				t.Errorf("MemoryUsage = %d after a refused write, want %d", got, 3*per)
			}
			if s.Len() != 3 || s.Contains([]byte("n")) {
				t.Errorf("a refused write changed the key set: Len %d", s.Len())
			}
			wantValue(t, s, "k0", "0123456789")
			wantValue(t, s, "k1", "0123456789")
			wantValue(t, s, "k2", "[1,2,3,44]")
			after := s.Stats()
			if after.Inserts != before.Inserts || after.Updates != before.Updates {
				t.Errorf("a refused write counted as a write: %+v -> %+v", before, after)
			}
		})
	}
	// Writes that do not grow memory still succeed at the limit.
	if _, err := s.Insert([]byte("k0"), []byte("abcdefghij")); err != nil {
		t.Errorf("same-size update at the limit: %v", err)
	}
	if _, err := s.Insert([]byte("k0"), []byte("short")); err != nil {
		t.Errorf("shrinking update at the limit: %v", err)
	}
	if _, err := s.Insert([]byte("k0"), []byte("0123456789")); err != nil {
		t.Errorf("growing back into the freed room: %v", err)
	}
	// An expiry takes a record with an extra (the record of a memory-only key has no room for
	// one), so it is refused at the limit, and fits once a delete has freed room.
	if err := s.UpdateTTL([]byte("k0"), time.Hour); !errors.Is(err, feox.ErrOutOfMemory) {
		t.Errorf("UpdateTTL at the limit = %v, want ErrOutOfMemory", err)
	}
	if err := s.Delete([]byte("k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert([]byte("k9"), []byte("0123456789")); err != nil {
		t.Errorf("insert after a delete freed room: %v", err)
	}
	if err := s.Delete([]byte("k2")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateTTL([]byte("k0"), time.Hour); err != nil {
		t.Errorf("UpdateTTL after a delete freed room: %v", err)
	}
}

// TestStore_MaxMemory_ConcurrentCreators ensures that concurrent creators can never jointly
// pass MaxMemory: with room for exactly N records, exactly N creations succeed.
func TestStore_MaxMemory_ConcurrentCreators(t *testing.T) {
	const n, workers, perWorker = 40, 8, 25
	value := make([]byte, 16)
	per := feox.Charge(6, len(value)) // keys are 6 bytes
	s := openStore(t, feox.Options{MaxMemory: n * per})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range perWorker {
				key := []byte{'c', byte('0' + w), byte('0' + i/10), byte('0' + i%10), '-', 'x'}
				_, err := s.Insert(key, value)
				switch {
				case err == nil:
					mu.Lock()
					succeeded++
					mu.Unlock()
				case !errors.Is(err, feox.ErrOutOfMemory):
					t.Errorf("Insert: %v, want nil or ErrOutOfMemory", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if succeeded != n {
		t.Errorf("%d creations succeeded, want exactly %d", succeeded, n)
	}
	if s.Len() != n || s.MemoryUsage() != n*per {
		t.Errorf("Len = %d, MemoryUsage = %d; want %d, %d", s.Len(), s.MemoryUsage(), n, n*per)
	}
}

// TestStore_MemoryUsage_MatchesHeap ensures that MemoryUsage tells the truth: for loads of
// three shapes of record into a memory-only store, it is within 10% of the live heap the load
// added (runtime.MemStats after collecting garbage twice, before and after).
func TestStore_MemoryUsage_MatchesHeap(t *testing.T) {
	const n = 100_000
	for _, sh := range []struct {
		name             string
		keySize, valSize int
		counters         bool
	}{
		{"key=16/value=100", 16, 100, false},
		{"key=32/value=1024", 32, 1024, false},
		{"counters/key=16", 16, 8, true},
	} {
		t.Run(sh.name, func(t *testing.T) {
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "%0*d", sh.keySize, i*7919%n)
			}
			value := make([]byte, sh.valSize)
			s := openStore(t, feox.Options{})
			before := liveHeap()
			for _, k := range keys {
				var err error
				if sh.counters {
					_, err = s.Increment(k, 1)
				} else {
					_, err = s.Insert(k, value)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Range(nil, nil, 1); err != nil { // applies the ordered index's log
				t.Fatal(err)
			}
			heap := float64(liveHeap() - before)
			usage := float64(s.MemoryUsage())
			if r := usage / heap; r < 0.9 || r > 1.1 {
				t.Errorf("MemoryUsage %.0f bytes a record, live heap %.0f: ratio %.3f, want 0.9-1.1",
					usage/n, heap/n, r)
			} else {
				t.Logf("MemoryUsage %.0f bytes a record, live heap %.0f: ratio %.3f", usage/n, heap/n, r)
			}
			runtime.KeepAlive(s)
			runtime.KeepAlive(keys) // allocated before the first reading: freeing them would count
		})
	}
}
