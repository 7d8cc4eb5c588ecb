package report

// The sections of the report that show the results: the targets, the summary, the tables of
// each mode, the durable writes, the jobs and the losses.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/feoxdb/feox-go/bench/runner"
	"github.com/feoxdb/feox-go/internal/load/units"
)

// isPointOp tells whether a workload is made of single-key operations only.
func isPointOp(name string) bool {
	return name != runner.Load && name != "scan"
}

func (d *doc) renderTargets() {
	var aheadN, aheadOK, tenN, tenOK, scanN, scanOK int
	var aheadMiss, tenMiss, scanMiss []string
	for _, memory := range []bool{true, false} {
		for _, s := range d.r.Sizes {
			for _, g := range d.r.Goroutines {
				k := key{Subject, memory, s.Name, g}
				where := fmt.Sprintf("%s %s g=%d", modeName(memory), s.Name, g)
				for _, w := range d.r.Workloads {
					if memory && w.PersistentOnly {
						continue
					}
					c := d.compare(k, w.Name)
					if !c.ok {
						continue
					}
					desc := fmt.Sprintf("%s %s: %s of %s", where, w.Name, ratio(c.ratio), c.bestPeer)
					if isPointOp(w.Name) {
						aheadN++
						if c.ratio > 1 {
							aheadOK++
						} else {
							aheadMiss = append(aheadMiss, desc)
						}
					}
					if memory && (w.Name == "read" || w.Name == "update") {
						tenN++
						if c.ratio >= 10 {
							tenOK++
						} else {
							tenMiss = append(tenMiss, desc)
						}
					}
					if w.Name == "scan" {
						scanN++
						if c.ratio >= 0.5 {
							scanOK++
						} else {
							scanMiss = append(scanMiss, desc)
						}
					}
				}
			}
		}
	}
	d.p("## Targets\n\n")
	line := func(name string, ok, n int, misses []string) {
		verdict := "met"
		if ok < n {
			verdict = "**not met**"
		}
		d.p("- %s: %s (reached on %d of %d points).", name, verdict, ok, n)
		if len(misses) > 0 {
			d.p(" Misses, as feox-go's throughput over the best peer's: %s.", strings.Join(misses, "; "))
		}
		d.p("\n")
	}
	line("feox-go ahead of every peer on every point-operation workload (every workload but load and scan), both modes", aheadOK, aheadN, aheadMiss)
	line("feox-go at least 10x the best peer on random reads and updates in memory", tenOK, tenN, tenMiss)
	line("feox-go's scans within 2x of the best peer (at least 0.5x its throughput)", scanOK, scanN, scanMiss)
	d.p("\n")
}

func (d *doc) renderSummary() {
	d.p("## Summary: feox-go against the best peer\n\n")
	d.p("feox-go's throughput as a multiple of the best other engine's in the same mode, data set and " +
		"goroutine count (the best peer in parentheses). Below 1x, feox-go loses: such cells are marked **LOSS**.\n\n")
	for _, memory := range []bool{true, false} {
		var cols []key
		head := "| workload |"
		sep := "|---|"
		for _, s := range d.r.Sizes {
			for _, g := range d.r.Goroutines {
				cols = append(cols, key{Subject, memory, s.Name, g})
				head += fmt.Sprintf(" %s g=%d |", s.Name, g)
				sep += "---|"
			}
		}
		d.p("### %s\n\n%s\n%s\n", capitalize(modeName(memory)), head, sep)
		names := d.workloads()
		if !memory {
			names = append(names, d.durables()...)
		}
		for _, wl := range names {
			d.p("| %s |", wl)
			for _, k := range cols {
				c := d.compare(k, wl)
				switch {
				case !c.ok:
					d.p(" — |")
				case c.ratio < 1:
					d.p(" **LOSS %s** (%s) |", ratio(c.ratio), c.bestPeer)
				default:
					d.p(" %s (%s) |", ratio(c.ratio), c.bestPeer)
				}
			}
			d.p("\n")
		}
		d.p("\n")
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cellFunc returns the text of one engine's point, and a value to rank it by (0: none).
type cellFunc func(p runner.Point) (text string, rank float64)

// table writes one table: a row per workload, a column per engine, each cell "g1 / g2" with
// the best value of each goroutine count in bold (higher is better unless lowerBetter).
func (d *doc) table(memory bool, size string, names []string, cell cellFunc, lowerBetter bool) {
	es := d.engines(memory)
	d.p("| workload |")
	for _, e := range es {
		d.p(" %s |", e.Name)
	}
	d.p("\n|---|")
	for range es {
		d.p("---:|")
	}
	d.p("\n")
	for _, wl := range names {
		texts := make([][]string, len(es))
		best := make([]int, len(d.r.Goroutines))
		for gi, g := range d.r.Goroutines {
			best[gi] = -1
			var bestRank float64
			for ei, e := range es {
				p, ok := d.point(key{e.Name, memory, size, g}, wl)
				text, rank := "—", 0.0
				if ok {
					text, rank = cell(p)
					if p.Errors > 0 {
						text += fmt.Sprintf(" (%d errors)", p.Errors)
						rank = 0
					}
				}
				texts[ei] = append(texts[ei], text)
				if rank > 0 && (best[gi] < 0 || (!lowerBetter && rank > bestRank) || (lowerBetter && rank < bestRank)) {
					best[gi], bestRank = ei, rank
				}
			}
		}
		d.p("| %s |", wl)
		for ei := range es {
			parts := slices.Clone(texts[ei])
			for gi := range parts {
				if best[gi] == ei && len(es) > 1 {
					parts[gi] = "**" + parts[gi] + "**"
				}
			}
			d.p(" %s |", strings.Join(parts, " / "))
		}
		d.p("\n")
	}
	d.p("\n")
}

// gLabel returns "g=1 / g=2" for the run's goroutine counts.
func (d *doc) gLabel() string {
	var gs []string
	for _, g := range d.r.Goroutines {
		gs = append(gs, fmt.Sprintf("g=%d", g))
	}
	return strings.Join(gs, " / ")
}

func (d *doc) renderMode(memory bool) {
	d.p("## %s mode\n\n", capitalize(modeName(memory)))
	if memory {
		d.p("bbolt has no memory-only mode and is absent here. badger runs with `InMemory`, pebble on " +
			"`vfs.NewMem()`, buntdb on `:memory:`, feox-go with `Options{}`.\n\n")
	}
	for _, s := range d.r.Sizes {
		d.p("### %s, %s\n\n", capitalize(modeName(memory)), s.Name)
		d.p("Throughput, operations per second (%s; best in bold):\n\n", d.gLabel())
		d.table(memory, s.Name, d.workloads(), func(p runner.Point) (string, float64) {
			return units.Rate(p.OpsPerSec), p.OpsPerSec
		}, false)
		d.p("p99 latency (%s; the load's is that of a %d-pair batch):\n\n", d.gLabel(), runner.LoadBatch)
		d.table(memory, s.Name, d.workloads(), func(p runner.Point) (string, float64) {
			return units.Duration(p.P99), float64(p.P99)
		}, true)
		d.p("Peak RSS during the point (%s):\n\n", d.gLabel())
		d.table(memory, s.Name, d.workloads(), func(p runner.Point) (string, float64) {
			return units.Bytes(p.PeakRSS), float64(p.PeakRSS)
		}, true)
		if !memory {
			d.p("Bytes on disk after the point (%s):\n\n", d.gLabel())
			d.table(memory, s.Name, d.workloads(), func(p runner.Point) (string, float64) {
				return units.Bytes(p.DiskBytes), float64(p.DiskBytes)
			}, true)
		}
	}
}

func (d *doc) renderDurable() {
	names := d.durables()
	if len(names) == 0 {
		return
	}
	d.p("## Durable writes\n\n")
	d.p("Persistent mode, one goroutine, updates of uniformly chosen keys on the loaded data set: " +
		"`durable-1` makes every write durable before the next (a Put and a sync, or the engine's synced " +
		"write), `durable-100` syncs once per 100 writes. What each engine calls for a durable commit is " +
		"in [How each engine is used](#how-each-engine-is-used). Writes per second, and p99 of single " +
		"writes (for durable-100, the synced write of each group is about the 99th percentile).\n\n")
	d.p("| engine |")
	for _, s := range d.r.Sizes {
		for _, wl := range names {
			d.p(" %s %s |", s.Name, wl)
		}
	}
	d.p("\n|---|")
	for range d.r.Sizes {
		for range names {
			d.p("---:|")
		}
	}
	d.p("\n")
	for _, e := range d.engines(false) {
		d.p("| %s |", e.Name)
		for _, s := range d.r.Sizes {
			for _, wl := range names {
				p, ok := d.point(key{e.Name, false, s.Name, 1}, wl)
				if !ok {
					d.p(" — |")
					continue
				}
				errs := ""
				if p.Errors > 0 {
					errs = fmt.Sprintf(", %d errors", p.Errors)
				}
				d.p(" %s/s (p99 %s%s) |", units.Rate(p.OpsPerSec), units.Duration(p.P99), errs)
			}
		}
		d.p("\n")
	}
	d.p("\n")
}

func (d *doc) renderJobs() {
	d.p("## Loads and footprint\n\n")
	d.p("Per job: the load (pairs per second, including the final sync in persistent mode), the "+
		"bytes on disk after the load and after Close, the peak RSS of the whole process, and how long "+
		"Close took. Cells are %s.\n\n", d.gLabel())
	for _, memory := range []bool{true, false} {
		for _, s := range d.r.Sizes {
			d.p("### %s, %s\n\n", capitalize(modeName(memory)), s.Name)
			d.p("| engine | keys | load | disk after load | disk after close | process peak RSS | close |\n|---|---:|---:|---:|---:|---:|---:|\n")
			for _, e := range d.engines(memory) {
				var keys, load, diskLoad, diskClose, rss, closeT []string
				for _, g := range d.r.Goroutines {
					k := key{e.Name, memory, s.Name, g}
					j, ok := d.jobs[k]
					if !ok {
						for _, col := range []*[]string{&keys, &load, &diskLoad, &diskClose, &rss, &closeT} {
							*col = append(*col, "—")
						}
						continue
					}
					keys = append(keys, fmt.Sprint(j.Job.Keys))
					lp, lok := d.point(k, runner.Load)
					if lok {
						load = append(load, units.Rate(lp.OpsPerSec)+"/s")
						diskLoad = append(diskLoad, units.Bytes(lp.DiskBytes))
					} else {
						load = append(load, "—")
						diskLoad = append(diskLoad, "—")
					}
					diskClose = append(diskClose, units.Bytes(j.DiskAfterClose))
					rss = append(rss, units.Bytes(j.ChildPeakRSS))
					closeT = append(closeT, units.Duration(j.Close))
				}
				d.p("| %s | %s | %s | %s | %s | %s | %s |\n", e.Name, joinSame(keys), strings.Join(load, " / "),
					strings.Join(diskLoad, " / "), strings.Join(diskClose, " / "), strings.Join(rss, " / "), strings.Join(closeT, " / "))
			}
			d.p("\n")
		}
	}
}

// joinSame joins the parts with " / ", or returns the one value they all share.
func joinSame(parts []string) string {
	if len(parts) > 0 && !slices.ContainsFunc(parts, func(s string) bool { return s != parts[0] }) {
		return parts[0]
	}
	return strings.Join(parts, " / ")
}

func (d *doc) renderLosses(notes string) {
	d.p("## Where feox-go loses and why\n\n")
	var losses []string
	for _, memory := range []bool{true, false} {
		for _, s := range d.r.Sizes {
			for _, g := range d.r.Goroutines {
				for _, w := range d.r.Workloads {
					if memory && w.PersistentOnly {
						continue
					}
					if c := d.compare(key{Subject, memory, s.Name, g}, w.Name); c.ok && c.ratio < 1 {
						losses = append(losses, fmt.Sprintf("%s %s g=%d %s: %s of %s", modeName(memory), s.Name, g, w.Name, ratio(c.ratio), c.bestPeer))
					}
				}
			}
		}
	}
	if len(losses) == 0 {
		d.p("feox-go is ahead of every peer on every point of this run.\n\n")
	} else {
		d.p("Points where another engine is faster (feox-go's throughput as a multiple of the best peer's):\n\n")
		for _, l := range losses {
			d.p("- %s\n", l)
		}
		d.p("\n")
	}
	if strings.TrimSpace(notes) != "" {
		d.p("%s\n\n", strings.TrimSpace(notes))
	}
}
