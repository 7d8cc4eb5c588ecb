package feox_test

// Stats: which counter each call moves.

import (
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// statCounts are the operation counters of Stats that a test predicts.
type statCounts struct {
	Inserts, Updates, Gets, GetMisses, Deletes, Ranges int64
}

func countsOf(st feox.Stats) statCounts {
	return statCounts{st.Inserts, st.Updates, st.Gets, st.GetMisses, st.Deletes, st.Ranges}
}

func (a statCounts) minus(b statCounts) statCounts {
	return statCounts{a.Inserts - b.Inserts, a.Updates - b.Updates, a.Gets - b.Gets,
		a.GetMisses - b.GetMisses, a.Deletes - b.Deletes, a.Ranges - b.Ranges}
}

// TestStore_Stats ensures that each call moves exactly the counters the contract names, that
// Keys follows Len and MemoryBytes follows MemoryUsage, and that the disk counters of a
// memory-only store stay 0.
func TestStore_Stats(t *testing.T) {
	s := openStore(t, feox.Options{})
	b := func(str string) []byte { return []byte(str) }
	steps := []struct {
		name string
		call func()
		want statCounts
	}{
		{"Insert creating", func() { s.Insert(b("k"), b("v")) }, statCounts{Inserts: 1}},
		{"Insert replacing", func() { s.Insert(b("k"), b("w")) }, statCounts{Updates: 1}},
		{"InsertWithTTL replacing", func() { s.InsertWithTTL(b("k"), b("x"), time.Hour) }, statCounts{Updates: 1}},
		{"InsertWithTimestamp replacing", func() { s.InsertWithTimestamp(b("k"), b("y"), 0) }, statCounts{Updates: 1}},
		{"InsertWithTimestamp creating", func() { s.InsertWithTimestamp(b("t"), b("y"), 10) }, statCounts{Inserts: 1}},
		{"InsertWithTimestamp refused", func() { s.InsertWithTimestamp(b("t"), b("z"), 5) }, statCounts{}},
		{"InsertIfAbsent on a present key", func() { s.InsertIfAbsent(b("k"), b("z")) }, statCounts{}},
		{"InsertIfAbsent creating", func() { s.InsertIfAbsent(b("a"), b("1")) }, statCounts{Inserts: 1}},
		{"CompareAndSwap mismatch", func() { s.CompareAndSwap(b("k"), b("nope"), b("z")) }, statCounts{}},
		{"CompareAndSwap absent", func() { s.CompareAndSwap(b("none"), nil, b("z")) }, statCounts{}},
		{"CompareAndSwap match", func() { s.CompareAndSwap(b("k"), b("y"), b("z")) }, statCounts{Updates: 1}},
		{"Increment creating", func() { s.Increment(b("c"), 1) }, statCounts{Inserts: 1}},
		{"Increment replacing", func() { s.Increment(b("c"), 1) }, statCounts{Updates: 1}},
		{"Increment on a non-counter", func() { s.Increment(b("k"), 1) }, statCounts{}},
		{"JSONPatch replacing", func() { s.JSONPatch(b("a"), b(`[{"op":"replace","path":"","value":2}]`)) }, statCounts{Updates: 1}},
		{"JSONPatch failing", func() { s.JSONPatch(b("a"), b(`[{"op":"test","path":"","value":3}]`)) }, statCounts{}},
		{"UpdateTTL", func() { s.UpdateTTL(b("a"), time.Hour) }, statCounts{}},
		{"Persist", func() { s.Persist(b("a")) }, statCounts{}},
		{"Get hit", func() { s.Get(b("k")) }, statCounts{Gets: 1}},
		{"Get miss", func() { s.Get(b("none")) }, statCounts{Gets: 1, GetMisses: 1}},
		{"Get with an invalid key", func() { s.Get(nil) }, statCounts{}},
		{"View hit", func() { s.View(b("k"), func([]byte) error { return nil }) }, statCounts{Gets: 1}},
		{"View miss", func() { s.View(b("none"), func([]byte) error { return nil }) }, statCounts{Gets: 1, GetMisses: 1}},
		{"Size, Contains and TTL", func() { s.Size(b("k")); s.Contains(b("k")); s.TTL(b("k")) }, statCounts{}},
		{"Range", func() { s.Range(nil, nil, 10) }, statCounts{Ranges: 1}},
		{"Scan", func() {
			for range s.Scan(nil, nil) {
			}
		}, statCounts{Ranges: 1}},
		{"Delete", func() { s.Delete(b("k")) }, statCounts{Deletes: 1}},
		{"Delete of an absent key", func() { s.Delete(b("k")) }, statCounts{}},
		{"DeleteWithTimestamp refused", func() { s.DeleteWithTimestamp(b("t"), 9) }, statCounts{}},
		{"DeleteWithTimestamp", func() { s.DeleteWithTimestamp(b("t"), 11) }, statCounts{Deletes: 1}},
	}
	for _, st := range steps {
		before := s.Stats()
		st.call()
		after := s.Stats()
		if got := countsOf(after).minus(countsOf(before)); got != st.want {
			t.Errorf("%s: counters moved by %+v, want %+v", st.name, got, st.want)
		}
		if after.Keys != int64(s.Len()) || after.MemoryBytes != s.MemoryUsage() {
			t.Errorf("%s: Keys = %d, MemoryBytes = %d; want Len %d, MemoryUsage %d",
				st.name, after.Keys, after.MemoryBytes, s.Len(), s.MemoryUsage())
		}
	}
	st := s.Stats()
	disk := []int64{st.WritesBuffered, st.WritesCoalesced, st.WritesDurable, st.WriteErrors, st.Batches,
		st.Syncs, st.BackpressureWaits, st.DiskBytes, st.DiskLiveBytes, st.BytesWritten, st.BytesRead,
		st.CorruptRecords, st.CacheMisses, st.CacheEvictions}
	for i, v := range disk {
		if v != 0 {
			t.Errorf("disk/pipeline counter %d of a memory-only store = %d, want 0 (%+v)", i, v, st)
		}
	}
}
