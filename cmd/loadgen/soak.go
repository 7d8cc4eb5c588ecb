package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/internal/load/proc"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// soakSample is one reading of the process and the store during a soak test.
type soakSample struct {
	At         time.Duration `json:"-"`
	Seconds    float64       `json:"seconds"`
	OpsPerSec  float64       `json:"ops_per_sec"`
	HeapInuse  int64         `json:"heap_inuse_bytes"`
	RSS        int64         `json:"rss_bytes"`
	Goroutines int64         `json:"goroutines"`
	FileBytes  int64         `json:"file_bytes"`
	Keys       int64         `json:"keys"`
}

// soakMetric is one metric's verdict: did it stay flat under load?
type soakMetric struct {
	Name string `json:"name"`
	// Start and End are the largest values of the first and the last quarter of the samples
	// under load (peaks, so that the garbage collector's sawtooth does not pass for growth
	// or shrinkage); Max is the largest of all.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Max   int64 `json:"max"`
	// Flat is End <= Start*(1+soakGrowth) + slack; nil when there are too few samples.
	Flat *bool `json:"flat"`
	// format renders the metric's values.
	format func(int64) string
}

// soakGrowth is the relative growth from start to end that still counts as flat (plus a
// per-metric absolute slack for the noise of small values).
const soakGrowth = 0.2

// soakVerdict judges each metric over samples[1:] (samples[0] is taken before the workload
// starts, at rest). Without a file (hasFile false) the file size is not judged.
func soakVerdict(samples []soakSample, hasFile bool) []soakMetric {
	metrics := []struct {
		name   string
		get    func(*soakSample) int64
		slack  int64
		format func(int64) string
	}{
		{"heap in use", func(s *soakSample) int64 { return s.HeapInuse }, 8 << 20, units.Bytes},
		{"RSS", func(s *soakSample) int64 { return s.RSS }, 32 << 20, units.Bytes},
		{"goroutines", func(s *soakSample) int64 { return s.Goroutines }, 2, func(v int64) string { return strconv.FormatInt(v, 10) }},
		{"file size", func(s *soakSample) int64 { return s.FileBytes }, 16 << 20, units.Bytes},
	}
	peak := func(run []soakSample, get func(*soakSample) int64) int64 {
		var m int64
		for i := range run {
			m = max(m, get(&run[i]))
		}
		return m
	}
	var out []soakMetric
	for _, m := range metrics {
		sm := soakMetric{Name: m.name, format: m.format}
		if len(samples) >= 3 && (hasFile || m.name != "file size") {
			run := samples[1:]
			q := max(1, len(run)/4)
			sm.Start, sm.End, sm.Max = peak(run[:q], m.get), peak(run[len(run)-q:], m.get), peak(run, m.get)
			flat := float64(sm.End) <= float64(sm.Start)*(1+soakGrowth)+float64(m.slack)
			sm.Flat = &flat
		}
		out = append(out, sm)
	}
	return out
}

// soakResult is the outcome of a soak test.
type soakResult struct {
	cfg     *config
	spec    workload.Spec
	where   string
	hasFile bool
	samples []soakSample
	ops     *phaseResult
	// opens holds the duration of every reopen's Open (recovery included).
	opens []time.Duration
	// wall is the soak's duration, reopens included.
	wall     time.Duration
	closeDur time.Duration
	peakRSS  int64
	err      error
}

// soakSampler takes the samples of a soak test; mu is held by the test around reopens so
// that a sample never sees the store closed.
type soakSampler struct {
	mu      sync.Mutex
	h       *storeHandle
	opsDone atomic.Int64
	start   time.Time
	// lastOps and lastAt are the operation count and time of the previous sample, if any
	// (taken).
	lastOps int64
	lastAt  time.Duration
	taken   bool
}

// take reads one sample.
func (s *soakSampler) take() soakSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	at := time.Since(s.start)
	ops := s.opsDone.Load()
	sm := soakSample{At: at, Seconds: at.Seconds(), HeapInuse: int64(ms.HeapInuse), RSS: proc.RSS(),
		Goroutines: int64(runtime.NumGoroutine()), FileBytes: s.h.fileSize(), Keys: int64(s.h.st.Len())}
	if s.taken {
		sm.OpsPerSec = perSec(ops-s.lastOps, at-s.lastAt)
	}
	s.lastOps, s.lastAt, s.taken = ops, at, true
	return sm
}

// runSoak runs the soak test and prints its summary. It returns the exit status.
func runSoak(ctx context.Context, cfg *config, e *env) int {
	res, code := soak(ctx, cfg, e)
	if res == nil {
		return code
	}
	var err error
	switch {
	case cfg.json:
		err = writeSoakJSON(e.stdout, res)
	case cfg.csv:
		err = writeSoakCSV(e.stdout, res)
	default:
		err = writeSoakText(e.stdout, res)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "loadgen: cannot write the report: %v\n", err)
		return 1
	}
	if res.err != nil {
		fmt.Fprintf(e.stderr, "loadgen: %v\n", res.err)
	}
	if n := res.ops.errorCount(); n > 0 {
		fmt.Fprintf(e.stderr, "loadgen: %d operations failed; first error: %v\n", n, res.ops.firstErr)
		code = max(code, 1)
	}
	return code
}

// soak loads the keys, then runs the workload in segments of cfg.soakReopen with a reopen
// of the store between them, sampling every cfg.soakSample. It is long because the sampler,
// the reopens and the segments share the store handle and the key space; split, they would
// pass all of it around.
func soak(ctx context.Context, cfg *config, e *env) (*soakResult, int) {
	h, err := openStore(cfg, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
		if errors.Is(err, errInvalidConfig) {
			return nil, 2
		}
		return nil, 1
	}
	defer h.cleanup()
	res := &soakResult{cfg: cfg, spec: cfg.spec(), where: h.describe(), hasFile: h.path != "", ops: &phaseResult{name: "soak"}}
	rn := newRunner(cfg, h.st, e.progress)
	loadSpec, _ := workload.Lookup("load", 0)
	reload := func(from, to uint64) error {
		ld := rn.runPhase(ctx, &phase{name: "load", spec: &loadSpec, shared: workload.NewLoad(from, to, cfg.goroutines),
			seed: cfg.seed, live: liveBar, total: int64(to - from), period: barPeriod})
		if n := ld.errorCount(); n > 0 {
			return fmt.Errorf("%w: %d inserts failed; first error: %w", errLoadFailed, n, ld.firstErr)
		}
		return h.st.Flush()
	}
	if err := reload(0, uint64(cfg.keys)); err != nil {
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
		return nil, 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(e.stderr, "loadgen: interrupted during the load")
		return nil, exitInterrupted
	}
	shared := workload.NewShared(uint64(cfg.keys), rn.keys.Capacity(), cfg.goroutines)

	sp := &soakSampler{h: h, start: time.Now()}
	res.samples = append(res.samples, sp.take())
	e.note("soak    %s of %s%s, reopen every %s, a sample every %s", cfg.soak, res.spec.Name, rateNote(cfg.rate), cfg.soakReopen, cfg.soakSample)
	stopSampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(cfg.soakSample)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				s := sp.take()
				res.samples = append(res.samples, s) // read by soak only after wg.Wait
				e.note("soak    %6s %10s ops/s  heap %s  RSS %s  goroutines %d  file %s  keys %d",
					s.At.Round(time.Second), units.Rate(s.OpsPerSec), units.Bytes(s.HeapInuse), units.Bytes(s.RSS),
					s.Goroutines, units.Bytes(s.FileBytes), s.Keys)
			}
		}
	})

	code := 0
	for seg := uint64(1); ; seg++ {
		left := cfg.soak - time.Since(sp.start)
		if left <= 0 || ctx.Err() != nil {
			break
		}
		d := left
		if cfg.soakReopen > 0 {
			d = min(d, cfg.soakReopen)
		}
		r := rn.runPhase(ctx, &phase{name: "soak", spec: &res.spec, shared: shared, duration: d, rate: cfg.rate,
			seed: cfg.seed + seg<<32, live: liveNone, period: min(linePeriod, cfg.soakSample/4), opsDone: &sp.opsDone})
		res.ops.merge(r)
		if r.exhausted || r.interrupted || cfg.soakReopen == 0 || time.Since(sp.start) >= cfg.soak {
			break
		}
		sp.mu.Lock()
		_, openDur, err := h.reopen()
		if err == nil {
			rn.st = h.st
			if cfg.mem { // a memory-only store comes back empty: load the live keys again
				lo, hi := shared.Bounds()
				err = reload(lo, hi)
			}
		}
		sp.mu.Unlock()
		if err != nil {
			res.err = fmt.Errorf("reopen: %w", err)
			code = 1
			break
		}
		res.opens = append(res.opens, openDur)
	}
	close(stopSampling)
	wg.Wait()
	res.wall = time.Since(sp.start)
	if ctx.Err() != nil {
		res.ops.interrupted = true
		code = max(code, exitInterrupted)
	}
	if res.closeDur, err = h.close(); err != nil && res.err == nil {
		res.err, code = err, 1
	}
	res.peakRSS = proc.PeakRSS()
	return res, code
}

// writeSoakText prints the soak summary: the samples over time, whether each metric stayed
// flat, and the operations table.
func writeSoakText(w io.Writer, res *soakResult) error {
	c := res.cfg
	ew := &errWriter{w: w}
	ew.printf("soak      %s (%s running the workload), %s: %s\n", units.Duration(res.wall), units.Duration(res.ops.elapsed),
		res.spec.Name, res.spec.Describe())
	ew.printf("keys      %d keys of %d B, values of %s B, %d goroutines%s, seed %d\n",
		c.keys, c.keySize, c.value, c.goroutines, rateNote(c.rate), c.seed)
	ew.printf("store     %s\n          %s\n", res.where, c.describeStore())
	reopens := fmt.Sprintf("%d reopens", len(res.opens))
	if len(res.opens) > 0 {
		sorted := slices.Clone(res.opens)
		slices.Sort(sorted)
		reopens += fmt.Sprintf(" (Open took median %s, max %s)", units.Duration(sorted[len(sorted)/2]), units.Duration(sorted[len(sorted)-1]))
	}
	if c.soakReopen > 0 {
		ew.printf("reopen    every %s: %s\n", c.soakReopen, reopens)
	} else {
		ew.printf("reopen    never (--soak-reopen 0)\n")
	}
	if res.ops.interrupted {
		ew.printf("          (interrupted)\n")
	}
	ew.printf("\n")

	st := &table{left: 0}
	st.add("time", "ops/s", "heap in use", "RSS", "goroutines", "file size", "keys")
	for _, s := range res.samples {
		ops := "-"
		if s.OpsPerSec > 0 {
			ops = units.Rate(s.OpsPerSec)
		}
		file := "n/a"
		if res.hasFile {
			file = units.Bytes(s.FileBytes)
		}
		st.add(s.At.Round(time.Second).String(), ops, units.Bytes(s.HeapInuse), units.Bytes(s.RSS),
			strconv.FormatInt(s.Goroutines, 10), file, strconv.FormatInt(s.Keys, 10))
	}
	ew.table(st, "")

	ew.printf("\nstayed flat? (start and end: peaks of the first and last quarter of the samples under load;\n"+
		"flat when end <= start + %.0f%% + a small slack)\n", soakGrowth*100)
	vt := &table{left: 1}
	vt.add("metric", "start", "end", "max", "flat")
	for _, m := range soakVerdict(res.samples, res.hasFile) {
		if m.Flat == nil {
			why := "n/a (fewer than two samples under load)"
			if !res.hasFile && m.Name == "file size" {
				why = "n/a (memory-only)"
			}
			vt.add(m.Name, "n/a", "n/a", "n/a", why)
			continue
		}
		verdict := "yes"
		if !*m.Flat {
			verdict = "NO: grew"
		}
		vt.add(m.Name, m.format(m.Start), m.format(m.End), m.format(m.Max), verdict)
	}
	ew.table(vt, "")

	ew.printf("\noperations over the whole soak:\n")
	t := &table{left: 2}
	t.add(append([]string{"phase", "op"}, opHeader()...)...)
	addPhaseRows(t, res.ops)
	ew.table(t, "")
	pf := processOf(res.ops, res.peakRSS)
	ew.printf("\nCPU time user %s, system %s; peak RSS %s; final Close %s\n", na(pf.CPUUserSeconds, fmtSecs),
		na(pf.CPUSysSeconds, fmtSecs), na(pf.PeakRSSBytes, fmtSize), units.Duration(res.closeDur))
	return ew.err
}

// writeSoakJSON prints the soak summary as one JSON object.
func writeSoakJSON(w io.Writer, res *soakResult) error {
	opens := make([]float64, len(res.opens))
	for i, d := range res.opens {
		opens[i] = d.Seconds()
	}
	out := struct {
		Config      map[string]any    `json:"config"`
		Workload    string            `json:"workload"`
		Where       string            `json:"where"`
		WallSeconds float64           `json:"wall_seconds"`
		Seconds     float64           `json:"seconds"`
		OpsPerSec   float64           `json:"ops_per_sec"`
		Ops         map[string]jsonOp `json:"ops"`
		OpenSeconds []float64         `json:"open_seconds"`
		Samples     []soakSample      `json:"samples"`
		Flat        []soakMetric      `json:"flat"`
		Interrupted bool              `json:"interrupted"`
		Process     processFigures    `json:"process"`
	}{
		Config: configJSON(res.cfg), Workload: res.spec.Name, Where: res.where, WallSeconds: res.wall.Seconds(), Seconds: res.ops.elapsed.Seconds(),
		OpsPerSec: perSec(res.ops.total().lat.Count(), res.ops.elapsed), Ops: jsonOps(res.ops),
		OpenSeconds: opens, Samples: res.samples, Flat: soakVerdict(res.samples, res.hasFile),
		Interrupted: res.ops.interrupted, Process: processOf(res.ops, res.peakRSS),
	}
	return json.NewEncoder(w).Encode(out)
}

// writeSoakCSV prints the samples as CSV.
func writeSoakCSV(w io.Writer, res *soakResult) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"seconds", "ops_per_sec", "heap_inuse_bytes", "rss_bytes", "goroutines", "file_bytes", "keys"}}
	for _, s := range res.samples {
		rows = append(rows, []string{strconv.FormatFloat(s.Seconds, 'f', 3, 64), strconv.FormatFloat(s.OpsPerSec, 'f', 1, 64),
			strconv.FormatInt(s.HeapInuse, 10), strconv.FormatInt(s.RSS, 10), strconv.FormatInt(s.Goroutines, 10),
			strconv.FormatInt(s.FileBytes, 10), strconv.FormatInt(s.Keys, 10)})
	}
	return cw.WriteAll(rows)
}
