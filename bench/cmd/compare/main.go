// Command compare runs feox-go and its peers (badger, pebble, bbolt, buntdb) through the same
// loads and workloads, each engine in its own process, and writes docs/BENCHMARKS.md with
// SVG charts.
//
//	cd bench && go run ./cmd/compare           # the full comparison
//	cd bench && go run ./cmd/compare --quick   # a smoke run
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/feoxdb/feox-go/bench/engine"
	"github.com/feoxdb/feox-go/bench/report"
	"github.com/feoxdb/feox-go/bench/runner"
	"github.com/feoxdb/feox-go/internal/load/host"
	"github.com/feoxdb/feox-go/internal/load/proc"
)

// jobEnv is the environment variable that turns the process into a job's child: it holds the
// job as JSON.
const jobEnv = "FEOX_BENCH_JOB"

// errChild is returned when a job's process fails.
var errChild = errors.New("job process failed")

func main() {
	if js, ok := os.LookupEnv(jobEnv); ok {
		os.Exit(child(js, os.Stdout, os.Stderr))
	}
	if err := parent(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// child runs one job and writes its result as JSON to stdout.
func child(js string, stdout, stderr io.Writer) int {
	var job runner.Job
	if err := json.Unmarshal([]byte(js), &job); err != nil {
		fmt.Fprintln(stderr, "compare: bad job:", err)
		return 2
	}
	res := runner.Run(job, stderr)
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	return 0
}

// plannedJob is a job with the name of its data set.
type plannedJob struct {
	job  runner.Job
	size string
}

// plan returns the jobs of a run: per data set, mode (memory-only first), engine and
// goroutine count.
func plan(c *config) []plannedJob {
	var jobs []plannedJob
	for _, s := range c.sizes {
		for _, memory := range []bool{true, false} {
			for _, name := range c.engines {
				spec, _ := engine.Lookup(name) // checked by parseFlags
				if memory && !spec.Memory {
					continue
				}
				keys := s.Keys
				if n, ok := c.caps[name][s.Name]; ok {
					keys = min(keys, n)
				}
				for _, g := range c.goroutines {
					var wls []string
					for _, wn := range c.workloads {
						w, _ := runner.Lookup(wn)
						// Durable writes are sequential by nature: one goroutine, persistent only.
						if w.PersistentOnly && (memory || g != 1) {
							continue
						}
						wls = append(wls, wn)
					}
					jobs = append(jobs, plannedJob{size: s.Name, job: runner.Job{
						Engine: name, Memory: memory, Keys: keys, ValueSize: s.ValueSize, Goroutines: g,
						Workloads: wls, Duration: c.duration, Warmup: c.warmup, Dir: c.dataDir, Seed: c.seed,
					}})
				}
			}
		}
	}
	return jobs
}

// parent runs every job in a child process, saves the results and writes the report.
func parent(args []string, log io.Writer) error {
	c, err := parseFlags(args, log)
	if err != nil {
		return err
	}
	var run *report.Run
	if c.from != "" {
		f, err := os.Open(c.from)
		if err != nil {
			return err
		}
		run, err = report.ReadJSON(f)
		f.Close()
		if err != nil {
			return err
		}
	} else {
		if run, err = runAll(c, log); err != nil {
			return err
		}
		if err := saveJSON(filepath.Join(c.charts, "results.json"), run); err != nil {
			return err
		}
	}
	notes := ""
	if c.notes != "" {
		b, err := os.ReadFile(c.notes)
		if err != nil {
			return fmt.Errorf("cannot read the notes: %w", err)
		}
		notes = string(b)
	}
	if err := report.Write(run, c.out, c.charts, notes); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s (charts and results.json in %s)\n", c.out, c.charts)
	return nil
}

func saveJSON(path string, run *report.Run) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, run); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// runAll runs every planned job and gathers the run's description.
func runAll(c *config, log io.Writer) (*report.Run, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to run the jobs: %w", err)
	}
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return nil, err
	}
	run := &report.Run{
		Started:    time.Now(),
		Command:    strings.TrimSpace("go run ./cmd/compare " + strings.Join(c.args, " ")),
		Quick:      c.quick,
		Duration:   c.duration,
		Warmup:     c.warmup,
		Machine:    machine(c.dataDir),
		Sizes:      c.sizes,
		Goroutines: c.goroutines,
		KeyCaps:    c.caps,
		LoadAvg:    [2]string{host.LoadAvg(), ""},
	}
	for _, name := range c.engines {
		s, _ := engine.Lookup(name)
		run.Engines = append(run.Engines, report.Engine{Name: s.Name, Version: s.Version, Memory: s.Memory, Notes: s.Notes})
	}
	for _, name := range c.workloads {
		w, _ := runner.Lookup(name)
		run.Workloads = append(run.Workloads, report.Workload{Name: w.Name, Summary: w.Summary(), PersistentOnly: w.PersistentOnly})
	}
	jobs := plan(c)
	points := 0
	for _, j := range jobs {
		points += len(j.job.Workloads)
	}
	fmt.Fprintf(log, "%d jobs, %d timed points of %v each (at least %v), plus loads\n",
		len(jobs), points, c.duration, (time.Duration(points) * c.duration).Round(time.Second))
	for i, j := range jobs {
		fmt.Fprintf(log, "[%d/%d] %s %s %s g=%d (%d keys)\n", i+1, len(jobs), j.job.Engine,
			modeName(j.job.Memory), j.size, j.job.Goroutines, j.job.Keys)
		run.Results = append(run.Results, runChild(self, j, log))
	}
	run.Finished = time.Now()
	run.LoadAvg[1] = host.LoadAvg()
	return run, nil
}

func modeName(memory bool) string {
	if memory {
		return "memory"
	}
	return "persistent"
}

// childTimeout bounds a job's process: a generous allowance for open, load and close, plus
// three times its timed points.
func childTimeout(j runner.Job) time.Duration {
	return 15*time.Minute + 3*time.Duration(len(j.Workloads))*(j.Duration+j.Warmup)
}

// runChild runs one job in a child process and returns its result, with the process's peak
// RSS; a failed process gives a result with Failure set.
func runChild(self string, pj plannedJob, log io.Writer) report.JobResult {
	jr := report.JobResult{Size: pj.size}
	jr.Job = pj.job
	js, err := json.Marshal(pj.job)
	if err != nil {
		jr.Failure = err.Error()
		return jr
	}
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout(pj.job))
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), jobEnv+"="+string(js))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = log
	start := time.Now()
	err = cmd.Run()
	jr.Wall = time.Since(start)
	if cmd.ProcessState != nil {
		jr.ChildPeakRSS = proc.ChildPeakRSS(cmd.ProcessState)
	}
	if err != nil {
		jr.Failure = fmt.Errorf("%w: %v", errChild, err).Error()
		if ctx.Err() != nil {
			jr.Failure += fmt.Sprintf(" (stopped after %v)", childTimeout(pj.job))
		}
		fmt.Fprintf(log, "  %s\n", jr.Failure)
		return jr
	}
	var res runner.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		jr.Failure = fmt.Sprintf("%v: unreadable result: %v", errChild, err)
		return jr
	}
	jr.Result = res
	if res.Err != "" {
		fmt.Fprintf(log, "  job error: %s\n", res.Err)
	}
	fmt.Fprintf(log, "  done in %v, peak RSS %d MiB\n", jr.Wall.Round(time.Second), jr.ChildPeakRSS>>20)
	return jr
}

// machine describes this machine.
func machine(dataDir string) report.Machine {
	return report.Machine{
		CPU:        host.CPUModel(),
		Cores:      runtime.NumCPU(),
		Memory:     host.Memory(),
		Kernel:     host.Kernel(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		OSArch:     runtime.GOOS + "/" + runtime.GOARCH,
		DataFS:     dataFS(dataDir),
	}
}

// dataFS names the file system of the data directory, with a warning for tmpfs.
func dataFS(dir string) string {
	fs := host.FileSystem(dir)
	if fs == host.Tmpfs {
		fs += " (syncs cost nothing: not representative)"
	}
	return fs
}
