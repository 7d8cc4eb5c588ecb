package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// trickyKeys are keys whose bytes.Compare order trips up an ordering built on an 8-byte
// big-endian prefix: 0x00 and 0xFF bytes, keys that are prefixes of each other, keys shorter
// and longer than eight bytes that share their first bytes, and keys whose zero-padded
// prefixes are equal.
var trickyKeys = []string{
	"\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01",
	"a", "a\x00", "a\x00\x00", "a\x00\xff", "a\x01", "a\xff", "ab", "abc",
	"abcdefg", "abcdefg\x00", "abcdefg\xff",
	"abcdefgh", "abcdefgh\x00", "abcdefgh\x00\x00", "abcdefgh\x01", "abcdefgha", "abcdefghi",
	"abcdefgi", "b", "z\xff\xff\xff\xff\xff\xff\xff\xff",
	"\x7f", "\x80", "\xfe", "\xff", "\xff\x00", "\xff\xff",
	"\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff",
	"\xff\xff\xff\xff\xff\xff\xff\xff\x00", "\xff\xff\xff\xff\xff\xff\xff\xff\x01",
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
}

// keySet is an Ordered whose methods take and return keys instead of cells, which keeps the
// tests about the order of keys readable.
type keySet struct{ *Ordered[struct{}] }

func newKeySet() keySet { return keySet{NewOrdered[struct{}]()} }

// testCell returns a new cell holding key.
func testCell(key string) *Cell[struct{}] { return newCell[struct{}](key, 0) }

func testCells(keys []string) []*Cell[struct{}] {
	cells := make([]*Cell[struct{}], len(keys))
	for i, k := range keys {
		cells[i] = testCell(k)
	}
	return cells
}

func (o keySet) Insert(key string) bool        { return o.Ordered.Insert(testCell(key)) }
func (o keySet) InsertLater(key string)        { o.Ordered.InsertLater(testCell(key)) }
func (o keySet) DeleteLater(key string)        { o.Ordered.DeleteLater(testCell(key)) }
func (o keySet) InsertMany(keys []string)      { o.Ordered.InsertMany(testCells(keys)) }
func (o keySet) InsertManyLater(keys []string) { o.Ordered.InsertManyLater(testCells(keys)) }

// Collect is Ordered.Collect with the cells' keys appended to dst.
func (o keySet) Collect(dst []string, from string, after bool, to string, toOpen bool, max int) []string {
	for _, c := range o.Ordered.Collect(nil, from, after, to, toOpen, max) {
		dst = append(dst, c.Key())
	}
	return dst
}

// sorted returns keys in ascending bytes.Compare order (Go's string order is the same).
func sorted(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// collectAll returns every key of o, in the index's order.
func collectAll(o keySet) []string {
	return o.Collect(nil, "", false, "", true, o.Len()+1)
}

// collectModel is what Collect must return for a set whose keys are model, sorted.
func collectModel(model []string, from string, after bool, to string, toOpen bool, max int) []string {
	var out []string
	for _, k := range model {
		if len(out) >= max {
			break
		}
		if k < from || after && k == from {
			continue
		}
		if !toOpen && k > to {
			break
		}
		out = append(out, k)
	}
	return out
}

// quoted renders keys with %q so that control bytes are visible in failure messages.
func quoted(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q", k)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestPrefix ensures the cached prefix is the first eight key bytes, big-endian, zero-padded.
func TestPrefix(t *testing.T) {
	tests := []struct {
		key  string
		want uint64
	}{
		{"", 0},
		{"\x00", 0},
		{"a", 0x6100000000000000},
		{"a\x00", 0x6100000000000000},
		{"ab", 0x6162000000000000},
		{"abcdefgh", 0x6162636465666768},
		{"abcdefghi", 0x6162636465666768},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\x01", 0xffffffffffffffff},
		{"\x01\x02\x03\x04\x05\x06\x07\x08", 0x0102030405060708},
	}
	for _, tt := range tests {
		if got := prefix(tt.key); got != tt.want {
			t.Errorf("prefix(%q) = %#016x, want %#016x", tt.key, got, tt.want)
		}
	}
}

// TestOrdered_InsertDeleteHas ensures Insert and Delete report whether they changed the set,
// and Has and Len follow them, for keys that differ only past their eighth byte or by
// trailing zero bytes.
func TestOrdered_InsertDeleteHas(t *testing.T) {
	type op struct {
		do   string // "ins", "del" or "has"
		key  string
		want bool
		len  int // Len after the operation
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty", []op{
			{"has", "a", false, 0},
			{"del", "a", false, 0},
			{"has", "", false, 0},
		}},
		{"insert twice", []op{
			{"ins", "a", true, 1},
			{"ins", "a", false, 1},
			{"has", "a", true, 1},
			{"del", "a", true, 0},
			{"del", "a", false, 0},
			{"has", "a", false, 0},
			{"ins", "a", true, 1},
		}},
		{"trailing zero bytes are distinct keys", []op{
			{"ins", "a", true, 1},
			{"ins", "a\x00", true, 2},
			{"ins", "a\x00\x00", true, 3},
			{"has", "a\x00\x00\x00", false, 3},
			{"del", "a\x00", true, 2},
			{"has", "a", true, 2},
			{"has", "a\x00", false, 2},
			{"has", "a\x00\x00", true, 2},
		}},
		{"same eight-byte prefix", []op{
			{"ins", "abcdefgh", true, 1},
			{"ins", "abcdefgh\x00", true, 2},
			{"ins", "abcdefghi", true, 3},
			{"has", "abcdefgh\x01", false, 3},
			{"del", "abcdefghi", true, 2},
			{"has", "abcdefgh", true, 2},
			{"has", "abcdefgh\x00", true, 2},
			{"has", "abcdefghi", false, 2},
		}},
		{"all-0xff prefix", []op{
			{"ins", "\xff\xff\xff\xff\xff\xff\xff\xff", true, 1},
			{"ins", "\xff\xff\xff\xff\xff\xff\xff\xff\x01", true, 2},
			{"has", "\xff\xff\xff\xff\xff\xff\xff\xff\x00", false, 2},
			{"del", "\xff\xff\xff\xff\xff\xff\xff\xff", true, 1},
			{"has", "\xff\xff\xff\xff\xff\xff\xff\xff\x01", true, 1},
		}},
		{"empty key", []op{
			{"ins", "", true, 1},
			{"has", "", true, 1},
			{"has", "\x00", false, 1},
			{"del", "", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newKeySet()
			for i, op := range tt.ops {
				var got bool
				switch op.do {
				case "ins":
					got = o.Insert(op.key)
				case "del":
					got = o.Delete(op.key)
				case "has":
					got = o.Has(op.key)
				default:
					t.Fatalf("bad op %q", op.do)
				}
				if got != op.want {
					t.Errorf("op %d: %s(%q) = %v, want %v", i, op.do, op.key, got, op.want)
				}
				if n := o.Len(); n != op.len {
					t.Errorf("op %d: after %s(%q) Len() = %d, want %d", i, op.do, op.key, n, op.len)
				}
			}
		})
	}
}

// TestOrdered_Order ensures the index orders keys exactly as bytes.Compare does, whatever the
// order of insertion, including keys with 0x00 and 0xFF bytes and keys sharing prefixes.
func TestOrdered_Order(t *testing.T) {
	want := sorted(trickyKeys)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		keys := slices.Clone(trickyKeys)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		o := newKeySet()
		for _, k := range keys {
			if !o.Insert(k) {
				t.Fatalf("round %d: Insert(%q) = false for a new key", round, k)
			}
		}
		if got := collectAll(o); !slices.Equal(got, want) {
			t.Fatalf("round %d: keys in index order\n got  %s\n want %s", round, quoted(got), quoted(want))
		}
		for _, k := range keys {
			if !o.Has(k) {
				t.Errorf("round %d: Has(%q) = false", round, k)
			}
		}
	}
}

// TestOrdered_Collect ensures Collect honors its bounds and its limit: from inclusive (or
// exclusive with after), to inclusive (or open), an empty from starting at the first key,
// max <= 0 giving nothing, and dst being appended to.
func TestOrdered_Collect(t *testing.T) {
	o := newKeySet()
	for _, k := range trickyKeys {
		o.Insert(k)
	}
	all := sorted(trickyKeys)
	const many = 1000
	tests := []struct {
		name   string
		from   string
		after  bool
		to     string
		toOpen bool
		max    int
		want   []string
	}{
		{"everything", "", false, "", true, many, all},
		{"first two", "", false, "", true, 2, []string{"\x00", "\x00\x00"}},
		{"max one", "a", false, "", true, 1, []string{"a"}},
		{"max zero", "", false, "", true, 0, nil},
		{"max negative", "", false, "", true, -1, nil},
		{"empty from after skips nothing stored", "", true, "", true, 2, []string{"\x00", "\x00\x00"}},
		{"from inclusive", "a", false, "ab", false, many, []string{"a", "a\x00", "a\x00\x00", "a\x00\xff", "a\x01", "ab"}},
		{"from exclusive", "a", true, "ab", false, many, []string{"a\x00", "a\x00\x00", "a\x00\xff", "a\x01", "ab"}},
		{"0xff byte sorts after letters", "ab", true, "a\xff", false, many, []string{"abc", "abcdefg", "abcdefg\x00",
			"abcdefgh", "abcdefgh\x00", "abcdefgh\x00\x00", "abcdefgh\x01", "abcdefgha", "abcdefghi", "abcdefgi", "abcdefg\xff", "a\xff"}},
		{"to excludes longer key", "a", false, "a\x00", false, many, []string{"a", "a\x00"}},
		{"from absent, between keys", "a\x00\x01", false, "a\x01", false, many, []string{"a\x00\xff", "a\x01"}},
		{"from absent with after", "a\x00\x01", true, "a\x01", false, many, []string{"a\x00\xff", "a\x01"}},
		{"to absent, between keys", "abcdefg", false, "abcdefgh\x00\x01", false, many,
			[]string{"abcdefg", "abcdefg\x00", "abcdefgh", "abcdefgh\x00", "abcdefgh\x00\x00"}},
		{"eight-byte prefix shared", "abcdefgh", true, "abcdefghi", false, many,
			[]string{"abcdefgh\x00", "abcdefgh\x00\x00", "abcdefgh\x01", "abcdefgha", "abcdefghi"}},
		{"single key range", "abcdefgh\x01", false, "abcdefgh\x01", false, many, []string{"abcdefgh\x01"}},
		{"single key range after", "abcdefgh\x01", true, "abcdefgh\x01", false, many, nil},
		{"from above to", "b", false, "a", false, many, nil},
		{"closed empty to", "", false, "", false, many, nil},
		{"to below first key", "", false, "\x00", false, many, []string{"\x00"}},
		{"0xff tail open", "\xff\xff\xff\xff\xff\xff\xff\xff", false, "", true, many, []string{
			"\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\x00",
			"\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\xff\xff\xff\xff\xff\xff\xff\xff\xff"}},
		{"0xff tail after", "\xff\xff\xff\xff\xff\xff\xff\xff\x00", true, "", true, many, []string{
			"\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\xff\xff\xff\xff\xff\xff\xff\xff\xff"}},
		{"0xff closed to", "\xff\xff", true, "\xff\xff\xff\xff\xff\xff\xff\xff\x00", false, many, []string{
			"\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\x00"}},
		{"past the last key", "\xff\xff\xff\xff\xff\xff\xff\xff\xff", true, "", true, many, nil},
		{"past the last key closed", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", false, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", false, many, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if model := collectModel(all, tt.from, tt.after, tt.to, tt.toOpen, tt.max); !slices.Equal(model, tt.want) {
				t.Fatalf("test table disagrees with the model: want %s, model %s", quoted(tt.want), quoted(model))
			}
			got := o.Collect(nil, tt.from, tt.after, tt.to, tt.toOpen, tt.max)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Collect(from=%q, after=%v, to=%q, toOpen=%v, max=%d)\n got  %s\n want %s",
					tt.from, tt.after, tt.to, tt.toOpen, tt.max, quoted(got), quoted(tt.want))
			}
			dst := []string{"kept"}
			got = o.Collect(dst, tt.from, tt.after, tt.to, tt.toOpen, tt.max)
			if len(got) == 0 || got[0] != "kept" || !slices.Equal(got[1:], tt.want) {
				t.Errorf("Collect onto a non-empty dst = %s, want \"kept\" then %s", quoted(got), quoted(tt.want))
			}
		})
	}
}

// TestOrdered_Collect_Chunked ensures a range read in chunks of every size, each resuming after
// the last key of the previous one, yields the range exactly once in order.
func TestOrdered_Collect_Chunked(t *testing.T) {
	o := newKeySet()
	for _, k := range trickyKeys {
		o.Insert(k)
	}
	all := sorted(trickyKeys)
	for max := 1; max <= len(all)+1; max++ {
		got := scanChunks(o, "a", "\xff\xff", false, max)
		want := collectModel(all, "a", false, "\xff\xff", false, len(all))
		if !slices.Equal(got, want) {
			t.Errorf("chunks of %d: got %s\n want %s", max, quoted(got), quoted(want))
		}
	}
}

// scanChunks reads [from, to] (to open when toOpen) from o in chunks of max keys, as a scan
// does: each chunk resumes after the last key of the previous one, until a chunk comes back
// short.
func scanChunks(o keySet, from, to string, toOpen bool, max int) []string {
	var out []string
	chunk := make([]string, 0, max)
	after := false
	for {
		chunk = o.Collect(chunk[:0], from, after, to, toOpen, max)
		out = append(out, chunk...)
		if len(chunk) < max {
			return out
		}
		from, after = chunk[len(chunk)-1], true
	}
}

// randomKey returns a key of 0 to 11 bytes drawn from a small alphabet rich in 0x00 and 0xFF,
// so that random keys often share prefixes, differ only past byte eight, or only by trailing
// zeros.
func randomKey(rng *rand.Rand) string {
	const alphabet = "\x00\x00\x01a\x7f\x80\xfe\xff\xff"
	n := rng.IntN(12)
	if n > 3 && rng.IntN(2) == 0 {
		// Share a fixed eight-byte stem so that the prefix compare ties often.
		b := []byte("\xff\xff\xff\xff\xff\xff\xff\xff")
		if rng.IntN(2) == 0 {
			b = []byte("abcdefgh")
		}
		b = b[:min(n, 8)]
		for len(b) < n {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		return string(b)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// TestOrdered_Model ensures random sequences of Insert, Delete, Has and Collect agree with a
// sorted slice kept beside the index.
func TestOrdered_Model(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			o := newKeySet()
			var model []string // sorted, no duplicates
			for step := range 4000 {
				k := randomKey(rng)
				i, present := slices.BinarySearch(model, k)
				switch r := rng.IntN(10); {
				case r < 4:
					if got := o.Insert(k); got != !present {
						t.Fatalf("step %d: Insert(%q) = %v, want %v", step, k, got, !present)
					}
					if !present {
						model = slices.Insert(model, i, k)
					}
				case r < 6:
					if got := o.Delete(k); got != present {
						t.Fatalf("step %d: Delete(%q) = %v, want %v", step, k, got, present)
					}
					if present {
						model = slices.Delete(model, i, i+1)
					}
				case r < 7:
					if got := o.Has(k); got != present {
						t.Fatalf("step %d: Has(%q) = %v, want %v", step, k, got, present)
					}
				default:
					to, toOpen := randomKey(rng), rng.IntN(3) == 0
					after, max := rng.IntN(2) == 0, rng.IntN(20)-2
					got := o.Collect(nil, k, after, to, toOpen, max)
					want := collectModel(model, k, after, to, toOpen, max)
					if !slices.Equal(got, want) {
						t.Fatalf("step %d: Collect(from=%q, after=%v, to=%q, toOpen=%v, max=%d)\n got  %s\n want %s",
							step, k, after, to, toOpen, max, quoted(got), quoted(want))
					}
				}
				if o.Len() != len(model) {
					t.Fatalf("step %d: Len() = %d, want %d", step, o.Len(), len(model))
				}
			}
			if got := collectAll(o); !slices.Equal(got, model) {
				t.Fatalf("final keys differ from the model\n got  %s\n want %s", quoted(got), quoted(model))
			}
			if got := scanChunks(o, "", "", true, 3); !slices.Equal(got, model) {
				t.Fatalf("final chunked scan differs from the model\n got  %s\n want %s", quoted(got), quoted(model))
			}
		})
	}
}

// TestOrdered_ConcurrentScan ensures that while writers insert and delete their own keys, every
// chunked scan of the whole index returns strictly ascending keys and sees every key of a
// stable set (present for the whole scan) exactly once; afterwards each writer's keys are
// exactly what it left behind.
func TestOrdered_ConcurrentScan(t *testing.T) {
	const (
		writers  = 4
		scanners = 3
		scans    = 30 // per scanner
		stableN  = 600
		volatile = 200 // keys per writer
	)
	o := newKeySet()
	// Stable and volatile keys interleave in the key space, with shared prefixes, so that chunk
	// boundaries fall next to keys that come and go.
	stable := make([]string, 0, stableN)
	for i := range stableN {
		k := fmt.Sprintf("k%03d", i%300)
		if i >= 300 {
			k += "\x00s"
		}
		stable = append(stable, k)
		o.Insert(k)
	}
	slices.Sort(stable)
	volatileKey := func(w, i int) string {
		return fmt.Sprintf("k%03d\x00w%d", (i*7+w)%300, w) + strings.Repeat("\xff", i%3)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	finals := make([]map[string]bool, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			mine := make(map[string]bool)
			for n := 0; ; n++ {
				if n%64 == 0 {
					select {
					case <-done:
						finals[w] = mine
						return
					default:
					}
				}
				k := volatileKey(w, rng.IntN(volatile))
				if rng.IntN(2) == 0 {
					if o.Insert(k) == mine[k] {
						t.Errorf("writer %d: Insert(%q) disagrees with the writer's own record", w, k)
					}
					mine[k] = true
				} else {
					if o.Delete(k) != mine[k] {
						t.Errorf("writer %d: Delete(%q) disagrees with the writer's own record", w, k)
					}
					delete(mine, k)
				}
			}
		}()
	}

	var swg sync.WaitGroup
	for s := range scanners {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for n := range scans {
				max := 1 + (n+s)%7
				got := scanChunks(o, "", "", true, max)
				seen := 0
				for i, k := range got {
					if i > 0 && got[i-1] >= k {
						t.Errorf("scanner %d scan %d (max %d): %q follows %q", s, n, max, k, got[i-1])
						return
					}
					if seen < len(stable) && k == stable[seen] {
						seen++
					}
				}
				if seen != len(stable) {
					t.Errorf("scanner %d scan %d (max %d): stable key %q missing", s, n, max, stable[seen])
					return
				}
				if len(got) < len(stable) || len(got) > len(stable)+writers*volatile {
					t.Errorf("scanner %d scan %d: %d keys, want between %d and %d", s, n, len(got), len(stable), len(stable)+writers*volatile)
				}
			}
		}()
	}
	swg.Wait()
	close(done)
	wg.Wait()

	want := slices.Clone(stable)
	for _, m := range finals {
		for k := range m {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	if got := collectAll(o); !slices.Equal(got, want) {
		t.Errorf("after the writers stopped the index holds %d keys, want %d", len(got), len(want))
	}
	if o.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", o.Len(), len(want))
	}
}

// randomKeys returns n distinct random keys of size bytes.
func randomKeys(rng *rand.Rand, n, size int) []string {
	seen := make(map[string]struct{}, n)
	keys := make([]string, 0, n)
	b := make([]byte, size)
	for len(keys) < n {
		for i := 0; i < size; i += 8 {
			v := rng.Uint64()
			for j := i; j < min(i+8, size); j++ {
				b[j] = byte(v)
				v >>= 8
			}
		}
		if _, dup := seen[string(b)]; dup {
			continue
		}
		seen[string(b)] = struct{}{}
		keys = append(keys, string(b))
	}
	return keys
}

// benchIndex returns an index of n random 16-byte keys and the keys, in insertion order.
func benchIndex(n int) (keySet, []string) {
	keys := randomKeys(rand.New(rand.NewPCG(7, 7)), n, 16)
	o := newKeySet()
	for _, k := range keys {
		o.Insert(k)
	}
	return o, keys
}

// spareKeys returns n random 16-byte keys absent from o.
func spareKeys(o keySet, n int) []string {
	keys := randomKeys(rand.New(rand.NewPCG(8, 8)), n, 16)
	out := keys[:0]
	for _, k := range keys {
		if !o.Has(k) {
			out = append(out, k)
		}
	}
	return out
}

// BenchmarkOrdered_Insert measures inserting a new key into an index of 1M keys. Every batch of
// spare keys is deleted again, outside the timer, so the index size stays near 1M.
func BenchmarkOrdered_Insert(b *testing.B) {
	o, _ := benchIndex(1 << 20)
	spare := spareKeys(o, 1<<16)
	b.Run("keys=1M/keylen=16", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(spare) {
				b.StopTimer()
				for _, k := range spare {
					o.Delete(k)
				}
				i = 0
				b.StartTimer()
			}
			o.Insert(spare[i])
			i++
		}
		b.StopTimer()
		for _, k := range spare[:i] {
			o.Delete(k)
		}
	})
}

// BenchmarkOrdered_Delete measures deleting a present key from an index of 1M keys. Deleted keys
// are put back, outside the timer, whenever a batch runs out.
func BenchmarkOrdered_Delete(b *testing.B) {
	o, keys := benchIndex(1 << 20)
	batch := keys[:1<<16]
	b.Run("keys=1M/keylen=16", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(batch) {
				b.StopTimer()
				for _, k := range batch {
					o.Insert(k)
				}
				i = 0
				b.StartTimer()
			}
			o.Delete(batch[i])
			i++
		}
		b.StopTimer()
		for _, k := range batch[:i] {
			o.Insert(k)
		}
	})
}

// BenchmarkOrdered_Collect measures one chunk of a scan: a seek past a random key of an index of
// 1M keys (as a scan resumes) and the copy of the next 64 keys into a reused slice.
func BenchmarkOrdered_Collect(b *testing.B) {
	o, keys := benchIndex(1 << 20)
	for _, max := range []int{64} {
		b.Run(fmt.Sprintf("keys=1M/max=%d", max), func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]string, 0, max)
			i, total := 0, 0
			for b.Loop() {
				dst = o.Collect(dst[:0], keys[i%len(keys)], true, "", true, max)
				total += len(dst)
				i++
			}
			if total < i*(max-1) { // only a seek near the largest key returns a short chunk
				b.Fatalf("%d calls returned %d keys", i, total)
			}
		})
	}
}

// TestOrdered_SettleWithoutRun checks that Settle applies an over-long log itself when no Run
// goroutine is applying it, and leaves a short log alone.
func TestOrdered_SettleWithoutRun(t *testing.T) {
	o := newKeySet()
	for i := range 10 {
		o.InsertLater(fmt.Sprintf("k%03d", i))
	}
	o.Settle(11)
	if got := o.Pending(); got != 10 {
		t.Fatalf("Settle under the limit: Pending = %d, want 10", got)
	}
	o.Settle(10)
	if got := o.Pending(); got != 0 {
		t.Fatalf("Settle at the limit: Pending = %d, want 0", got)
	}
	if got := o.tree.Len(); got != 10 {
		t.Fatalf("tree holds %d keys after Settle, want 10", got)
	}
}

// TestOrdered_LogRun drives the log from many writers, each owning its keys and logging their
// changes in order, with Run applying in the background, Settle bounding the log and readers
// collecting concurrently; the final contents must match a model of each writer's keys, and
// every collected chunk must be strictly ascending.
func TestOrdered_LogRun(t *testing.T) {
	const writers, ops, keysPer, limit = 4, 3000, 200, 64
	o := newKeySet()
	stop := make(chan struct{})
	var runDone sync.WaitGroup
	runDone.Add(1)
	go func() { defer runDone.Done(); o.Run(stop) }()

	models := make([]map[string]bool, writers)
	var wg sync.WaitGroup
	for w := range writers {
		models[w] = map[string]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			m := models[w]
			for range ops {
				k := fmt.Sprintf("w%d-%04d", w, rng.IntN(keysPer))
				if m[k] {
					o.DeleteLater(k)
					delete(m, k)
				} else {
					o.InsertLater(k)
					m[k] = true
				}
				o.Settle(limit)
				if p := o.Pending(); p > limit+writers {
					t.Errorf("Pending = %d after Settle(%d)", p, limit)
					return
				}
			}
		}()
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			chunk := o.Collect(nil, "", false, "", true, 50)
			for i := 1; i < len(chunk); i++ {
				if chunk[i-1] >= chunk[i] {
					t.Errorf("chunk not ascending: %q then %q", chunk[i-1], chunk[i])
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	runDone.Wait()
	<-readDone

	var want []string
	for _, m := range models {
		for k := range m {
			want = append(want, k)
		}
	}
	want = sorted(want)
	if got := collectAll(o); !slices.Equal(got, want) {
		t.Fatalf("final keys differ from the model: got %d keys, want %d", len(got), len(want))
	}
}

// TestOrdered_InsertMany checks that InsertMany of shuffled keys, duplicates included, and
// on top of keys already present (some only logged), leaves the same set as one Insert each;
// with few keys, and with enough for the sort to run on two goroutines.
func TestOrdered_InsertMany(t *testing.T) {
	for _, n := range []int{2000, parallelSortMin + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testInsertMany(t, n) })
	}
}

func testInsertMany(t *testing.T, n int) {
	r := rand.New(rand.NewPCG(3, 4))
	keys := slices.Clone(trickyKeys)
	for i := range n {
		keys = append(keys, fmt.Sprintf("%08x-%d", r.Uint32()%1024, i)) // many shared prefixes
	}
	keys = append(keys, keys[:50]...) // duplicates
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })

	o := newKeySet()
	o.Insert(keys[0])
	o.InsertLater(keys[1])
	o.InsertMany(keys)
	want := newKeySet()
	for _, k := range keys {
		want.Insert(k)
	}
	got, exp := collectAll(o), collectAll(want)
	if !slices.Equal(got, exp) {
		t.Fatalf("InsertMany left %d keys %s..., want %d", len(got), quoted(got[:min(5, len(got))]), len(exp))
	}
	if !slices.Equal(exp, sorted(dedup(keys))) {
		t.Fatal("reference index is not the sorted set of keys")
	}
}

// dedup returns keys without repeats, in no particular order.
func dedup(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// TestOrdered_InsertManyLater checks that the keys of InsertManyLater come before every change
// logged after the call, whichever runs first, and that reads racing with the load see either
// nothing of it or all of it.
func TestOrdered_InsertManyLater(t *testing.T) {
	keys := make([]string, parallelSortMin+10)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%07d", (i*7919)%len(keys))
	}
	o := newKeySet()
	o.InsertLater("before") // logged before the call: applied first
	o.InsertManyLater(keys)
	o.DeleteLater(keys[0]) // logged after: must win over the load
	o.InsertLater("zz-after")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if n := o.Len(); n != len(keys)+1 {
				t.Errorf("Len during the load = %d, want %d", n, len(keys)+1)
			}
		})
	}
	wg.Wait()
	o.Wait()
	got := collectAll(o)
	want := append(sorted(append(slices.Clone(keys[1:]), "before")), "zz-after")
	if !slices.Equal(got, want) {
		t.Fatalf("got %d keys, want %d: %s...", len(got), len(want), quoted(got[:min(5, len(got))]))
	}
}
