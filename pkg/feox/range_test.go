package feox_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// awkwardKeys are keys whose bytes.Compare order trips up naive orderings: 0x00 and 0xFF
// bytes, prefixes of each other, and keys that share their first eight bytes.
var awkwardKeys = []string{
	"\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01",
	"a", "a\x00", "a\x00\x00", "a\x00\xff", "a\xff", "ab", "abc",
	"abcdefgh", "abcdefgh\x00", "abcdefgh\x01", "abcdefgha", "abcdefghi", "abcdefgi",
	"b", "z\xff\xff\xff\xff\xff\xff\xff\xff",
	"\x7f", "\x80", "\xfe", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff",
}

// sortedKeys returns keys in ascending bytes.Compare order.
func sortedKeys(keys []string) []string {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) })
	return out
}

// expectRange returns the keys of sorted in [start, end] (nil or empty = unbounded), at most
// limit of them.
func expectRange(sorted []string, start, end []byte, limit int) []string {
	var out []string
	for _, k := range sorted {
		if len(out) >= limit {
			break
		}
		if len(start) > 0 && bytes.Compare([]byte(k), start) < 0 {
			continue
		}
		if len(end) > 0 && bytes.Compare([]byte(k), end) > 0 {
			continue
		}
		out = append(out, k)
	}
	return out
}

// rangeKeys returns the keys of a Range result, checking that each value is "v:" + key.
func rangeKeys(tb testing.TB, kvs []feox.KV) []string {
	tb.Helper()
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		if string(kv.Value) != "v:"+string(kv.Key) {
			tb.Fatalf("Range returned key %q with value %q", kv.Key, kv.Value)
		}
		out = append(out, string(kv.Key))
	}
	return out
}

// scanKeys collects the keys of a Scan, checking each value as rangeKeys does.
func scanKeys(tb testing.TB, s *feox.Store, start, end []byte) []string {
	tb.Helper()
	var out []string
	for k, v := range s.Scan(start, end) {
		if string(v) != "v:"+string(k) {
			tb.Fatalf("Scan yielded key %q with value %q", k, v)
		}
		out = append(out, string(k))
	}
	return out
}

// fillKeys stores "v:" + key under every key.
func fillKeys(tb testing.TB, s *feox.Store, keys []string) {
	tb.Helper()
	for _, k := range keys {
		mustInsert(tb, s, k, "v:"+k)
	}
}

// TestStore_Range_Bounds ensures inclusive bounds, nil and empty bounds, limits and
// ascending bytes.Compare order, for Range and Scan alike.
func TestStore_Range_Bounds(t *testing.T) {
	s := openStore(t, feox.Options{})
	fillKeys(t, s, awkwardKeys)
	sorted := sortedKeys(awkwardKeys)
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name       string
		start, end []byte
		limit      int
	}{
		{"everything", nil, nil, 1000},
		{"empty bounds", b(""), b(""), 1000},
		{"empty start", b(""), b("abc"), 1000},
		{"empty end", b("abc"), b(""), 1000},
		{"nil start", nil, b("a\x00"), 1000},
		{"nil end", b("abcdefgh\x00"), nil, 1000},
		{"both bounds present keys", b("a"), b("abc"), 1000},
		{"both bounds absent keys", b("a\x00\x01"), b("abcd"), 1000},
		{"single present key", b("ab"), b("ab"), 1000},
		{"single absent key", b("aa"), b("aa"), 1000},
		{"zero bytes", b("\x00"), b("\x00\xff"), 1000},
		{"0xff bytes", b("\xff"), b("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), 1000},
		{"shared 8-byte prefix", b("abcdefgh"), b("abcdefgh\xff"), 1000},
		{"past the last key", b("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00"), nil, 1000},
		{"before the first key", nil, b("\x00"), 1000},
		{"limit 1", nil, nil, 1},
		{"limit 3 in a range", b("a"), nil, 3},
		{"limit exactly the count", nil, nil, len(awkwardKeys)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := expectRange(sorted, tt.start, tt.end, tt.limit)
			kvs, err := s.Range(tt.start, tt.end, tt.limit)
			if err != nil {
				t.Fatalf("Range: %v", err)
			}
			if got := rangeKeys(t, kvs); !slices.Equal(got, want) {
				t.Errorf("Range(%q, %q, %d) = %q, want %q", tt.start, tt.end, tt.limit, got, want)
			}
			if tt.limit >= len(awkwardKeys) {
				if got := scanKeys(t, s, tt.start, tt.end); !slices.Equal(got, want) {
					t.Errorf("Scan(%q, %q) = %q, want %q", tt.start, tt.end, got, want)
				}
			}
		})
	}
	if want := len(awkwardKeys); len(sorted) != want || s.Len() != want {
		t.Fatalf("Len = %d, want %d", s.Len(), want)
	}
}

// TestStore_Range_Random compares Range and Scan with a sorted model for random keys and
// bounds, across the chunks in which the store reads its ordered index.
func TestStore_Range_Random(t *testing.T) {
	seed := rand.Uint64()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	})
	r := rand.New(rand.NewPCG(seed, 1))
	alphabet := []byte{0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff}
	randKey := func() []byte {
		k := make([]byte, 1+r.IntN(12))
		for i := range k {
			k[i] = alphabet[r.IntN(len(alphabet))]
		}
		return k
	}
	s := openStore(t, feox.Options{})
	set := map[string]bool{}
	for range 1500 {
		k := randKey()
		set[string(k)] = true
		mustInsert(t, s, string(k), "v:"+string(k))
	}
	sorted := sortedKeys(slices.Collect(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	}))
	for i := range 300 {
		var start, end []byte
		if r.IntN(5) > 0 {
			start = randKey()
		}
		if r.IntN(5) > 0 {
			end = randKey()
		}
		if len(start) > 0 && len(end) > 0 && bytes.Compare(start, end) > 0 {
			start, end = end, start
		}
		limit := 1 + r.IntN(len(sorted)+10)
		want := expectRange(sorted, start, end, limit)
		kvs, err := s.Range(start, end, limit)
		if err != nil {
			t.Fatalf("query %d: Range: %v", i, err)
		}
		if got := rangeKeys(t, kvs); !slices.Equal(got, want) {
			t.Fatalf("query %d: Range(%q, %q, %d) returned %d keys, want %d", i, start, end, limit, len(got), len(want))
		}
		if i%10 == 0 {
			all := expectRange(sorted, start, end, len(sorted))
			if got := scanKeys(t, s, start, end); !slices.Equal(got, all) {
				t.Fatalf("query %d: Scan(%q, %q) yielded %d keys, want %d", i, start, end, len(got), len(all))
			}
		}
	}
}

// TestStore_Range_LimitAndErrors ensures that limit <= 0 gives none, that start > end is
// ErrInvalidRange for Range and yields nothing for Scan, and that Range counts as one range.
func TestStore_Range_LimitAndErrors(t *testing.T) {
	s := openStore(t, feox.Options{})
	fillKeys(t, s, []string{"a", "b", "c"})
	for _, limit := range []int{0, -1, -1 << 40} {
		kvs, err := s.Range(nil, nil, limit)
		if err != nil || len(kvs) != 0 {
			t.Errorf("Range(limit %d) = %q, %v; want none", limit, kvs, err)
		}
	}
	for _, bounds := range [][2]string{{"b", "a"}, {"a\x00", "a"}, {"\xff", "\x00"}} {
		if kvs, err := s.Range([]byte(bounds[0]), []byte(bounds[1]), 10); !errors.Is(err, feox.ErrInvalidRange) {
			t.Errorf("Range(%q, %q) = %q, %v; want ErrInvalidRange", bounds[0], bounds[1], kvs, err)
		}
		for k := range s.Scan([]byte(bounds[0]), []byte(bounds[1])) {
			t.Errorf("Scan(%q, %q) yielded %q", bounds[0], bounds[1], k)
		}
	}
	if kvs, err := s.Range([]byte("b"), []byte("b"), 10); err != nil || len(kvs) != 1 {
		t.Errorf("Range(b, b) = %q, %v; want [b]", kvs, err)
	}
}

// TestStore_Range_SkipsExpired ensures that Range and Scan skip expired keys that the sweep
// has not removed.
func TestStore_Range_SkipsExpired(t *testing.T) {
	s := openStore(t, noSweep())
	fillKeys(t, s, []string{"a", "c", "e"})
	for _, k := range []string{"b", "d", "f"} {
		mustInsertTTL(t, s, k, "v:"+k, shortTTL)
	}
	mustInsertTTL(t, s, "g", "v:g", time.Hour)
	for _, k := range []string{"b", "d", "f"} {
		waitExpired(t, s, k)
	}
	want := []string{"a", "c", "e", "g"}
	kvs, err := s.Range(nil, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := rangeKeys(t, kvs); !slices.Equal(got, want) {
		t.Errorf("Range = %q, want %q", got, want)
	}
	if got := scanKeys(t, s, nil, nil); !slices.Equal(got, want) {
		t.Errorf("Scan = %q, want %q", got, want)
	}
	if kvs, _ := s.Range(nil, nil, 2); len(kvs) != 2 || string(kvs[1].Key) != "c" {
		t.Errorf("Range(limit 2) = %q; expired keys must not use up the limit", kvs)
	}
}

// TestStore_Range_ReadYourWrites ensures that a key inserted is in the next Range and Scan, and
// a deleted one is not.
func TestStore_Range_ReadYourWrites(t *testing.T) {
	s := openStore(t, feox.Options{})
	for i := range 200 {
		k := fmt.Sprintf("k%03d", (i*7)%200)
		mustInsert(t, s, k, "v:"+k)
		kvs, err := s.Range([]byte(k), []byte(k), 1)
		if err != nil || len(kvs) != 1 {
			t.Fatalf("Range right after inserting %s = %q, %v", k, kvs, err)
		}
		if got := scanKeys(t, s, []byte(k), nil); len(got) == 0 || got[0] != k {
			t.Fatalf("Scan right after inserting %s starts with %q", k, got)
		}
		if i%3 == 0 {
			if err := s.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			if kvs, _ := s.Range([]byte(k), []byte(k), 1); len(kvs) != 0 {
				t.Fatalf("Range right after deleting %s = %q", k, kvs)
			}
		}
	}
}

// TestStore_Scan_WritesInLoop ensures that the body of a Scan loop may insert and delete
// (including the current key) without deadlock, and that keys unchanged during the scan are
// each yielded exactly once, in order.
func TestStore_Scan_WritesInLoop(t *testing.T) {
	s := openStore(t, feox.Options{})
	var stable []string
	for i := range 500 {
		k := fmt.Sprintf("k%04d", i)
		stable = append(stable, k)
		mustInsert(t, s, k, "v:"+k)
	}
	for i := range 500 {
		mustInsert(t, s, fmt.Sprintf("k%04d-doomed", i), "x")
	}
	var got []string
	for k, v := range s.Scan(nil, nil) {
		key := string(k)
		if strings.HasSuffix(key, "-doomed") {
			t.Fatalf("Scan yielded %q, deleted earlier in the loop", key)
		}
		if string(v) != "v:"+key {
			t.Fatalf("Scan yielded %q = %q", key, v)
		}
		got = append(got, key)
		// Delete the next key, update and re-read the current one, and create keys outside
		// the scanned keys' order positions (behind us and far ahead).
		if err := s.Delete([]byte(key + "-doomed")); err != nil {
			t.Fatalf("Delete inside Scan: %v", err)
		}
		mustInsert(t, s, key, "v:"+key)
		if _, err := s.Get(k); err != nil {
			t.Fatalf("Get inside Scan: %v", err)
		}
		mustInsert(t, s, "a-behind-"+key, "x")
		if kvs, err := s.Range(k, k, 1); err != nil || len(kvs) != 1 {
			t.Fatalf("Range inside Scan = %q, %v", kvs, err)
		}
	}
	if !slices.Equal(got, stable) {
		t.Errorf("Scan with writes in the loop yielded %d keys, want the %d stable keys in order", len(got), len(stable))
	}
	if s.Len() != 1000 {
		t.Errorf("Len = %d, want 1000", s.Len())
	}
}

// TestStore_Scan_Break ensures that breaking out of a Scan loop stops it cleanly, and that a
// delete of the current key from the loop body followed by a break is fine.
func TestStore_Scan_Break(t *testing.T) {
	s := openStore(t, feox.Options{})
	for i := range 300 {
		mustInsert(t, s, fmt.Sprintf("k%03d", i), "v")
	}
	n := 0
	for k := range s.Scan(nil, nil) {
		n++
		if n == 3 {
			if err := s.Delete(k); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if n != 3 {
		t.Errorf("loop ran %d times, want 3", n)
	}
	if s.Len() != 299 {
		t.Errorf("Len = %d, want 299", s.Len())
	}
	// The store is fully usable afterwards: a writer is not blocked by the abandoned scan.
	mustInsert(t, s, "k000", "w")
	if got := len(allKeys(s)); got != 299 {
		t.Errorf("second Scan saw %d keys, want 299", got)
	}
}

// allKeys collects every key of a full Scan, values unchecked.
func allKeys(s *feox.Store) []string {
	var out []string
	for k := range s.Scan(nil, nil) {
		out = append(out, string(k))
	}
	return out
}

// TestStore_Range_Concurrent runs scanners while writers update the values of stable keys and
// create and delete other keys between them. Every Range and Scan must contain each stable
// key exactly once, in strictly ascending order, with a value some writer stored.
func TestStore_Range_Concurrent(t *testing.T) {
	s := openStore(t, feox.Options{})
	const stableN = 300
	var stable []string
	for i := range stableN {
		k := fmt.Sprintf("s%04d", i)
		stable = append(stable, k)
		mustInsert(t, s, k, "v0")
	}
	stop := make(chan struct{})
	var writers sync.WaitGroup
	var writes atomic.Int64
	for w := range 2 {
		writers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sk := stable[r.IntN(stableN)]
				if _, err := s.Insert([]byte(sk), []byte(fmt.Sprintf("v%d", i))); err != nil {
					t.Errorf("Insert: %v", err)
					return
				}
				// Churn keys that sort between stable keys ("s0001" < "s0001-x" < "s0002").
				ck := []byte(fmt.Sprintf("%s-%d", stable[r.IntN(stableN)], w))
				if r.IntN(2) == 0 {
					s.Insert(ck, []byte("churn"))
				} else {
					s.Delete(ck)
				}
				writes.Add(1)
			}
		})
	}
	check := func(round int, keys []string, values []string) error {
		seen := 0
		for i, k := range keys {
			if i > 0 && bytes.Compare([]byte(keys[i-1]), []byte(k)) >= 0 {
				return fmt.Errorf("round %d: not strictly ascending: %q then %q", round, keys[i-1], k)
			}
			if strings.Contains(k, "-") {
				if values[i] != "churn" {
					return fmt.Errorf("round %d: churn key %q = %q", round, k, values[i])
				}
				continue
			}
			if seen >= stableN || k != stable[seen] {
				return fmt.Errorf("round %d: stable key %d is %q, want %q", round, seen, k, stable[min(seen, stableN-1)])
			}
			if !strings.HasPrefix(values[i], "v") {
				return fmt.Errorf("round %d: stable key %q = %q", round, k, values[i])
			}
			seen++
		}
		if seen != stableN {
			return fmt.Errorf("round %d: saw %d stable keys, want %d", round, seen, stableN)
		}
		return nil
	}
	var scanners sync.WaitGroup
	for sc := range 2 {
		scanners.Go(func() {
			// At least 40 rounds, and on until the writers have made enough changes.
			for round := 0; round < 40 || (writes.Load() < 6000 && round < 5000); round++ {
				var keys, values []string
				if (round+sc)%2 == 0 {
					for k, v := range s.Scan(nil, nil) {
						keys = append(keys, string(k))
						values = append(values, string(v))
					}
				} else {
					kvs, err := s.Range(nil, nil, 1<<20)
					if err != nil {
						t.Errorf("Range: %v", err)
						return
					}
					for _, kv := range kvs {
						keys = append(keys, string(kv.Key))
						values = append(values, string(kv.Value))
					}
				}
				if err := check(round, keys, values); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	scanners.Wait()
	close(stop)
	writers.Wait()
	if writes.Load() == 0 {
		t.Error("the writers made no progress while the scans ran")
	}
	t.Logf("%d writes during the scans", writes.Load())
}
