package main

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/load/gen"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// errInvalidConfig is wrapped by every error about a flag's value; the command exits with
// status 2 for it.
var errInvalidConfig = errors.New("invalid configuration")

// valueSize is the length of the values written: uniform in [min, max].
type valueSize struct{ min, max int }

// String returns "100" or "100-200".
func (v valueSize) String() string {
	if v.min == v.max {
		return fmt.Sprint(v.min)
	}
	return fmt.Sprintf("%d-%d", v.min, v.max)
}

// config is everything one run needs, built from the command line by parseArgs. A config is
// copied by value for each point of a sweep; its slices are never modified after parsing.
type config struct {
	// opts are the store's options, but Path (set when the store is opened) and Logger
	// (made from logLevel).
	opts feox.Options
	// path is the data file (--path); "" means a temporary file, or memory with mem.
	path string
	// mem selects a memory-only store.
	mem bool
	// logLevel is the store's log level on stderr, "off" for none.
	logLevel string

	// workload is the workload's name; readRatio the share of reads of "mixed".
	workload  string
	readRatio float64
	// dist overrides the workload's request distribution when not empty.
	dist string
	// zipfConst is the zipfian constant (skew).
	zipfConst float64
	// scanLength is the longest scan.
	scanLength int
	// keys is the number of keys loaded; keySize and value their sizes.
	keys    int64
	keySize int
	value   valueSize
	// goroutines is the number of concurrent workers.
	goroutines int
	// duration and ops end the measured phase, whichever comes first (0: no limit);
	// durationSet records that --duration was given.
	duration    time.Duration
	ops         int64
	durationSet bool
	// rate caps the operations per second of the warmup, the measured phase and the soak,
	// over all workers (0: no limit).
	rate int64
	// warmup is how long the workload runs unmeasured before the measured phase.
	warmup time.Duration
	// seed seeds every random stream.
	seed uint64
	// flushEvery makes each worker call Flush after every flushEvery writes (0: never).
	flushEvery int64

	// quiet turns the live progress off; json and csv choose the output format.
	quiet, json, csv bool
	// cpuProfile is the file that receives a CPU profile of the measured phase ("": none).
	cpuProfile string
	// chart is the sweep chart's file.
	chart string
	// sweeps are the swept flags, in command-line order.
	sweeps []sweepParam
	// soak is the length of a soak test (0: none); soakReopen the time between reopens
	// (0: never) and soakSample the time between samples.
	soak, soakReopen, soakSample time.Duration
}

// Defaults of the run (the store's own defaults are those of feox.Options).
const (
	defaultWorkload   = "ycsb-a"
	defaultKeys       = 100_000
	defaultKeySize    = 16
	defaultValueSize  = 100
	defaultDuration   = 8 * time.Second
	defaultWarmup     = time.Second
	defaultChart      = "loadgen-sweep.html"
	defaultSoakReopen = time.Minute
	defaultSoakSample = 10 * time.Second
	// maxGoroutines bounds --goroutines, to catch a typo before it starts a million workers.
	maxGoroutines = 1 << 16
)

// defaultConfig returns the configuration of a run without flags.
func defaultConfig() config {
	return config{
		logLevel:   "off",
		workload:   defaultWorkload,
		readRatio:  workload.DefaultReadRatio,
		zipfConst:  gen.ZipfianConstant,
		scanLength: workload.DefaultMaxScan,
		keys:       defaultKeys,
		keySize:    defaultKeySize,
		value:      valueSize{defaultValueSize, defaultValueSize},
		goroutines: runtime.GOMAXPROCS(0),
		duration:   defaultDuration,
		warmup:     defaultWarmup,
		seed:       1,
		soakReopen: defaultSoakReopen,
		soakSample: defaultSoakSample,
	}
}

// logLevels maps --log-level values to zerolog levels.
func logLevels() map[string]zerolog.Level {
	return map[string]zerolog.Level{
		"off": zerolog.Disabled, "error": zerolog.ErrorLevel, "warn": zerolog.WarnLevel,
		"info": zerolog.InfoLevel, "debug": zerolog.DebugLevel,
	}
}

// validate reports the first value of c that is out of range, naming its flag. It checks
// what Open would refuse too, so that a bad option is a usage error found before any work.
// It is one long switch, a case per rule, so that the rules read as a list.
func (c *config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errInvalidConfig, fmt.Sprintf(format, args...))
	}
	if _, err := workload.Lookup(c.workload, c.readRatio); err != nil {
		return bad("--workload: %v", err)
	}
	if c.dist != "" {
		if _, err := gen.ParseDist(c.dist); err != nil {
			return bad("--distribution: %v", err)
		}
	}
	capacity := gen.NewKeys(max(c.keySize, 1)).Capacity()
	if c.mem && c.path != "" {
		return bad("--mem and --path exclude each other")
	}
	if err := validateStore(&c.opts, bad); err != nil {
		return err
	}
	switch {
	case !(c.readRatio >= 0 && c.readRatio <= 1): // also rejects NaN
		return bad("--read-ratio must be in [0, 1], got %v", c.readRatio)
	case !(c.zipfConst > 0) || math.IsInf(c.zipfConst, 0) || c.zipfConst > 100:
		return bad("--zipfian-constant must be in (0, 100], got %v", c.zipfConst)
	case c.scanLength < 1:
		return bad("--scan-length must be at least 1, got %d", c.scanLength)
	case c.keySize < 1 || c.keySize > feox.MaxKeySize:
		return bad("--key-size must be in [1, %d], got %d", feox.MaxKeySize, c.keySize)
	case c.keys < 1 || uint64(c.keys) > capacity:
		return bad("--keys must be in [1, %d] for %d-byte keys, got %d", capacity, c.keySize, c.keys)
	case c.value.min < 0 || c.value.max > feox.MaxValueSize || c.value.min > c.value.max:
		return bad("--value-size must be in [0, %d] (a range min-max with min <= max), got %v", feox.MaxValueSize, c.value)
	case c.goroutines < 1 || c.goroutines > maxGoroutines:
		return bad("--goroutines must be in [1, %d], got %d", maxGoroutines, c.goroutines)
	case c.duration < 0:
		return bad("--duration must not be negative, got %v", c.duration)
	case c.ops < 0:
		return bad("--ops must not be negative, got %d", c.ops)
	case c.rate < 0:
		return bad("--rate must not be negative (0: no limit), got %d", c.rate)
	case c.rate > maxRate:
		return bad("--rate must be at most %d operations per second, got %d", maxRate, c.rate)
	case c.duration == 0 && c.ops == 0:
		return bad("--duration must be positive unless --ops is given")
	case c.warmup < 0:
		return bad("--warmup must not be negative, got %v", c.warmup)
	case c.flushEvery < 0:
		return bad("--flush-every must not be negative, got %d", c.flushEvery)
	case c.json && c.csv:
		return bad("--json and --csv exclude each other")
	case c.cpuProfile != "" && (len(c.sweeps) > 0 || c.soak > 0):
		return bad("--cpuprofile profiles one experiment's measured phase; it excludes --sweep and --soak")
	case c.soak < 0:
		return bad("--soak must not be negative, got %v", c.soak)
	case c.soakReopen < 0:
		return bad("--soak-reopen must not be negative, got %v", c.soakReopen)
	case c.soakSample <= 0:
		return bad("--soak-sample must be positive, got %v", c.soakSample)
	case c.soak > 0 && len(c.sweeps) > 0:
		return bad("--soak and --sweep exclude each other")
	case len(c.sweeps) > 0 && c.path != "":
		return bad("--path with --sweep would reuse one file for every point; leave it out (set TMPDIR to choose where the temporary files go)")
	case c.chart != "" && len(c.sweeps) == 0:
		return bad("--chart needs --sweep")
	}
	if _, ok := logLevels()[c.logLevel]; !ok {
		return bad("--log-level must be one of off, error, warn, info, debug; got %q", c.logLevel)
	}
	return nil
}

// validateStore is validate's list of rules for the store's options, in the same form.
func validateStore(o *feox.Options, bad func(format string, args ...any) error) error {
	p := &o.Pipeline
	switch {
	case o.FileSize < 0:
		return bad("--file-size must not be negative, got %d", o.FileSize)
	case o.MaxMemory < 0:
		return bad("--max-memory must not be negative, got %d", o.MaxMemory)
	case !(o.MaxGarbage >= 0 && o.MaxGarbage <= 1): // also rejects NaN
		return bad("--max-garbage must be in [0, 1], got %v", o.MaxGarbage)
	case p.Shards < 0 || p.Shards > feox.MaxShards:
		return bad("--shards must be in [0, %d], got %d", feox.MaxShards, p.Shards)
	case p.RingSize < 0 || p.RingSize > feox.MaxRingSize:
		return bad("--ring-size must be in [0, %d], got %d", feox.MaxRingSize, p.RingSize)
	case p.BatchEntries < 0:
		return bad("--batch-entries must not be negative, got %d", p.BatchEntries)
	case p.BatchBytes < 0:
		return bad("--batch-bytes must not be negative, got %d", p.BatchBytes)
	case p.FlushInterval < 0:
		return bad("--flush-interval must not be negative, got %v", p.FlushInterval)
	case p.QueueDepth < 0 || p.QueueDepth > feox.MaxQueueDepth:
		return bad("--queue-depth must be in [0, %d], got %d", feox.MaxQueueDepth, p.QueueDepth)
	}
	return nil
}

// spec returns the workload to run, with the distribution and scan length of the flags.
func (c *config) spec() workload.Spec {
	s, _ := workload.Lookup(c.workload, c.readRatio) // validate checked the name
	if c.dist != "" {
		s.Dist, _ = gen.ParseDist(c.dist)
	}
	s.MaxScan = c.scanLength
	return s
}

// storeKind names where the data lives: "memory" or "file".
func (c *config) storeKind() string {
	if c.mem {
		return "memory"
	}
	return "file"
}

// describeStore returns the store options as a one-line summary, defaults resolved.
func (c *config) describeStore() string {
	o, p := &c.opts, &c.opts.Pipeline
	def := func(v, d int64) int64 {
		if v == 0 {
			return d
		}
		return v
	}
	if c.mem {
		return fmt.Sprintf("max memory %s; no write pipeline (memory-only)", units.Bytes(def(o.MaxMemory, feox.DefaultMaxMemory)))
	}
	shards := "auto"
	if p.Shards > 0 {
		shards = fmt.Sprint(p.Shards)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "shards %s, ring %d, batch %d entries / %s, flush interval %v, coalesce %s, io %s, queue depth %d",
		shards, def(int64(p.RingSize), feox.DefaultRingSize), def(int64(p.BatchEntries), feox.DefaultBatchEntries),
		units.Bytes(def(int64(p.BatchBytes), feox.DefaultBatchBytes)),
		time.Duration(def(int64(p.FlushInterval), int64(feox.DefaultFlushInterval))),
		onOff(!p.DisableCoalesce), p.IO, def(int64(p.QueueDepth), feox.DefaultQueueDepth))
	if p.SQPoll {
		b.WriteString(", sqpoll")
	}
	if p.DirectIO {
		b.WriteString(", direct I/O")
	}
	maxGarbage := o.MaxGarbage
	if maxGarbage == 0 {
		maxGarbage = feox.DefaultMaxGarbage
	}
	fmt.Fprintf(&b, "; max memory %s, cache %s, file size %s, max garbage %v", units.Bytes(def(o.MaxMemory, feox.DefaultMaxMemory)),
		onOff(!o.DisableCache), units.Bytes(def(o.FileSize, feox.DefaultFileSize)), maxGarbage)
	return b.String()
}

// onOff returns "on" or "off".
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
