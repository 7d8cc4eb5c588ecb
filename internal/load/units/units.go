// Package units parses and prints the quantities of a load run: byte sizes and counts given on
// a command line, and durations, rates and byte counts shown in reports. Printed numbers have
// three significant digits, trailing zeros kept so that the columns of a table line up.
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadNumber is the cause of every size or count ParseSize and ParseCount cannot read.
var ErrBadNumber = errors.New("not a number")

// ParseSize parses a byte size: a non-negative integer with an optional suffix k, m, g or t
// (any case) for a power of 1024, and an optional trailing "b" or "ib": "4096", "64K",
// "16MiB", "1gb", "100B". Underscores may separate digits.
func ParseSize(s string) (int64, error) { return parseScaled(s, 1024) }

// ParseCount parses a count: a non-negative integer with an optional suffix k, m, g or t (any
// case) for a power of 1000: "200000", "200_000", "200K", "1M".
func ParseCount(s string) (int64, error) { return parseScaled(s, 1000) }

// parseScaled parses a non-negative integer with an optional suffix: k, m, g or t multiply
// by unit, unit^2, unit^3 or unit^4; a trailing "b", or "ib" after the letter, is allowed.
func parseScaled(s string, unit int64) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgt", t[n-1]); i >= 0 {
			t = t[:n-1]
			for range i + 1 {
				mult *= unit
			}
		}
	}
	v, err := strconv.ParseInt(t, 0, 64)
	if err != nil || v < 0 || (v > 0 && mult > math.MaxInt64/v) {
		return 0, fmt.Errorf("%w: %q", ErrBadNumber, s)
	}
	return v * mult, nil
}

// Sig3 formats v >= 0 with three significant digits, without an exponent: "1.50", "12.3",
// "254", "7200".
func Sig3(v float64) string {
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Duration formats d with three significant digits in the largest unit that keeps the number
// at least 1: "850ns", "1.25µs", "12.5ms", "3.00s". Below a microsecond it prints whole
// nanoseconds; a negative d prints as 0ns.
func Duration(d time.Duration) string {
	d = max(d, 0)
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	v, unit := d.Seconds(), "s"
	switch {
	case d < time.Millisecond:
		v, unit = float64(d)/float64(time.Microsecond), "µs"
	case d < time.Second:
		v, unit = float64(d)/float64(time.Millisecond), "ms"
	}
	return Sig3(v) + unit
}

// Rate formats a rate with an SI suffix and three significant digits: "950", "12.3K",
// "1.25M", "3.00G". Below 1000 it prints a whole number; NaN and infinities print as "n/a".
func Rate(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v < 1000:
		return strconv.FormatFloat(max(v, 0), 'f', 0, 64)
	case v < 1e6:
		return Sig3(v/1e3) + "K"
	case v < 1e9:
		return Sig3(v/1e6) + "M"
	}
	return Sig3(v/1e9) + "G"
}

// Bytes formats a byte count with a binary unit: "512 B", "1.50 KiB", "312 MiB", up to TiB.
// A negative n prints as 0 B.
func Bytes(n int64) string {
	n = max(n, 0)
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB"} {
		if v /= 1024; v < 1024 {
			return Sig3(v) + " " + unit
		}
	}
	return Sig3(v/1024) + " TiB"
}
