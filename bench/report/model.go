// Package report turns the results of a comparison run into docs: Markdown tables and
// hand-written SVG bar charts.
package report

import (
	"time"

	"github.com/feoxdb/feox-go/bench/runner"
)

// Size is one data set: Keys keys of 16 bytes with ValueSize-byte values.
type Size struct {
	Name      string `json:"name"`
	Keys      uint64 `json:"keys"`
	ValueSize int    `json:"value_size"`
}

// Machine describes where the run took place.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	Memory     string `json:"memory"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OSArch     string `json:"os_arch"`
	// DataFS is the file system type of the directory the engines wrote to.
	DataFS string `json:"data_fs"`
}

// Engine describes one adapter as the report shows it.
type Engine struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Memory  bool   `json:"memory"`
	Notes   string `json:"notes"`
}

// Workload describes one workload as the report shows it.
type Workload struct {
	Name           string `json:"name"`
	Summary        string `json:"summary"`
	PersistentOnly bool   `json:"persistent_only"`
}

// JobResult is one job's result with what its parent measured around it.
type JobResult struct {
	runner.Result
	// Size is the name of the job's data set.
	Size string `json:"size"`
	// ChildPeakRSS is the peak resident set of the job's whole process.
	ChildPeakRSS int64 `json:"child_peak_rss"`
	// Wall is how long the job's process ran.
	Wall time.Duration `json:"wall"`
	// Failure says why the process did not deliver a result, if it did not.
	Failure string `json:"failure,omitempty"`
}

// Run is everything a report is made from; it is also what the command saves as JSON, so a
// report can be made again without running anything.
type Run struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Command  string        `json:"command"`
	Quick    bool          `json:"quick"`
	Duration time.Duration `json:"duration"`
	// Warmup is how long each workload ran unmeasured before its point.
	Warmup  time.Duration `json:"warmup,omitempty"`
	Machine Machine       `json:"machine"`
	Sizes   []Size        `json:"sizes"`
	// Goroutines are the numbers of goroutines each job was run with.
	Goroutines []int      `json:"goroutines"`
	Engines    []Engine   `json:"engines"`
	Workloads  []Workload `json:"workloads"`
	// KeyCaps are per-engine limits on the number of keys, where an engine loads too slowly
	// for the full size (engine name -> size name -> keys).
	KeyCaps map[string]map[string]uint64 `json:"key_caps,omitempty"`
	Results []JobResult                  `json:"results"`
	// LoadAvg is the machine's load average at the start and at the end of the run.
	LoadAvg [2]string `json:"load_avg"`
	// Rerun, when set, says which jobs' results were replaced by those of a later run and
	// why (results.json edited by hand); the report states it under its first paragraph.
	Rerun string `json:"rerun,omitempty"`
}
