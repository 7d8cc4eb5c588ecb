package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

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
