package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/internal/load/gen"
	"github.com/feoxdb/feox-go/internal/load/latency"
	"github.com/feoxdb/feox-go/internal/load/proc"
	"github.com/feoxdb/feox-go/internal/load/workload"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// numKinds is the number of operation kinds.
const numKinds = int(workload.NumKinds)

// kindCounts are the measurements of one operation kind.
type kindCounts struct {
	// lat holds the latency of every operation, failed ones included, in nanoseconds.
	lat latency.Histogram
	// misses counts operations that found no key (ErrNotFound, an empty scan): normal
	// outcomes, not errors.
	misses int64
	// errors counts every other error.
	errors int64
}

// merge adds o's measurements to k.
func (k *kindCounts) merge(o *kindCounts) {
	k.lat.Merge(&o.lat)
	k.misses += o.misses
	k.errors += o.errors
}

// interval is what one worker measured between two reporting ticks. A worker records into
// its current interval with plain writes and hands it over whole through a channel, so the
// hot path has no lock and no atomic write.
type interval struct {
	worker int
	// tick is the tick that ended the interval.
	tick uint64
	// final marks the worker's last interval; exhausted that it stopped because the
	// workload ran out of keys.
	final, exhausted bool
	kinds            [numKinds]kindCounts
	// firstErr is the first unexpected error of the interval.
	firstErr error
}

// record adds one operation's outcome.
func (iv *interval) record(kind workload.Kind, d time.Duration, err error) {
	k := &iv.kinds[kind]
	k.lat.Record(d)
	switch {
	case err == nil:
	case errors.Is(err, feox.ErrNotFound):
		k.misses++
	default:
		k.errors++
		if iv.firstErr == nil {
			iv.firstErr = fmt.Errorf("%s: %w", kind, err)
		}
	}
}

// reset empties iv for reuse, keeping its histograms' buckets.
func (iv *interval) reset() {
	for i := range iv.kinds {
		iv.kinds[i].lat.Reset()
		iv.kinds[i].misses, iv.kinds[i].errors = 0, 0
	}
	iv.tick, iv.final, iv.exhausted, iv.firstErr = 0, false, false, nil
}

// liveMode is what a phase shows on the progress writer.
type liveMode uint8

const (
	liveNone  liveMode = iota // nothing
	liveBar                   // a progress bar towards phase.total operations
	liveLines                 // a line per tick: ops/s and p99 per kind
)

// phase is one stretch of a run: the load, the warmup, the measured run, a soak segment.
type phase struct {
	// name labels the phase in reports.
	name   string
	spec   *workload.Spec
	shared *workload.Shared
	// duration and ops end the phase, whichever comes first (0: no limit); without either
	// the phase ends when the workload runs out of keys.
	duration time.Duration
	ops      int64
	// rate caps the operations per second of all workers together (0: no limit).
	rate int64
	// seed seeds the phase's random streams.
	seed uint64
	// live selects the progress display, total is the bar's goal and period the time
	// between reports (and between the workers' hand-overs).
	live   liveMode
	total  int64
	period time.Duration
	// opsDone, when not nil, receives the number of operations as they are reported.
	opsDone *atomic.Int64
}

// phaseResult is what a phase measured.
type phaseResult struct {
	name    string
	elapsed time.Duration
	kinds   [numKinds]kindCounts
	// firstErr is one of the unexpected errors, if any occurred.
	firstErr error
	// exhausted: the workload ran out of keys; interrupted: the context was canceled.
	exhausted, interrupted bool
	// before and after are the store's Stats at the start and the end.
	before, after feox.Stats
	// cpu is the process's CPU time during the phase.
	cpu proc.CPUTime
}

// total returns every kind but flush merged (flush is not a workload operation).
func (r *phaseResult) total() *kindCounts {
	t := new(kindCounts)
	for k := range r.kinds {
		if workload.Kind(k) != workload.Flush {
			t.merge(&r.kinds[k])
		}
	}
	return t
}

// errorCount returns the number of unexpected errors of every kind.
func (r *phaseResult) errorCount() int64 {
	var n int64
	for k := range r.kinds {
		n += r.kinds[k].errors
	}
	return n
}

// merge adds o's operations to r (for the segments of a soak test); the elapsed times add up.
func (r *phaseResult) merge(o *phaseResult) {
	for k := range r.kinds {
		r.kinds[k].merge(&o.kinds[k])
	}
	r.elapsed += o.elapsed
	r.cpu = r.cpu.Add(o.cpu)
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.interrupted = r.interrupted || o.interrupted
}

// runner runs phases against one open store.
type runner struct {
	cfg  *config
	st   *feox.Store
	keys gen.Keys
	vals *gen.Values
	// progress receives the live display; nil means quiet.
	progress io.Writer
}

// valuePool is the size of the random pool values are cut from. The store does not compress
// values, so a small pool (a little RSS) does as well as a large one.
const valuePool = 64 << 10

// newRunner returns a runner of cfg's phases against st, showing progress on w (nil: quiet).
func newRunner(cfg *config, st *feox.Store, w io.Writer) *runner {
	return &runner{cfg: cfg, st: st, keys: gen.NewKeys(cfg.keySize),
		vals: gen.NewValues(cfg.value.min, cfg.value.max, valuePool, cfg.seed), progress: w}
}

// control is what a phase's workers share.
type control struct {
	// stop ends the workers; tick counts reporting ticks. Both are sequentially
	// consistent atomics: a worker reads them once per operation (a plain load on x86),
	// and the runner writes them rarely.
	stop atomic.Bool
	tick atomic.Uint64
	// stopped is closed with stop set, to wake workers that wait for their pacer.
	stopped chan struct{}
	// pacer spaces the operations when the phase has a rate (nil: no limit); origin is
	// the time its slots count from.
	pacer  *pacer
	origin time.Time
	// budget is the number of operations not yet handed out when the phase has an
	// operation limit (limited).
	budget  atomic.Int64
	limited bool
	// out carries intervals to the collector; free[w] brings worker w's emptied intervals
	// back for reuse.
	out  chan *interval
	free []chan *interval
}

// budgetChunk is how many operations a worker takes from the budget at once, so that the
// shared counter is touched once per chunk rather than once per operation.
const budgetChunk = 64

// claim takes up to budgetChunk operations from the budget and returns how many it got.
func (c *control) claim() int64 {
	left := c.budget.Add(-budgetChunk)
	if left >= 0 {
		return budgetChunk
	}
	return max(0, budgetChunk+left)
}

// halt tells the workers to stop; only the runner calls it.
func (c *control) halt() {
	if !c.stop.Swap(true) {
		close(c.stopped)
	}
}

// pace waits for the start of the next slot of c's pacer. It returns false when the phase
// is stopped meanwhile. timer is the worker's own, made on the first wait.
func (c *control) pace(timer **time.Timer) bool {
	_, wait := c.pacer.reserve(int64(time.Since(c.origin)))
	if wait <= 0 {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(wait)
	} else {
		(*timer).Reset(wait) // since Go 1.23 a Reset timer never delivers a stale expiry
	}
	select {
	case <-(*timer).C:
		return true
	case <-c.stopped:
		return false
	}
}

// publish hands cur over to the collector and returns an empty interval to record into.
func (c *control) publish(cur *interval, tick uint64) *interval {
	cur.tick = tick
	c.out <- cur
	select {
	case iv := <-c.free[cur.worker]:
		return iv
	default:
		return &interval{worker: cur.worker}
	}
}

// runPhase runs ph with cfg.goroutines workers until its limit, the end of its keys, or the
// end of ctx, and returns the merged measurements.
func (rn *runner) runPhase(ctx context.Context, ph *phase) *phaseResult {
	n := rn.cfg.goroutines
	c := &control{out: make(chan *interval, 2*n+1), free: make([]chan *interval, n), stopped: make(chan struct{})}
	for w := range c.free {
		c.free[w] = make(chan *interval, 1)
	}
	if ph.ops > 0 {
		c.limited = true
		c.budget.Store(ph.ops)
	}
	res := &phaseResult{name: ph.name, before: rn.st.Stats()}
	cpu0 := proc.CPU()
	start := time.Now()
	col := newCollector(ph, c, res, rn.progress, start)
	if ph.rate > 0 {
		c.pacer, c.origin = newPacer(ph.rate, pacerSlack), start
	}

	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() { rn.worker(w, ph, c) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	ticker := time.NewTicker(ph.period)
	defer ticker.Stop()
	var deadline <-chan time.Time
	if ph.duration > 0 {
		t := time.NewTimer(ph.duration)
		defer t.Stop()
		deadline = t.C
	}
	ctxDone := ctx.Done()
	var lineDue <-chan time.Time // the latest time to report the pending tick
	for running := true; running; {
		select {
		case iv := <-c.out:
			col.add(iv)
			if col.pending > 0 && col.allReported(col.pending) {
				col.report(time.Now())
				lineDue = nil
			}
		case <-ticker.C:
			if col.pending > 0 { // a worker is still in a long operation: report without it
				col.report(time.Now())
			}
			col.pending = c.tick.Add(1)
			lineDue = time.After(ph.period / 4)
		case <-lineDue:
			col.report(time.Now())
			lineDue = nil
		case <-deadline:
			c.halt()
			deadline = nil
		case <-ctxDone:
			c.halt()
			res.interrupted = true
			ctxDone = nil
		case <-done:
			running = false
		}
	}
	res.elapsed = time.Since(start)
	for drained := false; !drained; { // every worker sent its final interval before done
		select {
		case iv := <-c.out:
			col.add(iv)
		default:
			drained = true
		}
	}
	col.finish()
	res.after = rn.st.Stats()
	res.cpu = proc.CPU().Sub(cpu0)
	return res
}

// worker runs operations of ph until told to stop, out of budget or out of keys, timing
// each one, and waiting for its pacer's slot first when the phase has a rate (the wait is
// not part of the latency). Apart from what the store does and the first wait's timer, the
// loop does not allocate.
func (rn *runner) worker(w int, ph *phase, c *control) {
	g := ph.shared.NewGen(ph.spec, w, ph.seed, rn.cfg.zipfConst)
	// ver numbers the worker's writes, from a start of its own, so that each write of a key
	// gets other bytes than the value it replaces.
	ver := uint64(w+1)<<40 ^ ph.seed<<20
	keyBuf := make([]byte, rn.keys.Size())
	st, flushEvery := rn.st, rn.cfg.flushEvery
	if flushEvery == 0 { // the workload's own durability (durable-N)
		flushEvery = int64(ph.spec.SyncEvery)
	}
	cur := &interval{worker: w}
	seen := c.tick.Load()
	var allowance, writes int64
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for !c.stop.Load() {
		if t := c.tick.Load(); t != seen {
			seen = t
			cur = c.publish(cur, t)
		}
		if c.limited && allowance == 0 {
			if allowance = c.claim(); allowance == 0 {
				break
			}
		}
		if c.pacer != nil && !c.pace(&timer) {
			break
		}
		op, ok := g.Next()
		if !ok {
			cur.exhausted = true
			break
		}
		key := rn.keys.Put(keyBuf, op.Index)
		start := time.Now()
		ver++
		err := execute(st, op, key, rn.vals.Value(op.Index, ver))
		d := time.Since(start)
		g.Done(op)
		cur.record(op.Kind, d, err)
		allowance--
		if flushEvery > 0 && op.Kind.IsWrite() {
			if writes++; writes%flushEvery == 0 {
				start = time.Now()
				err = st.Flush()
				cur.record(workload.Flush, time.Since(start), err)
			}
		}
	}
	cur.final = true
	cur.tick = seen
	c.out <- cur
}

// execute performs one operation on key; writes write val. A scan that finds no key at or
// after its start reports feox.ErrNotFound, counted as a miss.
func execute(st *feox.Store, op workload.Op, key, val []byte) error {
	switch op.Kind {
	case workload.Read:
		_, err := st.Get(key)
		return err
	case workload.Update, workload.Insert:
		_, err := st.Insert(key, val)
		return err
	case workload.Delete:
		return st.Delete(key)
	case workload.Scan:
		n := 0
		for range st.Scan(key, nil) {
			if n++; n >= op.ScanLen {
				break
			}
		}
		if n == 0 {
			return feox.ErrNotFound
		}
		return nil
	case workload.RMW:
		if _, err := st.Get(key); err != nil {
			return err
		}
		_, err := st.Insert(key, val)
		return err
	}
	return fmt.Errorf("operation %s is not executable", op.Kind)
}
