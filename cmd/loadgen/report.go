package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// pipelineFigures are the write pipeline's own figures over a phase, from the store's Stats
// before and after it. A nil field is not available: the figure is undefined (a ratio over
// zero) or the store does not keep it (a memory-only store has no pipeline).
type pipelineFigures struct {
	EntriesPerBatch   *float64 `json:"entries_per_batch"`
	BatchMax          *float64 `json:"batch_max"`
	CoalesceRatio     *float64 `json:"coalesce_ratio"`
	SyncsPerSec       *float64 `json:"syncs_per_sec"`
	BackpressureWaits *float64 `json:"backpressure_waits"`
	BytesPerRecord    *float64 `json:"bytes_written_per_record"`
	CacheHitRate      *float64 `json:"cache_hit_rate"`
	RingHighWater     *float64 `json:"ring_high_water"`
	WriteErrors       *float64 `json:"write_errors"`
	BatchSeconds      *float64 `json:"batch_seconds"`
	CoalesceSeconds   *float64 `json:"coalesce_seconds"`
	SubmitSeconds     *float64 `json:"submit_seconds"`
	CompleteSeconds   *float64 `json:"complete_seconds"`
	FileBytes         *float64 `json:"file_bytes"`
	LiveBytes         *float64 `json:"live_bytes"`
	AllocatedBytes    *float64 `json:"allocated_bytes"`
	DiskBytesPerKey   *float64 `json:"disk_bytes_per_key"`
	SpaceAmp          *float64 `json:"space_amplification"`
	BytesWritten      *float64 `json:"bytes_written"`
	BytesRead         *float64 `json:"bytes_read"`
}

// opt returns &v when ok, else nil.
func opt(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// ratio returns a/b, nil when b is zero.
func ratio(a, b int64) *float64 { return opt(float64(a)/float64(b), b != 0) }

// pipelineOf computes the pipeline figures of a phase.
func pipelineOf(r *phaseResult) pipelineFigures {
	a, b := &r.after, &r.before
	buffered := a.WritesBuffered - b.WritesBuffered
	active := buffered > 0
	secs := func(d time.Duration) *float64 { return opt(d.Seconds(), d > 0) }
	// BatchMean is entries per batch since Open: mean times count is the entries batched, and
	// its difference over the phase divided by the phase's batches is the phase's mean.
	batches := a.Batches - b.Batches
	entries := opt((a.BatchMean*float64(a.Batches)-b.BatchMean*float64(b.Batches))/float64(batches),
		batches > 0 && a.BatchMean > 0)
	if entries == nil {
		entries = ratio(buffered, batches) // a store that keeps no mean: writes per batch
	}
	return pipelineFigures{
		EntriesPerBatch:   entries,
		BatchMax:          opt(float64(a.BatchMax), a.BatchMax > 0),
		CoalesceRatio:     ratio(a.WritesCoalesced-b.WritesCoalesced, buffered),
		SyncsPerSec:       opt(perSec(a.Syncs-b.Syncs, r.elapsed), active),
		BackpressureWaits: opt(float64(a.BackpressureWaits-b.BackpressureWaits), active),
		BytesPerRecord:    ratio(a.BytesWritten-b.BytesWritten, a.WritesDurable-b.WritesDurable),
		CacheHitRate:      ratio(a.CacheHits-b.CacheHits, a.CacheHits-b.CacheHits+a.CacheMisses-b.CacheMisses),
		RingHighWater:     opt(float64(a.RingHighWater), a.RingHighWater > 0),
		WriteErrors:       opt(float64(a.WriteErrors-b.WriteErrors), active),
		BatchSeconds:      secs(a.BatchTime - b.BatchTime),
		CoalesceSeconds:   secs(a.CoalesceTime - b.CoalesceTime),
		SubmitSeconds:     secs(a.SubmitTime - b.SubmitTime),
		CompleteSeconds:   secs(a.CompleteTime - b.CompleteTime),
		FileBytes:         opt(float64(a.DiskBytes), a.DiskBytes > 0),
		LiveBytes:         opt(float64(a.DiskLiveBytes), a.DiskBytes > 0),
		AllocatedBytes:    opt(float64(a.DiskAllocatedBytes), a.DiskBytes > 0),
		DiskBytesPerKey:   opt(a.DiskBytesPerKey, a.DiskBytesPerKey > 0),
		SpaceAmp:          opt(a.SpaceAmplification, a.SpaceAmplification > 0),
		BytesWritten:      opt(float64(a.BytesWritten-b.BytesWritten), a.DiskBytes > 0),
		BytesRead:         opt(float64(a.BytesRead-b.BytesRead), a.DiskBytes > 0),
	}
}

// processFigures are the process's CPU time over a phase and its peak RSS.
type processFigures struct {
	CPUUserSeconds *float64 `json:"cpu_user_seconds"`
	CPUSysSeconds  *float64 `json:"cpu_sys_seconds"`
	Cores          *float64 `json:"cores"`
	CPUNsPerOp     *float64 `json:"cpu_ns_per_op"`
	PeakRSSBytes   *float64 `json:"peak_rss_bytes"`
}

// processOf computes the process figures of a phase.
func processOf(r *phaseResult, peakRSS int64) processFigures {
	cpu := r.cpu.Total()
	ops := r.total().lat.Count()
	return processFigures{
		CPUUserSeconds: opt(r.cpu.User.Seconds(), cpu > 0),
		CPUSysSeconds:  opt(r.cpu.Sys.Seconds(), cpu > 0),
		Cores:          opt(cpu.Seconds()/r.elapsed.Seconds(), cpu > 0 && r.elapsed > 0),
		CPUNsPerOp:     opt(float64(cpu)/float64(ops), cpu > 0 && ops > 0),
		PeakRSSBytes:   opt(float64(peakRSS), peakRSS > 0),
	}
}

// na formats an optional figure with f, or "n/a".
func na(v *float64, f func(float64) string) string {
	if v == nil {
		return "n/a"
	}
	return f(*v)
}

// Formatters for na.
func fmtFloat1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func fmtFloat2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func fmtInt(v float64) string    { return strconv.FormatFloat(v, 'f', 0, 64) }
func fmtPct(v float64) string    { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }
func fmtSecs(v float64) string   { return units.Duration(time.Duration(v * float64(time.Second))) }
func fmtSize(v float64) string   { return units.Bytes(int64(v)) }

// opRow returns the table cells of one kind's measurements over elapsed.
func opRow(k *kindCounts, elapsed time.Duration) []string {
	h := &k.lat
	q := func(p float64) string { return units.Duration(h.Quantile(p)) }
	return []string{strconv.FormatInt(h.Count(), 10), fmtInt(perSec(h.Count(), elapsed)),
		q(0.5), q(0.9), q(0.99), q(0.999), units.Duration(h.Max()),
		strconv.FormatInt(k.misses, 10), strconv.FormatInt(k.errors, 10)}
}

// opHeader is the header of the operation columns of opRow.
func opHeader() []string {
	return []string{"ops", "ops/s", "p50", "p90", "p99", "p999", "max", "misses", "errors"}
}

// addPhaseRows adds one row per kind that occurred in r, and a total when there are several.
func addPhaseRows(t *table, r *phaseResult) {
	kinds := 0
	for k := range r.kinds {
		if kc := &r.kinds[k]; kc.lat.Count() > 0 {
			t.add(append([]string{r.name, workload.Kind(k).String()}, opRow(kc, r.elapsed)...)...)
			if workload.Kind(k) != workload.Flush {
				kinds++
			}
		}
	}
	if kinds > 1 {
		t.add(append([]string{r.name, "total"}, opRow(r.total(), r.elapsed)...)...)
	}
}

// rateNote returns ", at most 20K ops/s" for a --rate, "" without one.
func rateNote(rate int64) string {
	if rate == 0 {
		return ""
	}
	return ", at most " + units.Rate(float64(rate)) + " ops/s"
}

// writeText prints the human-readable report of one experiment. It is long because it prints
// the report's sections in the order a reader sees them, one after the other.
func writeText(w io.Writer, pr *pointResult) error {
	c := pr.cfg
	ew := &errWriter{w: w}
	ew.printf("workload  %s: %s\n", pr.spec.Name, pr.spec.Describe())
	ew.printf("keys      %d keys of %d B, values of %s B, %d goroutines%s, seed %d\n",
		c.keys, c.keySize, c.value, c.goroutines, rateNote(c.rate), c.seed)
	ew.printf("store     %s\n          %s\n", pr.where, c.describeStore())
	if ld := pr.load; ld != nil {
		ew.printf("load      %d keys in %s (%s keys/s), then Flush in %s\n", ld.total().lat.Count(),
			units.Duration(ld.elapsed), units.Rate(perSec(ld.total().lat.Count(), ld.elapsed)), units.Duration(pr.loadFlush))
	}
	r := pr.run
	if r == nil {
		ew.printf("\ninterrupted during the load: no measurement\n")
		return ew.err
	}
	total := r.total().lat.Count()
	limits := ""
	if pr.spec.Name != "load" && c.warmup > 0 {
		limits = fmt.Sprintf(" after a %s warmup", c.warmup)
	}
	ew.printf("measured  %s%s: %d ops, %s ops/s", units.Duration(r.elapsed), limits, total, units.Rate(perSec(total, r.elapsed)))
	switch {
	case r.interrupted:
		ew.printf(" (interrupted)")
	case r.exhausted && pr.spec.Name != "load":
		ew.printf(" (the workload ran out of keys)")
	}
	ew.printf("\n\n")

	t := &table{left: 2}
	t.add(append([]string{"phase", "op"}, opHeader()...)...)
	if pr.load != nil {
		addPhaseRows(t, pr.load)
	}
	addPhaseRows(t, r)
	ew.table(t, "")

	p := pipelineOf(r)
	ew.printf("\nwrite pipeline over the %s phase (from Stats):\n", r.name)
	pt := &table{left: 2}
	pt.add("entries per batch", na(p.EntriesPerBatch, fmtFloat1)+" (mean; max "+na(p.BatchMax, fmtInt)+" since open)")
	pt.add("coalesce ratio", na(p.CoalesceRatio, fmtPct)+" of buffered writes dropped as superseded")
	pt.add("syncs per second", na(p.SyncsPerSec, fmtFloat1))
	pt.add("backpressure waits", na(p.BackpressureWaits, fmtInt)+" (ring high water "+na(p.RingHighWater, fmtInt)+" since open)")
	pt.add("bytes written per record", na(p.BytesPerRecord, fmtFloat1))
	pt.add("cache hit rate", na(p.CacheHitRate, fmtPct))
	pt.add("write errors", na(p.WriteErrors, fmtInt))
	pt.add("stage time", fmt.Sprintf("batch %s, coalesce %s, submit %s, complete %s (summed over shards)",
		na(p.BatchSeconds, fmtSecs), na(p.CoalesceSeconds, fmtSecs), na(p.SubmitSeconds, fmtSecs), na(p.CompleteSeconds, fmtSecs)))
	pt.add("disk", fmt.Sprintf("file %s, allocated %s (%s B per key, %sx the live bytes), live %s, written %s, read %s",
		na(p.FileBytes, fmtSize), na(p.AllocatedBytes, fmtSize), na(p.DiskBytesPerKey, fmtInt),
		na(p.SpaceAmp, fmtFloat2), na(p.LiveBytes, fmtSize), na(p.BytesWritten, fmtSize), na(p.BytesRead, fmtSize)))
	if pr.cfg.opts.Pipeline.DirectIO && !pr.cfg.mem {
		state := "on"
		if !r.after.DirectIO {
			state = "off: the filesystem does not allow it, writes are buffered"
		}
		pt.add("direct I/O", state)
	}
	if a := r.after; a.DiskBytes > 0 {
		pt.add("cleaner", fmt.Sprintf("garbage %s (fragmentation %s), free %s; %d segments erased, %d records moved since open",
			units.Bytes(a.DiskGarbageBytes), fmtPct(a.Fragmentation), units.Bytes(a.DiskFreeBytes), a.SegmentsCleaned, a.RecordsMoved))
	}
	s := r.after
	pt.add("store", fmt.Sprintf("%d keys, %s in memory, sampled get p50 %s p99 %s, insert p50 %s p99 %s",
		s.Keys, units.Bytes(s.MemoryBytes), units.Duration(s.GetP50), units.Duration(s.GetP99),
		units.Duration(s.InsertP50), units.Duration(s.InsertP99)))
	ew.table(pt, "  ")

	pf := processOf(r, pr.peakRSS)
	ew.printf("\nprocess over the %s phase:\n", r.name)
	ft := &table{left: 2}
	ft.add("CPU time", fmt.Sprintf("user %s, system %s (%s cores, %s per op)", na(pf.CPUUserSeconds, fmtSecs),
		na(pf.CPUSysSeconds, fmtSecs), na(pf.Cores, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }),
		na(pf.CPUNsPerOp, func(v float64) string { return units.Duration(time.Duration(v)) })))
	ft.add("peak RSS", na(pf.PeakRSSBytes, fmtSize)+" (the process's peak so far)")
	ft.add("close", units.Duration(pr.closeDur)+" (Close, including its final flush)")
	ew.table(ft, "  ")

	if n := r.errorCount(); n > 0 {
		ew.printf("\n%d operations failed; first error: %v\n", n, r.firstErr)
	}
	return ew.err
}
