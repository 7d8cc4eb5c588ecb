package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTimes are the user and system CPU time of the process so far.
type cpuTimes struct{ user, sys time.Duration }

// readCPU returns the process's CPU times and its peak resident set size in bytes (0 when
// unavailable).
func readCPU() (cpuTimes, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}, 0
	}
	tv := func(t syscall.Timeval) time.Duration {
		return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
	}
	return cpuTimes{user: tv(ru.Utime), sys: tv(ru.Stime)}, ru.Maxrss * 1024 // ru_maxrss is in KiB on Linux
}

// currentRSS returns the resident set size of the process now, in bytes (0 when unavailable).
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// fsNote returns a warning to print after the path of a data file in dir when its file
// system makes the measurement unrepresentative, else "".
func fsNote(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.TMPFS_MAGIC {
		return " (tmpfs: syncs cost nothing here; use --path on a disk)"
	}
	return ""
}
