package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// errInvalidConfig is wrapped by every flag value parseConfig rejects.
var errInvalidConfig = errors.New("invalid configuration")

// config is everything one load generator run needs, built from the command line by
// parseConfig. Its zero value is not meaningful; defaultConfig gives the defaults.
type config struct {
	// duration is how long the measured phase runs (after the preload).
	duration time.Duration
	// keys is the size of the key space; every key is inserted before the measured phase.
	keys int
	// keySize and valueSize are the lengths of every key and value, in bytes.
	keySize, valueSize int
	// goroutines is the number of concurrent workers.
	goroutines int
	// readRatio is the fraction of operations that are reads, in [0, 1].
	readRatio float64
	// seed seeds every worker's random generator (together with the worker's index).
	seed uint64
	// json selects one JSON object on stdout instead of the text report.
	json bool
}

// defaultConfig returns the configuration used when no flag is given.
func defaultConfig() config {
	return config{
		duration:   5 * time.Second,
		keys:       1_000_000,
		keySize:    16,
		valueSize:  100,
		goroutines: runtime.GOMAXPROCS(0),
		readRatio:  0.8,
		seed:       1,
	}
}

// parseConfig builds a config from command-line arguments (without the program name). Usage
// and flag errors are written to output. It returns flag.ErrHelp for -h and --help, and an
// error wrapping errInvalidConfig for a value out of range.
func parseConfig(args []string, output io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loadgen [flags]\n\n"+
			"Runs a mixed workload against an embedded memory-only feox-go store and reports\n"+
			"throughput and latency quantiles per operation kind.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&cfg.duration, "duration", cfg.duration, "length of the measured run (after the preload)")
	fs.IntVar(&cfg.keys, "keys", cfg.keys, "number of distinct keys, all inserted before the run")
	fs.IntVar(&cfg.keySize, "key-size", cfg.keySize, "key length in bytes")
	fs.IntVar(&cfg.valueSize, "value-size", cfg.valueSize, "value length in bytes")
	fs.IntVar(&cfg.goroutines, "goroutines", cfg.goroutines, "number of concurrent workers (default GOMAXPROCS)")
	fs.Float64Var(&cfg.readRatio, "read-ratio", cfg.readRatio, "fraction of operations that are gets, in [0, 1]")
	fs.Uint64Var(&cfg.seed, "seed", cfg.seed, "seed of the workers' random generators")
	fs.BoolVar(&cfg.json, "json", cfg.json, "print one JSON object instead of the text report")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected argument %q", errInvalidConfig, fs.Arg(0))
	}
	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// validate reports the first field of c that is out of range.
func (c config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.duration <= 0:
		return bad("--duration must be positive, got %v", c.duration)
	case c.keys < 1:
		return bad("--keys must be at least 1, got %d", c.keys)
	case c.keySize < keyDigits(c.keys) || c.keySize > feox.MaxKeySize:
		return bad("--key-size must be in [%d, %d] for %d keys, got %d",
			keyDigits(c.keys), feox.MaxKeySize, c.keys, c.keySize)
	case c.valueSize < 0 || c.valueSize > feox.MaxValueSize:
		return bad("--value-size must be in [0, %d], got %d", feox.MaxValueSize, c.valueSize)
	case c.goroutines < 1:
		return bad("--goroutines must be at least 1, got %d", c.goroutines)
	case !(c.readRatio >= 0 && c.readRatio <= 1): // also rejects NaN
		return bad("--read-ratio must be in [0, 1], got %v", c.readRatio)
	}
	return nil
}

// storeOptions returns the Options the store under test is opened with.
func (c config) storeOptions() feox.Options {
	return feox.Options{} // memory-only, every default
}
