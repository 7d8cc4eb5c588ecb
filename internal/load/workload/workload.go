// Package workload is the catalogue of workloads of the load generator and of the comparison
// with other stores, one meaning per name: the share of each operation kind and the
// distribution of the keys they touch, YCSB's core workloads A to F among them. It also holds
// the per-goroutine generators that draw operations from a workload.
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

// Spec describes a workload. Both the load generator and the comparison with other stores
// take their workloads from Lookup, so a name means the same mix in both.
type Spec struct {
	// Name identifies the workload (the --workload value).
	Name string
	// About is a short note on the workload ("YCSB A: update heavy"), or "".
	About string
	// Mix holds the share of each kind among the operations; the shares add up to 1 and
	// Flush has none.
	Mix [NumKinds]float64
	// Dist chooses the existing keys that reads, updates, scans and read-modify-writes touch.
	Dist gen.Dist
	// MaxScan is the longest scan: a scan's length is uniform in [1, MaxScan], or MaxScan
	// itself with FixedScan.
	MaxScan   int
	FixedScan bool
	// SyncEvery, when positive, makes each worker wait until its writes are durable after
	// every SyncEvery of them (the comparison syncs that write itself; the load generator
	// calls Flush after it, timed as its own kind).
	SyncEvery int
	// PersistentOnly marks a workload that only makes sense for a store that persists.
	PersistentOnly bool
	// Churn keeps the key count steady: deletes take the oldest keys, inserts add new ones,
	// and a delete turns into an update while fewer than half the initial keys are left.
	Churn bool
	// Preload tells whether the keys must be loaded before the workload runs (every workload
	// but load itself).
	Preload bool
}

// DefaultMaxScan is the longest scan of YCSB workload E, and the length of every scan of the
// scan workload.
const DefaultMaxScan = 100

// DefaultReadRatio is the share of reads of the mixed workload; the rest are updates.
const DefaultReadRatio = 0.8

// spec returns a preloaded workload with the given shares (pairs of kind and share).
func spec(name, about string, dist gen.Dist, shares ...any) Spec {
	s := Spec{Name: name, About: about, Dist: dist, MaxScan: DefaultMaxScan, Preload: true}
	for i := 0; i < len(shares); i += 2 {
		s.Mix[shares[i].(Kind)] = shares[i+1].(float64)
	}
	return s
}

// catalogue returns every workload, with the mixed workload's default read ratio.
func catalogue() []Spec {
	load := spec("load", "every key inserted once", gen.Uniform, Insert, 1.0)
	load.Preload = false
	scan := spec("scan", "", gen.Uniform, Scan, 1.0)
	scan.FixedScan = true
	churn := spec("churn", "", gen.Uniform, Read, 0.5, Update, 0.2, Insert, 0.1, Delete, 0.1, Scan, 0.05, RMW, 0.05)
	churn.Churn = true
	durable := func(n int, about string) Spec {
		s := spec(fmt.Sprintf("durable-%d", n), about, gen.Uniform, Update, 1.0)
		s.SyncEvery, s.PersistentOnly = n, true
		return s
	}
	return []Spec{
		load,
		spec("read", "", gen.Uniform, Read, 1.0),
		spec("update", "", gen.Uniform, Update, 1.0),
		spec("insert", "new keys", gen.Uniform, Insert, 1.0),
		spec("delete", "the oldest keys first", gen.Uniform, Delete, 1.0),
		scan,
		spec("mixed", "", gen.Uniform, Read, DefaultReadRatio, Update, 1-DefaultReadRatio),
		churn,
		spec("zipf-read", "", gen.UnscrambledZipfian, Read, 1.0),
		durable(1, "every write durable before the next"),
		durable(100, "groups of 100 writes, the last one durable"),
		spec("ycsb-a", "YCSB A: update heavy", gen.Zipfian, Read, 0.5, Update, 0.5),
		spec("ycsb-b", "YCSB B: read mostly", gen.Zipfian, Read, 0.95, Update, 0.05),
		spec("ycsb-c", "YCSB C: read only", gen.Zipfian, Read, 1.0),
		spec("ycsb-d", "YCSB D: read latest", gen.Latest, Read, 0.95, Insert, 0.05),
		spec("ycsb-e", "YCSB E: short ranges", gen.Zipfian, Scan, 0.95, Insert, 0.05),
		spec("ycsb-f", "YCSB F: read-modify-write", gen.Zipfian, Read, 0.5, RMW, 0.5),
	}
}

// Names returns every workload name, separated by ", ".
func Names() string {
	var names []string
	for _, s := range catalogue() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// Lookup returns the workload called name. readRatio is the share of reads of the mixed
// workload (the rest are updates; DefaultReadRatio gives the catalogue's mix); the other
// workloads ignore it.
func Lookup(name string, readRatio float64) (Spec, error) {
	for _, s := range catalogue() {
		if s.Name != name {
			continue
		}
		if name == "mixed" {
			s.Mix[Read], s.Mix[Update] = readRatio, 1-readRatio
		}
		return s, nil
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
	switch {
	case s.Mix[Scan] > 0 && s.FixedScan:
		d += fmt.Sprintf("; scans of %d keys", s.MaxScan)
	case s.Mix[Scan] > 0:
		d += fmt.Sprintf("; scans of 1-%d keys", s.MaxScan)
	}
	switch {
	case s.SyncEvery == 1:
		d += "; every write durable"
	case s.SyncEvery > 1:
		d += fmt.Sprintf("; durable after every %d writes", s.SyncEvery)
	}
	return d
}

// Summary returns the note on the workload and its description: "YCSB A: update heavy; read
// 50%, update 50%; zipfian".
func (s *Spec) Summary() string {
	if s.About == "" {
		return s.Describe()
	}
	return s.About + "; " + s.Describe()
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
