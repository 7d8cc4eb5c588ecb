// Command loadgen measures an embedded feox-go store under a synthetic workload.
//
// With no flags it opens a memory-only store with default options, inserts 1,000,000 keys,
// then runs a mixed workload (80% gets; the rest inserts, updates and deletes of uniformly
// random keys) from GOMAXPROCS goroutines for 5 seconds, and prints throughput and latency
// quantiles per operation kind followed by a few of the store's own statistics:
//
//	go run ./cmd/loadgen
//	go run ./cmd/loadgen --duration=30s --keys=10_000_000 --value-size=1024 --read-ratio=0.5
//	go run ./cmd/loadgen --json
//
// Every operation is timed; the latency columns are quantiles of a log-linear histogram and
// are at most about 3% above the true value. Runs with the same flags and --seed issue the
// same sequence of operations from each goroutine (how many of them fit in the duration
// varies). Interrupting the run (Ctrl-C) stops it early and still prints the report.
//
// The exit status is 0 on success, 1 when the store could not be opened or preloaded or an
// operation failed unexpectedly, and 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: it parses args, runs the load and writes the report to stdout.
// Diagnostics, and the preload progress line when stderr is a terminal, go to stderr. It
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	wl, err := newWorkload(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	st, err := feox.Open(cfg.storeOptions())
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: cannot open the store: %v\n", err)
		return 1
	}
	defer st.Close()

	rn := &runner{cfg: cfg, store: st, wl: wl}
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	start := time.Now()
	if err := rn.preload(ctx, progress); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	rp := &report{cfg: cfg, workload: wl.name(), preload: time.Since(start)}
	rp.res = rn.run(ctx)
	rp.stats = st.Stats()
	if err := st.Close(); err != nil {
		fmt.Fprintf(stderr, "loadgen: cannot close the store: %v\n", err)
		return 1
	}

	if cfg.json {
		err = rp.writeJSON(stdout)
	} else {
		err = rp.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: cannot write the report: %v\n", err)
		return 1
	}
	if n := rp.res.errorCount(); n > 0 {
		fmt.Fprintf(stderr, "loadgen: %d operations failed; first error: %v\n", n, rp.res.firstErr)
		return 1
	}
	return 0
}
