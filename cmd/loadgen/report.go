package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// report is everything printed at the end of a run.
type report struct {
	cfg      config
	workload string
	preload  time.Duration
	res      *result
	stats    feox.Stats
}

// opsPerSec returns n operations over d as a rate per second (0 for an empty interval).
func opsPerSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// total returns the measurements of every kind together.
func (rp *report) total() *kindStats {
	t := new(kindStats)
	for i := range rp.res.kinds {
		k := &rp.res.kinds[i]
		t.lat.Merge(&k.lat)
		t.misses += k.misses
		t.errors += k.errors
	}
	return t
}

// writeText prints the human-readable report: the configuration, a table with one row per
// operation kind that occurred plus a total, and a few store statistics.
func (rp *report) writeText(w io.Writer) error {
	c := rp.cfg
	ew := &errWriter{w: w}
	ew.printf("loadgen: workload=%s store=memory keys=%d key-size=%d value-size=%d goroutines=%d read-ratio=%.2f seed=%d\n",
		rp.workload, c.keys, c.keySize, c.valueSize, c.goroutines, c.readRatio, c.seed)
	ew.printf("preload: %d keys in %s (%.0f keys/s)\n", c.keys, fmtDuration(rp.preload), opsPerSec(int64(c.keys), rp.preload))
	total := rp.total()
	ew.printf("run:     %s, %d ops, %.0f ops/s\n\n", fmtDuration(rp.res.elapsed), total.lat.Count(),
		opsPerSec(total.lat.Count(), rp.res.elapsed))

	const row = "%-7s %11s %11s %9s %9s %9s %9s %10s %8s\n"
	ew.printf(row, "op", "ops", "ops/s", "p50", "p99", "p999", "max", "misses", "errors")
	line := func(name string, k *kindStats) {
		h := &k.lat
		ew.printf(row, name, strconv.FormatInt(h.Count(), 10),
			strconv.FormatFloat(opsPerSec(h.Count(), rp.res.elapsed), 'f', 0, 64),
			fmtDuration(h.Quantile(0.50)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)),
			fmtDuration(h.Max()), strconv.FormatInt(k.misses, 10), strconv.FormatInt(k.errors, 10))
	}
	for i := range rp.res.kinds {
		if k := &rp.res.kinds[i]; k.lat.Count() > 0 {
			line(opKind(i).String(), k)
		}
	}
	line("total", total)

	s := rp.stats
	ew.printf("\nstore stats:\n")
	ew.printf("  Keys %d   MemoryBytes %d (%.1f MiB)\n", s.Keys, s.MemoryBytes, float64(s.MemoryBytes)/(1<<20))
	ew.printf("  Gets %d   GetMisses %d   Inserts %d   Updates %d   Deletes %d\n",
		s.Gets, s.GetMisses, s.Inserts, s.Updates, s.Deletes)
	ew.printf("  GetP50 %s   GetP99 %s   InsertP50 %s   InsertP99 %s (sampled by the store)\n",
		fmtDuration(s.GetP50), fmtDuration(s.GetP99), fmtDuration(s.InsertP50), fmtDuration(s.InsertP99))
	if n := rp.res.errorCount(); n > 0 {
		ew.printf("\n%d operations failed; first error: %v\n", n, rp.res.firstErr)
	}
	return ew.err
}

// jsonOp is the JSON form of one operation kind's measurements. Latencies are nanoseconds.
type jsonOp struct {
	Ops       int64   `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50       int64   `json:"p50_ns"`
	P99       int64   `json:"p99_ns"`
	P999      int64   `json:"p999_ns"`
	Max       int64   `json:"max_ns"`
	Mean      int64   `json:"mean_ns"`
	Misses    int64   `json:"misses"`
	Errors    int64   `json:"errors"`
}

// jsonConfig is the JSON form of the run's configuration.
type jsonConfig struct {
	Workload   string  `json:"workload"`
	Store      string  `json:"store"`
	Keys       int     `json:"keys"`
	KeySize    int     `json:"key_size"`
	ValueSize  int     `json:"value_size"`
	Goroutines int     `json:"goroutines"`
	ReadRatio  float64 `json:"read_ratio"`
	Seed       uint64  `json:"seed"`
	Duration   float64 `json:"duration_seconds"`
}

// jsonStore is the JSON form of the store statistics the report shows.
type jsonStore struct {
	Keys        int64 `json:"keys"`
	MemoryBytes int64 `json:"memory_bytes"`
	Gets        int64 `json:"gets"`
	GetMisses   int64 `json:"get_misses"`
	Inserts     int64 `json:"inserts"`
	Updates     int64 `json:"updates"`
	Deletes     int64 `json:"deletes"`
	GetP50      int64 `json:"get_p50_ns"`
	GetP99      int64 `json:"get_p99_ns"`
	InsertP50   int64 `json:"insert_p50_ns"`
	InsertP99   int64 `json:"insert_p99_ns"`
}

// jsonReport is the single JSON object --json prints. Ops has an entry for every operation
// kind, including kinds that did not occur (all zero).
type jsonReport struct {
	Config         jsonConfig        `json:"config"`
	PreloadSeconds float64           `json:"preload_seconds"`
	Seconds        float64           `json:"seconds"`
	OpsPerSec      float64           `json:"ops_per_sec"`
	Ops            map[string]jsonOp `json:"ops"`
	Total          jsonOp            `json:"total"`
	Store          jsonStore         `json:"store"`
	FirstError     string            `json:"first_error,omitempty"`
}

// writeJSON prints the report as one JSON object followed by a newline.
func (rp *report) writeJSON(w io.Writer) error {
	c, s := rp.cfg, rp.stats
	op := func(k *kindStats) jsonOp {
		h := &k.lat
		return jsonOp{
			Ops:       h.Count(),
			OpsPerSec: round1(opsPerSec(h.Count(), rp.res.elapsed)),
			P50:       int64(h.Quantile(0.50)),
			P99:       int64(h.Quantile(0.99)),
			P999:      int64(h.Quantile(0.999)),
			Max:       int64(h.Max()),
			Mean:      int64(h.Mean()),
			Misses:    k.misses,
			Errors:    k.errors,
		}
	}
	out := jsonReport{
		Config: jsonConfig{
			Workload: rp.workload, Store: "memory", Keys: c.keys, KeySize: c.keySize,
			ValueSize: c.valueSize, Goroutines: c.goroutines, ReadRatio: c.readRatio, Seed: c.seed,
			Duration: c.duration.Seconds(),
		},
		PreloadSeconds: rp.preload.Seconds(),
		Seconds:        rp.res.elapsed.Seconds(),
		Ops:            make(map[string]jsonOp, numKinds),
		Total:          op(rp.total()),
		Store: jsonStore{
			Keys: s.Keys, MemoryBytes: s.MemoryBytes, Gets: s.Gets, GetMisses: s.GetMisses,
			Inserts: s.Inserts, Updates: s.Updates, Deletes: s.Deletes,
			GetP50: int64(s.GetP50), GetP99: int64(s.GetP99),
			InsertP50: int64(s.InsertP50), InsertP99: int64(s.InsertP99),
		},
	}
	out.OpsPerSec = out.Total.OpsPerSec
	for i := range rp.res.kinds {
		out.Ops[opKind(i).String()] = op(&rp.res.kinds[i])
	}
	if rp.res.firstErr != nil {
		out.FirstError = rp.res.firstErr.Error()
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// round1 rounds x to one decimal.
func round1(x float64) float64 { return math.Round(x*10) / 10 }

// fmtDuration formats d with three significant digits in the largest unit that keeps the
// number at least 1: "850ns", "1.25µs", "12.5ms", "3.00s".
func fmtDuration(d time.Duration) string {
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	v, unit := float64(d)/float64(time.Second), "s"
	switch {
	case d < time.Millisecond:
		v, unit = float64(d)/float64(time.Microsecond), "µs"
	case d < time.Second:
		v, unit = float64(d)/float64(time.Millisecond), "ms"
	}
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + unit
}

// errWriter is a writer for a sequence of prints that keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
