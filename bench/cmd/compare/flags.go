package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/feoxdb/feox-go/bench/engine"
	"github.com/feoxdb/feox-go/bench/report"
	"github.com/feoxdb/feox-go/bench/runner"
	"github.com/feoxdb/feox-go/internal/load/units"
)

var (
	// errBadSize is returned for a data set that is not KEYSxVALUE.
	errBadSize = errors.New("bad data set")
	// errBadList is returned for a list flag with an empty or unknown item.
	errBadList = errors.New("bad list")
	// errBadCap is returned for a --cap that is not ENGINE:SIZE=KEYS.
	errBadCap = errors.New("bad key cap")
)

// Defaults of the full run.
const (
	defaultSizes      = "1Mx100B,100Kx4KiB"
	defaultGoroutines = "1,2"
	defaultDuration   = 3 * time.Second
	defaultOut        = "../docs/BENCHMARKS.md"
	defaultCharts     = "results"
	quickSizes        = "20Kx100B,2Kx4KiB"
	quickDuration     = 150 * time.Millisecond
)

// config is the parsed command line.
type config struct {
	engines    []string
	workloads  []string
	sizes      []report.Size
	goroutines []int
	duration   time.Duration
	warmup     time.Duration
	quick      bool
	out        string
	charts     string
	dataDir    string
	notes      string
	from       string
	seed       uint64
	caps       map[string]map[string]uint64
	args       []string
}

// parseFlags parses args (without the program name).
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engines := fs.String("engines", engine.Names(), "comma-separated engines to run")
	workloads := fs.String("workloads", runner.WorkloadNames(), "comma-separated workloads to run after the load")
	sizes := fs.String("sizes", "", "comma-separated data sets KEYSxVALUE, keys with an optional K or M, values in B or KiB (default "+defaultSizes+", --quick "+quickSizes+")")
	gs := fs.String("goroutines", defaultGoroutines, "comma-separated goroutine counts")
	duration := fs.Duration("duration", 0, fmt.Sprintf("time per point (default %v, --quick %v)", defaultDuration, quickDuration))
	warmup := fs.Duration("warmup", 0, "time each workload runs unmeasured before its point (0: none, as in the published run)")
	quick := fs.Bool("quick", false, "smoke run: tiny data sets, short points, report in a temporary directory")
	out := fs.String("out", "", "the Markdown report to write (default "+defaultOut+", --quick: a temporary directory)")
	charts := fs.String("charts", "", "directory of the SVG charts and results.json (default "+defaultCharts+", --quick: next to the report)")
	dataDir := fs.String("data", os.TempDir(), "directory in which each engine gets its own directory for the run")
	notes := fs.String("notes", "", "Markdown file inserted as the diagnosis of feox-go's losses (default CHARTS/notes.md when it exists)")
	from := fs.String("from", "", "render the report from a results.json saved by an earlier run instead of running")
	seed := fs.Uint64("seed", 1, "seed of the values and of every random choice")
	var caps capFlag
	fs.Var(&caps, "cap", "ENGINE:SIZE=KEYS: load at most KEYS keys for that engine and data set (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errBadList, fs.Arg(0))
	}
	if *warmup < 0 {
		return nil, fmt.Errorf("%w: negative --warmup", errBadList)
	}
	c := &config{quick: *quick, warmup: *warmup, dataDir: *dataDir, from: *from, seed: *seed, caps: caps.m, args: args}
	var err error
	if c.engines, err = names(*engines, func(n string) error { _, err := engine.Lookup(n); return err }); err != nil {
		return nil, err
	}
	if c.workloads, err = names(*workloads, func(n string) error { _, err := runner.Lookup(n); return err }); err != nil {
		return nil, err
	}
	sz := *sizes
	c.duration = *duration
	c.out, c.charts = *out, *charts
	if c.quick {
		sz = cmp(sz, quickSizes)
		c.duration = cmpDur(c.duration, quickDuration)
		dir := filepath.Join(os.TempDir(), "feox-bench-quick")
		c.out = cmp(c.out, filepath.Join(dir, "BENCHMARKS.md"))
		c.charts = cmp(c.charts, dir)
	}
	sz = cmp(sz, defaultSizes)
	c.duration = cmpDur(c.duration, defaultDuration)
	c.out = cmp(c.out, defaultOut)
	c.charts = cmp(c.charts, defaultCharts)
	c.notes = *notes
	if c.notes == "" {
		if p := filepath.Join(c.charts, "notes.md"); fileExists(p) {
			c.notes = p
		}
	}
	for _, s := range strings.Split(sz, ",") {
		size, err := parseSize(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		c.sizes = append(c.sizes, size)
	}
	for _, s := range strings.Split(*gs, ",") {
		g, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || g < 1 {
			return nil, fmt.Errorf("%w: goroutine count %q", errBadList, s)
		}
		c.goroutines = append(c.goroutines, g)
	}
	return c, nil
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cmpDur returns d, or def when d is zero.
func cmpDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// names splits a comma-separated list and checks every item.
func names(list string, check func(string) error) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("%w: empty item in %q", errBadList, list)
		}
		if err := check(n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// parseSize parses KEYSxVALUE, such as 1Mx100B or 100Kx4KiB: a count of keys (K, M and G
// are powers of 1000) and a value size with its unit (B, or KiB and MiB, powers of 1024).
func parseSize(s string) (report.Size, error) {
	ks, vs, ok := strings.Cut(s, "x")
	if !ok {
		return report.Size{}, fmt.Errorf("%w %q: want KEYSxVALUE, such as 1Mx100B", errBadSize, s)
	}
	keys, err := units.ParseCount(ks)
	if err != nil || keys == 0 {
		return report.Size{}, fmt.Errorf("%w %q: bad key count", errBadSize, s)
	}
	if !strings.HasSuffix(vs, "B") {
		return report.Size{}, fmt.Errorf("%w %q: value size needs a unit, B or KiB", errBadSize, s)
	}
	v, err := units.ParseSize(vs)
	if err != nil || v == 0 || int64(int(v)) != v {
		return report.Size{}, fmt.Errorf("%w %q: bad value size", errBadSize, s)
	}
	return report.Size{Name: s, Keys: uint64(keys), ValueSize: int(v)}, nil
}

// capFlag collects --cap ENGINE:SIZE=KEYS values.
type capFlag struct{ m map[string]map[string]uint64 }

func (c *capFlag) String() string { return "" }

func (c *capFlag) Set(s string) error {
	es, rest, ok1 := strings.Cut(s, ":")
	size, ks, ok2 := strings.Cut(rest, "=")
	n, err := strconv.ParseUint(ks, 10, 64)
	if !ok1 || !ok2 || err != nil || n == 0 {
		return fmt.Errorf("%w %q: want ENGINE:SIZE=KEYS", errBadCap, s)
	}
	if _, err := engine.Lookup(es); err != nil {
		return err
	}
	if c.m == nil {
		c.m = make(map[string]map[string]uint64)
	}
	if c.m[es] == nil {
		c.m[es] = make(map[string]uint64)
	}
	c.m[es][size] = n
	return nil
}
