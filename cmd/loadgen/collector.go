package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/feoxdb/feox-go/internal/load/latency"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// collector merges the intervals the workers hand over into the phase's result, and shows
// the live progress. It runs on the phase's own goroutine.
type collector struct {
	ph  *phase
	c   *control
	res *phaseResult
	w   io.Writer // nil: quiet
	// pending is the tick whose report waits for the workers' intervals (0: none).
	pending uint64
	// lastTick[w] is the tick of worker w's last interval; finished[w] tells it has sent
	// its final one.
	lastTick []uint64
	finished []bool
	// line accumulates the latencies since the last report; lineOps their count.
	line    [numKinds]latency.Histogram
	lineOps int64
	// doneOps is every operation reported so far.
	doneOps        int64
	start, lastRep time.Time
	// shown tells that a bar is on screen and must be erased.
	shown bool
}

// newCollector returns the collector of a phase that started at start.
func newCollector(ph *phase, c *control, res *phaseResult, w io.Writer, start time.Time) *collector {
	if ph.live == liveNone {
		w = nil
	}
	return &collector{ph: ph, c: c, res: res, w: w, lastTick: make([]uint64, len(c.free)),
		finished: make([]bool, len(c.free)), start: start, lastRep: start}
}

// add merges one interval and returns it to its worker for reuse.
func (col *collector) add(iv *interval) {
	var ops int64
	for k := range iv.kinds {
		kc := &iv.kinds[k]
		if kc.lat.Count() == 0 {
			continue
		}
		col.res.kinds[k].merge(kc)
		ops += kc.lat.Count()
		if col.w != nil && col.ph.live == liveLines {
			col.line[k].Merge(&kc.lat)
		}
	}
	col.lineOps += ops
	col.doneOps += ops
	if col.ph.opsDone != nil {
		col.ph.opsDone.Add(ops)
	}
	if col.res.firstErr == nil {
		col.res.firstErr = iv.firstErr
	}
	col.res.exhausted = col.res.exhausted || iv.exhausted
	col.lastTick[iv.worker] = iv.tick
	if iv.final {
		col.finished[iv.worker] = true
		return
	}
	iv.reset()
	select {
	case col.c.free[iv.worker] <- iv:
	default: // the worker has a spare already
	}
}

// allReported tells whether every running worker has handed over its interval of tick t.
func (col *collector) allReported(t uint64) bool {
	for w, lt := range col.lastTick {
		if !col.finished[w] && lt < t {
			return false
		}
	}
	return true
}

// report shows the progress up to now and clears the pending tick.
func (col *collector) report(now time.Time) {
	col.pending = 0
	if col.w == nil {
		return
	}
	dt := now.Sub(col.lastRep)
	col.lastRep = now
	switch col.ph.live {
	case liveBar:
		col.shown = true
		fmt.Fprint(col.w, "\r"+progressBar(col.ph.name, col.doneOps, col.ph.total, now.Sub(col.start))+"\x1b[K")
	case liveLines:
		var b strings.Builder
		fmt.Fprintf(&b, "%-7s %5s %10s ops/s", col.ph.name, now.Sub(col.start).Round(time.Second),
			units.Rate(float64(col.lineOps)/dt.Seconds()))
		for k := range col.line {
			if h := &col.line[k]; h.Count() > 0 {
				fmt.Fprintf(&b, "   %s p99 %s", workload.Kind(k), units.Duration(h.Quantile(0.99)))
				h.Reset()
			}
		}
		fmt.Fprintln(col.w, b.String())
	}
	col.lineOps = 0
}

// finish erases the progress bar, if one is shown.
func (col *collector) finish() {
	if col.shown {
		fmt.Fprint(col.w, "\r\x1b[K")
	}
}

// progressBar renders a one-line progress bar of done out of total operations after
// elapsed time: "load   [#######.............]  35%  70000/200000  312K/s".
func progressBar(name string, done, total int64, elapsed time.Duration) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	fill := int(frac * width)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	return fmt.Sprintf("%-7s [%s%s] %3.0f%%  %d/%d  %s/s", name, strings.Repeat("#", fill),
		strings.Repeat(".", width-fill), frac*100, done, total, units.Rate(rate))
}
