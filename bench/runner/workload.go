// Package runner runs one engine through a load and a list of timed workloads and reports
// throughput, latency quantiles, peak RSS and bytes on disk for each point.
package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// ErrUnknownWorkload is returned by Lookup for a name no workload has.
var ErrUnknownWorkload = errors.New("unknown workload")

// Workload is one timed mix of operations on the loaded keys. The percentages add up to 100.
type Workload struct {
	// Name is the workload's name on the command line and in reports.
	Name string
	// Read, Update, ReadModifyWrite and Scan are the percentages of each operation: a Get, a
	// Put of a new value, a Get then a Put of the same key, a scan of ScanLength pairs.
	Read, Update, ReadModifyWrite, Scan int
	// Durable, when positive, turns the workload into durable updates: each op is a Put of a
	// uniformly chosen key and every Durable-th op a PutSync, so that every write is durable
	// by the time the group's last one returns.
	Durable int
	// Dist picks the keys.
	Dist gen.Dist
	// PersistentOnly workloads run only on engines that persist.
	PersistentOnly bool
	// Summary describes the workload in a report.
	Summary string
}

// ScanLength is the number of pairs a scan visits.
const ScanLength = 100

// Load is the name of the point that loads the keys; it always runs first.
const Load = "load"

// Workloads returns every timed workload, in the order a job runs them: reads first, then
// mixes with more and more writes, then durable writes.
func Workloads() []Workload {
	return []Workload{
		{Name: "read", Read: 100, Dist: gen.Uniform, Summary: "Get of a uniformly chosen key"},
		{Name: "zipf-read", Read: 100, Dist: gen.UnscrambledZipfian, Summary: "Get of a zipfian(0.99) key (index 0 hottest, 7-8% of the reads)"},
		{Name: "scan", Scan: 100, Dist: gen.Uniform, Summary: "scan of 100 pairs from a uniformly chosen key"},
		{Name: "ycsb-c", Read: 100, Dist: gen.Zipfian, Summary: "YCSB C: 100% read, YCSB's scrambled zipfian"},
		{Name: "ycsb-b", Read: 95, Update: 5, Dist: gen.Zipfian, Summary: "YCSB B: 95% read, 5% update, scrambled zipfian"},
		{Name: "mixed", Read: 80, Update: 20, Dist: gen.Uniform, Summary: "80% Get, 20% Put, uniform"},
		{Name: "ycsb-a", Read: 50, Update: 50, Dist: gen.Zipfian, Summary: "YCSB A: 50% read, 50% update, scrambled zipfian"},
		{Name: "ycsb-f", Read: 50, ReadModifyWrite: 50, Dist: gen.Zipfian, Summary: "YCSB F: 50% read, 50% read-modify-write (Get then Put), scrambled zipfian"},
		{Name: "update", Update: 100, Dist: gen.Uniform, Summary: "Put of a new value to a uniformly chosen key"},
		{Name: "durable-1", Update: 100, Durable: 1, Dist: gen.Uniform, PersistentOnly: true, Summary: "Put then sync, every write (durable before the next starts)"},
		{Name: "durable-100", Update: 100, Durable: 100, Dist: gen.Uniform, PersistentOnly: true, Summary: "groups of 100 Puts, the last one synced"},
	}
}

// WorkloadNames returns the names of every timed workload, comma-separated.
func WorkloadNames() string {
	var names []string
	for _, w := range Workloads() {
		names = append(names, w.Name)
	}
	return strings.Join(names, ",")
}

// Lookup returns the workload called name.
func Lookup(name string) (Workload, error) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("%w %q (have %s)", ErrUnknownWorkload, name, WorkloadNames())
}
