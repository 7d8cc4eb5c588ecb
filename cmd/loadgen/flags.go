package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/feoxdb/feox-go/internal/load/gen"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// sizeFlag is a byte size flag: "4096", "64K", "16M", "1GiB" (powers of 1024).
type sizeFlag struct{ p *int64 }

func (f sizeFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatInt(*f.p, 10)
}

func (f sizeFlag) Set(s string) error {
	v, err := units.ParseSize(s)
	if err != nil {
		return fmt.Errorf("want a size in bytes such as 4096, 64K, 16MiB or 1G: %w", err)
	}
	*f.p = v
	return nil
}

func (f sizeFlag) Get() any { return *f.p }

// intSizeFlag is sizeFlag for an int field.
type intSizeFlag struct{ p *int }

func (f intSizeFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f intSizeFlag) Set(s string) error {
	var v int64
	if err := (sizeFlag{&v}).Set(s); err != nil {
		return err
	}
	if int64(int(v)) != v {
		return fmt.Errorf("%d is too large", v)
	}
	*f.p = int(v)
	return nil
}

func (f intSizeFlag) Get() any { return *f.p }

// countFlag is a count flag: "200000", "200_000", "200K", "1M" (powers of 1000).
type countFlag struct{ p *int64 }

func (f countFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatInt(*f.p, 10)
}

func (f countFlag) Set(s string) error {
	v, err := units.ParseCount(s)
	if err != nil {
		return fmt.Errorf("want a count such as 200000, 200_000, 200K or 1M: %w", err)
	}
	*f.p = v
	return nil
}

func (f countFlag) Get() any { return *f.p }

// rateFlag is the --rate flag: a count of operations per second ("20000", "20K"). It
// accepts a sign so that validate can say a negative rate is out of range rather than "not
// a number".
type rateFlag struct{ p *int64 }

func (f rateFlag) String() string { return countFlag(f).String() }

func (f rateFlag) Set(s string) error {
	t, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
	v, err := units.ParseCount(t)
	if err != nil {
		return fmt.Errorf("want operations per second such as 20000, 20_000 or 20K (0: no limit): %w", err)
	}
	if neg {
		v = -v
	}
	*f.p = v
	return nil
}

func (f rateFlag) Get() any { return *f.p }

// ioFlag is the --io flag.
type ioFlag struct{ p *feox.IOMode }

func (f ioFlag) String() string {
	if f.p == nil {
		return feox.IOAuto.String()
	}
	return f.p.String()
}

func (f ioFlag) Set(s string) error {
	for _, m := range []feox.IOMode{feox.IOAuto, feox.IOUring, feox.IOPwrite} {
		if m.String() == s {
			*f.p = m
			return nil
		}
	}
	return fmt.Errorf("want auto, uring or pwrite")
}

func (f ioFlag) Get() any { return f.String() }

// valueSizeFlag is the --value-size flag: a size or a range "min-max" of sizes.
type valueSizeFlag struct{ p *valueSize }

func (f valueSizeFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return f.p.String()
}

func (f valueSizeFlag) Set(s string) error {
	lo, hi, isRange := strings.Cut(s, "-")
	var a, b int64
	err := sizeFlag{&a}.Set(lo)
	if err == nil && isRange {
		err = sizeFlag{&b}.Set(hi)
	} else {
		b = a
	}
	switch {
	case err != nil:
		return fmt.Errorf("want a size or a range min-max such as 100 or 100-200 (K and M allowed): %w", err)
	case a > b:
		return fmt.Errorf("the range %s is empty (min > max)", s)
	case b > feox.MaxValueSize:
		return fmt.Errorf("values are at most %d bytes", feox.MaxValueSize)
	}
	*f.p = valueSize{int(a), int(b)}
	return nil
}

func (f valueSizeFlag) Get() any { return f.String() }

// durationFlag is a time.Duration flag whose Get is the text form, for the JSON config.
type durationFlag struct{ p *time.Duration }

func (f durationFlag) String() string {
	if f.p == nil {
		return "0s"
	}
	return f.p.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 500ms, 10s or 1m30s")
	}
	*f.p = d
	return nil
}

func (f durationFlag) Get() any { return f.String() }

// sweepFlag collects --sweep name=v1,v2,... values.
type sweepFlag struct{ p *[]sweepParam }

func (f sweepFlag) String() string {
	if f.p == nil {
		return ""
	}
	var parts []string
	for _, s := range *f.p {
		parts = append(parts, s.name+"="+strings.Join(s.values, ","))
	}
	return strings.Join(parts, " ")
}

func (f sweepFlag) Set(s string) error {
	name, list, ok := strings.Cut(s, "=")
	name = strings.TrimLeft(strings.TrimSpace(name), "-")
	if !ok || name == "" || list == "" {
		return fmt.Errorf("want name=v1,v2,... such as batch-entries=16,64,256")
	}
	var values []string
	for v := range strings.SplitSeq(list, ",") {
		if v = strings.TrimSpace(v); v == "" {
			return fmt.Errorf("empty value in %q", list)
		}
		values = append(values, v)
	}
	for _, p := range *f.p {
		if p.name == name {
			return fmt.Errorf("%s is swept twice", name)
		}
	}
	*f.p = append(*f.p, sweepParam{name: name, values: values})
	return nil
}

func (f sweepFlag) Get() any { return f.String() }

// flagGroups lists the flags by section, in the order of the help text. Every flag is in
// exactly one group (a test checks it).
func flagGroups() []struct {
	title string
	names []string
} {
	return []struct {
		title string
		names []string
	}{
		{"Store (feox.Options)", []string{"path", "mem", "file-size", "max-garbage", "max-memory", "no-cache", "ttl-sweep-interval", "log-level"}},
		{"Write pipeline (feox.PipelineOptions)", []string{"shards", "ring-size", "batch-entries", "batch-bytes", "flush-interval", "no-coalesce", "io", "queue-depth", "sqpoll", "direct-io"}},
		{"Workload", []string{"workload", "read-ratio", "distribution", "zipfian-constant", "scan-length", "keys", "key-size", "value-size", "goroutines", "duration", "ops", "rate", "warmup", "seed", "flush-every"}},
		{"Output", []string{"quiet", "json", "csv", "cpuprofile"}},
		{"Sweeps", []string{"sweep", "chart"}},
		{"Soak test", []string{"soak", "soak-reopen", "soak-sample"}},
	}
}

// unsweepable names the flags that choose the kind of run or its output rather than a
// parameter of the experiment.
func unsweepable() map[string]bool {
	return map[string]bool{"path": true, "mem": true, "log-level": true, "quiet": true, "json": true, "cpuprofile": true,
		"csv": true, "sweep": true, "chart": true, "soak": true, "soak-reopen": true, "soak-sample": true}
}

// flagSet returns the command's flags bound to the fields of c, with c's current values as
// defaults. Parsing prints nothing: the caller reports errors and help.
func (c *config) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o, p := &c.opts, &c.opts.Pipeline
	storeDefault := func(what string, v any) string { return fmt.Sprintf("%s (0: the store's default, %v)", what, v) }

	fs.StringVar(&c.path, "path", c.path, "data file to use and keep (default: a temporary file, removed at exit)")
	fs.BoolVar(&c.mem, "mem", c.mem, "memory-only store (no file)")
	fs.Var(sizeFlag{&o.FileSize}, "file-size", storeDefault("initial size of a new data file", "1G"))
	fs.Float64Var(&o.MaxGarbage, "max-garbage", o.MaxGarbage, storeDefault("share of garbage in the data file's written space that makes the cleaner move records (1: only when free space runs short)", feox.DefaultMaxGarbage))
	fs.Var(sizeFlag{&o.MaxMemory}, "max-memory", storeDefault("bound on memory held by keys, values and index", "4G"))
	fs.BoolVar(&o.DisableCache, "no-cache", o.DisableCache, "keep no values in memory once they are on disk")
	fs.Var(durationFlag{&o.TTLSweepInterval}, "ttl-sweep-interval", storeDefault("period of the expiry sweep; negative disables it", feox.DefaultTTLSweepInterval))
	fs.StringVar(&c.logLevel, "log-level", c.logLevel, "store log on stderr: off, error, warn, info or debug")

	fs.IntVar(&p.Shards, "shards", p.Shards, storeDefault("owner goroutines of the write pipeline", "max(1, GOMAXPROCS/2)"))
	fs.Var(intSizeFlag{&p.RingSize}, "ring-size", storeDefault("slots of each shard's ring", feox.DefaultRingSize))
	fs.Var(intSizeFlag{&p.BatchEntries}, "batch-entries", storeDefault("entries that close a batch", feox.DefaultBatchEntries))
	fs.Var(intSizeFlag{&p.BatchBytes}, "batch-bytes", storeDefault("bytes that close a batch", "16M"))
	fs.Var(durationFlag{&p.FlushInterval}, "flush-interval", storeDefault("longest time a write waits in a batch", feox.DefaultFlushInterval))
	fs.BoolVar(&p.DisableCoalesce, "no-coalesce", p.DisableCoalesce, "keep every version of a key in a batch")
	fs.Var(ioFlag{&p.IO}, "io", "I/O backend: auto, uring or pwrite")
	fs.Var(intSizeFlag{&p.QueueDepth}, "queue-depth", storeDefault("io_uring submission queue entries per shard", feox.DefaultQueueDepth))
	fs.BoolVar(&p.SQPoll, "sqpoll", p.SQPoll, "poll each shard's io_uring submission queue from a kernel thread")
	fs.BoolVar(&p.DirectIO, "direct-io", p.DirectIO, "write batches with O_DIRECT where the filesystem allows it")

	fs.StringVar(&c.workload, "workload", c.workload, "workload: "+workload.Names())
	fs.Float64Var(&c.readRatio, "read-ratio", c.readRatio, "share of reads of the mixed workload (the rest are updates)")
	fs.StringVar(&c.dist, "distribution", c.dist, "request distribution, "+gen.DistNames()+" (default: the workload's own)")
	fs.Float64Var(&c.zipfConst, "zipfian-constant", c.zipfConst, "skew of the zipfian, unscrambled-zipfian and latest distributions")
	fs.IntVar(&c.scanLength, "scan-length", c.scanLength, "length of the scan workload's scans; the longest scan of the others, whose lengths are uniform in [1, scan-length]")
	fs.Var(countFlag{&c.keys}, "keys", "keys loaded before the workload runs (K, M allowed)")
	fs.IntVar(&c.keySize, "key-size", c.keySize, "key length in bytes")
	fs.Var(valueSizeFlag{&c.value}, "value-size", "value length in bytes, or a range min-max (uniform)")
	fs.IntVar(&c.goroutines, "goroutines", c.goroutines, "concurrent workers (default GOMAXPROCS)")
	fs.Var(durationFlag{&c.duration}, "duration", "length of the measured phase (default 8s, or no limit with --ops)")
	fs.Var(countFlag{&c.ops}, "ops", "operations of the measured phase, over all workers (0: no limit)")
	fs.Var(rateFlag{&c.rate}, "rate", "at most this many operations per second over all workers, in the warmup, the measured phase and a soak (0: no limit)")
	fs.Var(durationFlag{&c.warmup}, "warmup", "unmeasured run of the workload before the measured phase")
	fs.Uint64Var(&c.seed, "seed", c.seed, "seed of every random stream")
	fs.Var(countFlag{&c.flushEvery}, "flush-every", "each worker calls Flush after every N writes, timed as op flush (0: never, or every N for durable-N)")

	fs.BoolVar(&c.quiet, "quiet", c.quiet, "no live progress on stderr (also off when stderr is not a terminal)")
	fs.BoolVar(&c.json, "json", c.json, "print one JSON object instead of the tables")
	fs.BoolVar(&c.csv, "csv", c.csv, "print CSV rows instead of the tables")
	fs.StringVar(&c.cpuProfile, "cpuprofile", c.cpuProfile, "write a CPU profile of the measured phase (all goroutines, the store's included) to FILE, for go tool pprof")

	fs.Var(sweepFlag{&c.sweeps}, "sweep", "run a grid: name=v1,v2,... of any experiment flag; repeat for more (cartesian product)")
	fs.StringVar(&c.chart, "chart", c.chart, "sweep chart file, .svg or .html (default "+defaultChart+")")

	fs.Var(durationFlag{&c.soak}, "soak", "soak test: run the churn workload (or --workload) for this long")
	fs.Var(durationFlag{&c.soakReopen}, "soak-reopen", "soak test: close and reopen the store this often (0: never)")
	fs.Var(durationFlag{&c.soakSample}, "soak-sample", "soak test: time between samples of heap, RSS, goroutines and file size")
	return fs
}

// parseArgs builds the configuration from the command-line arguments (without the program
// name). It returns flag.ErrHelp for -h and --help, and an error wrapping errInvalidConfig for any
// unknown flag or bad value.
func parseArgs(args []string) (config, error) {
	cfg := defaultConfig()
	fs := cfg.flagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%w: %v", errInvalidConfig, err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected argument %q", errInvalidConfig, fs.Arg(0))
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.durationSet = set["duration"]
	if set["ops"] && !cfg.durationSet {
		cfg.duration = 0 // --ops alone: no time limit
	}
	if cfg.soak > 0 && !set["workload"] {
		cfg.workload = "churn"
	}
	if len(cfg.sweeps) > 0 && cfg.chart == "" {
		cfg.chart = defaultChart
	}
	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	if err := cfg.checkSweeps(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// writeUsage prints the help text: what the command does and every flag by group.
func writeUsage(w io.Writer) {
	cfg := defaultConfig()
	fs := cfg.flagSet()
	fmt.Fprint(w, `Usage: loadgen [flags]

loadgen measures an embedded feox-go store under a synthetic workload and prints
throughput and latency quantiles per operation kind, the write pipeline's figures,
CPU time and peak RSS. Without flags it loads 100K keys into a temporary file,
then runs YCSB workload A (50% reads, 50% updates, zipfian) for 8 s after a 1 s
warmup. Sizes take K, M, G suffixes (powers of 1024), counts K and M (powers of
1000). See docs/LOADGEN.md.
`)
	args := map[string]string{"path": "FILE", "log-level": "LEVEL", "io": "MODE", "workload": "NAME",
		"read-ratio": "RATIO", "max-garbage": "RATIO", "distribution": "NAME", "zipfian-constant": "THETA", "key-size": "BYTES",
		"value-size": "SIZE|MIN-MAX", "seed": "N", "rate": "OPS", "ring-size": "N", "batch-entries": "N", "queue-depth": "N", "sweep": "FLAG=V1,V2,...", "chart": "FILE"}
	for _, g := range flagGroups() {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			f := fs.Lookup(name)
			arg := ""
			switch f.Value.(type) {
			case durationFlag:
				arg = " DURATION"
			case sizeFlag, intSizeFlag:
				arg = " SIZE"
			case countFlag:
				arg = " N"
			}
			if a, ok := args[name]; ok {
				arg = " " + a
			} else if b, ok := f.Value.(interface{ IsBoolFlag() bool }); arg == "" && (!ok || !b.IsBoolFlag()) {
				arg = " N"
			}
			def := ""
			if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" && !strings.Contains(f.Usage, "default") {
				def = fmt.Sprintf(" (default %s)", d)
			}
			fmt.Fprintf(w, "  --%s%s\n        %s%s\n", name, arg, f.Usage, def)
		}
	}
}
