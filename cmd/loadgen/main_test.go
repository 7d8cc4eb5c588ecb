package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestRun_Text runs the command end to end for about a second on a small memory-only store
// and checks the report's table and store statistics.
func TestRun_Text(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--duration=1s", "--keys=2000", "--goroutines=2", "--seed=3"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("unexpected stderr output (not a terminal):\n%q", errOut.String())
	}
	text := out.String()
	header := lineFields(t, text, "op ")
	for _, col := range []string{"op", "ops", "ops/s", "p50", "p99", "p999", "max", "misses", "errors"} {
		if !containsField(header, col) {
			t.Errorf("table header %q lacks column %q", header, col)
		}
	}
	for _, row := range []string{"get ", "update ", "delete ", "total "} {
		fields := lineFields(t, text, row)
		if len(fields) != len(header) {
			t.Errorf("row %q has %d fields, header has %d", fields, len(fields), len(header))
		}
	}
	for _, want := range []string{"ops/s", "preload: 2000 keys", "store stats:", "Keys ", "MemoryBytes ", "GetP50 ", "GetP99 "} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

// TestRun_JSON ensures --json prints exactly one JSON object with ops/s and quantiles per
// operation kind that agree with each other.
func TestRun_JSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--json", "--duration=500ms", "--keys=1000", "--goroutines=2", "--read-ratio=0.5"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut.String())
	}
	dec := json.NewDecoder(&out)
	var rep struct {
		Config struct {
			Keys      int     `json:"keys"`
			ReadRatio float64 `json:"read_ratio"`
		} `json:"config"`
		Seconds   float64 `json:"seconds"`
		OpsPerSec float64 `json:"ops_per_sec"`
		Ops       map[string]struct {
			Ops       int64   `json:"ops"`
			OpsPerSec float64 `json:"ops_per_sec"`
			P50       int64   `json:"p50_ns"`
			P99       int64   `json:"p99_ns"`
			Max       int64   `json:"max_ns"`
		} `json:"ops"`
		Total struct {
			Ops int64 `json:"ops"`
		} `json:"total"`
		Store struct {
			Keys   int64 `json:"keys"`
			GetP99 int64 `json:"get_p99_ns"`
		} `json:"store"`
	}
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in the output")
	}
	if rep.Config.Keys != 1000 || rep.Config.ReadRatio != 0.5 || rep.Seconds <= 0 || rep.OpsPerSec <= 0 {
		t.Fatalf("config %+v, seconds %v, ops/s %v", rep.Config, rep.Seconds, rep.OpsPerSec)
	}
	var sum int64
	for _, kind := range []string{"get", "insert", "update", "delete"} {
		o, ok := rep.Ops[kind]
		if !ok {
			t.Fatalf("ops lacks %q: %v", kind, rep.Ops)
		}
		sum += o.Ops
		if kind == "insert" {
			continue // a preloaded key space sees inserts only after deletes: may be few
		}
		if o.Ops == 0 || o.OpsPerSec <= 0 || o.P50 <= 0 || o.P50 > o.P99 || o.P99 > o.Max {
			t.Errorf("%s: %+v", kind, o)
		}
	}
	if sum != rep.Total.Ops {
		t.Errorf("kinds add up to %d ops, total says %d", sum, rep.Total.Ops)
	}
	if rep.Store.Keys <= 0 || rep.Store.Keys > 1000 {
		t.Errorf("store keys = %d, want in (0, 1000]", rep.Store.Keys)
	}
}

// TestRun_Usage ensures bad flags exit with status 2 and --help with 0, before any store is
// opened.
func TestRun_Usage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"--keys=0"}, 2},
		{[]string{"--bogus"}, 2},
		{[]string{"--help"}, 0},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tt.args, &out, &errOut); code != tt.code {
			t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, code, tt.code, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("run(%q) wrote to stdout: %q", tt.args, out.String())
		}
	}
}

// TestRun_CanceledStopsEarly ensures a canceled context ends the run (here during the
// preload) instead of running the full duration.
func TestRun_CanceledStopsEarly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"--duration=1h", "--keys=100000"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "context canceled") {
		t.Fatalf("exit status %d, stderr %q; want 1 and the cancellation", code, errOut.String())
	}
}

// lineFields returns the whitespace-separated fields of the first line of text that starts
// with prefix.
func lineFields(t *testing.T, text, prefix string) []string {
	t.Helper()
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix) {
			return strings.Fields(line)
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, text)
	return nil
}

func containsField(fields []string, f string) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}
