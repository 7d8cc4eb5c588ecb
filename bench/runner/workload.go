// Package runner runs one engine through a load and a list of timed workloads and reports
// throughput, latency quantiles, peak RSS and bytes on disk for each point.
package runner

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownWorkload is returned by Lookup for a name no workload has.
var ErrUnknownWorkload = errors.New("unknown workload")

// Dist is how a workload picks the index of an existing key.
type Dist uint8

const (
	// Uniform gives every key the same chance.
	Uniform Dist = iota
	// Zipfian is a zipfian(0.99) over the key indexes (index 0 hottest; keys hash their
	// index, so the hot keys are spread over the key space).
	Zipfian
	// YCSBZipfian is YCSB's scrambled zipfian(0.99): ranks over ten billion items hashed
	// down to the key count.
	YCSBZipfian
)

// String returns the distribution's name.
func (d Dist) String() string {
	switch d {
	case Uniform:
		return "uniform"
	case Zipfian:
		return "zipfian(0.99)"
	case YCSBZipfian:
		return "YCSB scrambled zipfian(0.99)"
	}
	return fmt.Sprintf("Dist(%d)", uint8(d))
}

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
	Dist Dist
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
		{Name: "read", Read: 100, Dist: Uniform, Summary: "Get of a uniformly chosen key"},
		{Name: "zipf-read", Read: 100, Dist: Zipfian, Summary: "Get of a zipfian(0.99) key (index 0 hottest, 7-8% of the reads)"},
		{Name: "scan", Scan: 100, Dist: Uniform, Summary: "scan of 100 pairs from a uniformly chosen key"},
		{Name: "ycsb-c", Read: 100, Dist: YCSBZipfian, Summary: "YCSB C: 100% read, YCSB's scrambled zipfian"},
		{Name: "ycsb-b", Read: 95, Update: 5, Dist: YCSBZipfian, Summary: "YCSB B: 95% read, 5% update, scrambled zipfian"},
		{Name: "mixed", Read: 80, Update: 20, Dist: Uniform, Summary: "80% Get, 20% Put, uniform"},
		{Name: "ycsb-a", Read: 50, Update: 50, Dist: YCSBZipfian, Summary: "YCSB A: 50% read, 50% update, scrambled zipfian"},
		{Name: "ycsb-f", Read: 50, ReadModifyWrite: 50, Dist: YCSBZipfian, Summary: "YCSB F: 50% read, 50% read-modify-write (Get then Put), scrambled zipfian"},
		{Name: "update", Update: 100, Dist: Uniform, Summary: "Put of a new value to a uniformly chosen key"},
		{Name: "durable-1", Update: 100, Durable: 1, Dist: Uniform, PersistentOnly: true, Summary: "Put then sync, every write (durable before the next starts)"},
		{Name: "durable-100", Update: 100, Durable: 100, Dist: Uniform, PersistentOnly: true, Summary: "groups of 100 Puts, the last one synced"},
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
