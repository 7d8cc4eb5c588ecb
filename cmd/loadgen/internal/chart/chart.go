// Package chart draws line charts as self-contained SVG, for the load generator's sweeps: one
// or more panels stacked vertically that share a categorical x axis (the swept values), each
// with one line per series. The output needs nothing but a browser: no script, no fonts or
// styles from the network. Hovering a point shows its value (an SVG <title>).
package chart

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Series is one line of a panel.
type Series struct {
	// Name is shown in the legend and in the points' tooltips.
	Name string
	// Values holds one value per x position; NaN leaves the position out.
	Values []float64
	// Color and Dash select the line's colour and dash pattern from fixed lists (modulo
	// their lengths), so that related series across panels can share a colour.
	Color, Dash int
}

// Panel is one plot: a y axis starting at 0 and its lines.
type Panel struct {
	// Title is printed above the plot.
	Title string
	// Format renders y values (tick labels and tooltips); nil means %g.
	Format func(float64) string
	// Series are the lines.
	Series []Series
}

// Chart is a stack of panels over one x axis.
type Chart struct {
	// Title is printed at the top.
	Title string
	// XLabel names the x axis (the swept parameter).
	XLabel string
	// X holds the labels of the x positions, evenly spaced.
	X []string
	// Panels are drawn top to bottom.
	Panels []Panel
}

// Geometry of the drawing, in SVG user units (pixels).
const (
	width       = 960
	panelHeight = 300
	marginLeft  = 80
	marginRight = 260 // room for the legend
	marginTop   = 50
	panelGap    = 70 // between panels: x labels and the next title
	plotWidth   = width - marginLeft - marginRight
	plotHeight  = panelHeight - 40
	yTicks      = 5
)

// palette holds colours that stay distinguishable for common colour-vision deficiencies.
// Black is left out: the axes are near black.
func palette() []string {
	return []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#999999", "#f0e442"}
}

// dashes holds the dash patterns, solid first.
func dashes() []string { return []string{"", "6 3", "2 3", "8 3 2 3", "12 4"} }

// Height returns the height of the drawing.
func (c *Chart) Height() int {
	return marginTop + len(c.Panels)*panelHeight + (len(c.Panels)-1)*panelGap + 50
}

// WriteSVG writes the chart as one standalone SVG document.
func (c *Chart) WriteSVG(w io.Writer) error {
	var b strings.Builder
	c.svg(&b, true)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes a standalone HTML page with the chart inline and, below it, the
// preformatted text of table (when not empty).
func (c *Chart) WriteHTML(w io.Writer, table string) error {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(c.Title))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em;color:#222}" +
		"pre{background:#f6f6f6;padding:1em;overflow-x:auto}</style>\n</head>\n<body>\n")
	c.svg(&b, false)
	if table != "" {
		fmt.Fprintf(&b, "<pre>%s</pre>\n", esc(table))
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// svg draws the chart into b; standalone adds the XML declaration and namespace needed
// outside HTML.
func (c *Chart) svg(b *strings.Builder, standalone bool) {
	esc := html.EscapeString
	h := c.Height()
	if standalone {
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	}
	fmt.Fprintf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "+
		"font-family=\"sans-serif\" font-size=\"12\">\n", width, h, width, h)
	fmt.Fprintf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, h)
	fmt.Fprintf(b, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">%s</text>\n", marginLeft, esc(c.Title))
	for i := range c.Panels {
		top := marginTop + i*(panelHeight+panelGap)
		c.panel(b, &c.Panels[i], top)
	}
	b.WriteString("</svg>\n")
}

// xPos returns the x coordinate of position i.
func (c *Chart) xPos(i int) float64 {
	return marginLeft + (float64(i)+0.5)*plotWidth/float64(max(len(c.X), 1))
}

// panel draws one panel whose title line starts at top.
func (c *Chart) panel(b *strings.Builder, p *Panel, top int) {
	esc := html.EscapeString
	format := p.Format
	if format == nil {
		format = func(v float64) string { return fmt.Sprintf("%g", v) }
	}
	plotTop := float64(top + 20)
	plotBottom := plotTop + plotHeight
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", marginLeft, top+10, esc(p.Title))

	var hi float64
	for _, s := range p.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				hi = max(hi, v)
			}
		}
	}
	step := niceStep(hi / yTicks)
	top5 := step * yTicks
	for top5 < hi {
		top5 += step
	}
	y := func(v float64) float64 { return plotBottom - v/top5*plotHeight }

	// Grid, y ticks and axes.
	for v := 0.0; v <= top5*(1+1e-9); v += step {
		fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
			marginLeft, y(v), marginLeft+plotWidth, y(v))
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
			marginLeft-6, y(v), esc(format(v)))
	}
	fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#444\"/>\n", marginLeft, plotTop, marginLeft, plotBottom)
	fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#444\"/>\n", marginLeft, plotBottom, marginLeft+plotWidth, plotBottom)
	for i, label := range c.X {
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", c.xPos(i), plotBottom+18, esc(label))
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
		marginLeft+plotWidth/2, plotBottom+38, esc(c.XLabel))

	// Lines, points with tooltips, legend.
	colors, dash := palette(), dashes()
	for si, s := range p.Series {
		color := colors[s.Color%len(colors)]
		style := ""
		if d := dash[s.Dash%len(dash)]; d != "" {
			style = fmt.Sprintf(" stroke-dasharray=\"%s\"", d)
		}
		var pts []string
		for i, v := range s.Values {
			if i >= len(c.X) || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.xPos(i), y(v)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"%s\"/>\n",
				color, style, strings.Join(pts, " "))
		}
		for i, v := range s.Values {
			if i >= len(c.X) || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			fmt.Fprintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s, %s=%s: %s</title></circle>\n",
				c.xPos(i), y(v), color, esc(s.Name), esc(c.XLabel), esc(c.X[i]), esc(format(v)))
		}
		ly := plotTop + 8 + float64(si)*18
		lx := marginLeft + plotWidth + 20
		fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
			lx, ly, lx+24, ly, color, style)
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%.1f\" dominant-baseline=\"middle\">%s</text>\n", lx+30, ly, esc(s.Name))
	}
}

// niceStep returns the smallest of 1, 2, 2.5 and 5 times a power of ten that is at least x
// (1 for x <= 0), so that tick labels are round numbers.
func niceStep(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}
