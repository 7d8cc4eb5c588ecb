// Command loadgen measures an embedded feox-go store under a synthetic workload.
//
// Without flags it loads 100,000 keys into a store on a temporary file, runs YCSB workload A
// (50% reads, 50% updates, zipfian) from GOMAXPROCS goroutines for 8 seconds after a one
// second warmup, and prints throughput and latency quantiles per operation kind, the write
// pipeline's figures from Stats, the CPU time and the peak RSS:
//
//	go run ./cmd/loadgen
//	go run ./cmd/loadgen --mem --workload ycsb-b --keys 1M --duration 30s
//	go run ./cmd/loadgen --workload update --flush-every 100 --io pwrite
//	go run ./cmd/loadgen --sweep batch-entries=16,64,256,1024 --sweep shards=1,2
//	go run ./cmd/loadgen --soak 1h --soak-reopen 5m
//
// Every flag is listed by --help and documented in docs/LOADGEN.md. Latency quantiles come
// from log-linear histograms, within 0.4% of the exact quantile of the recorded latencies.
// Runs with the same flags and --seed issue the same sequence of operations from each
// goroutine (how many of them fit in the duration varies). Interrupting the run (Ctrl-C)
// stops it early and still prints what was measured.
//
// The exit status is 0 on success, 1 when the store could not be opened, the load failed or
// an operation failed unexpectedly, 2 for a usage error, and 130 after an interruption.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// exitInterrupted is the exit status after Ctrl-C, as a shell reports a SIGINT.
const exitInterrupted = 130

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: it parses args, runs the experiment, the sweep or the soak test,
// and writes the report to stdout. Diagnostics, and the live progress when stderr is a
// terminal, go to stderr. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		writeUsage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\nRun 'loadgen --help' for the flags.\n", err)
		return 2
	}
	e := &env{stdout: stdout, stderr: stderr}
	if !cfg.quiet && isTerminal(stderr) {
		e.progress = stderr
	}
	switch {
	case cfg.soak > 0:
		return runSoak(ctx, &cfg, e)
	case len(cfg.sweeps) > 0:
		return runSweep(ctx, &cfg, e)
	}
	return runSingle(ctx, &cfg, e)
}

// runSingle runs one experiment and prints its report. It returns the exit status.
func runSingle(ctx context.Context, cfg *config, e *env) int {
	pr, err := runPoint(ctx, cfg, e)
	if err != nil && pr == nil {
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
		if errors.Is(err, errInvalidConfig) {
			return 2
		}
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return 1
	}
	var werr error
	switch {
	case cfg.json:
		werr = writeJSON(e.stdout, pr)
	case cfg.csv:
		werr = writeCSV(e.stdout, nil, []*pointResult{pr})
	default:
		werr = writeText(e.stdout, pr)
	}
	code := 0
	if werr != nil {
		fmt.Fprintf(e.stderr, "loadgen: cannot write the report: %v\n", werr)
		code = 1
	}
	if err != nil { // closing the store failed
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
		code = 1
	}
	if pr.run != nil {
		if n := pr.run.errorCount(); n > 0 {
			fmt.Fprintf(e.stderr, "loadgen: %d operations failed; first error: %v\n", n, pr.run.firstErr)
			code = 1
		}
	}
	if pr.interrupted() {
		return exitInterrupted
	}
	return code
}
