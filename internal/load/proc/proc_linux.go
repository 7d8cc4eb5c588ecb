package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// CPU returns the CPU time the process has used so far, or zero when it cannot be read.
func CPU() CPUTime {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return CPUTime{}
	}
	return CPUTime{User: timeval(ru.Utime), Sys: timeval(ru.Stime)}
}

// timeval converts a getrusage time.
func timeval(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// RSS returns the process's resident set size now, in bytes (/proc/self/statm), or 0 when
// it cannot be read.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	return field(b, 1) * int64(os.Getpagesize()) // resident pages
}

// PeakRSS returns the process's peak resident set size, in bytes, since it started or since
// the last ResetPeakRSS (VmHWM in /proc/self/status), or 0 when it cannot be read.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			return field(rest, 0) << 10 // "  1234 kB"
		}
	}
	return 0
}

// field returns the i-th space-separated field of b as an integer, or 0 when there is none.
func field(b []byte, i int) int64 {
	f := bytes.Fields(b)
	if len(f) <= i {
		return 0
	}
	n, err := strconv.ParseInt(string(f[i]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// ResetPeakRSS makes the peak resident set size the current one (by writing 5 to
// /proc/self/clear_refs), so that PeakRSS measures from now on. It does nothing where the
// kernel does not allow it.
func ResetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// ChildPeakRSS returns the peak resident set size of a process that has exited, in bytes, or
// 0 when it is unknown.
func ChildPeakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // ru_maxrss is in KiB on Linux
	}
	return 0
}
