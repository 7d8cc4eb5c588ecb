package main

import (
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// flagCases maps every flag to its option or config field: each case gives arguments and
// the change they make to the default configuration.
func flagCases() []struct {
	flag string
	args []string
	want func(c *config)
} {
	return []struct {
		flag string
		args []string
		want func(c *config)
	}{
		{"path", []string{"--path", "/tmp/x.feox"}, func(c *config) { c.path = "/tmp/x.feox" }},
		{"mem", []string{"--mem"}, func(c *config) { c.mem = true }},
		{"file-size", []string{"--file-size=64M"}, func(c *config) { c.opts.FileSize = 64 << 20 }},
		{"max-garbage", []string{"--max-garbage=0.4"}, func(c *config) { c.opts.MaxGarbage = 0.4 }},
		{"max-memory", []string{"--max-memory", "2GiB"}, func(c *config) { c.opts.MaxMemory = 2 << 30 }},
		{"no-cache", []string{"--no-cache"}, func(c *config) { c.opts.DisableCache = true }},
		{"ttl-sweep-interval", []string{"--ttl-sweep-interval=-1s"}, func(c *config) { c.opts.TTLSweepInterval = -time.Second }},
		{"log-level", []string{"--log-level=debug"}, func(c *config) { c.logLevel = "debug" }},
		{"shards", []string{"--shards=3"}, func(c *config) { c.opts.Pipeline.Shards = 3 }},
		{"ring-size", []string{"--ring-size=4K"}, func(c *config) { c.opts.Pipeline.RingSize = 4096 }},
		{"batch-entries", []string{"--batch-entries=64"}, func(c *config) { c.opts.Pipeline.BatchEntries = 64 }},
		{"batch-bytes", []string{"--batch-bytes=1m"}, func(c *config) { c.opts.Pipeline.BatchBytes = 1 << 20 }},
		{"flush-interval", []string{"--flush-interval=5ms"}, func(c *config) { c.opts.Pipeline.FlushInterval = 5 * time.Millisecond }},
		{"no-coalesce", []string{"--no-coalesce"}, func(c *config) { c.opts.Pipeline.DisableCoalesce = true }},
		{"io", []string{"--io=pwrite"}, func(c *config) { c.opts.Pipeline.IO = feox.IOPwrite }},
		{"io", []string{"--io", "uring"}, func(c *config) { c.opts.Pipeline.IO = feox.IOUring }},
		{"io", []string{"--io=auto"}, func(c *config) { c.opts.Pipeline.IO = feox.IOAuto }},
		{"queue-depth", []string{"--queue-depth=32"}, func(c *config) { c.opts.Pipeline.QueueDepth = 32 }},
		{"sqpoll", []string{"--sqpoll"}, func(c *config) { c.opts.Pipeline.SQPoll = true }},
		{"direct-io", []string{"--direct-io"}, func(c *config) { c.opts.Pipeline.DirectIO = true }},
		{"workload", []string{"--workload=ycsb-e"}, func(c *config) { c.workload = "ycsb-e" }},
		{"read-ratio", []string{"--workload=mixed", "--read-ratio=0.9"}, func(c *config) { c.workload, c.readRatio = "mixed", 0.9 }},
		{"distribution", []string{"--distribution=latest"}, func(c *config) { c.dist = "latest" }},
		{"zipfian-constant", []string{"--zipfian-constant=1.2"}, func(c *config) { c.zipfConst = 1.2 }},
		{"scan-length", []string{"--scan-length=10"}, func(c *config) { c.scanLength = 10 }},
		{"keys", []string{"--keys=1M"}, func(c *config) { c.keys = 1_000_000 }},
		{"keys", []string{"--keys", "250_000"}, func(c *config) { c.keys = 250_000 }},
		{"key-size", []string{"--key-size=4"}, func(c *config) { c.keySize = 4 }},
		{"value-size", []string{"--value-size=1K"}, func(c *config) { c.value = valueSize{1024, 1024} }},
		{"value-size", []string{"--value-size=100-200"}, func(c *config) { c.value = valueSize{100, 200} }},
		{"goroutines", []string{"--goroutines=7"}, func(c *config) { c.goroutines = 7 }},
		{"duration", []string{"--duration=1m30s"}, func(c *config) { c.duration, c.durationSet = 90*time.Second, true }},
		{"ops", []string{"--ops=5000"}, func(c *config) { c.ops, c.duration = 5000, 0 }},
		{"ops", []string{"--ops=5K", "--duration=3s"}, func(c *config) { c.ops, c.duration, c.durationSet = 5000, 3*time.Second, true }},
		{"rate", []string{"--rate=20K"}, func(c *config) { c.rate = 20_000 }},
		{"rate", []string{"--rate", "1_500"}, func(c *config) { c.rate = 1500 }},
		{"rate", []string{"--rate=0"}, func(c *config) {}},
		{"rate", []string{"--soak=1h", "--rate=1G"}, func(c *config) { c.soak, c.workload, c.rate = time.Hour, "churn", maxRate }},
		{"warmup", []string{"--warmup=0s"}, func(c *config) { c.warmup = 0 }},
		{"seed", []string{"--seed=18446744073709551615"}, func(c *config) { c.seed = 1<<64 - 1 }},
		{"flush-every", []string{"--flush-every=100"}, func(c *config) { c.flushEvery = 100 }},
		{"quiet", []string{"--quiet"}, func(c *config) { c.quiet = true }},
		{"json", []string{"--json"}, func(c *config) { c.json = true }},
		{"csv", []string{"-csv"}, func(c *config) { c.csv = true }},
		{"cpuprofile", []string{"--cpuprofile=cpu.out"}, func(c *config) { c.cpuProfile = "cpu.out" }},
		{"sweep", []string{"--sweep", "batch-entries=16,64", "--sweep=shards=1,2"}, func(c *config) {
			c.sweeps = []sweepParam{{"batch-entries", []string{"16", "64"}}, {"shards", []string{"1", "2"}}}
			c.chart = defaultChart
		}},
		{"chart", []string{"--sweep=shards=1", "--chart=out.svg"}, func(c *config) {
			c.sweeps = []sweepParam{{"shards", []string{"1"}}}
			c.chart = "out.svg"
		}},
		{"soak", []string{"--soak=1h"}, func(c *config) { c.soak, c.workload = time.Hour, "churn" }},
		{"soak", []string{"--soak=1h", "--workload=ycsb-b"}, func(c *config) { c.soak, c.workload = time.Hour, "ycsb-b" }},
		{"soak-reopen", []string{"--soak-reopen=0s"}, func(c *config) { c.soakReopen = 0 }},
		{"soak-sample", []string{"--soak-sample=2s"}, func(c *config) { c.soakSample = 2 * time.Second }},
	}
}

// TestParseArgs_MapsFlags ensures every flag lands in its option or config field and leaves
// the others at their defaults.
func TestParseArgs_MapsFlags(t *testing.T) {
	for _, tt := range flagCases() {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			want := defaultConfig()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parseArgs(%q) =\n%+v\nwant\n%+v", tt.args, got, want)
			}
		})
	}
}

// TestFlags_AllCoveredAndGrouped ensures every flag has a mapping case above and appears in
// exactly one group of the help text, so a new flag cannot go untested or undocumented.
func TestFlags_AllCoveredAndGrouped(t *testing.T) {
	cfg := defaultConfig()
	tested := make(map[string]bool)
	for _, tt := range flagCases() {
		tested[tt.flag] = true
	}
	grouped := make(map[string]int)
	for _, g := range flagGroups() {
		for _, name := range g.names {
			grouped[name]++
		}
	}
	n := 0
	cfg.flagSet().VisitAll(func(f *flag.Flag) {
		n++
		if !tested[f.Name] {
			t.Errorf("flag --%s has no case in flagCases", f.Name)
		}
		if grouped[f.Name] != 1 {
			t.Errorf("flag --%s is in %d help groups, want 1", f.Name, grouped[f.Name])
		}
	})
	if len(grouped) != n {
		t.Errorf("help groups name %d flags, the flag set has %d", len(grouped), n)
	}
}

// TestStoreOptions_PassedToOpen ensures the options built from the flags are the ones the
// store is opened with (and that the store accepts them).
func TestStoreOptions_PassedToOpen(t *testing.T) {
	cfg, err := parseArgs([]string{"--mem", "--shards=2", "--ring-size=256", "--batch-entries=32",
		"--batch-bytes=1M", "--flush-interval=7ms", "--no-coalesce", "--io=pwrite", "--queue-depth=64",
		"--max-memory=512M", "--no-cache", "--ttl-sweep-interval=3s", "--file-size=8M", "--log-level=error"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := openStore(&cfg, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	defer h.cleanup()
	want := cfg.opts
	if h.opts.Logger == nil {
		t.Fatal("--log-level=error gave no logger")
	}
	got := h.opts
	got.Logger = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Open got %+v, want %+v", got, want)
	}
}

// TestParseArgs_Rejects ensures bad values are refused with an error wrapping
// errInvalidConfig that names the flag.
func TestParseArgs_Rejects(t *testing.T) {
	tests := []struct {
		args    []string
		mention string
	}{
		{[]string{"--keys=many"}, "keys"},
		{[]string{"--keys=0"}, "--keys"},
		{[]string{"--keys=-5"}, "keys"},
		{[]string{"--keys=300", "--key-size=1"}, "--keys"},
		{[]string{"--key-size=0"}, "--key-size"},
		{[]string{"--key-size=65536"}, "--key-size"},
		{[]string{"--value-size=200-100"}, "value-size"},
		{[]string{"--value-size=65M"}, "value-size"},
		{[]string{"--value-size=a-b"}, "value-size"},
		{[]string{"--file-size=12Q"}, "file-size"},
		{[]string{"--max-memory=-1"}, "max-memory"},
		{[]string{"--max-garbage=1.5"}, "--max-garbage"},
		{[]string{"--max-garbage=-0.1"}, "--max-garbage"},
		{[]string{"--max-garbage=NaN"}, "--max-garbage"},
		{[]string{"--shards=-1"}, "--shards"},
		{[]string{"--shards=5000"}, "--shards"},
		{[]string{"--ring-size=2M"}, "--ring-size"},
		{[]string{"--batch-entries=x"}, "batch-entries"},
		{[]string{"--batch-bytes=99999999999999999999"}, "batch-bytes"},
		{[]string{"--flush-interval=-1ms"}, "--flush-interval"},
		{[]string{"--flush-interval=soon"}, "flush-interval"},
		{[]string{"--io=aio"}, "io"},
		{[]string{"--queue-depth=40000"}, "--queue-depth"},
		{[]string{"--workload=ycsb-z"}, "--workload"},
		{[]string{"--read-ratio=1.5"}, "--read-ratio"},
		{[]string{"--read-ratio=NaN"}, "--read-ratio"},
		{[]string{"--distribution=pareto"}, "--distribution"},
		{[]string{"--zipfian-constant=0"}, "--zipfian-constant"},
		{[]string{"--scan-length=0"}, "--scan-length"},
		{[]string{"--goroutines=0"}, "--goroutines"},
		{[]string{"--duration=0s"}, "--duration"},
		{[]string{"--duration=-1s"}, "--duration"},
		{[]string{"--warmup=-1s"}, "--warmup"},
		{[]string{"--rate=-1"}, "--rate must not be negative (0: no limit), got -1"},
		{[]string{"--rate=-20K"}, "got -20000"},
		{[]string{"--rate=2G"}, "--rate must be at most 1000000000"},
		{[]string{"--rate=fast"}, "want operations per second"},
		{[]string{"--rate=1.5K"}, "rate"},
		{[]string{"--sweep=rate=100,-100"}, "--rate must not be negative"},
		{[]string{"--flush-every=-3"}, "flush-every"},
		{[]string{"--log-level=loud"}, "--log-level"},
		{[]string{"--mem", "--path=x"}, "--mem"},
		{[]string{"--json", "--csv"}, "--json"},
		{[]string{"--cpuprofile=p", "--sweep=shards=1,2"}, "--cpuprofile"},
		{[]string{"--cpuprofile=p", "--soak=1m"}, "--cpuprofile"},
		{[]string{"--chart=x.html"}, "--chart"},
		{[]string{"--sweep=shards"}, "sweep"},
		{[]string{"--sweep=nosuch=1,2"}, "nosuch"},
		{[]string{"--sweep=path=a,b"}, "path"},
		{[]string{"--sweep=shards=1,-2"}, "--shards"},
		{[]string{"--sweep=shards=1,", "--mem"}, "sweep"},
		{[]string{"--sweep=shards=1", "--sweep=shards=2"}, "twice"},
		{[]string{"--sweep=shards=1", "--path=x"}, "--path"},
		{[]string{"--sweep=shards=1", "--soak=1m"}, "--soak"},
		{[]string{"--soak=-1m"}, "--soak"},
		{[]string{"--soak-sample=0s"}, "--soak-sample"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"stray"}, "stray"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseArgs(tt.args)
			if !errors.Is(err, errInvalidConfig) {
				t.Fatalf("parseArgs(%q) error = %v, want errInvalidConfig", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// TestConfig_Grid ensures the sweep grid is the cartesian product, first flag slowest, and
// that each point's configuration has the swept values set.
func TestConfig_Grid(t *testing.T) {
	cfg, err := parseArgs([]string{"--mem", "--sweep=batch-entries=16,64,256", "--sweep=shards=1,2", "--sweep=flush-interval=1ms,2ms"})
	if err != nil {
		t.Fatal(err)
	}
	grid := cfg.grid()
	if len(grid) != 12 {
		t.Fatalf("%d points, want 12", len(grid))
	}
	seen := make(map[string]bool)
	for i, ps := range grid {
		s := paramsString(ps)
		if seen[s] {
			t.Fatalf("point %s twice", s)
		}
		seen[s] = true
		pc, err := cfg.withParams(ps)
		if err != nil {
			t.Fatal(err)
		}
		p := pc.opts.Pipeline
		if got := []int{p.BatchEntries, p.Shards}; got[0] != []int{16, 64, 256}[i/4] || got[1] != []int{1, 2}[i/2%2] ||
			p.FlushInterval != []time.Duration{time.Millisecond, 2 * time.Millisecond}[i%2] {
			t.Fatalf("point %d (%s): batch-entries %d shards %d flush-interval %v", i, s, p.BatchEntries, p.Shards, p.FlushInterval)
		}
		if len(pc.sweeps) != 0 || pc.chart != "" {
			t.Fatalf("point %d keeps the sweep settings", i)
		}
	}
	if cfg.opts.Pipeline.BatchEntries != 0 {
		t.Fatal("withParams changed the base configuration")
	}
}

// TestConfig_WithParamsOps ensures sweeping --ops without --duration lifts the time limit,
// as --ops alone does.
func TestConfig_WithParamsOps(t *testing.T) {
	cfg, err := parseArgs([]string{"--sweep=ops=100,200"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := cfg.withParams(cfg.grid()[1])
	if err != nil || pc.ops != 200 || pc.duration != 0 {
		t.Fatalf("point ops=200: ops %d duration %v err %v", pc.ops, pc.duration, err)
	}
}
