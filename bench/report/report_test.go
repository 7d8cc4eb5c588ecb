package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/bench/runner"
)

// sampleRun returns a small run: feox-go and two peers, one data set, one goroutine count,
// where feox-go wins reads by 20x and loses scans and updates.
func sampleRun() *Run {
	r := &Run{
		Started:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Finished:   time.Date(2026, 1, 2, 3, 34, 5, 0, time.UTC),
		Command:    "go run ./cmd/compare",
		Duration:   3 * time.Second,
		Machine:    Machine{CPU: "Test CPU", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26", DataFS: "ext4"},
		Sizes:      []Size{{Name: "1Kx100B", Keys: 1000, ValueSize: 100}},
		Goroutines: []int{1},
		Engines: []Engine{
			{Name: "feox-go", Memory: true, Notes: "subject"},
			{Name: "badger", Memory: true, Notes: "peer <one>"},
			{Name: "bbolt", Memory: false, Notes: "peer two"},
		},
		Workloads: []Workload{
			{Name: "read", Summary: "reads"},
			{Name: "scan", Summary: "scans"},
			{Name: "update", Summary: "updates"},
			{Name: "durable-1", Summary: "durable", PersistentOnly: true},
		},
	}
	type rates map[string]float64
	add := func(eng string, memory bool, rs rates) {
		res := JobResult{Size: "1Kx100B", ChildPeakRSS: 64 << 20}
		res.Job = runner.Job{Engine: eng, Memory: memory, Keys: 1000, ValueSize: 100, Goroutines: 1}
		for _, wl := range []string{runner.Load, "read", "scan", "update", "durable-1"} {
			v, ok := rs[wl]
			if !ok {
				continue
			}
			res.Points = append(res.Points, runner.Point{Workload: wl, Ops: uint64(v * 3), Elapsed: 3 * time.Second,
				OpsPerSec: v, P99: time.Duration(1e9 / v), PeakRSS: 50 << 20, DiskBytes: 10 << 20})
		}
		r.Results = append(r.Results, res)
	}
	add("feox-go", true, rates{runner.Load: 100_000, "read": 2_000_000, "scan": 10_000, "update": 500_000})
	add("badger", true, rates{runner.Load: 50_000, "read": 100_000, "scan": 30_000, "update": 600_000})
	add("feox-go", false, rates{runner.Load: 100_000, "read": 1_000_000, "scan": 10_000, "update": 20_000, "durable-1": 100})
	add("badger", false, rates{runner.Load: 50_000, "read": 100_000, "scan": 15_000, "update": 40_000, "durable-1": 400})
	add("bbolt", false, rates{runner.Load: 30_000, "read": 200_000, "scan": 100_000, "update": 10_000, "durable-1": 300})
	return r
}

// TestWrite_Report ensures the report states the comparisons, marks feox-go's losses, links
// every chart, and writes charts that are well-formed XML.
func TestWrite_Report(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "docs", "BENCHMARKS.md")
	charts := filepath.Join(dir, "bench", "results")
	if err := Write(sampleRun(), md, charts, "My diagnosis."); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"| read | 20.0x (badger) |",               // memory: 2M against 100K
		"| update | **LOSS 0.83x** (badger) |",    // memory: 500K against 600K
		"| scan | **LOSS 0.10x** (bbolt) |",       // persistent: 10K against 100K
		"| durable-1 | **LOSS 0.25x** (badger) |", // persistent: 100 against 400
		"| read | **2.00M** | 100K |",             // memory throughput table, best in bold
		"feox-go at least 10x the best peer on random reads and updates in memory: **not met** (reached on 1 of 2 points)",
		"feox-go's scans within 2x of the best peer (at least 0.5x its throughput): **not met** (reached on 0 of 2 points)",
		"My diagnosis.",
		"peer <one>", // notes are Markdown, kept as given
		"Test CPU, 2 cores",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.Contains(doc, "### Memory-only, 1Kx100B\n\nThroughput, operations per second (g=1; best in bold):\n\n| workload | feox-go | badger |\n") {
		t.Error("the memory-only table does not have exactly the engines with a memory mode")
	}
	svgs, _ := filepath.Glob(filepath.Join(charts, "*.svg"))
	if len(svgs) != 2 {
		t.Fatalf("%d charts, want one per mode", len(svgs))
	}
	for _, p := range svgs {
		if !strings.Contains(doc, "../bench/results/"+filepath.Base(p)) {
			t.Errorf("report does not link %s", filepath.Base(p))
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(f)
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", filepath.Base(p), err)
			}
		}
		f.Close()
	}
}

// TestJSON_RoundTrip ensures a saved run reads back unchanged, so a report can be rendered
// again from it.
func TestJSON_RoundTrip(t *testing.T) {
	r := sampleRun()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatal("the run read back differs")
	}
	if _, err := ReadJSON(strings.NewReader("{")); err == nil {
		t.Fatal("ReadJSON accepted broken JSON")
	}
}

// TestBarChart_Empty ensures a chart without any measurement is still a valid document.
func TestBarChart_Empty(t *testing.T) {
	svg := barChart("t", "a", []group{{label: "read", bars: []bar{{engine: "x"}}}})
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg, "x: none") {
		t.Fatal("a missing value is not labelled")
	}
}
