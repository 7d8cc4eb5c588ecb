package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// fmtDuration formats d with three significant digits in the largest unit that keeps the
// number at least 1: "850ns", "1.25µs", "12.5ms", "3.00s".
func fmtDuration(d time.Duration) string {
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	v, unit := float64(d)/float64(time.Second), "s"
	switch {
	case d < time.Millisecond:
		v, unit = float64(d)/float64(time.Microsecond), "µs"
	case d < time.Second:
		v, unit = float64(d)/float64(time.Millisecond), "ms"
	}
	return sig3(v) + unit
}

// sig3 formats v >= 0 with three significant digits (no exponent below 1000).
func sig3(v float64) string {
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// fmtRate formats a rate with an SI suffix and three significant digits: "950", "12.3K",
// "1.25M".
func fmtRate(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v < 1e6:
		return sig3(v/1e3) + "K"
	case v < 1e9:
		return sig3(v/1e6) + "M"
	}
	return sig3(v/1e9) + "G"
}

// fmtBytes formats a byte count with a binary unit: "512 B", "1.50 KiB", "312 MiB".
func fmtBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return sig3(v) + " " + unit
		}
	}
	return "" // not reached
}

// perSec returns n per second of d, 0 for an empty interval.
func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// table lays out rows of cells in aligned columns: the first left columns are aligned left,
// the others right.
type table struct {
	left int
	rows [][]string
}

// add appends a row.
func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write prints the table, each row prefixed by indent.
func (t *table) write(w io.Writer, indent string) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < t.left {
				b.WriteString(c)
				if i < len(r)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// errWriter is a writer for a sequence of prints that keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

// printf prints unless an earlier print failed.
func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// table prints t unless an earlier print failed.
func (e *errWriter) table(t *table, indent string) {
	if e.err == nil {
		e.err = t.write(e.w, indent)
	}
}
