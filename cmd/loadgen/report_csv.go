package main

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/feoxdb/feox-go/internal/load/workload"
)

// csvHeader returns the CSV columns after the swept parameters' columns.
func csvHeader() []string {
	return []string{"workload", "phase", "op", "ops", "seconds", "ops_per_sec", "p50_ns", "p90_ns", "p99_ns",
		"p999_ns", "max_ns", "mean_ns", "misses", "errors", "syncs_per_sec", "entries_per_batch",
		"coalesce_ratio", "bytes_written_per_record", "cpu_ns_per_op", "peak_rss_bytes"}
}

// csvNum formats an optional figure, "" when not available: whole numbers as integers, others
// with up to four decimals, never with an exponent.
func csvNum(v *float64) string {
	switch {
	case v == nil:
		return ""
	case *v == math.Trunc(*v) && math.Abs(*v) < 1e15:
		return strconv.FormatInt(int64(*v), 10)
	}
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(*v, 'f', 4, 64), "0"), ".")
}

// csvParams returns the swept flags that get their own leading column: all but workload,
// which has a column anyway.
func csvParams(ps []paramValue) []paramValue {
	var out []paramValue
	for _, pv := range ps {
		if pv.name != "workload" {
			out = append(out, pv)
		}
	}
	return out
}

// csvRows returns the rows of one experiment: one per kind and phase, and a total per phase.
// The pipeline and process columns belong to the measured phase and are left empty on the
// load's rows.
func csvRows(pr *pointResult) [][]string {
	var rows [][]string
	var params []string
	for _, pv := range csvParams(pr.params) {
		params = append(params, pv.value)
	}
	add := func(r *phaseResult, op string, k *kindCounts, tail []string) {
		j := jsonOpOf(k, r.elapsed)
		row := append(append([]string{}, params...), pr.spec.Name, r.name, op,
			strconv.FormatInt(j.Ops, 10), strconv.FormatFloat(r.elapsed.Seconds(), 'f', 3, 64),
			strconv.FormatFloat(j.OpsPerSec, 'f', 1, 64), strconv.FormatInt(int64(j.P50), 10),
			strconv.FormatInt(int64(j.P90), 10), strconv.FormatInt(int64(j.P99), 10), strconv.FormatInt(int64(j.P999), 10),
			strconv.FormatInt(int64(j.Max), 10), strconv.FormatFloat(j.Mean, 'f', 1, 64),
			strconv.FormatInt(j.Misses, 10), strconv.FormatInt(j.Errors, 10))
		rows = append(rows, append(row, tail...))
	}
	phaseRows := func(r *phaseResult, measured bool) {
		tail := make([]string, 6)
		if measured {
			p, f := pipelineOf(r), processOf(r, pr.peakRSS)
			tail = []string{csvNum(p.SyncsPerSec), csvNum(p.EntriesPerBatch), csvNum(p.CoalesceRatio),
				csvNum(p.BytesPerRecord), csvNum(f.CPUNsPerOp), csvNum(f.PeakRSSBytes)}
		}
		for k := range r.kinds {
			if kc := &r.kinds[k]; kc.lat.Count() > 0 {
				add(r, workload.Kind(k).String(), kc, tail)
			}
		}
		add(r, "total", r.total(), tail)
	}
	if pr.load != nil {
		phaseRows(pr.load, false)
	}
	if pr.run != nil {
		phaseRows(pr.run, true)
	}
	return rows
}

// writeCSV prints a header and the rows of every experiment; paramNames name the swept flags,
// which lead each row.
func writeCSV(w io.Writer, paramNames []string, points []*pointResult) error {
	cw := csv.NewWriter(w)
	var header []string
	for _, name := range paramNames {
		if name != "workload" {
			header = append(header, name)
		}
	}
	if err := cw.Write(append(header, csvHeader()...)); err != nil {
		return err
	}
	for _, pr := range points {
		if err := cw.WriteAll(csvRows(pr)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
