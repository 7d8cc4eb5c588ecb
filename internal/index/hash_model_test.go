package index

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// hval is a test value: it names the key it was stored for, so a reader can tell a value of
// another key, and a version to tell values apart.
type hval struct {
	key string
	ver int
}

// checkHash verifies the invariants of a quiescent index: slot states agree with slot
// pointers, every cell is reachable from its home bucket, no key is held twice, the stripes'
// counts add up to the cells held, and the used slots and budgets add up to the capacity (so
// at least one slot stays empty).
func checkHash[V any](m *Hash[V]) error {
	t := m.table.Load()
	if n := len(t.buckets); n&(n-1) != 0 || t.mask != n-1 {
		return fmt.Errorf("%d buckets, mask %#x", n, t.mask)
	}
	seen := map[string]bool{}
	empty := 0
	for i := range t.buckets {
		b := &t.buckets[i]
		meta := b.meta.Load()
		if meta>>56 != 0 {
			return fmt.Errorf("bucket %d: unused state byte set: %#x", i, meta)
		}
		for s := range b.slots {
			state, c := meta>>(8*s)&0xff, b.slots[s].Load()
			switch {
			case state == slotEmpty || state == slotDeleted:
				if c != nil {
					return fmt.Errorf("bucket %d slot %d: state %#x holds %q", i, s, state, c.Key())
				}
				if state == slotEmpty {
					empty++
				}
				continue
			case c == nil:
				return fmt.Errorf("bucket %d slot %d: state %#x holds nothing", i, s, state)
			case state != fingerprint(c.hash):
				return fmt.Errorf("bucket %d slot %d: state %#x, cell's fingerprint %#x", i, s, state, fingerprint(c.hash))
			case c.hash != uint32(maphash.String(m.seed, c.Key())):
				return fmt.Errorf("bucket %d slot %d: %q has a wrong hash", i, s, c.Key())
			case seen[c.Key()]:
				return fmt.Errorf("bucket %d slot %d: %q held twice", i, s, c.Key())
			}
			seen[c.Key()] = true
			for j := int(c.hash) & t.mask; j != i; j = (j + 1) & t.mask {
				if zeroSlots(t.buckets[j].meta.Load()) != 0 {
					return fmt.Errorf("%q in bucket %d is past bucket %d, which has an empty slot", c.Key(), i, j)
				}
			}
		}
	}
	allow := int64(0)
	for i := range m.stripes {
		allow += m.stripes[i].allow
	}
	switch {
	case m.Len() != len(seen):
		return fmt.Errorf("Len %d, %d cells held", m.Len(), len(seen))
	case len(t.buckets)*bucketSlots-empty+int(t.budget.Load()+allow) != capacity(len(t.buckets)):
		// A table starts with its keys in used slots and the rest of its capacity in
		// budget; a share moves budget to a stripe's allowance, a claimed empty slot moves
		// allowance to the used slots, and nothing else changes the sum.
		return fmt.Errorf("%d used slots, a budget of %d and %d allowed do not add up to the capacity %d",
			len(t.buckets)*bucketSlots-empty, t.budget.Load(), allow, capacity(len(t.buckets)))
	}
	return nil
}

// collisionSeed is the hash seed of the indexes the model runs, set before their first
// insertion so that colliding keys need to be found only once.
var collisionSeed = maphash.MakeSeed()

// collidingKeys returns, for collisionSeed, keys that share their home bucket in any table of
// up to 64 buckets and share their fingerprint (the largest such group among a range of
// candidates), and pairs of keys whose stored 32-bit hashes are equal, so that only the key
// comparison tells them apart.
var collidingKeys = sync.OnceValues(func() (group []string, pairs []string) {
	const candidates = 300_000
	groups := map[uint32][]string{}
	full := make(map[uint32]string, candidates)
	for i := range candidates {
		k := fmt.Sprint("c", i)
		h := uint32(maphash.String(collisionSeed, k))
		g := h&63 | h>>25<<6
		groups[g] = append(groups[g], k)
		if other, ok := full[h]; ok {
			pairs = append(pairs, other, k)
		}
		full[h] = k
	}
	for _, g := range groups {
		if len(g) > len(group) {
			group = g
		}
	}
	return group, pairs
})

// modelKeys returns the keys a model run draws from: random short keys, the empty key, keys
// differing only in their last byte, keys at and past the longest inline key, and keys that
// collide in bucket, fingerprint or the whole stored hash.
func modelKeys(rng *rand.Rand) []string {
	keys := []string{"", "\x00", "k", "k\x00", "k\x01", "k\xff", "kk"}
	for i := range 150 {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		keys = append(keys, string(b)+fmt.Sprint(i))
	}
	for _, n := range []int{maxInlineKey - 1, maxInlineKey, maxInlineKey + 1, 600, 4000} {
		long := strings.Repeat("x", n-1)
		keys = append(keys, long+"a", long+"b")
	}
	group, pairs := collidingKeys()
	keys = append(keys, group[:min(len(group), 24)]...)
	return append(keys, pairs...)
}

// TestHash_Model ensures that random sequences of every kind of change and lookup, on tables
// that grow and are rebuilt many times, agree with a Go map, and that the table's invariants
// hold throughout.
func TestHash_Model(t *testing.T) {
	seeds, steps := 40, 6000
	if testing.Short() {
		seeds = 8
	}
	var grows, shrinks, rehashes int
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		presize := []int{0, 0, 1, 10, 40}[seed%5]
		m := NewHash[hval](presize)
		m.seed = collisionSeed
		keys := modelKeys(rng)
		model := map[string]*Cell[hval]{} // key -> the cell it must have
		values := map[string]*hval{}      // key -> the value its cell must hold
		fail := func(step int, format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d step %d: %s", seed, step, fmt.Sprintf(format, args...))
		}
		tab := m.table.Load()
		ver := 0
		for step := range steps {
			// Phases of mostly insertions and mostly removals make the table grow and
			// then fill with deleted slots.
			insertBias := []int{70, 30, 50, 90, 5, 25}[step/1000%6]
			j := rng.IntN(len(keys))
			// Fresh keys, taking the place of absent ones, keep using empty slots; in the
			// last phase, with few keys left, they fill the table with deleted slots, so it
			// is rebuilt smaller.
			if _, ok := model[keys[j]]; !ok && j >= 50 && rng.IntN(4) < []int{1, 1, 1, 1, 1, 3}[step/1000%6] {
				keys[j] = fmt.Sprint("f", step)
			}
			k := keys[j]
			ver++
			v := &hval{key: k, ver: ver}
			op := rng.IntN(100)
			switch {
			case op < 60: // a change
				var want *Cell[hval]
				kind := rng.IntN(100)
				called := false
				m.Compute(k, func(c *Cell[hval]) *Cell[hval] {
					if called {
						fail(step, "fn called twice")
					}
					called = true
					if c != model[k] {
						fail(step, "fn got cell %p for %q, want %p", c, k, model[k])
					}
					switch {
					case kind < insertBias && c == nil: // insert, sometimes with no value
						want = m.NewCell(k)
						if rng.IntN(8) != 0 {
							want.Store(v)
						}
					case kind < insertBias: // update in place or replace
						if rng.IntN(2) == 0 {
							c.Store(v)
							want = c
						} else {
							want = m.NewCell(k)
							want.Store(v)
						}
					case kind < insertBias+(100-insertBias)*3/4: // remove (a no-op when absent)
						want = nil
					default: // keep, present or not
						want = c
					}
					return want
				})
				if !called {
					fail(step, "fn not called")
				}
				if want == nil {
					delete(model, k)
					delete(values, k)
				} else {
					model[k] = want
					values[k] = want.Load()
				}
			case op < 75:
				if c := m.Cell(k); c != model[k] {
					fail(step, "Cell(%q) = %p, want %p", k, c, model[k])
				}
			case op < 90:
				if got := m.Load(k); got != values[k] {
					fail(step, "Load(%q) = %v, want %v", k, got, values[k])
				}
			case op < 95:
				if m.Len() != len(model) {
					fail(step, "Len = %d, want %d", m.Len(), len(model))
				}
			default:
				seen := map[*Cell[hval]]bool{}
				m.Range(func(c *Cell[hval]) bool {
					if seen[c] || model[c.Key()] != c {
						fail(step, "Range visited %q (%p) twice or unexpectedly", c.Key(), c)
					}
					seen[c] = true
					return true
				})
				if len(seen) != len(model) {
					fail(step, "Range visited %d cells, want %d", len(seen), len(model))
				}
			}
			if nt := m.table.Load(); nt != tab {
				switch {
				case len(nt.buckets) > len(tab.buckets):
					grows++
				case len(nt.buckets) < len(tab.buckets):
					shrinks++
				default:
					rehashes++
				}
				if len(nt.buckets) < m.minBuckets {
					fail(step, "table of %d buckets, presize asked for %d", len(nt.buckets), m.minBuckets)
				}
				tab = nt
			}
			if step%97 == 0 || step == steps-1 {
				if err := checkHash(m); err != nil {
					fail(step, "%v", err)
				}
				for _, k := range keys {
					if c := m.Cell(k); c != model[k] {
						fail(step, "Cell(%q) = %p, want %p", k, c, model[k])
					}
				}
			}
		}
	}
	group, pairs := collidingKeys()
	t.Logf("%d keys in a colliding group, %d pairs of equal hashes; grows %d, shrinks %d, same-size rebuilds %d",
		len(group), len(pairs)/2, grows, shrinks, rehashes)
	if grows == 0 || shrinks == 0 || rehashes == 0 {
		t.Errorf("the runs did not grow, shrink and rebuild at the same size: %d, %d, %d", grows, shrinks, rehashes)
	}
}

// TestHash_Compute_Cases ensures each outcome of fn on a small index: insert, keep, update in
// place, replace, remove, and a no-op on an absent key.
func TestHash_Compute_Cases(t *testing.T) {
	m := NewHash[hval](0)
	v1, v2, v3 := &hval{key: "a", ver: 1}, &hval{key: "a", ver: 2}, &hval{key: "a", ver: 3}
	var c1, c3 *Cell[hval]
	steps := []struct {
		name    string
		fn      func(c *Cell[hval]) *Cell[hval]
		wantLen int
		wantV   *hval
	}{
		{"remove absent", func(c *Cell[hval]) *Cell[hval] { return nil }, 0, nil},
		{"keep absent", func(c *Cell[hval]) *Cell[hval] { return c }, 0, nil},
		{"insert", func(c *Cell[hval]) *Cell[hval] { c1 = m.NewCell("a"); c1.Store(v1); return c1 }, 1, v1},
		{"keep", func(c *Cell[hval]) *Cell[hval] { return c }, 1, v1},
		{"update", func(c *Cell[hval]) *Cell[hval] { c.Store(v2); return c }, 1, v2},
		{"replace", func(c *Cell[hval]) *Cell[hval] { c3 = m.NewCell("a"); c3.Store(v3); return c3 }, 1, v3},
		{"remove", func(c *Cell[hval]) *Cell[hval] { return nil }, 0, nil},
	}
	for _, s := range steps {
		m.Compute("a", s.fn)
		if m.Len() != s.wantLen || m.Load("a") != s.wantV {
			t.Fatalf("%s: Len %d, Load %v; want %d, %v", s.name, m.Len(), m.Load("a"), s.wantLen, s.wantV)
		}
		if err := checkHash(m); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if c1 == c3 || c1.Load() != v2 {
		t.Errorf("the replaced cell changed: %v", c1.Load())
	}
}

// TestHash_Compute_OtherKeyPanics ensures that inserting a cell made for another key panics
// and leaves the index and its lock usable.
func TestHash_Compute_OtherKeyPanics(t *testing.T) {
	m := NewHash[hval](0)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		m.Compute("a", func(*Cell[hval]) *Cell[hval] { return m.NewCell("b") })
	}()
	m.Compute("a", func(*Cell[hval]) *Cell[hval] { return m.NewCell("a") })
	if m.Len() != 1 || m.Cell("a") == nil || m.Cell("b") != nil {
		t.Errorf("Len %d, a %p, b %p", m.Len(), m.Cell("a"), m.Cell("b"))
	}
}

// TestHash_Presize ensures that presize keys fit without a resize.
func TestHash_Presize(t *testing.T) {
	for _, n := range []int{0, 1, 5, 6, 100, 1000, 50_000} {
		m := NewHash[hval](n)
		tab := m.table.Load()
		for i := range n {
			k := fmt.Sprint(i)
			m.Compute(k, func(*Cell[hval]) *Cell[hval] { return m.NewCell(k) })
		}
		if m.table.Load() != tab || m.Len() != n {
			t.Errorf("presize %d: resized from %d buckets to %d, Len %d", n, len(tab.buckets), len(m.table.Load().buckets), m.Len())
		}
		if err := checkHash(m); err != nil {
			t.Errorf("presize %d: %v", n, err)
		}
	}
}

// TestHash_NoAllocs ensures that lookups and Compute itself allocate nothing.
func TestHash_NoAllocs(t *testing.T) {
	m := NewHash[hval](0)
	keys := make([]string, 1000)
	v := &hval{}
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
		m.Compute(keys[i], func(*Cell[hval]) *Cell[hval] { c := m.NewCell(keys[i]); c.Store(v); return c })
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		i++
		k := keys[i%len(keys)]
		if m.Load(k) != v || m.Cell(k) == nil || m.Load("absent") != nil {
			t.Fatal("lookup failed")
		}
		m.Compute(k, func(c *Cell[hval]) *Cell[hval] { c.Store(v); return c })
		m.Compute("absent", func(c *Cell[hval]) *Cell[hval] { return c })
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
