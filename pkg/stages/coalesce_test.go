package stages

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// put returns a Put of key at seq whose value length depends on seq, so that Bytes tells
// versions apart.
func put(key string, seq uint64, fresh bool) Entry {
	return Entry{Key: key, Value: []byte(strings.Repeat("v", int(seq))), Seq: seq, Kind: Put, Fresh: fresh}
}

// del returns a Delete of key at seq.
func del(key string, seq uint64) Entry { return Entry{Key: key, Seq: seq, Kind: Delete} }

// batchOf returns a batch holding entries, with Bytes counted as the batch stage does.
func batchOf(entries ...Entry) *Batch {
	b := &Batch{Entries: slices.Clone(entries)}
	for i := range entries {
		b.Bytes += entries[i].size()
	}
	return b
}

// show renders entries compactly for failure messages.
func show(entries []Entry) string {
	var sb strings.Builder
	for i, e := range entries {
		if i > 0 {
			sb.WriteByte(' ')
		}
		kind := "put"
		if e.Kind == Delete {
			kind = "del"
		}
		fmt.Fprintf(&sb, "%s:%s%d", e.Key, kind, e.Seq)
		if e.Fresh {
			sb.WriteByte('*')
		}
	}
	return "[" + sb.String() + "]"
}

// sameEntries reports whether a and b hold the same entries in the same order.
func sameEntries(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(x, y Entry) bool {
		return x.Key == y.Key && x.Seq == y.Seq && x.Kind == y.Kind && x.Fresh == y.Fresh &&
			string(x.Value) == string(y.Value)
	})
}

// checkCoalesce runs coalesce on a batch of in and checks the surviving entries, the count
// of dropped ones, the recomputed Bytes and that the dropped tail no longer holds entries.
func checkCoalesce(t *testing.T, newest, oldest map[string]int, in, want []Entry) {
	t.Helper()
	b := batchOf(in...)
	dropped := coalesce(b, newest, oldest)
	if !sameEntries(b.Entries, want) {
		byKey := func(x, y Entry) int { return strings.Compare(x.Key, y.Key) }
		how := ""
		if sameEntries(slices.SortedFunc(slices.Values(b.Entries), byKey), slices.SortedFunc(slices.Values(want), byKey)) {
			how = " (the right entries in the wrong order)"
		}
		t.Errorf("coalesce(%s) = %s, want %s%s", show(in), show(b.Entries), show(want), how)
	}
	if dropped != len(in)-len(want) {
		t.Errorf("coalesce(%s) dropped %d, want %d", show(in), dropped, len(in)-len(want))
	}
	wantBytes := 0
	for i := range want {
		wantBytes += want[i].size()
	}
	if b.Bytes != wantBytes {
		t.Errorf("coalesce(%s): Bytes = %d, want %d", show(in), b.Bytes, wantBytes)
	}
	checkDropped(t, in, b)
	for i, e := range b.Entries[len(b.Entries):len(in)] {
		if e.Key != "" || e.Value != nil {
			t.Errorf("coalesce(%s): slot %d past the result still holds %s", show(in), len(b.Entries)+i, show([]Entry{e}))
		}
	}
}

// checkDropped checks b.Dropped after coalescing in: it must hold the newest version, a
// Delete, of every key of in that left no entry in b.Entries, in any order.
func checkDropped(t *testing.T, in []Entry, b *Batch) {
	t.Helper()
	kept := make(map[string]bool)
	for _, e := range b.Entries {
		kept[e.Key] = true
	}
	newest := make(map[string]Entry)
	for _, e := range in {
		if n, ok := newest[e.Key]; !kept[e.Key] && (!ok || e.Seq > n.Seq) {
			newest[e.Key] = e
		}
	}
	var want []Entry
	for _, e := range newest {
		want = append(want, e)
	}
	byKey := func(x, y Entry) int { return strings.Compare(x.Key, y.Key) }
	slices.SortFunc(want, byKey)
	if got := slices.SortedFunc(slices.Values(b.Dropped), byKey); !sameEntries(got, want) {
		t.Errorf("coalesce(%s): Dropped = %s, want %s", show(in), show(got), show(want))
	}
}

// TestCoalesce ensures coalesce keeps the newest version of each key in the order of the
// keys' first appearance, recomputes Bytes, drops create-then-delete sequences entirely (and
// lists their Deletes in Dropped) and keeps deletes of keys that existed before the batch.
func TestCoalesce(t *testing.T) {
	tests := []struct {
		name     string
		in, want []Entry
	}{
		{"empty", nil, nil},
		{"one", []Entry{put("a", 1, true)}, []Entry{put("a", 1, true)}},
		{
			"distinct keys unchanged",
			[]Entry{put("a", 1, false), del("b", 7), put("c", 2, true)},
			[]Entry{put("a", 1, false), del("b", 7), put("c", 2, true)},
		},
		{
			"newest seq wins",
			[]Entry{put("a", 1, false), put("a", 2, false), put("a", 3, false)},
			[]Entry{put("a", 3, false)},
		},
		{
			"newest seq wins out of position",
			[]Entry{put("a", 2, false), put("a", 5, false), put("a", 4, false)},
			[]Entry{put("a", 5, false)},
		},
		{
			"order of first appearance",
			[]Entry{put("a", 1, false), put("b", 1, false), put("a", 2, false)},
			[]Entry{put("a", 2, false), put("b", 1, false)},
		},
		{
			"order of first appearance, several keys",
			[]Entry{
				put("a", 1, false), put("b", 1, false), put("c", 1, false),
				put("c", 2, false), put("b", 2, false), put("a", 2, false), put("d", 1, false),
			},
			[]Entry{put("a", 2, false), put("b", 2, false), put("c", 2, false), put("d", 1, false)},
		},
		{
			"bytes recomputed for a shorter newest",
			[]Entry{put("b", 1, false), put("a", 9, false), put("a", 10, false)},
			[]Entry{put("b", 1, false), put("a", 10, false)},
		},
		{
			"create then delete dropped",
			[]Entry{put("a", 1, true), del("a", 2)},
			nil,
		},
		{
			"create, update, delete dropped",
			[]Entry{put("a", 1, true), put("a", 2, false), del("a", 3), put("b", 1, false)},
			[]Entry{put("b", 1, false)},
		},
		{
			"create then delete dropped when out of position",
			[]Entry{del("a", 2), put("b", 1, false), put("a", 1, true)},
			[]Entry{put("b", 1, false)},
		},
		{
			"delete of a key that existed kept",
			[]Entry{put("a", 1, false), del("a", 2)},
			[]Entry{del("a", 2)},
		},
		{
			"delete, recreate, delete kept",
			[]Entry{del("a", 1), put("a", 2, true), del("a", 3)},
			[]Entry{del("a", 3)},
		},
		{
			"create, delete, recreate keeps the recreation",
			[]Entry{put("a", 1, true), del("a", 2), put("a", 3, true)},
			[]Entry{put("a", 3, true)},
		},
		{
			"fresh newest is not a create-then-delete",
			[]Entry{del("a", 1), put("a", 2, true)},
			[]Entry{put("a", 2, true)},
		},
		{
			"lone fresh delete kept",
			[]Entry{{Key: "a", Seq: 1, Kind: Delete, Fresh: true}},
			[]Entry{{Key: "a", Seq: 1, Kind: Delete, Fresh: true}},
		},
		{
			// Compaction reuses the slot of x's oldest version for y before it reads whether
			// that version was Fresh.
			"delete kept when the slot of its oldest version is reused",
			[]Entry{put("x", 1, false), put("y", 1, true), del("x", 2)},
			[]Entry{del("x", 2), put("y", 1, true)},
		},
		{
			"mixed",
			[]Entry{
				put("x", 1, true), put("y", 4, false), del("x", 2), put("z", 1, true),
				del("y", 5), put("z", 2, false), put("w", 3, false),
			},
			[]Entry{del("y", 5), put("z", 2, false), put("w", 3, false)},
		},
	}
	// The scratch maps are shared by every case, as the coalesce stage shares them between
	// batches, so leftovers of one case would show in the next.
	newest, oldest := make(map[string]int), make(map[string]int)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkCoalesce(t, newest, oldest, tt.in, tt.want) })
	}
}

// modelCoalesce is the specification of coalesce written plainly: group the versions by key,
// keep the one with the largest Seq at the place of the key's first appearance, and drop the
// key when that version is a Delete and the version with the smallest Seq is Fresh.
func modelCoalesce(in []Entry) []Entry {
	type group struct{ newest, oldest Entry }
	groups := make(map[string]*group)
	var order []string
	count := make(map[string]int)
	for _, e := range in {
		count[e.Key]++
		g, ok := groups[e.Key]
		if !ok {
			groups[e.Key] = &group{newest: e, oldest: e}
			order = append(order, e.Key)
			continue
		}
		if e.Seq > g.newest.Seq {
			g.newest = e
		}
		if e.Seq < g.oldest.Seq {
			g.oldest = e
		}
	}
	var out []Entry
	for _, k := range order {
		g := groups[k]
		if count[k] > 1 && g.newest.Kind == Delete && g.oldest.Fresh {
			continue
		}
		out = append(out, g.newest)
	}
	return out
}

// TestCoalesce_Model ensures coalesce agrees with modelCoalesce on random batches. Wrong
// contents (entries, count dropped, Bytes) and a wrong order are reported apart, each with
// its first example.
func TestCoalesce_Model(t *testing.T) {
	const batches = 3000
	rng := rand.New(rand.NewPCG(1, 2))
	newest, oldest := make(map[string]int), make(map[string]int)
	byKey := func(x, y Entry) int { return strings.Compare(x.Key, y.Key) }
	var badContents, badOrder int
	for range batches {
		n := rng.IntN(24)
		keys := 1 + rng.IntN(6)
		seqs := rng.Perm(n) // distinct versions, in random order
		in := make([]Entry, n)
		for i := range in {
			k := fmt.Sprintf("k%d", rng.IntN(keys))
			if rng.IntN(3) == 0 {
				in[i] = del(k, uint64(seqs[i]+1))
			} else {
				in[i] = put(k, uint64(seqs[i]+1), rng.IntN(2) == 0)
			}
		}
		want := modelCoalesce(in)
		b := batchOf(in...)
		dropped := coalesce(b, newest, oldest)
		wantBytes := 0
		for i := range want {
			wantBytes += want[i].size()
		}
		checkDropped(t, in, b)
		switch {
		case !sameEntries(slices.SortedFunc(slices.Values(b.Entries), byKey), slices.SortedFunc(slices.Values(want), byKey)) ||
			dropped != n-len(want) || b.Bytes != wantBytes:
			if badContents++; badContents == 1 {
				t.Errorf("coalesce(%s) = %s (dropped %d, Bytes %d), want %s (dropped %d, Bytes %d)",
					show(in), show(b.Entries), dropped, b.Bytes, show(want), n-len(want), wantBytes)
			}
		case !sameEntries(b.Entries, want):
			if badOrder++; badOrder == 1 {
				t.Errorf("coalesce(%s) = %s, want the order of first appearance %s", show(in), show(b.Entries), show(want))
			}
		}
	}
	if badContents+badOrder > 0 {
		t.Errorf("of %d random batches, %d had wrong contents and %d the right contents in the wrong order", batches, badContents, badOrder)
	}
}

// TestPipeline_Coalesce ensures a batch holding many versions of one key reaches the backend
// as its newest version, or as every version in order with DisableCoalesce, and that Stats
// counts the dropped versions.
func TestPipeline_Coalesce(t *testing.T) {
	const versions = 100
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("coalesce=%t", !disable), func(t *testing.T) {
			rec := newRecorder(1)
			// Only the Flush barrier closes the batch: all versions share it.
			p := newPipeline(t, rec, Options{FlushInterval: time.Hour, DisableCoalesce: disable})
			want := []Entry{put("k", versions, false)}
			if disable {
				want = nil
			}
			for v := range uint64(versions) {
				e := put("k", v+1, false)
				if disable {
					want = append(want, e)
				}
				if err := p.Enqueue(0, e); err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
			}
			if err := p.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			_, durable, _ := rec.be[0].batches()
			if len(durable) != 1 {
				t.Fatalf("got %d durable batches, want 1", len(durable))
			}
			if !sameEntries(durable[0].Entries, want) {
				t.Errorf("durable batch = %s, want %s", show(durable[0].Entries), show(want))
			}
			st := p.Stats()
			if wantC := int64(versions - len(want)); st.Coalesced != wantC || st.Durable != int64(len(want)) {
				t.Errorf("Stats: Coalesced = %d, Durable = %d; want %d, %d", st.Coalesced, st.Durable, wantC, len(want))
			}
			rec.check(t, false)
		})
	}
}
