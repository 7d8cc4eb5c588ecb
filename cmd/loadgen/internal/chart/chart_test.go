package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// wellFormed fails the test unless doc parses as XML from start to end.
func wellFormed(t *testing.T, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
}

func sample() *Chart {
	return &Chart{
		Title:  "sweep <shards> & batches",
		XLabel: "batch-entries",
		X:      []string{"16", "64", "256", "1024"},
		Panels: []Panel{
			{Title: "throughput", Series: []Series{
				{Name: "shards=1", Values: []float64{1e5, 2e5, 3e5, 3.5e5}},
				{Name: "shards=2", Values: []float64{1.5e5, math.NaN(), 4e5, 4.2e5}, Color: 1, Dash: 1},
			}},
			{Title: "p99", Format: func(v float64) string { return "~" + strings.Repeat("x", int(v)%3) }, Series: []Series{
				{Name: "update shards=1", Values: []float64{0, 0, 0, 0}},
			}},
		},
	}
}

// TestChart_WriteSVG ensures the SVG is well-formed, escapes text, draws one line per series
// with more than one point, and carries a tooltip per point.
func TestChart_WriteSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	wellFormed(t, doc)
	if !strings.Contains(doc, "<svg") || !strings.Contains(doc, "&lt;shards&gt; &amp; batches") {
		t.Fatalf("missing svg element or escaped title:\n%s", doc)
	}
	if n := strings.Count(doc, "<polyline"); n != 3 {
		t.Errorf("%d polylines, want 3", n)
	}
	if n := strings.Count(doc, "<circle"); n != 4+3+4 {
		t.Errorf("%d points, want 11 (NaN left out)", n)
	}
	if !strings.Contains(doc, "<title>shards=2, batch-entries=256: 400000</title>") {
		t.Errorf("missing tooltip of shards=2 at 256")
	}
	if strings.Contains(doc, "NaN") || strings.Contains(doc, "Inf") {
		t.Errorf("coordinates contain NaN or Inf")
	}
	if !strings.Contains(doc, `stroke="#d55e00" stroke-width="2" stroke-dasharray="6 3"`) {
		t.Errorf("series style (Color 1, Dash 1) not applied")
	}
}

// TestChart_WriteHTML ensures the page embeds the SVG and the escaped table.
func TestChart_WriteHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteHTML(&buf, "a <b> table"); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for _, want := range []string{"<!DOCTYPE html>", "<svg", "</svg>", "<pre>a &lt;b&gt; table</pre>"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(doc, "<script") || strings.Contains(doc, "http://") && !strings.Contains(doc, "http://www.w3.org/2000/svg") {
		t.Errorf("page refers to scripts or the network")
	}
	start, end := strings.Index(doc, "<svg"), strings.Index(doc, "</svg>")
	wellFormed(t, doc[start:end+len("</svg>")])
}

// TestNiceStep checks the rounding of tick steps.
func TestNiceStep(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{0, 1}, {-3, 1}, {math.NaN(), 1}, {1, 1}, {1.1, 2}, {2.2, 2.5}, {3, 5}, {7, 10},
		{0.013, 0.02}, {43000, 50000},
	}
	for _, tt := range tests {
		if got := niceStep(tt.x); math.Abs(got-tt.want) > 1e-12*tt.want {
			t.Errorf("niceStep(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}
