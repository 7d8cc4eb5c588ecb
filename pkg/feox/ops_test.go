package feox_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestStore_Increment_Concurrent ensures that concurrent increments of one key are atomic:
// 8 goroutines adding 1 ten thousand times each leave exactly 80,000.
func TestStore_Increment_Concurrent(t *testing.T) {
	const workers, each = 8, 10000
	s := openStore(t, feox.Options{})
	k := []byte("ctr")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for range each {
				if _, err := s.Increment(k, 1); err != nil {
					t.Errorf("Increment: %v", err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	wantValue(t, s, "ctr", string(counter(workers*each)))
	if st := s.Stats(); st.Inserts != 1 || st.Updates != workers*each-1 {
		t.Errorf("Stats: Inserts %d, Updates %d; want 1, %d", st.Inserts, st.Updates, workers*each-1)
	}
}

// TestStore_CompareAndSwap_Race ensures that of goroutines racing CompareAndSwap from the same
// expected value exactly one wins each round, and its value is the one stored.
func TestStore_CompareAndSwap_Race(t *testing.T) {
	const workers, rounds = 8, 300
	s := openStore(t, feox.Options{})
	k := []byte("k")
	mustInsert(t, s, "k", "r0")
	for round := range rounds {
		expected := []byte(fmt.Sprintf("r%d", round))
		var wins atomic.Int32
		winner := make([]string, 1)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				mine := []byte(fmt.Sprintf("r%d", round+1))
				if w > 0 {
					mine = append(mine, fmt.Sprintf("/%d", w)...)
				}
				<-start
				ok, err := s.CompareAndSwap(k, expected, mine)
				if err != nil {
					t.Errorf("CompareAndSwap: %v", err)
				}
				if ok {
					wins.Add(1)
					winner[0] = string(mine)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d CompareAndSwap calls won, want exactly 1", round, n)
		}
		wantValue(t, s, "k", winner[0])
		// Reset to the next round's expected value.
		mustInsert(t, s, "k", fmt.Sprintf("r%d", round+1))
	}
}

// TestStore_InsertIfAbsent_Race ensures that of goroutines racing InsertIfAbsent on an absent
// key exactly one succeeds, and its value is the one stored.
func TestStore_InsertIfAbsent_Race(t *testing.T) {
	const workers, rounds = 8, 300
	s := openStore(t, feox.Options{})
	for round := range rounds {
		k := []byte(fmt.Sprintf("k%d", round))
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				v := []byte(fmt.Sprintf("w%d", w))
				<-start
				ok, err := s.InsertIfAbsent(k, v)
				if err != nil {
					t.Errorf("InsertIfAbsent: %v", err)
				}
				if ok {
					wins.Add(1)
					winner.Store(string(v))
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d InsertIfAbsent calls succeeded, want exactly 1", round, n)
		}
		wantValue(t, s, string(k), winner.Load().(string))
	}
	if st := s.Stats(); st.Inserts != rounds || s.Len() != rounds {
		t.Errorf("Inserts = %d, Len = %d; want %d each", st.Inserts, s.Len(), rounds)
	}
}

// TestStore_JSONPatch_Concurrent ensures that concurrent patches of one document all apply:
// each of 4 goroutines appends 100 numbers to an array, and every number ends up in it once.
func TestStore_JSONPatch_Concurrent(t *testing.T) {
	const workers, each = 4, 100
	s := openStore(t, feox.Options{})
	mustInsert(t, s, "doc", `[]`)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p := fmt.Sprintf(`[{"op":"add","path":"/-","value":%d}]`, w*each+i)
				if err := s.JSONPatch([]byte("doc"), []byte(p)); err != nil {
					t.Errorf("JSONPatch: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	v, err := s.Get([]byte("doc"))
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	if err := json.Unmarshal(v, &nums); err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]bool)
	for _, n := range nums {
		seen[n] = true
	}
	if len(nums) != workers*each || len(seen) != workers*each {
		t.Errorf("array has %d elements (%d distinct), want %d", len(nums), len(seen), workers*each)
	}
}

// TestStore_MixedWrites_Concurrent races every kind of write on a few keys and then checks
// that the store's bookkeeping is consistent: Len, Stats.Keys, MemoryUsage and the keys that
// Scan and Get see all agree.
func TestStore_MixedWrites_Concurrent(t *testing.T) {
	s := openStore(t, feox.Options{})
	keys := [][]byte{[]byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd")}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				k := keys[(i+w)%len(keys)]
				switch (i * (w + 1)) % 9 {
				case 0:
					s.Insert(k, []byte("12345678"))
				case 1:
					s.Delete(k)
				case 2:
					s.Increment(k, 1)
				case 3:
					s.CompareAndSwap(k, []byte("12345678"), []byte("x"))
				case 4:
					s.InsertIfAbsent(k, []byte("yy"))
				case 5:
					s.InsertWithTimestamp(k, []byte("zzz"), uint64(i+1))
				case 6:
					s.DeleteWithTimestamp(k, 0)
				case 7:
					s.JSONPatch(k, []byte(`[{"op":"replace","path":"","value":[1]}]`))
				case 8:
					s.Get(k)
				}
			}
		})
	}
	wg.Wait()
	var live int
	var mem int64
	for _, k := range keys {
		if v, err := s.Get(k); err == nil {
			live++
			mem += feox.Charge(len(k), len(v))
		}
	}
	if n := len(allKeys(s)); n != live || s.Len() != live || s.Stats().Keys != int64(live) {
		t.Errorf("Get sees %d keys, Scan %d, Len %d, Stats.Keys %d", live, n, s.Len(), s.Stats().Keys)
	}
	if got := s.MemoryUsage(); got != mem {
		t.Errorf("MemoryUsage = %d, want %d for the keys present", got, mem)
	}
}
