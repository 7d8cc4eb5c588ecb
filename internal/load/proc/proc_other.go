//go:build !linux

package proc

import (
	"os"
	"runtime/metrics"
)

// CPU returns zero: CPU time is read on Linux only.
func CPU() CPUTime { return CPUTime{} }

// RSS approximates the resident set size by the memory the Go runtime has mapped, in bytes.
func RSS() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// PeakRSS returns 0: the peak resident set size is read on Linux only.
func PeakRSS() int64 { return 0 }

// ResetPeakRSS does nothing: the peak resident set size is read on Linux only.
func ResetPeakRSS() {}

// ChildPeakRSS returns 0: the peak resident set size is read on Linux only.
func ChildPeakRSS(*os.ProcessState) int64 { return 0 }
