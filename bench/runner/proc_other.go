//go:build !linux

package runner

// resetPeakRSS does nothing: the peak resident set cannot be reset here.
func resetPeakRSS() {}

// peakRSS returns 0: the peak resident set is not measured here.
func peakRSS() int64 { return 0 }

// loadAvg returns "": the load average is not read here.
// LoadAvg returns "": the load average is read from /proc on Linux only.
func LoadAvg() string { return "" }
