package feox_test

import (
	"bytes"
	"encoding/binary"
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

// openFile opens a persistent store at path with opts and closes it when the test ends.
func openFile(tb testing.TB, path string, opts feox.Options) *feox.Store {
	tb.Helper()
	opts.Path = path
	s, err := openIO(opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// cacheValue is the value version ver of key i: it names both, so that a foreign or stale value
// is recognisable, and is padded to n bytes.
func cacheValue(i, ver, n int) []byte {
	v := make([]byte, n)
	copy(v, fmt.Sprintf("key%06d-ver%06d-", i, ver))
	for j := 24; j < n; j++ {
		v[j] = byte(i*31 + ver*7 + j)
	}
	return v
}

func cacheKey(i int) []byte { return []byte(fmt.Sprintf("key%06d", i)) }

// TestCache_LargerThanMemory stores ten times MaxMemory and reads every value back correctly,
// in random order from several goroutines, before and after a reopen; the cache stays near its
// budget and serves part of the reads from disk.
func TestCache_LargerThanMemory(t *testing.T) {
	const keys, size = 2000, 4000
	const budget = keys * size / 10
	path := filepath.Join(t.TempDir(), "big.feox")
	opts := feox.Options{MaxMemory: budget}
	check := func(s *feox.Store) {
		t.Helper()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 9))
				for _, i := range r.Perm(keys) {
					got, err := s.Get(cacheKey(i))
					if err != nil {
						t.Errorf("Get(%d): %v", i, err)
						return
					}
					if want := cacheValue(i, 1, size); !bytes.Equal(got, want) {
						t.Errorf("Get(%d) = %.24q..., want %.24q...", i, got, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		st := s.Stats()
		if st.CacheMisses == 0 || st.CacheEvictions == 0 || st.BytesRead == 0 {
			t.Errorf("a dataset 10x the cache was read without disk reads or evictions: %+v", st)
		}
		// Readers overshoot the budget between rounds of the hand; it comes back under it.
		eventually(t, waitBound, "CacheBytes back within MaxMemory", func() bool {
			return s.Stats().CacheBytes <= budget
		})
	}
	s := openFile(t, path, opts)
	for i := range keys {
		if _, err := s.Insert(cacheKey(i), cacheValue(i, 1, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openFile(t, path, opts))
}

// TestCache_Disabled checks that with DisableCache no value stays in memory once durable, every
// read goes to disk, and every operation that reads a value works on values read back.
func TestCache_Disabled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nocache.feox")
	s := openFile(t, path, feox.Options{DisableCache: true})
	counter := make([]byte, 8)
	binary.LittleEndian.PutUint64(counter, 5)
	for k, v := range map[string][]byte{"a": []byte("alpha"), "b": []byte("beta"), "c": counter,
		"d": []byte(`{"x":1}`), "e": []byte("echo"), "f": []byte("fox")} {
		if _, err := s.InsertWithTTL([]byte(k), v, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	flush := func() {
		t.Helper()
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			if s.Resident([]byte(k)) {
				t.Fatalf("%q still resident after Flush with DisableCache", k)
			}
		}
		if cb := s.Stats().CacheBytes; cb != 0 {
			t.Fatalf("CacheBytes = %d with DisableCache", cb)
		}
	}
	flush()
	misses := s.Stats().CacheMisses
	if v, err := s.Get([]byte("a")); err != nil || string(v) != "alpha" {
		t.Fatalf("Get(a) = %q, %v", v, err)
	}
	if got := s.Stats().CacheMisses; got != misses+1 {
		t.Fatalf("CacheMisses went from %d to %d on one Get, want one disk read", misses, got)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"View", func() error {
			return s.View([]byte("b"), func(v []byte) error {
				if string(v) != "beta" {
					return fmt.Errorf("View saw %q", v)
				}
				return nil
			})
		}},
		{"Size", func() error {
			if n, err := s.Size([]byte("e")); err != nil || n != 4 {
				return fmt.Errorf("Size = %d, %v", n, err)
			}
			return nil
		}},
		{"CompareAndSwap", func() error {
			if ok, err := s.CompareAndSwap([]byte("b"), []byte("wrong"), []byte("x")); ok || err != nil {
				return fmt.Errorf("CAS with a wrong expected value: %v, %v", ok, err)
			}
			if ok, err := s.CompareAndSwap([]byte("b"), []byte("beta"), []byte("bravo")); !ok || err != nil {
				return fmt.Errorf("CAS: %v, %v", ok, err)
			}
			return nil
		}},
		{"Increment", func() error {
			if n, err := s.Increment([]byte("c"), 3); err != nil || n != 8 {
				return fmt.Errorf("Increment = %d, %v", n, err)
			}
			return nil
		}},
		{"JSONPatch", func() error {
			return s.JSONPatch([]byte("d"), []byte(`[{"op":"replace","path":"/x","value":2}]`))
		}},
		{"UpdateTTL", func() error { return s.UpdateTTL([]byte("e"), 2*time.Hour) }},
		{"Persist", func() error { return s.Persist([]byte("f")) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s on a value on disk: %v", st.name, err)
		}
		flush()
	}
	want := map[string]string{"a": "alpha", "b": "bravo", "c": string(binary.LittleEndian.AppendUint64(nil, 8)),
		"d": `{"x":2}`, "e": "echo", "f": "fox"}
	kvs, err := s.Range(nil, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != len(want) {
		t.Fatalf("Range returned %d keys, want %d", len(kvs), len(want))
	}
	for _, kv := range kvs {
		if want[string(kv.Key)] != string(kv.Value) {
			t.Errorf("Range: %q = %q, want %q", kv.Key, kv.Value, want[string(kv.Key)])
		}
	}
	n := 0
	for k, v := range s.Scan(nil, nil) {
		n++
		if want[string(k)] != string(v) {
			t.Errorf("Scan: %q = %q, want %q", k, v, want[string(k)])
		}
	}
	if n != len(want) {
		t.Errorf("Scan yielded %d keys, want %d", n, len(want))
	}
	if ttl, err := s.TTL([]byte("f")); err != nil || ttl != feox.NoExpiry {
		t.Errorf("TTL(f) after Persist = %v, %v", ttl, err)
	}
	if ttl, err := s.TTL([]byte("e")); err != nil || ttl <= time.Hour {
		t.Errorf("TTL(e) after UpdateTTL = %v, %v", ttl, err)
	}
}

// TestCache_RacingWriters runs updates and deletes against reads while a tiny cache evicts
// constantly and Flush makes versions durable: a read returns the key's own value at a version
// no older than one the same reader saw before, never a foreign or torn value.
func TestCache_RacingWriters(t *testing.T) {
	const keys, size = 200, 300
	path := filepath.Join(t.TempDir(), "race.feox")
	s := openFile(t, path, feox.Options{MaxMemory: keys*(16+128) + 8*size})
	for i := range keys {
		if _, err := s.Insert(cacheKey(i), cacheValue(i, 0, size)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 { // writers own the keys i%2 == w, so versions of a key only grow
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			ver := make([]int, keys)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := r.IntN(keys/2)*2 + w
				if r.IntN(8) == 0 {
					if err := s.Delete(cacheKey(i)); err != nil && !errors.Is(err, feox.ErrNotFound) {
						t.Error(err)
						return
					}
					continue
				}
				ver[i]++
				if _, err := s.Insert(cacheKey(i), cacheValue(i, ver[i], size)); err != nil {
					t.Error(err)
					return
				}
				if n%50 == 0 {
					if err := s.Flush(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			seen := make([]int, keys)
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := r.IntN(keys)
				v, err := s.Get(cacheKey(i))
				if errors.Is(err, feox.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Errorf("Get(%d): %v", i, err)
					return
				}
				var ki, kv int
				if _, err := fmt.Sscanf(string(v[:24]), "key%06d-ver%06d-", &ki, &kv); err != nil || ki != i ||
					!bytes.Equal(v, cacheValue(i, kv, size)) {
					t.Errorf("Get(%d) returned a foreign or torn value %.24q", i, v)
					return
				}
				if kv < seen[i] {
					t.Errorf("Get(%d) went back from version %d to %d", i, seen[i], kv)
					return
				}
				seen[i] = kv
			}
		}()
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if st := s.Stats(); st.CacheEvictions == 0 || st.CacheMisses == 0 {
		t.Errorf("the race ran without evictions or disk reads: evictions %d, misses %d", st.CacheEvictions, st.CacheMisses)
	}
}

// TestCache_CorruptOnDisk flips a byte of an evicted value's record while the store is open:
// Get must fail with ErrCorrupted, never return the damaged bytes.
func TestCache_CorruptOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.feox")
	s := openFile(t, path, feox.Options{DisableCache: true})
	key := []byte("victim")
	if _, err := s.Insert(key, bytes.Repeat([]byte("v"), 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	off := s.DiskOffset(key)
	if off < 0 {
		t.Fatal("no disk offset for a flushed key")
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{'w'}, off+100); err != nil { // inside the value
		t.Fatal(err)
	}
	if v, err := s.Get(key); !errors.Is(err, feox.ErrCorrupted) {
		t.Fatalf("Get of a damaged value = %q, %v; want ErrCorrupted", v, err)
	}
}

// TestCache_RangeOnDisk runs Range over values that all live on disk (read on the store's pool
// of disk readers) while another goroutine deletes half of the keys: every result is ascending,
// holds each key's own value, and is full (limit entries) since enough keys always remain.
func TestCache_RangeOnDisk(t *testing.T) {
	const keys, size, limit = 600, 200, 100
	path := filepath.Join(t.TempDir(), "range.feox")
	s := openFile(t, path, feox.Options{DisableCache: true})
	for i := range keys {
		if _, err := s.Insert(cacheKey(i), cacheValue(i, 1, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < keys; i += 2 {
			if err := s.Delete(cacheKey(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for round := 0; ; round++ {
		kvs, err := s.Range(nil, nil, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) != limit {
			t.Fatalf("round %d: Range returned %d entries, want %d", round, len(kvs), limit)
		}
		for j, kv := range kvs {
			var i int
			if _, err := fmt.Sscanf(string(kv.Key), "key%06d", &i); err != nil || !bytes.Equal(kv.Value, cacheValue(i, 1, size)) {
				t.Fatalf("round %d: %q holds a foreign value %.24q", round, kv.Key, kv.Value)
			}
			if j > 0 && bytes.Compare(kvs[j-1].Key, kv.Key) >= 0 {
				t.Fatalf("round %d: %q after %q", round, kv.Key, kvs[j-1].Key)
			}
		}
		select {
		case <-done:
			if st := s.Stats(); st.CacheMisses < limit {
				t.Errorf("Range over values on disk made %d disk reads", st.CacheMisses)
			}
			return
		default:
		}
	}
}

// TestCache_MemoryAccounting checks that MemoryUsage follows values in and out of memory in
// persistent mode: it drops when values are evicted, rises when they are read back, and
// returns to zero when every key is deleted, with nothing left in the cache.
func TestCache_MemoryAccounting(t *testing.T) {
	const keys, size = 300, 1000
	path := filepath.Join(t.TempDir(), "mem.feox")
	s := openFile(t, path, feox.Options{})
	for i := range keys {
		if _, err := s.Insert(cacheKey(i), cacheValue(i, 1, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	full := s.MemoryUsage()
	if full < keys*size {
		t.Fatalf("MemoryUsage = %d with %d values of %d bytes in memory", full, keys, size)
	}
	if st, want := s.Stats(), keys*feox.CacheCharge(size); st.CacheBytes != want {
		t.Fatalf("CacheBytes = %d, want %d", st.CacheBytes, want)
	}
	for i := range keys / 2 {
		if err := s.Delete(cacheKey(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "deleted values leave the cache", func() bool {
		return s.Stats().CacheBytes == (keys-keys/2)*feox.CacheCharge(size)
	})
	for i := keys / 2; i < keys; i++ {
		if err := s.Delete(cacheKey(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitBound, "MemoryUsage and CacheBytes back to 0 once every key is deleted", func() bool {
		st := s.Stats()
		return s.MemoryUsage() == 0 && st.CacheBytes == 0 && s.Len() == 0
	})
	// Reopen with DisableCache: only keys are charged, and reading a value does not keep it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openFile(t, path, feox.Options{DisableCache: true})
	if _, err := s.Insert([]byte("k"), make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	before := s.MemoryUsage()
	if before >= size {
		t.Fatalf("MemoryUsage = %d with DisableCache after Flush: the value is still charged", before)
	}
	if _, err := s.Get([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if after := s.MemoryUsage(); after != before {
		t.Fatalf("MemoryUsage went from %d to %d on a Get with DisableCache", before, after)
	}
}
