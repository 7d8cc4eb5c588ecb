package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/feoxdb/feox-go/internal/load/workload"
)

// ErrUnsupportedWorkload is returned by Lookup for a workload of the catalogue the comparison
// cannot run: one that inserts or deletes keys, or the load, which always runs first.
var ErrUnsupportedWorkload = errors.New("workload not run by the comparison")

// Load is the name of the point that loads the keys; it always runs first.
const Load = "load"

// Workloads returns the names of the timed workloads a full run goes through, in the order a
// job runs them: reads first, then mixes with more and more writes, then durable writes. Each
// name means what the load kit's catalogue (and the load generator) says.
func Workloads() []string {
	return []string{"read", "zipf-read", "scan", "ycsb-c", "ycsb-b", "mixed", "ycsb-a", "ycsb-f",
		"update", "durable-1", "durable-100"}
}

// WorkloadNames returns the names of the timed workloads of a full run, comma-separated.
func WorkloadNames() string {
	return strings.Join(Workloads(), ",")
}

// Lookup returns the workload called name, with the mixed workload at its default read ratio.
// The comparison runs any workload of the catalogue that keeps the loaded key set as it is:
// reads, updates, read-modify-writes and scans.
func Lookup(name string) (workload.Spec, error) {
	s, err := workload.Lookup(name, workload.DefaultReadRatio)
	if err != nil {
		return s, err
	}
	if !s.Preload || s.Mix[workload.Insert] > 0 || s.Mix[workload.Delete] > 0 {
		return workload.Spec{}, fmt.Errorf("%w: %q changes the set of keys", ErrUnsupportedWorkload, name)
	}
	return s, nil
}
