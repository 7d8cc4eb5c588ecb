package main

import (
	"encoding/json"
	"flag"
	"io"
	"time"

	"github.com/feoxdb/feox-go/internal/load/workload"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// jsonOp is one operation kind's measurements. Latencies are in nanoseconds.
type jsonOp struct {
	Ops       int64         `json:"ops"`
	OpsPerSec float64       `json:"ops_per_sec"`
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P99       time.Duration `json:"p99_ns"`
	P999      time.Duration `json:"p999_ns"`
	Max       time.Duration `json:"max_ns"`
	Mean      float64       `json:"mean_ns"`
	Misses    int64         `json:"misses"`
	Errors    int64         `json:"errors"`
}

// jsonOpOf converts one kind's measurements over elapsed.
func jsonOpOf(k *kindCounts, elapsed time.Duration) jsonOp {
	h := &k.lat
	return jsonOp{Ops: h.Count(), OpsPerSec: perSec(h.Count(), elapsed), P50: h.Quantile(0.5),
		P90: h.Quantile(0.9), P99: h.Quantile(0.99), P999: h.Quantile(0.999), Max: h.Max(),
		Mean: float64(h.Mean()), Misses: k.misses, Errors: k.errors}
}

// jsonOps returns the kinds that occurred in r, and their "total".
func jsonOps(r *phaseResult) map[string]jsonOp {
	ops := make(map[string]jsonOp)
	for k := range r.kinds {
		if kc := &r.kinds[k]; kc.lat.Count() > 0 {
			ops[workload.Kind(k).String()] = jsonOpOf(kc, r.elapsed)
		}
	}
	ops["total"] = jsonOpOf(r.total(), r.elapsed)
	return ops
}

// jsonLoad is the load phase.
type jsonLoad struct {
	Seconds      float64           `json:"seconds"`
	OpsPerSec    float64           `json:"ops_per_sec"`
	Ops          map[string]jsonOp `json:"ops"`
	FlushSeconds float64           `json:"flush_seconds"`
}

// jsonPoint is one experiment. The top-level figures are those of the measured phase.
type jsonPoint struct {
	Params      map[string]string `json:"params,omitempty"`
	Config      map[string]any    `json:"config,omitempty"`
	Workload    string            `json:"workload"`
	Mix         string            `json:"mix"`
	Store       string            `json:"store"`
	Where       string            `json:"where"`
	Seconds     float64           `json:"seconds"`
	OpsPerSec   float64           `json:"ops_per_sec"`
	Ops         map[string]jsonOp `json:"ops"`
	Interrupted bool              `json:"interrupted"`
	Exhausted   bool              `json:"exhausted"`
	Errors      int64             `json:"errors"`
	FirstError  string            `json:"first_error,omitempty"`
	Load        *jsonLoad         `json:"load,omitempty"`
	Pipeline    pipelineFigures   `json:"pipeline"`
	Process     processFigures    `json:"process"`
	CloseSecs   float64           `json:"close_seconds"`
	Stats       feox.Stats        `json:"stats"`
}

// jsonPointOf converts one experiment; withConfig includes its configuration.
func jsonPointOf(pr *pointResult, withConfig bool) jsonPoint {
	p := jsonPoint{Workload: pr.spec.Name, Mix: pr.spec.Describe(), Store: pr.cfg.storeKind(), Where: pr.where,
		CloseSecs: pr.closeDur.Seconds()}
	if withConfig {
		p.Config = configJSON(pr.cfg)
	}
	if len(pr.params) > 0 {
		p.Params = make(map[string]string)
		for _, pv := range pr.params {
			p.Params[pv.name] = pv.value
		}
	}
	if ld := pr.load; ld != nil {
		p.Load = &jsonLoad{Seconds: ld.elapsed.Seconds(), OpsPerSec: perSec(ld.total().lat.Count(), ld.elapsed),
			Ops: jsonOps(ld), FlushSeconds: pr.loadFlush.Seconds()}
	}
	r := pr.run
	if r == nil {
		p.Interrupted = true
		return p
	}
	p.Seconds, p.OpsPerSec, p.Ops = r.elapsed.Seconds(), perSec(r.total().lat.Count(), r.elapsed), jsonOps(r)
	p.Interrupted, p.Exhausted, p.Errors = r.interrupted, r.exhausted, r.errorCount()
	if r.firstErr != nil {
		p.FirstError = r.firstErr.Error()
	}
	p.Pipeline, p.Process, p.Stats = pipelineOf(r), processOf(r, pr.peakRSS), r.after
	return p
}

// configJSON returns every flag's value by name, typed: numbers, booleans, and strings for
// durations, sizes ranges and choices.
func configJSON(c *config) map[string]any {
	cp := *c
	out := make(map[string]any)
	cp.flagSet().VisitAll(func(f *flag.Flag) {
		if g, ok := f.Value.(flag.Getter); ok {
			out[f.Name] = g.Get()
		}
	})
	return out
}

// writeJSON prints one experiment as one JSON object.
func writeJSON(w io.Writer, pr *pointResult) error {
	return json.NewEncoder(w).Encode(jsonPointOf(pr, true))
}
