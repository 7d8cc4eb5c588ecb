package runner

import (
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/bench/engine"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// TestRun_EveryWorkload runs a tiny job of every workload on one memory-only and one
// persistent engine and checks each point ran without error, the load wrote every key, and
// durable workloads ran only where the engine persists.
func TestRun_EveryWorkload(t *testing.T) {
	f := func(eng string, memory bool, goroutines int, warmup time.Duration) {
		t.Helper()
		job := Job{
			Engine: eng, Memory: memory, Keys: 3000, ValueSize: 100, Goroutines: goroutines,
			Workloads: Workloads(), Duration: 20 * time.Millisecond, Warmup: warmup, Dir: t.TempDir(), Seed: 1,
		}
		res := Run(job, io.Discard)
		if res.Err != "" {
			t.Fatalf("%s: %s", eng, res.Err)
		}
		var got []string
		for _, p := range res.Points {
			got = append(got, p.Workload)
			if p.Errors > 0 || p.Error != "" {
				t.Errorf("%s %s: %d errors, %s", eng, p.Workload, p.Errors, p.Error)
			}
			if p.Ops == 0 || p.OpsPerSec <= 0 || p.P99 <= 0 || p.P99 > p.Max {
				t.Errorf("%s %s: ops %d, %v/s, p99 %v, max %v", eng, p.Workload, p.Ops, p.OpsPerSec, p.P99, p.Max)
			}
			if !memory && p.DiskBytes == 0 {
				t.Errorf("%s %s: no bytes on disk", eng, p.Workload)
			}
		}
		want := []string{Load}
		for _, name := range Workloads() {
			if w, _ := Lookup(name); !(memory && w.PersistentOnly) {
				want = append(want, name)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: points %v, want %v", eng, got, want)
		}
		if res.Points[0].Ops != job.Keys {
			t.Fatalf("%s: load wrote %d pairs, want %d", eng, res.Points[0].Ops, job.Keys)
		}
		if !memory && res.DiskAfterClose == 0 {
			t.Fatalf("%s: nothing on disk after close", eng)
		}
		if left, _ := os.ReadDir(job.Dir); len(left) != 0 {
			t.Fatalf("%s: the engine's directory was left behind", eng)
		}
	}
	f("feox-go", true, 2, 0)
	f("bbolt", false, 1, 5*time.Millisecond)
}

// TestRun_BadJobs ensures a job with an unknown engine or workload, or nonsense sizes, stops
// with an error before running anything.
func TestRun_BadJobs(t *testing.T) {
	ok := Job{Engine: "feox-go", Memory: true, Keys: 10, ValueSize: 8, Goroutines: 1, Duration: time.Millisecond, Dir: t.TempDir()}
	tests := []struct {
		name   string
		change func(*Job)
		want   error
	}{
		{"engine", func(j *Job) { j.Engine = "nosuch" }, engine.ErrUnknownEngine},
		{"workload", func(j *Job) { j.Workloads = []string{"nosuch"} }, workload.ErrUnknownWorkload},
		{"inserts", func(j *Job) { j.Workloads = []string{"ycsb-d"} }, ErrUnsupportedWorkload},
		{"keys", func(j *Job) { j.Keys = 0 }, ErrBadJob},
		{"goroutines", func(j *Job) { j.Goroutines = 0 }, ErrBadJob},
		{"warmup", func(j *Job) { j.Warmup = -time.Second }, ErrBadJob},
		{"memory", func(j *Job) { j.Engine = "bbolt" }, engine.ErrNoMemoryMode},
	}
	for _, tt := range tests {
		t.Run("bad="+tt.name, func(t *testing.T) {
			j := ok
			tt.change(&j)
			var res Result
			err := run(j, io.Discard, &res)
			if !errors.Is(err, tt.want) {
				t.Fatalf("run = %v, want %v", err, tt.want)
			}
			if len(res.Points) != 0 {
				t.Fatalf("ran %d points", len(res.Points))
			}
		})
	}
}

// TestLookup ensures every workload of a full run is found in the catalogue, and that the
// comparison refuses a name the catalogue does not have and the workloads that add or remove
// keys, which it cannot run on its fixed key set.
func TestLookup(t *testing.T) {
	for _, name := range Workloads() {
		got, err := Lookup(name)
		if err != nil || got.Name != name || got.Summary() == "" {
			t.Fatalf("Lookup(%q) = %+v, %v", name, got, err)
		}
	}
	f := func(name string, want error) {
		t.Helper()
		if _, err := Lookup(name); !errors.Is(err, want) {
			t.Errorf("Lookup(%q) = %v, want %v", name, err, want)
		}
	}
	f("nosuch", workload.ErrUnknownWorkload)
	f("load", ErrUnsupportedWorkload)
	f("insert", ErrUnsupportedWorkload)
	f("churn", ErrUnsupportedWorkload)
	f("ycsb-e", ErrUnsupportedWorkload)
}
