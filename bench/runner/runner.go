package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/bench/engine"
	"github.com/feoxdb/feox-go/internal/load/gen"
	"github.com/feoxdb/feox-go/internal/load/host"
	"github.com/feoxdb/feox-go/internal/load/latency"
	"github.com/feoxdb/feox-go/internal/load/proc"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// ErrBadJob is returned by Run for a job whose fields make no sense.
var ErrBadJob = errors.New("bad job")

// KeySize is the length of every key the comparison writes.
const KeySize = 16

// LoadBatch is the number of pairs per PutBatch call of the load.
const LoadBatch = 1000

// sampleEvery is how often an operation is timed: one in sampleEvery, so that reading the
// clock does not weigh on the fastest engines (the quantiles come from that sample).
const sampleEvery = 4

// checkEvery is how many operations a goroutine runs between looks at the stop flag.
const checkEvery = 16

// Job is one engine in one mode with one data set and one number of goroutines: a load,
// then each timed workload in turn.
type Job struct {
	Engine     string        `json:"engine"`
	Memory     bool          `json:"memory"`
	Keys       uint64        `json:"keys"`
	ValueSize  int           `json:"value_size"`
	Goroutines int           `json:"goroutines"`
	Workloads  []string      `json:"workloads"`
	Duration   time.Duration `json:"duration"`
	// Warmup is how long each workload runs, unmeasured, before its measured Duration
	// (0: none).
	Warmup time.Duration `json:"warmup,omitempty"`
	// Dir is where the engine's directory is made (and removed at the end).
	Dir  string `json:"dir"`
	Seed uint64 `json:"seed"`
}

// Point is the measurement of the load or of one workload.
type Point struct {
	Workload string        `json:"workload"`
	Ops      uint64        `json:"ops"`
	Elapsed  time.Duration `json:"elapsed"`
	// OpsPerSec is Ops / Elapsed; a scan counts as one operation, a load pair as one.
	OpsPerSec float64 `json:"ops_per_sec"`
	// P50, P99 and Max are latencies of single operations (of whole PutBatch calls for the
	// load), from a sample of them.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
	// PeakRSS is the process's peak resident set during the point (reset at its start), 0
	// where it cannot be measured.
	PeakRSS int64 `json:"peak_rss"`
	// DiskBytes is the engine's DiskUsage right after the point.
	DiskBytes int64 `json:"disk_bytes"`
	// Errors counts failed operations; the first one's message is in Error.
	Errors uint64 `json:"errors"`
	Error  string `json:"error,omitempty"`
}

// Result is the outcome of a job.
type Result struct {
	Job    Job     `json:"job"`
	Points []Point `json:"points"`
	// Open and Close are how long opening the empty engine and closing it at the end took.
	Open  time.Duration `json:"open"`
	Close time.Duration `json:"close"`
	// DiskAfterClose is the engine's bytes on disk once closed.
	DiskAfterClose int64 `json:"disk_after_close"`
	// LoadAvg is the machine's load average at the start and at the end of the job.
	LoadAvg [2]string `json:"load_avg"`
	// Err is set when the job stopped early.
	Err string `json:"err,omitempty"`
}

// worker is one goroutine's state during a point.
type worker struct {
	gen  *workload.Gen
	h    latency.Histogram
	ops  uint64
	errs uint64
	err  error
	key  []byte
	// ver numbers the worker's writes (the version of the values it writes), writes counts
	// them for the syncs of durable workloads.
	ver, writes uint64
	sink        int
}

// fail counts a failed operation, keeping the first error.
func (w *worker) fail(err error) {
	w.errs++
	if w.err == nil {
		w.err = err
	}
}

// env holds what every point of a job shares.
type env struct {
	job  Job
	e    engine.Engine
	keys gen.Keys
	vals *gen.Values
	log  io.Writer
}

// Run runs job and returns its result; progress lines go to log. A failure to open or load
// ends the job early, with Result.Err set; failed operations of a workload are counted in
// its point.
func Run(job Job, log io.Writer) Result {
	res := Result{Job: job, LoadAvg: [2]string{host.LoadAvg(), ""}}
	if err := run(job, log, &res); err != nil {
		res.Err = err.Error()
	}
	res.LoadAvg[1] = host.LoadAvg()
	return res
}

func run(job Job, log io.Writer, res *Result) error {
	if job.Keys == 0 || job.ValueSize <= 0 || job.Goroutines <= 0 || job.Duration <= 0 || job.Warmup < 0 {
		return fmt.Errorf("%w: keys %d, value size %d, goroutines %d, duration %v", ErrBadJob, job.Keys, job.ValueSize, job.Goroutines, job.Duration)
	}
	spec, err := engine.Lookup(job.Engine)
	if err != nil {
		return err
	}
	var wls []workload.Spec
	for _, name := range job.Workloads {
		w, err := Lookup(name)
		if err != nil {
			return err
		}
		if w.PersistentOnly && job.Memory {
			continue
		}
		wls = append(wls, w)
	}
	dir, err := os.MkdirTemp(job.Dir, "feoxbench-"+job.Engine+"-")
	if err != nil {
		return fmt.Errorf("cannot make the engine's directory: %w", err)
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	e, err := spec.Open(dir, job.Memory)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", job.Engine, err)
	}
	res.Open = time.Since(start)
	closed := false
	defer func() {
		if !closed {
			_ = e.Close()
		}
	}()
	ev := &env{job: job, e: e, keys: gen.NewKeys(KeySize), log: log,
		vals: gen.NewValues(job.ValueSize, job.ValueSize, gen.IncompressiblePool, job.Seed)}

	p := ev.load()
	res.Points = append(res.Points, p)
	if p.Errors > 0 {
		return fmt.Errorf("load failed: %s", p.Error)
	}
	for i := range wls {
		res.Points = append(res.Points, ev.timed(&wls[i]))
	}

	start = time.Now()
	closed = true
	if err := e.Close(); err != nil {
		return fmt.Errorf("cannot close %s: %w", job.Engine, err)
	}
	res.Close = time.Since(start)
	if !job.Memory {
		if res.DiskAfterClose, err = engine.DirUsage(dir); err != nil {
			return err
		}
	}
	return nil
}

// finish fills the measurements every point shares.
func (ev *env) finish(p *Point, ws []*worker, elapsed time.Duration) {
	var h latency.Histogram
	for _, w := range ws {
		h.Merge(&w.h)
		p.Ops += w.ops
		p.Errors += w.errs
		if w.err != nil && p.Error == "" {
			p.Error = w.err.Error()
		}
	}
	p.Elapsed = elapsed
	p.OpsPerSec = float64(p.Ops) / elapsed.Seconds()
	p.P50, p.P99, p.Max = h.Quantile(0.5), h.Quantile(0.99), h.Max()
	p.PeakRSS = proc.PeakRSS()
	if d, err := ev.e.DiskUsage(); err == nil {
		p.DiskBytes = d
	} else if p.Error == "" {
		p.Error = err.Error()
	}
	fmt.Fprintf(ev.log, "  %-11s %12.0f ops/s  p99 %-10v rss %4d MiB  disk %5d MiB  errors %d\n",
		p.Workload, p.OpsPerSec, p.P99, p.PeakRSS>>20, p.DiskBytes>>20, p.Errors)
}

// newWorkers returns n workers that draw the operations of w, or none for the load (nil).
func (ev *env) newWorkers(n int, w *workload.Spec) []*worker {
	var keys *workload.Shared
	if w != nil {
		keys = workload.NewShared(ev.job.Keys, ev.job.Keys, n) // the key set stays as loaded
	}
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = &worker{
			key: make([]byte, KeySize),
			ver: uint64(i+1) << 48, // distinct versions per goroutine
		}
		if w != nil {
			ws[i].gen = keys.NewGen(w, i, ev.job.Seed, gen.ZipfianConstant)
		}
	}
	return ws
}

// load writes every key once, split in contiguous index ranges over the goroutines, in
// PutBatch calls of LoadBatch pairs; a persistent engine is synced at the end, inside the
// measured time.
func (ev *env) load() Point {
	proc.ResetPeakRSS()
	g := ev.job.Goroutines
	ws := ev.newWorkers(g, nil)
	n := ev.job.Keys
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range ws {
		lo, hi := n*uint64(i)/uint64(g), n*uint64(i+1)/uint64(g)
		wg.Go(func() {
			keyBuf := make([]byte, LoadBatch*KeySize)
			keys := make([][]byte, 0, LoadBatch)
			vals := make([][]byte, 0, LoadBatch)
			for b := lo; b < hi; b += LoadBatch {
				keys, vals = keys[:0], vals[:0]
				for j := b; j < min(b+LoadBatch, hi); j++ {
					k := int(j-b) * KeySize
					keys = append(keys, ev.keys.Put(keyBuf[k:k+KeySize], j))
					vals = append(vals, ev.vals.Value(j, 0))
				}
				t0 := time.Now()
				if err := ev.e.PutBatch(keys, vals); err != nil {
					w.fail(err)
					return
				}
				w.h.Record(time.Since(t0))
				w.ops += uint64(len(keys))
			}
		})
	}
	wg.Wait()
	if !ev.job.Memory {
		if err := ev.e.Sync(); err != nil {
			ws[0].fail(err)
		}
	}
	p := Point{Workload: Load}
	ev.finish(&p, ws, time.Since(start))
	return p
}

// timed runs w on every goroutine for the job's duration. A persistent engine is synced
// first, outside the measured time, so that writes still buffered from the previous point
// are not charged to this one.
func (ev *env) timed(w *workload.Spec) Point {
	if !ev.job.Memory {
		if err := ev.e.Sync(); err != nil {
			return Point{Workload: w.Name, Errors: 1, Error: "sync before the point: " + err.Error()}
		}
	}
	if ev.job.Warmup > 0 {
		ev.spin(w, ev.newWorkers(ev.job.Goroutines, w), ev.job.Warmup)
	}
	proc.ResetPeakRSS()
	ws := ev.newWorkers(ev.job.Goroutines, w)
	elapsed := ev.spin(w, ws, ev.job.Duration)
	p := Point{Workload: w.Name}
	ev.finish(&p, ws, elapsed)
	return p
}

// spin runs w on one goroutine per worker for d and returns how long they ran.
func (ev *env) spin(w *workload.Spec, ws []*worker, d time.Duration) time.Duration {
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for _, wk := range ws {
		wg.Go(func() { ev.loop(w, wk, &stop) })
	}
	wg.Wait()
	return time.Since(start)
}

// loop runs operations of w, checkEvery at a time, until stop is set (at least once).
func (ev *env) loop(w *workload.Spec, wk *worker, stop *atomic.Bool) {
	consume := func(k, v []byte) { wk.sink += len(k) + len(v) }
	for first := true; first || !stop.Load(); first = false {
		for range checkEvery {
			// Durable workloads time every op: their syncs fall on fixed op counts.
			timed := w.SyncEvery > 0 || wk.ops%sampleEvery == 0
			var t0 time.Time
			if timed {
				t0 = time.Now()
			}
			op, _ := wk.gen.Next() // the key set never runs out: nothing is inserted or deleted
			if err := ev.execute(w, wk, op, consume); err != nil {
				wk.fail(err)
			}
			if timed {
				wk.h.Record(time.Since(t0))
			}
			wk.ops++
		}
	}
}

// execute performs op for wk; a write of a durable workload is synced on every w.SyncEvery-th
// write of the worker.
func (ev *env) execute(w *workload.Spec, wk *worker, op workload.Op, consume func(k, v []byte)) error {
	key := ev.keys.Put(wk.key, op.Index)
	put := func() error {
		wk.ver++
		wk.writes++
		if w.SyncEvery > 0 && wk.writes%uint64(w.SyncEvery) == 0 {
			return ev.e.PutSync(key, ev.vals.Value(op.Index, wk.ver))
		}
		return ev.e.Put(key, ev.vals.Value(op.Index, wk.ver))
	}
	switch op.Kind {
	case workload.Read:
		v, err := ev.e.Get(key)
		wk.sink += len(v)
		return err
	case workload.Update:
		return put()
	case workload.RMW:
		v, err := ev.e.Get(key)
		if err != nil {
			return err
		}
		wk.sink += len(v)
		return put()
	case workload.Scan:
		n, err := ev.e.Scan(key, op.ScanLen, consume)
		if err == nil && n == 0 {
			err = fmt.Errorf("scan from key %d visited nothing", op.Index)
		}
		return err
	}
	return fmt.Errorf("%w: operation %s", ErrUnsupportedWorkload, op.Kind)
}
