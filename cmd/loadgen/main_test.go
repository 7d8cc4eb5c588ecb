package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// runCmd runs the command with args and returns its exit status, stdout and stderr.
func runCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// lineFields returns the whitespace-separated fields of the first line of text whose fields
// start with prefix.
func lineFields(t *testing.T, text string, prefix ...string) []string {
	t.Helper()
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) >= len(prefix) && strings.Join(f[:len(prefix)], " ") == strings.Join(prefix, " ") {
			return f
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, text)
	return nil
}

// TestRun_MemoryText runs a two-second experiment on a memory-only store and checks the
// report's table, the "n/a" pipeline figures and the quiet stderr.
func TestRun_MemoryText(t *testing.T) {
	code, out, errOut := runCmd(t, context.Background(), "--mem", "--duration=2s", "--warmup=0s", "--keys=20000", "--goroutines=2")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet got:\n%s", errOut)
	}
	header := lineFields(t, out, "phase", "op")
	for _, row := range [][]string{{"load", "insert"}, {"run", "read"}, {"run", "update"}, {"run", "total"}} {
		f := lineFields(t, out, row...)
		if len(f) != len(header) {
			t.Fatalf("row %q has %d fields, header %d", f, len(f), len(header))
		}
		if ops, err := strconv.ParseInt(f[2], 10, 64); err != nil || ops <= 0 {
			t.Errorf("row %q: ops %q", row, f[2])
		}
		if f[len(f)-1] != "0" {
			t.Errorf("row %q: errors %q", row, f[len(f)-1])
		}
	}
	if f := lineFields(t, out, "load", "insert"); f[2] != "20000" {
		t.Errorf("load inserted %s keys, want 20000", f[2])
	}
	for _, want := range []string{"workload  ycsb-a: read 50%, update 50%; zipfian", "memory-only",
		"syncs per second          n/a", "entries per batch", "cache hit rate", "CPU time", "peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// jsonReport is the part of the JSON report the tests read.
type jsonReport struct {
	Config    map[string]any    `json:"config"`
	Store     string            `json:"store"`
	Seconds   float64           `json:"seconds"`
	OpsPerSec float64           `json:"ops_per_sec"`
	Ops       map[string]jsonOp `json:"ops"`
	Errors    int64             `json:"errors"`
	Load      *jsonLoad         `json:"load"`
	Pipeline  pipelineFigures   `json:"pipeline"`
	Process   processFigures    `json:"process"`
	Stats     map[string]any    `json:"stats"`
}

// decodeOne decodes exactly one JSON value from text into v.
func decodeOne(t *testing.T, text string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, text)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in the output")
	}
}

// checkOp fails unless o describes some successful operations with ordered quantiles.
func checkOp(t *testing.T, name string, o jsonOp) {
	t.Helper()
	if o.Ops <= 0 || o.OpsPerSec <= 0 || o.P50 <= 0 || o.P50 > o.P90 || o.P90 > o.P99 || o.P99 > o.P999 || o.P999 > o.Max || o.Errors != 0 {
		t.Errorf("%s: %+v", name, o)
	}
}

// TestRun_FileJSON runs a two-second experiment on a file and checks the JSON report: the
// configuration, the per-kind figures, the pipeline figures of a persistent store, and that
// --path keeps the file.
func TestRun_FileJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	code, out, errOut := runCmd(t, context.Background(), "--path", path, "--file-size=4M", "--io=pwrite",
		"--duration=2s", "--warmup=0s", "--keys=5000", "--goroutines=2", "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	var r jsonReport
	decodeOne(t, out, &r)
	if r.Config["keys"] != 5000.0 || r.Config["io"] != "pwrite" || r.Config["duration"] != "2s" || r.Config["path"] != path {
		t.Errorf("config %v", r.Config)
	}
	if r.Store != "file" || r.Seconds < 2 || r.OpsPerSec <= 0 || r.Errors != 0 {
		t.Errorf("store %q seconds %v ops/s %v errors %d", r.Store, r.Seconds, r.OpsPerSec, r.Errors)
	}
	for _, kind := range []string{"read", "update", "total"} {
		checkOp(t, kind, r.Ops[kind])
	}
	if r.Ops["read"].Ops+r.Ops["update"].Ops != r.Ops["total"].Ops {
		t.Errorf("kinds add up to %d, total %d", r.Ops["read"].Ops+r.Ops["update"].Ops, r.Ops["total"].Ops)
	}
	if r.Load == nil || r.Load.Ops["insert"].Ops != 5000 {
		t.Errorf("load %+v", r.Load)
	}
	if r.Pipeline.SyncsPerSec == nil || r.Pipeline.EntriesPerBatch == nil || r.Pipeline.BytesPerRecord == nil || r.Pipeline.FileBytes == nil {
		t.Errorf("persistent store without pipeline figures: %+v", r.Pipeline)
	}
	if r.Stats["Keys"] != 5000.0 {
		t.Errorf("stats keys %v", r.Stats["Keys"])
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("--path file not kept: %v", err)
	}
}

// TestRun_OpsLimitCSV ensures --ops runs exactly that many operations and that --csv prints
// a header and parsable rows.
func TestRun_OpsLimitCSV(t *testing.T) {
	code, out, errOut := runCmd(t, context.Background(), "--mem", "--ops=3000", "--warmup=0s", "--keys=1000", "--goroutines=3", "--csv")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	header := rows[0]
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, header)
		return -1
	}
	found := false
	for _, r := range rows[1:] {
		if r[col("phase")] == "run" && r[col("op")] == "total" {
			found = true
			if r[col("ops")] != "3000" {
				t.Errorf("run total ops %s, want exactly 3000", r[col("ops")])
			}
			if r[col("syncs_per_sec")] != "" {
				t.Errorf("memory-only store reports syncs/s %q", r[col("syncs_per_sec")])
			}
		}
	}
	if !found {
		t.Fatalf("no run total row:\n%s", out)
	}
}

// TestRun_Rate ensures --rate caps the measured phase of a normal run, and that the report
// states the cap.
func TestRun_Rate(t *testing.T) {
	code, out, errOut := runCmd(t, context.Background(), "--mem", "--duration=300ms", "--warmup=100ms", "--keys=1000",
		"--goroutines=3", "--rate=2K", "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	var r jsonReport
	decodeOne(t, out, &r)
	// No operation starts before its slot: at most one at the start and one per 1/rate after.
	if n, limit := r.Ops["total"].Ops, int64(2000*r.Seconds)+1; n < 1 || n > limit || r.Config["rate"] != 2000.0 {
		t.Errorf("--rate=2K: %d operations in %.3fs, want 1 to %d; config rate %v", n, r.Seconds, limit, r.Config["rate"])
	}
	code, out, errOut = runCmd(t, context.Background(), "--mem", "--ops=10", "--warmup=0s", "--keys=1000", "--rate=1M")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	if f := lineFields(t, out, "keys"); !strings.Contains(strings.Join(f, " "), "goroutines, at most 1.00M ops/s, seed") {
		t.Errorf("the report does not state the rate: %q", f)
	}
}

// TestRun_EveryWorkload runs each workload briefly and checks it runs without errors and
// issues the operation kinds of its mix, and the flushes of a durable one.
func TestRun_EveryWorkload(t *testing.T) {
	for name := range strings.SplitSeq(workload.Names(), ", ") {
		t.Run("workload="+name, func(t *testing.T) {
			code, out, errOut := runCmd(t, context.Background(), "--mem", "--workload="+name, "--ops=2000", "--warmup=0s",
				"--keys=1000", "--goroutines=2", "--json")
			if code != 0 {
				t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
			}
			var r jsonReport
			decodeOne(t, out, &r)
			spec, _ := workload.Lookup(name, workload.DefaultReadRatio)
			for k, share := range spec.Mix {
				kind := workload.Kind(k).String()
				if share >= 0.05 && r.Ops[kind].Ops == 0 {
					t.Errorf("no %s operations: %v", kind, r.Ops)
				}
			}
			if r.Ops["total"].Ops == 0 || r.Errors != 0 {
				t.Errorf("total %+v, errors %d", r.Ops["total"], r.Errors)
			}
			if n := spec.SyncEvery; n > 0 && r.Ops["flush"].Ops < r.Ops["total"].Ops/int64(n)-2 {
				t.Errorf("%d flushes for %d writes, want one per %d writes of a worker", r.Ops["flush"].Ops, r.Ops["total"].Ops, n)
			}
		})
	}
}

// TestRun_FlushEvery ensures --flush-every times Flush as its own kind, once per N writes per
// worker.
func TestRun_FlushEvery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	code, out, errOut := runCmd(t, context.Background(), "--path", path, "--file-size=2M", "--workload=update",
		"--ops=400", "--warmup=0s", "--keys=500", "--goroutines=2", "--flush-every=20", "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	var r jsonReport
	decodeOne(t, out, &r)
	if r.Ops["update"].Ops != 400 || r.Ops["total"].Ops != 400 {
		t.Errorf("update %d total %d, want 400 each (flush not counted in total)", r.Ops["update"].Ops, r.Ops["total"].Ops)
	}
	// Each worker flushes after every 20 of its writes: 400 writes give 20 flushes, less one
	// per worker whose share is not a multiple of 20.
	if f := r.Ops["flush"].Ops; f < 18 || f > 20 {
		t.Errorf("%d flushes, want 18 to 20", f)
	}
	checkOp(t, "flush", r.Ops["flush"])
}

// TestRun_Sweep runs a tiny sweep and checks the table and the chart file.
func TestRun_Sweep(t *testing.T) {
	dir := t.TempDir()
	for _, chartName := range []string{"c.html", "c.svg"} {
		chartPath := filepath.Join(dir, chartName)
		code, out, errOut := runCmd(t, context.Background(), "--mem", "--workload=update", "--keys=2000", "--duration=300ms",
			"--warmup=0s", "--goroutines=2", "--sweep=shards=1,2", "--sweep", "value-size=10,20-40", "--chart", chartPath)
		if code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
		}
		for _, point := range [][]string{{"1", "10"}, {"1", "20-40"}, {"2", "10"}, {"2", "20-40"}} {
			f := lineFields(t, out, append(point, "update")...)
			if v, err := strconv.ParseFloat(f[3], 64); err != nil || v <= 0 {
				t.Errorf("point %q: ops/s %q", point, f[3])
			}
		}
		b, err := os.ReadFile(chartPath)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "value-size=20-40") {
			t.Errorf("%s lacks an <svg or the series:\n%.500s", chartName, b)
		}
		if !strings.Contains(errOut, "chart written to "+chartPath) {
			t.Errorf("stderr does not name the chart: %q", errOut)
		}
	}
}

// TestRun_SweepJSON ensures a sweep's JSON output has one point per grid point with its
// parameters.
func TestRun_SweepJSON(t *testing.T) {
	code, out, errOut := runCmd(t, context.Background(), "--mem", "--workload=read", "--keys=1000", "--ops=500",
		"--warmup=0s", "--sweep=goroutines=1,2", "--chart", filepath.Join(t.TempDir(), "c.html"), "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	var r struct {
		Sweep  []string `json:"sweep"`
		Points []struct {
			Params map[string]string `json:"params"`
			Ops    map[string]jsonOp `json:"ops"`
		} `json:"points"`
	}
	decodeOne(t, out, &r)
	if len(r.Sweep) != 1 || len(r.Points) != 2 || r.Points[1].Params["goroutines"] != "2" || r.Points[1].Ops["read"].Ops != 500 {
		t.Fatalf("sweep JSON %+v", r)
	}
}

// TestRun_Soak runs a short soak on a file with reopens and checks the samples, the verdict
// table and that the keys survive the reopens.
func TestRun_Soak(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	code, out, errOut := runCmd(t, context.Background(), "--path", path, "--file-size=2M", "--soak=2s",
		"--soak-reopen=600ms", "--soak-sample=200ms", "--keys=2000", "--goroutines=2", "--rate=20K", "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	var r struct {
		Config      map[string]any    `json:"config"`
		Workload    string            `json:"workload"`
		Seconds     float64           `json:"seconds"`
		OpenSeconds []float64         `json:"open_seconds"`
		Samples     []soakSample      `json:"samples"`
		Flat        []soakMetric      `json:"flat"`
		Ops         map[string]jsonOp `json:"ops"`
	}
	decodeOne(t, out, &r)
	if r.Workload != "churn" || len(r.OpenSeconds) < 1 || len(r.Samples) < 3 || len(r.Flat) != 4 {
		t.Fatalf("workload %q, %d reopens, %d samples, %d verdicts", r.Workload, len(r.OpenSeconds), len(r.Samples), len(r.Flat))
	}
	for _, s := range r.Samples {
		if s.Keys < 1000 || s.HeapInuse <= 0 || s.Goroutines <= 0 || s.FileBytes <= 0 {
			t.Errorf("sample %+v", s)
		}
	}
	for _, m := range r.Flat {
		if m.Flat == nil || m.Max < m.Start || m.Max < m.End {
			t.Errorf("verdict %+v", m)
		}
	}
	if r.Ops["delete"].Ops == 0 || r.Ops["insert"].Ops == 0 {
		t.Errorf("churn without inserts or deletes: %v", r.Ops)
	}
	// --rate holds in every segment: each starts its schedule afresh, so the soak runs at
	// most rate x its time under load, plus one operation per segment.
	if n, limit := r.Ops["total"].Ops, int64(20_000*r.Seconds)+int64(len(r.OpenSeconds))+1; n > limit || r.Config["rate"] != 20_000.0 {
		t.Errorf("--rate=20K: %d operations in %.3fs over %d segments, want at most %d; config rate %v",
			n, r.Seconds, len(r.OpenSeconds)+1, limit, r.Config["rate"])
	}

	// The text form of a memory-only soak: a reopen reloads the keys.
	code, out, errOut = runCmd(t, context.Background(), "--mem", "--soak=1s", "--soak-reopen=400ms", "--soak-sample=200ms", "--keys=1000", "--rate=50K")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"stayed flat?", "heap in use", "goroutines", "n/a (memory-only)", "reopens", "at most 50.0K ops/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("soak report lacks %q:\n%s", want, out)
		}
	}
}

// TestSoakVerdict checks the flatness verdict on synthetic samples.
func TestSoakVerdict(t *testing.T) {
	samples := func(heap ...int64) []soakSample {
		s := []soakSample{{HeapInuse: 1}} // at rest, ignored
		for _, h := range heap {
			s = append(s, soakSample{HeapInuse: h << 20, RSS: 100 << 20, Goroutines: 10, FileBytes: 1 << 30})
		}
		return s
	}
	tests := []struct {
		heap []int64
		flat bool
	}{
		{[]int64{40, 60, 40, 60, 40, 60, 40, 60}, true}, // GC sawtooth
		{[]int64{40, 50, 60, 70, 80, 90, 100, 110}, false},
		{[]int64{40, 41}, true},
	}
	for _, tt := range tests {
		v := soakVerdict(samples(tt.heap...), true)
		if v[0].Flat == nil || *v[0].Flat != tt.flat {
			t.Errorf("heap %v: verdict %+v, want flat %v", tt.heap, v[0], tt.flat)
		}
		if *v[1].Flat != true || *v[2].Flat != true || *v[3].Flat != true {
			t.Errorf("constant RSS, goroutines or file judged as growing: %+v", v)
		}
	}
	if v := soakVerdict(samples(40), true); v[0].Flat != nil {
		t.Errorf("one sample under load judged: %+v", v[0])
	}
	if v := soakVerdict(samples(40, 40, 40), false); v[3].Flat != nil {
		t.Errorf("memory-only file size judged: %+v", v[3])
	}
}

// TestRun_Usage ensures bad flags exit with status 2 and nothing on stdout, and --help with 0
// and every flag listed.
func TestRun_Usage(t *testing.T) {
	for _, args := range [][]string{{"--keys=0"}, {"--bogus"}, {"--io=fast"}, {"--value-size=3-1"}} {
		code, out, errOut := runCmd(t, context.Background(), args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "loadgen --help") {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	code, out, _ := runCmd(t, context.Background(), "--help")
	if code != 0 {
		t.Fatalf("--help exit status %d", code)
	}
	cfg := defaultConfig()
	for _, g := range flagGroups() {
		for _, name := range g.names {
			if !strings.Contains(out, "--"+name+" ") && !strings.Contains(out, "--"+name+"\n") {
				t.Errorf("help lacks --%s", name)
			}
		}
	}
	if cfg.flagSet().Lookup("keys") == nil || !strings.Contains(out, "Usage: loadgen") {
		t.Errorf("help:\n%s", out)
	}
}

// TestRun_Interrupted ensures a canceled context ends the run early with status 130.
func TestRun_Interrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, errOut := runCmd(t, ctx, "--mem", "--duration=1h", "--keys=100000")
	if code != exitInterrupted {
		t.Fatalf("exit status %d, want %d; stderr %q", code, exitInterrupted, errOut)
	}
	if !strings.Contains(out, "interrupted") {
		t.Errorf("report does not say it was interrupted:\n%s", out)
	}
}

// TestRun_IOUring ensures --io uring either works or fails at Open with a clear message.
func TestRun_IOUring(t *testing.T) {
	code, out, errOut := runCmd(t, context.Background(), "--path", filepath.Join(t.TempDir(), "d.feox"), "--file-size=2M",
		"--io=uring", "--ops=200", "--warmup=0s", "--keys=200")
	switch code {
	case 0:
		if !strings.Contains(out, "io uring") {
			t.Errorf("report does not show the backend:\n%s", out)
		}
	case 1:
		if !strings.Contains(errOut, "--io uring is not supported on this system") {
			t.Errorf("unclear error: %q", errOut)
		}
	default:
		t.Fatalf("exit status %d; stderr %q", code, errOut)
	}
}

// TestRun_OlderFormatFile ensures a data file of an earlier format version fails the run with
// the store's error, not one about the I/O backend, and is left untouched.
func TestRun_OlderFormatFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.feox")
	hdr := format.Header{Version: 1, Generation: 1, Salt: 3, Created: 1}
	data := format.AppendHeader(format.AppendHeader(nil, hdr), hdr)
	data = append(data, bytes.Repeat([]byte("old records "), 1<<16)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"auto", "uring"} {
		code, _, errOut := runCmd(t, context.Background(), "--path", path, "--io="+mode, "--ops=200", "--warmup=0s", "--keys=200")
		if code != 1 || !strings.Contains(errOut, "earlier format version") || strings.Contains(errOut, "not supported on this system") {
			t.Errorf("--io %s: exit status %d, stderr %q; want 1 and the store's format error", mode, code, errOut)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, data) {
			t.Fatalf("--io %s: the data file changed (%v)", mode, err)
		}
	}
}

// TestRun_CPUProfile ensures --cpuprofile leaves a profile that the pprof format reader accepts,
// of the measured phase or, with the load workload, of the load; and that a file that cannot
// be created fails the run.
func TestRun_CPUProfile(t *testing.T) {
	for _, w := range []string{"ycsb-a", "load"} {
		path := filepath.Join(t.TempDir(), "cpu.out")
		code, _, errOut := runCmd(t, context.Background(), "--mem", "--workload="+w, "--ops=20000", "--warmup=0s", "--keys=20000", "--cpuprofile="+path)
		if code != 0 {
			t.Fatalf("%s: exit status %d; stderr:\n%s", w, code, errOut)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		// A profile is a gzip-compressed protocol buffer.
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: profile is not gzip: %v", w, err)
		}
		body, err := io.ReadAll(zr)
		f.Close()
		if err != nil || len(body) == 0 {
			t.Fatalf("%s: profile body: %d bytes, %v", w, len(body), err)
		}
	}
	code, _, errOut := runCmd(t, context.Background(), "--mem", "--ops=100", "--warmup=0s", "--keys=100",
		"--cpuprofile="+filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.out"))
	if code == 0 || !strings.Contains(errOut, "cpu profile") {
		t.Fatalf("profile in a missing directory: exit %d, stderr %q", code, errOut)
	}
}
