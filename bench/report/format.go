package report

import (
	"fmt"
	"time"
)

// rate formats an operations-per-second figure with three significant digits.
func rate(v float64) string {
	switch {
	case v <= 0:
		return "0"
	case v >= 1e6:
		return sig3(v/1e6) + "M"
	case v >= 1e3:
		return sig3(v/1e3) + "K"
	}
	return sig3(v)
}

// sig3 formats v (>= 0, < 1000) with three significant digits and no trailing zeros.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return trim(fmt.Sprintf("%.1f", v))
	}
	return trim(fmt.Sprintf("%.2f", v))
}

// trim removes trailing zeros after a decimal point, and the point itself if bare.
func trim(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' && containsDot(s) {
		s = s[:len(s)-1]
	}
	if len(s) > 1 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func containsDot(s string) bool {
	for i := range len(s) {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// dur formats a latency with three significant digits in the largest fitting unit.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d >= time.Second:
		return sig3(d.Seconds()) + " s"
	case d >= time.Millisecond:
		return sig3(float64(d)/1e6) + " ms"
	case d >= time.Microsecond:
		return sig3(float64(d)/1e3) + " µs"
	}
	return fmt.Sprintf("%d ns", int64(d))
}

// mib formats a byte count in MiB (GiB from 10 GiB up).
func mib(b int64) string {
	switch {
	case b <= 0:
		return "0"
	case b >= 10<<30:
		return sig3(float64(b)/(1<<30)) + " GiB"
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", (b+1<<19)>>20)
	}
	return sig3(float64(b)/(1<<20)) + " MiB"
}

// ratio formats a ratio such as 12.3x or 0.45x.
func ratio(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0fx", r)
	}
	return sig3(r) + "x"
}
