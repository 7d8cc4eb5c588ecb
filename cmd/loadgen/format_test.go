package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestTable_Aligns checks left and right alignment, with multi-byte characters counted as one
// column.
func TestTable_Aligns(t *testing.T) {
	tb := &table{left: 1}
	tb.add("op", "p50")
	tb.add("read", "1.00µs")
	tb.add("update", "12ns")
	var b strings.Builder
	if err := tb.write(&b, "> "); err != nil {
		t.Fatal(err)
	}
	want := "> op         p50\n> read    1.00µs\n> update    12ns\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestPipelineOf_NotAvailable ensures a phase without pipeline activity (a memory-only store)
// reports its pipeline figures as not available rather than zero.
func TestPipelineOf_NotAvailable(t *testing.T) {
	r := &phaseResult{elapsed: time.Second}
	p := pipelineOf(r)
	for name, v := range map[string]*float64{"entries": p.EntriesPerBatch, "coalesce": p.CoalesceRatio,
		"syncs": p.SyncsPerSec, "backpressure": p.BackpressureWaits, "bytes": p.BytesPerRecord,
		"cache": p.CacheHitRate, "file": p.FileBytes} {
		if v != nil {
			t.Errorf("%s = %v, want n/a", name, *v)
		}
	}
	if na(p.SyncsPerSec, fmtFloat1) != "n/a" {
		t.Errorf("na(nil) = %q", na(p.SyncsPerSec, fmtFloat1))
	}
	r.after.WritesBuffered, r.after.Batches, r.after.WritesCoalesced, r.after.Syncs = 1000, 10, 250, 10
	r.before.Batches, r.before.BatchMean = 5, 40 // 200 entries in 5 batches before the phase
	r.after.BatchMean = 95                       // and 750 more in the 5 batches of the phase
	r.after.BytesWritten, r.after.WritesDurable, r.after.CacheHits, r.after.CacheMisses = 75000, 750, 90, 10
	p = pipelineOf(r)
	checks := map[string]struct {
		v    *float64
		want float64
	}{
		"entries": {p.EntriesPerBatch, 150}, "coalesce": {p.CoalesceRatio, 0.25}, "syncs": {p.SyncsPerSec, 10},
		"backpressure": {p.BackpressureWaits, 0}, "bytes": {p.BytesPerRecord, 100}, "cache": {p.CacheHitRate, 0.9},
	}
	for name, c := range checks {
		if c.v == nil || math.Abs(*c.v-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, c.v, c.want)
		}
	}
}

// TestCSVNum checks the CSV number format: integers, decimals without exponent, empty n/a.
func TestCSVNum(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		v    *float64
		want string
	}{{nil, ""}, {f(0), "0"}, {f(7868420), "7868420"}, {f(0.152), "0.152"}, {f(26.4), "26.4"}, {f(1e-7), "0"}}
	for _, tt := range tests {
		if got := csvNum(tt.v); got != tt.want {
			t.Errorf("csvNum(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
