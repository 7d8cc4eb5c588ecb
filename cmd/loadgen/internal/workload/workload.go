// Package workload defines the workloads of the load generator: the share of each operation
// kind and the distribution of the keys they touch, YCSB's core workloads A to F among them,
// and the per-goroutine generators that draw operations from them.
package workload

import (
	"errors"
	"fmt"
	"strings"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// ErrUnknownWorkload is returned by Lookup for a name it does not know.
var ErrUnknownWorkload = errors.New("unknown workload")

// Kind is an operation kind, as measured and reported.
type Kind uint8

const (
	// Read gets the value of an existing key.
	Read Kind = iota
	// Update writes a new value to an existing key.
	Update
	// Insert writes a key that does not exist yet.
	Insert
	// Delete removes an existing key.
	Delete
	// Scan reads a run of consecutive keys (in key order) from an existing key.
	Scan
	// RMW reads an existing key and writes a modified value back (read-modify-write).
	RMW
	// Flush waits until every write so far is durable. Workloads never draw it; the runner
	// issues it every --flush-every writes.
	Flush
	// NumKinds is the number of kinds.
	NumKinds
)

// String returns the kind's name as printed in reports.
func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Update:
		return "update"
	case Insert:
		return "insert"
	case Delete:
		return "delete"
	case Scan:
		return "scan"
	case RMW:
		return "rmw"
	case Flush:
		return "flush"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// IsWrite reports whether the kind changes the store.
func (k Kind) IsWrite() bool {
	return k == Update || k == Insert || k == Delete || k == RMW
}

// Spec describes a workload.
type Spec struct {
	// Name identifies the workload (the --workload value).
	Name string
	// Mix holds the share of each kind among the operations; the shares add up to 1 and
	// Flush has none.
	Mix [NumKinds]float64
	// Dist chooses the existing keys that reads, updates, scans and read-modify-writes touch.
	Dist gen.Dist
	// MaxScan is the longest scan: a scan's length is uniform in [1, MaxScan].
	MaxScan int
	// Churn keeps the key count steady: deletes take the oldest keys, inserts add new ones,
	// and a delete turns into an update while fewer than half the initial keys are left.
	Churn bool
	// Preload tells whether the keys must be loaded before the workload runs (every workload
	// but load itself).
	Preload bool
}

// DefaultMaxScan is the longest scan of YCSB workload E.
const DefaultMaxScan = 100

// spec returns a preloaded workload with the given shares (pairs of kind and share).
func spec(name string, dist gen.Dist, shares ...any) Spec {
	s := Spec{Name: name, Dist: dist, MaxScan: DefaultMaxScan, Preload: true}
	for i := 0; i < len(shares); i += 2 {
		s.Mix[shares[i].(Kind)] = shares[i+1].(float64)
	}
	return s
}

// Names returns every workload name, separated by ", ".
func Names() string {
	return "load, read, update, insert, delete, scan, mixed, churn, ycsb-a, ycsb-b, ycsb-c, ycsb-d, ycsb-e, ycsb-f"
}

// Lookup returns the workload called name. readRatio is the share of reads of the mixed
// workload (the rest are updates); the other workloads ignore it.
func Lookup(name string, readRatio float64) (Spec, error) {
	switch name {
	case "load":
		s := spec(name, gen.Uniform, Insert, 1.0)
		s.Preload = false
		return s, nil
	case "read":
		return spec(name, gen.Uniform, Read, 1.0), nil
	case "update":
		return spec(name, gen.Uniform, Update, 1.0), nil
	case "insert":
		return spec(name, gen.Uniform, Insert, 1.0), nil
	case "delete":
		return spec(name, gen.Uniform, Delete, 1.0), nil
	case "scan":
		return spec(name, gen.Uniform, Scan, 1.0), nil
	case "mixed":
		return spec(name, gen.Uniform, Read, readRatio, Update, 1-readRatio), nil
	case "churn":
		s := spec(name, gen.Uniform, Read, 0.5, Update, 0.2, Insert, 0.1, Delete, 0.1, Scan, 0.05, RMW, 0.05)
		s.Churn = true
		return s, nil
	case "ycsb-a": // update heavy
		return spec(name, gen.Zipfian, Read, 0.5, Update, 0.5), nil
	case "ycsb-b": // read mostly
		return spec(name, gen.Zipfian, Read, 0.95, Update, 0.05), nil
	case "ycsb-c": // read only
		return spec(name, gen.Zipfian, Read, 1.0), nil
	case "ycsb-d": // read latest
		return spec(name, gen.Latest, Read, 0.95, Insert, 0.05), nil
	case "ycsb-e": // short ranges
		return spec(name, gen.Zipfian, Scan, 0.95, Insert, 0.05), nil
	case "ycsb-f": // read-modify-write
		return spec(name, gen.Zipfian, Read, 0.5, RMW, 0.5), nil
	}
	return Spec{}, fmt.Errorf("%w %q (want one of %s)", ErrUnknownWorkload, name, Names())
}

// Describe returns a short description of the mix: "read 50%, update 50%; zipfian".
func (s *Spec) Describe() string {
	var parts []string
	chooses := false
	for k, share := range s.Mix {
		if share > 0 {
			parts = append(parts, fmt.Sprintf("%s %.4g%%", Kind(k), share*100))
			chooses = chooses || Kind(k) != Insert && !(Kind(k) == Delete && !s.Churn)
		}
	}
	d := strings.Join(parts, ", ")
	if chooses {
		d += "; " + s.Dist.String()
	}
	if s.Mix[Scan] > 0 {
		d += fmt.Sprintf("; scans of 1-%d keys", s.MaxScan)
	}
	return d
}

// HasWrites reports whether the workload changes the store.
func (s *Spec) HasWrites() bool {
	for k, share := range s.Mix {
		if share > 0 && Kind(k).IsWrite() {
			return true
		}
	}
	return false
}
