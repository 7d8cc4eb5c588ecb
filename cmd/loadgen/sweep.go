package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/feoxdb/feox-go/cmd/loadgen/internal/chart"
	"github.com/feoxdb/feox-go/internal/load/units"
	"github.com/feoxdb/feox-go/internal/load/workload"
)

// sweepParam is one swept flag and its values.
type sweepParam struct {
	name   string
	values []string
}

// paramValue is a swept flag's value at one point of the grid.
type paramValue struct{ name, value string }

// maxPoints bounds the size of a sweep's grid.
const maxPoints = 10_000

// checkSweeps reports a swept flag that does not exist or may not be swept, a grid too
// large, or a value that a point's configuration would refuse.
func (c *config) checkSweeps() error {
	if len(c.sweeps) == 0 {
		return nil
	}
	probe := *c
	fs := probe.flagSet()
	points := 1
	for _, s := range c.sweeps {
		if fs.Lookup(s.name) == nil {
			return fmt.Errorf("%w: --sweep %s: no such flag", errInvalidConfig, s.name)
		}
		if unsweepable()[s.name] {
			return fmt.Errorf("%w: --sweep %s: this flag cannot be swept", errInvalidConfig, s.name)
		}
		points *= len(s.values)
		if points > maxPoints {
			return fmt.Errorf("%w: --sweep: more than %d points", errInvalidConfig, maxPoints)
		}
		for _, v := range s.values {
			if _, err := c.withParams([]paramValue{{s.name, v}}); err != nil {
				return err
			}
		}
	}
	for _, ps := range c.grid() {
		if _, err := c.withParams(ps); err != nil {
			return err
		}
	}
	return nil
}

// grid returns the points of the sweep: the cartesian product of the swept values, the
// first flag varying slowest.
func (c *config) grid() [][]paramValue {
	points := [][]paramValue{nil}
	for _, s := range c.sweeps {
		var next [][]paramValue
		for _, p := range points {
			for _, v := range s.values {
				next = append(next, append(append([]paramValue{}, p...), paramValue{s.name, v}))
			}
		}
		points = next
	}
	return points
}

// withParams returns the configuration of one point: c with the swept flags set.
func (c *config) withParams(ps []paramValue) (config, error) {
	p := *c
	p.sweeps, p.chart = nil, ""
	fs := p.flagSet()
	for _, pv := range ps {
		if err := fs.Set(pv.name, pv.value); err != nil {
			return config{}, fmt.Errorf("%w: --sweep %s=%s: %v", errInvalidConfig, pv.name, pv.value, err)
		}
		if pv.name == "ops" && !p.durationSet {
			p.duration = 0 // as --ops without --duration
		}
	}
	if err := p.validate(); err != nil {
		return config{}, fmt.Errorf("--sweep %s: %w", paramsString(ps), err)
	}
	return p, nil
}

// paramsString formats a point's parameters: "shards=2 batch-entries=64".
func paramsString(ps []paramValue) string {
	parts := make([]string, len(ps))
	for i, pv := range ps {
		parts[i] = pv.name + "=" + pv.value
	}
	return strings.Join(parts, " ")
}

// runSweep runs every point of the grid on a fresh store, prints one table (or JSON or CSV)
// and writes the chart. It returns the exit status.
func runSweep(ctx context.Context, cfg *config, e *env) int {
	grid := cfg.grid()
	var points []*pointResult
	code := 0
	for i, ps := range grid {
		pc, err := cfg.withParams(ps)
		if err != nil { // checked at parse time
			fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
			return 2
		}
		e.note("sweep point %d/%d: %s", i+1, len(grid), paramsString(ps))
		pr, err := runPoint(ctx, &pc, e)
		if err != nil {
			fmt.Fprintf(e.stderr, "loadgen: sweep point %s: %v\n", paramsString(ps), err)
			if errors.Is(err, errInvalidConfig) {
				return 2
			}
			code = 1
			if pr == nil {
				break
			}
		}
		pr.params = ps
		points = append(points, pr)
		if pr.run != nil && pr.run.errorCount() > 0 {
			code = 1
		}
		if pr.interrupted() {
			code = exitInterrupted
			break
		}
	}
	if len(points) == 0 {
		return max(code, 1)
	}
	var text strings.Builder
	if err := writeSweepText(&text, cfg, points); err != nil {
		return 1
	}
	var err error
	switch {
	case cfg.json:
		err = writeSweepJSON(e.stdout, cfg, points)
	case cfg.csv:
		err = writeCSV(e.stdout, sweepNames(cfg), points)
	default:
		_, err = io.WriteString(e.stdout, text.String())
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "loadgen: cannot write the report: %v\n", err)
		return 1
	}
	if err := writeChart(cfg, points, text.String()); err != nil {
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
		return 1
	}
	if !cfg.quiet {
		fmt.Fprintf(e.stderr, "loadgen: chart written to %s\n", cfg.chart)
	}
	return code
}

// sweepNames returns the swept flags' names.
func sweepNames(cfg *config) []string {
	names := make([]string, len(cfg.sweeps))
	for i, s := range cfg.sweeps {
		names[i] = s.name
	}
	return names
}

// writeSweepText prints the sweep's common configuration and one table: for every point,
// a row per operation kind and an "all" row with the pipeline and process figures.
func writeSweepText(w io.Writer, cfg *config, points []*pointResult) error {
	ew := &errWriter{w: w}
	spec := cfg.spec()
	ew.printf("sweep     %s over %d points\n", paramsString(sweepGridSummary(cfg)), len(cfg.grid()))
	ew.printf("workload  %s: %s\n", spec.Name, spec.Describe())
	ew.printf("keys      %d keys of %d B, values of %s B, %d goroutines, seed %d\n",
		cfg.keys, cfg.keySize, cfg.value, cfg.goroutines, cfg.seed)
	ew.printf("store     %s; %s\n", cfg.storeKind(), cfg.describeStore())
	ew.printf("(values of swept flags override the above; figures are of the measured phase)\n\n")
	t := &table{left: len(cfg.sweeps) + 1}
	t.add(append(sweepNames(cfg), "op", "ops/s", "p50", "p90", "p99", "p999", "max", "errors",
		"syncs/s", "entries/batch", "cpu/op")...)
	for _, pr := range points {
		r := pr.run
		if r == nil {
			continue
		}
		var params []string
		for _, pv := range pr.params {
			params = append(params, pv.value)
		}
		row := func(name string, k *kindCounts, tail ...string) {
			h := &k.lat
			q := func(p float64) string { return units.Duration(h.Quantile(p)) }
			cells := append(append([]string{}, params...), name, fmtInt(perSec(h.Count(), r.elapsed)),
				q(0.5), q(0.9), q(0.99), q(0.999), units.Duration(h.Max()), strconv.FormatInt(k.errors, 10))
			t.add(append(cells, tail...)...)
		}
		var kinds []workload.Kind
		for k := range r.kinds {
			if r.kinds[k].lat.Count() > 0 {
				kinds = append(kinds, workload.Kind(k))
			}
		}
		p, f := pipelineOf(r), processOf(r, pr.peakRSS)
		tail := []string{na(p.SyncsPerSec, fmtFloat1), na(p.EntriesPerBatch, fmtFloat1),
			na(f.CPUNsPerOp, func(v float64) string { return units.Duration(time.Duration(v)) })}
		if len(kinds) == 1 { // the kind's row is the total: it carries the point's figures
			row(kinds[0].String(), &r.kinds[kinds[0]], tail...)
			continue
		}
		for _, k := range kinds {
			row(k.String(), &r.kinds[k])
		}
		row("all", r.total(), tail...)
	}
	ew.table(t, "")
	return ew.err
}

// sweepGridSummary returns the swept flags with their value lists, for the header.
func sweepGridSummary(cfg *config) []paramValue {
	var ps []paramValue
	for _, s := range cfg.sweeps {
		ps = append(ps, paramValue{s.name, strings.Join(s.values, ",")})
	}
	return ps
}

// writeSweepJSON prints the sweep as one JSON object: the swept flags, the base
// configuration and the points.
func writeSweepJSON(w io.Writer, cfg *config, points []*pointResult) error {
	out := struct {
		Sweep  []string       `json:"sweep"`
		Config map[string]any `json:"config"`
		Points []jsonPoint    `json:"points"`
	}{Sweep: sweepNames(cfg), Config: configJSON(cfg)}
	for _, pr := range points {
		out.Points = append(out.Points, jsonPointOf(pr, false))
	}
	return json.NewEncoder(w).Encode(out)
}

// sweepChart builds the chart of a sweep: throughput and p99 latency against the first swept
// flag, one line per combination of the other swept flags (and, for latency, per kind). It
// is long because it builds the two panels side by side from the same grid walk.
func sweepChart(cfg *config, points []*pointResult) *chart.Chart {
	first := cfg.sweeps[0]
	spec := cfg.spec()
	swept := make(map[string]bool)
	for _, s := range cfg.sweeps {
		swept[s.name] = true
	}
	title := "loadgen sweep"
	for _, item := range []struct{ flag, text string }{
		{"workload", spec.Name},
		{"keys", fmt.Sprintf("%d keys", cfg.keys)},
		{"value-size", fmt.Sprintf("%s B values", cfg.value)},
		{"goroutines", fmt.Sprintf("%d goroutines", cfg.goroutines)},
		{"mem", cfg.storeKind() + " store"},
	} {
		if !swept[item.flag] {
			title += ", " + item.text
		}
	}
	c := &chart.Chart{Title: strings.Replace(title, ", ", ": ", 1), XLabel: first.name, X: first.values}
	index := make(map[string]int) // position of each x value
	for i, v := range first.values {
		index[v] = i
	}
	var keys []string
	byKey := make(map[string][]*pointResult)
	for _, pr := range points {
		key := paramsString(pr.params[1:])
		if _, ok := byKey[key]; !ok {
			keys = append(keys, key)
			byKey[key] = make([]*pointResult, len(first.values))
		}
		byKey[key][index[pr.params[0].value]] = pr
	}
	label := func(prefix, key string) string {
		switch {
		case key == "":
			return prefix
		case prefix == "":
			return key
		}
		return prefix + ", " + key
	}
	var kindsSeen [numKinds]bool
	for _, pr := range points {
		for k := range numKinds {
			if pr.run != nil && pr.run.kinds[k].lat.Count() > 0 {
				kindsSeen[k] = true
			}
		}
	}
	tput := chart.Panel{Title: "Throughput (operations per second, all kinds)", Format: units.Rate}
	lat := chart.Panel{Title: "p99 latency", Format: func(v float64) string { return units.Duration(time.Duration(v)) }}
	for ki, key := range keys {
		s := chart.Series{Name: label("ops/s", key), Color: ki}
		for _, pr := range byKey[key] {
			v := math.NaN()
			if pr != nil && pr.run != nil {
				v = perSec(pr.run.total().lat.Count(), pr.run.elapsed)
			}
			s.Values = append(s.Values, v)
		}
		tput.Series = append(tput.Series, s)
		dash := 0
		for k := range numKinds {
			if !kindsSeen[k] {
				continue
			}
			s := chart.Series{Name: label(workload.Kind(k).String(), key), Color: ki, Dash: dash}
			dash++
			for _, pr := range byKey[key] {
				v := math.NaN()
				if pr != nil && pr.run != nil && pr.run.kinds[k].lat.Count() > 0 {
					v = float64(pr.run.kinds[k].lat.Quantile(0.99))
				}
				s.Values = append(s.Values, v)
			}
			lat.Series = append(lat.Series, s)
		}
	}
	c.Panels = []chart.Panel{tput, lat}
	return c
}

// writeChart writes the sweep's chart to cfg.chart: an SVG file for a .svg name, else an
// HTML page with the chart and the sweep's table.
func writeChart(cfg *config, points []*pointResult, table string) error {
	c := sweepChart(cfg, points)
	f, err := os.Create(cfg.chart)
	if err != nil {
		return fmt.Errorf("cannot create the chart file: %w", err)
	}
	if strings.EqualFold(filepath.Ext(cfg.chart), ".svg") {
		err = c.WriteSVG(f)
	} else {
		err = c.WriteHTML(f, table)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write the chart file %s: %w", cfg.chart, err)
	}
	return nil
}
