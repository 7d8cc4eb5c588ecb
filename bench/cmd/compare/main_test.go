package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/bench/engine"
	"github.com/feoxdb/feox-go/bench/report"
	"github.com/feoxdb/feox-go/bench/runner"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// TestParseSize ensures data sets parse with their units and bad ones are refused.
func TestParseSize(t *testing.T) {
	good := map[string]report.Size{
		"1Mx100B":   {Name: "1Mx100B", Keys: 1_000_000, ValueSize: 100},
		"100Kx4KiB": {Name: "100Kx4KiB", Keys: 100_000, ValueSize: 4096},
		"500x8B":    {Name: "500x8B", Keys: 500, ValueSize: 8},
		"1Gx1MiB":   {Name: "1Gx1MiB", Keys: 1_000_000_000, ValueSize: 1 << 20},
	}
	for in, want := range good {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "1M", "x100B", "1Mx100", "0x100B", "1Mx0B", "1Mx-5B", "1.5Mx1B", "1Mx1.5KiB"} {
		if _, err := parseSize(in); !errors.Is(err, errBadSize) {
			t.Errorf("parseSize(%q) = %v, want errBadSize", in, err)
		}
	}
}

// TestParseFlags ensures the defaults of full and quick runs, and that bad lists are refused.
func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.engines) != len(engine.All()) || len(c.workloads) != len(runner.Workloads()) ||
		len(c.sizes) != 2 || !slices.Equal(c.goroutines, []int{1, 2}) || c.duration != defaultDuration ||
		c.out != defaultOut || c.charts != defaultCharts {
		t.Fatalf("defaults: %+v", c)
	}
	q, err := parseFlags([]string{"--quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if q.duration != quickDuration || q.sizes[0].Name != "20Kx100B" || q.out == defaultOut || !strings.HasPrefix(q.out, os.TempDir()) {
		t.Fatalf("quick: %+v", q)
	}
	q, err = parseFlags([]string{"--quick", "--duration", "1s", "--sizes", "10x1B"}, io.Discard)
	if err != nil || q.duration != time.Second || len(q.sizes) != 1 {
		t.Fatalf("quick with explicit flags: %+v, %v", q, err)
	}
	bad := []struct {
		args []string
		want error
	}{
		{[]string{"--engines", "feox-go,nosuch"}, engine.ErrUnknownEngine},
		{[]string{"--engines", "feox-go,"}, errBadList},
		{[]string{"--workloads", "read,nosuch"}, workload.ErrUnknownWorkload},
		{[]string{"--workloads", "read,churn"}, runner.ErrUnsupportedWorkload},
		{[]string{"--goroutines", "1,0"}, errBadList},
		{[]string{"--sizes", "1M"}, errBadSize},
		{[]string{"extra"}, errBadList},
		{[]string{"--warmup", "-1s"}, errBadList},
	}
	for _, b := range bad {
		if _, err := parseFlags(b.args, io.Discard); !errors.Is(err, b.want) {
			t.Errorf("parseFlags(%q) = %v, want %v", b.args, err, b.want)
		}
	}
	// The flag package does not wrap a flag's error, so --cap is checked on its own.
	var cf capFlag
	for _, in := range []string{"bbolt=5", "bbolt:1Mx100B", "bbolt:1Mx100B=0", "bbolt:1Mx100B=x"} {
		if err := cf.Set(in); !errors.Is(err, errBadCap) {
			t.Errorf("--cap %q: %v, want errBadCap", in, err)
		}
	}
	if err := cf.Set("nosuch:1Mx100B=5"); !errors.Is(err, engine.ErrUnknownEngine) {
		t.Errorf("--cap of an unknown engine: %v", err)
	}
	if _, err := parseFlags([]string{"--cap", "bbolt=5"}, io.Discard); err == nil {
		t.Error("parseFlags accepted a bad --cap")
	}
}

// TestPlan ensures engines without a memory mode run only persistent, durable workloads run
// only persistent with one goroutine, and key caps apply to their engine and data set only.
func TestPlan(t *testing.T) {
	c, err := parseFlags([]string{"--engines", "feox-go,bbolt", "--sizes", "1Kx100B,2Kx100B", "--warmup", "2s",
		"--workloads", "read,durable-1", "--cap", "bbolt:1Kx100B=500"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	jobs := plan(c)
	// Per size: feox-go memory g1, g2; feox-go persistent g1, g2; bbolt persistent g1, g2.
	if len(jobs) != 12 {
		t.Fatalf("%d jobs, want 12", len(jobs))
	}
	for _, j := range jobs {
		if j.job.Warmup != 2*time.Second {
			t.Errorf("warm-up %v, want 2s", j.job.Warmup)
		}
		if j.job.Engine == "bbolt" && j.job.Memory {
			t.Errorf("bbolt planned in memory")
		}
		durable := slices.Contains(j.job.Workloads, "durable-1")
		if want := !j.job.Memory && j.job.Goroutines == 1; durable != want {
			t.Errorf("%s memory=%v g=%d: durable %v", j.job.Engine, j.job.Memory, j.job.Goroutines, durable)
		}
		wantKeys := uint64(1000)
		if j.size == "2Kx100B" {
			wantKeys = 2000
		}
		if j.job.Engine == "bbolt" && j.size == "1Kx100B" {
			wantKeys = 500
		}
		if j.job.Keys != wantKeys {
			t.Errorf("%s %s: %d keys, want %d", j.job.Engine, j.size, j.job.Keys, wantKeys)
		}
	}
}

// TestChild ensures a child runs the job it is given and answers with its result as JSON, and
// refuses a job it cannot read.
func TestChild(t *testing.T) {
	job := runner.Job{Engine: "feox-go", Memory: true, Keys: 200, ValueSize: 10, Goroutines: 1,
		Workloads: []string{"read"}, Duration: 5 * time.Millisecond, Dir: t.TempDir(), Seed: 1}
	js, _ := json.Marshal(job)
	var out bytes.Buffer
	if code := child(string(js), &out, io.Discard); code != 0 {
		t.Fatalf("child exited %d", code)
	}
	var res runner.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Err != "" || len(res.Points) != 2 || res.Points[0].Ops != 200 || res.Points[1].Ops == 0 {
		t.Fatalf("result: %+v", res)
	}
	if code := child("{", io.Discard, io.Discard); code == 0 {
		t.Fatal("child accepted a broken job")
	}
}

// TestParent_From ensures --from renders a report from saved results without running jobs.
func TestParent_From(t *testing.T) {
	dir := t.TempDir()
	run := &report.Run{Sizes: []report.Size{{Name: "1Kx1B", Keys: 1000, ValueSize: 1}}, Goroutines: []int{1},
		Engines: []report.Engine{{Name: "feox-go", Memory: true}}}
	saved := filepath.Join(dir, "results.json")
	if err := saveJSON(saved, run); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.md")
	if err := os.WriteFile(notes, []byte("Diagnosis here."), 0o644); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "out", "B.md")
	if err := parent([]string{"--from", saved, "--out", md, "--charts", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Diagnosis here.") {
		t.Fatal("the notes next to the charts were not included")
	}
}
