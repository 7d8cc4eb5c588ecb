package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/feoxdb/feox-go/internal/load/gen"
	"github.com/feoxdb/feox-go/internal/load/proc"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// errLoadFailed means the load phase had errors; the measured phase does not run.
var errLoadFailed = errors.New("load failed")

// env is where a run writes.
type env struct {
	stdout, stderr io.Writer
	// progress receives the live display; nil when quiet.
	progress io.Writer
}

// note prints a line on the progress writer, if any.
func (e *env) note(format string, args ...any) {
	if e.progress != nil {
		fmt.Fprintf(e.progress, format+"\n", args...)
	}
}

// Reporting periods: the bar of the load is redrawn four times a second; the timed phases
// print a line a second.
const (
	barPeriod  = 250 * time.Millisecond
	linePeriod = time.Second
)

// pointResult is the outcome of one experiment: a load and a measured phase on a fresh store.
type pointResult struct {
	cfg *config
	// params are the swept flags' values of this point (none outside a sweep).
	params []paramValue
	spec   workload.Spec
	// where describes the store's data.
	where string
	// load is the load phase and loadFlush the Flush after it; load is nil when the
	// workload is the load itself (run then holds it).
	load      *phaseResult
	loadFlush time.Duration
	// run is the measured phase (nil when the load was interrupted).
	run *phaseResult
	// closeDur is how long Close took (its final flush, mostly).
	closeDur time.Duration
	// peakRSS is the process's peak resident set size so far, in bytes.
	peakRSS int64
}

// interrupted tells whether the run was cut short by the context.
func (pr *pointResult) interrupted() bool {
	return pr.run == nil || pr.run.interrupted || pr.load != nil && pr.load.interrupted
}

// loadPhase returns the phase that inserts the keys [0, keys).
func loadPhase(cfg *config, spec *workload.Spec) *phase {
	return &phase{name: "load", spec: spec, shared: workload.NewLoad(0, uint64(cfg.keys), cfg.goroutines),
		seed: cfg.seed, live: liveBar, total: cfg.keys, period: barPeriod}
}

// runPoint opens a fresh store, loads the keys, runs the warmup and the measured phase, and
// closes the store. A failure to open the store, or errors during the load, end it with an
// error; errors of the measured phase are in the result.
func runPoint(ctx context.Context, cfg *config, e *env) (*pointResult, error) {
	h, err := openStore(cfg, e.stderr)
	if err != nil {
		return nil, err
	}
	defer h.cleanup()
	pr := &pointResult{cfg: cfg, spec: cfg.spec(), where: h.describe()}
	rn := newRunner(cfg, h.st, e.progress)

	loadSpec, _ := workload.Lookup("load", 0)
	// With the load workload the load is the measured phase, and the one profiled.
	stopLoadProfile, err := startProfile(cfg.cpuProfile, pr.spec.Name == "load")
	if err != nil {
		return nil, err
	}
	ld := rn.runPhase(ctx, loadPhase(cfg, &loadSpec))
	if err := stopLoadProfile(); err != nil {
		return nil, err
	}
	if n := ld.errorCount(); n > 0 {
		return nil, fmt.Errorf("%w: %d inserts failed; first error: %w", errLoadFailed, n, ld.firstErr)
	}
	flushStart := time.Now()
	if err := h.st.Flush(); err != nil {
		return nil, fmt.Errorf("%w: flush after the load: %w", errLoadFailed, err)
	}
	flush := time.Since(flushStart)
	e.note("load    %d keys in %s (%s keys/s), then Flush in %s", ld.total().lat.Count(),
		units.Duration(ld.elapsed), units.Rate(perSec(ld.total().lat.Count(), ld.elapsed)), units.Duration(flush))
	if pr.spec.Name == "load" {
		pr.run, pr.loadFlush = ld, flush
	} else {
		pr.load, pr.loadFlush = ld, flush
		if !ld.interrupted {
			shared := workload.NewShared(uint64(cfg.keys), gen.NewKeys(cfg.keySize).Capacity(), cfg.goroutines)
			if cfg.warmup > 0 {
				rn.runPhase(ctx, &phase{name: "warmup", spec: &pr.spec, shared: shared, duration: cfg.warmup,
					rate: cfg.rate, seed: cfg.seed + 1<<32, live: liveLines, period: linePeriod})
			}
			if ctx.Err() == nil {
				stopProfile, err := startProfile(cfg.cpuProfile, true)
				if err != nil {
					return nil, err
				}
				pr.run = rn.runPhase(ctx, &phase{name: "run", spec: &pr.spec, shared: shared, duration: cfg.duration,
					ops: cfg.ops, rate: cfg.rate, seed: cfg.seed + 2<<32, live: liveLines, period: linePeriod})
				if err := stopProfile(); err != nil {
					return nil, err
				}
			}
		}
	}
	pr.closeDur, err = h.close()
	pr.peakRSS = proc.PeakRSS()
	if err != nil {
		return pr, err
	}
	return pr, nil
}

// startProfile starts a CPU profile into path (nothing when path is empty or on is false) and
// returns the function that stops it and closes the file.
func startProfile(path string, on bool) (stop func() error, err error) {
	if path == "" || !on {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
