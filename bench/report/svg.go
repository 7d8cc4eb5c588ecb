package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/feoxdb/feox-go/internal/load/units"
)

// chartFile is one chart written next to the report.
type chartFile struct{ name, title string }

// Chart geometry, in SVG user units.
const (
	chartWidth  = 880
	labelWidth  = 110 // workload names on the left
	valueWidth  = 64  // value labels right of the longest bar
	barHeight   = 10
	barGap      = 2
	groupGap    = 12
	legendTop   = 38
	plotTop     = 70
	axisHeight  = 38
	fontFamily  = "sans-serif"
	titleSize   = 15
	textSize    = 11
	valueSize   = 9
	gridColor   = "#dddddd"
	axisColor   = "#555555"
	defaultFill = "#7f7f7f"
)

// bar is one value of a chart.
type bar struct {
	engine string
	value  float64 // 0: no measurement
}

// group is the bars of one workload.
type group struct {
	label string
	bars  []bar
}

// writeCharts writes a throughput chart per mode, data set and goroutine count into dir.
func (d *doc) writeCharts(dir string) ([]chartFile, error) {
	var files []chartFile
	for _, memory := range []bool{true, false} {
		for _, s := range d.r.Sizes {
			for _, g := range d.r.Goroutines {
				names := d.workloads()
				if !memory && g == 1 {
					names = append(names, d.durables()...)
				}
				var groups []group
				for _, wl := range names {
					gr := group{label: wl}
					for _, e := range d.engines(memory) {
						b := bar{engine: e.Name}
						if p, ok := d.point(key{e.Name, memory, s.Name, g}, wl); usable(p, ok) {
							b.value = p.OpsPerSec
						}
						gr.bars = append(gr.bars, b)
					}
					groups = append(groups, gr)
				}
				title := fmt.Sprintf("Throughput, %s, %s, %d goroutine", modeName(memory), s.Name, g)
				if g != 1 {
					title += "s"
				}
				name := fmt.Sprintf("throughput-%s-%s-g%d.svg", modeName(memory), slug(s.Name), g)
				svg := barChart(title, "operations per second (log scale)", groups)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
					return nil, fmt.Errorf("cannot write chart %s: %w", name, err)
				}
				files = append(files, chartFile{name: name, title: title})
			}
		}
	}
	return files, nil
}

// slug turns a data set name into a file name part.
func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// xmlEscape escapes text for an SVG text node or attribute.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// barChart returns a horizontal grouped bar chart with a log-scale axis as an SVG document.
func barChart(title, axis string, groups []group) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	var engines []string
	for _, g := range groups {
		for _, b := range g.bars {
			if b.value > 0 {
				lo, hi = math.Min(lo, b.value), math.Max(hi, b.value)
			}
		}
	}
	if len(groups) > 0 {
		for _, b := range groups[0].bars {
			engines = append(engines, b.engine)
		}
	}
	if math.IsInf(lo, 1) { // nothing measured
		lo, hi = 1, 10
	}
	decLo, decHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if decHi <= decLo {
		decHi = decLo + 1
	}
	plotWidth := float64(chartWidth - labelWidth - valueWidth)
	x := func(v float64) float64 {
		return labelWidth + (math.Log10(v)-decLo)/(decHi-decLo)*plotWidth
	}
	groupHeight := len(engines)*(barHeight+barGap) - barGap
	plotHeight := len(groups)*(groupHeight+groupGap) + groupGap
	height := plotTop + plotHeight + axisHeight

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s">`+"\n",
		chartWidth, height, chartWidth, height, fontFamily)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="%d" font-weight="bold">%s</text>`+"\n", labelWidth, titleSize, xmlEscape(title))
	// Legend.
	lx := labelWidth
	for _, e := range engines {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, lx, legendTop, color(e))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d">%s</text>`+"\n", lx+16, legendTop+10, textSize, xmlEscape(e))
		lx += 24 + 8*len(e)
	}
	// Grid and axis labels, one per decade.
	bottom := plotTop + plotHeight
	for dec := decLo; dec <= decHi; dec++ {
		gx := x(math.Pow(10, dec))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, gx, plotTop, gx, bottom, gridColor)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="%d" text-anchor="middle" fill="%s">%s</text>`+"\n",
			gx, bottom+14, textSize, axisColor, units.Rate(math.Pow(10, dec)))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", labelWidth, plotTop, labelWidth, bottom, axisColor)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="%d" text-anchor="middle" fill="%s">%s</text>`+"\n",
		labelWidth+plotWidth/2, bottom+28, textSize, axisColor, xmlEscape(axis))
	// Bars.
	y := plotTop + groupGap
	for _, g := range groups {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
			labelWidth-6, y+groupHeight/2, textSize, xmlEscape(g.label))
		for i, bb := range g.bars {
			by := y + i*(barHeight+barGap)
			if bb.value <= 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d" dominant-baseline="middle" fill="%s">%s: none</text>`+"\n",
					labelWidth+4, by+barHeight/2, valueSize, axisColor, xmlEscape(bb.engine))
				continue
			}
			w := math.Max(x(bb.value)-labelWidth, 1)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s ops/s</title></rect>`,
				labelWidth, by, w, barHeight, color(bb.engine), xmlEscape(bb.engine), xmlEscape(g.label), units.Rate(bb.value))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="%d" dominant-baseline="middle">%s</text>`+"\n",
				labelWidth+w+3, by+barHeight/2, valueSize, units.Rate(bb.value))
		}
		y += groupHeight + groupGap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// color returns an engine's bar color: a fixed one for every known engine, feox-go's
// standing out.
func color(engine string) string {
	switch engine {
	case "feox-go":
		return "#d62728"
	case "badger":
		return "#1f77b4"
	case "pebble":
		return "#2ca02c"
	case "bbolt":
		return "#9467bd"
	case "buntdb":
		return "#ff7f0e"
	}
	return defaultFill
}
