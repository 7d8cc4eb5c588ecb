package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestFmtDuration checks the three-significant-digit formatting at the unit boundaries.
func TestFmtDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"}, {999, "999ns"}, {time.Microsecond, "1.00µs"}, {1250 * time.Nanosecond, "1.25µs"},
		{12500 * time.Nanosecond, "12.5µs"}, {254 * time.Microsecond, "254µs"}, {time.Millisecond, "1.00ms"},
		{72200 * time.Microsecond, "72.2ms"}, {3 * time.Second, "3.00s"}, {2 * time.Hour, "7200s"},
	}
	for _, tt := range tests {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%d) = %q, want %q", int64(tt.d), got, tt.want)
		}
	}
}

// TestFmtRateBytes checks the SI rates and binary sizes.
func TestFmtRateBytes(t *testing.T) {
	rates := map[float64]string{0: "0", 950: "950", 12345: "12.3K", 1.25e6: "1.25M", 3e9: "3.00G", math.NaN(): "n/a"}
	for v, want := range rates {
		if got := fmtRate(v); got != want {
			t.Errorf("fmtRate(%v) = %q, want %q", v, got, want)
		}
	}
	sizes := map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.50 KiB", 312 << 20: "312 MiB", 1 << 30: "1.00 GiB", 5 << 40: "5.00 TiB"}
	for v, want := range sizes {
		if got := fmtBytes(v); got != want {
			t.Errorf("fmtBytes(%d) = %q, want %q", v, got, want)
		}
	}
}

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
