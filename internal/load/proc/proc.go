// Package proc reads what this process uses: its CPU time, and its resident set size now and
// at its peak. On Linux the figures come from getrusage(2) and /proc/self; elsewhere CPU time
// and peak RSS read as zero (unknown), and RSS is approximated by the memory the Go runtime
// has mapped.
package proc

import "time"

// CPUTime is the user and system CPU time of a process.
type CPUTime struct {
	User, Sys time.Duration
}

// Total returns the user and system time together.
func (c CPUTime) Total() time.Duration { return c.User + c.Sys }

// Sub returns the CPU time spent between o and c.
func (c CPUTime) Sub(o CPUTime) CPUTime {
	return CPUTime{User: c.User - o.User, Sys: c.Sys - o.Sys}
}

// Add returns the CPU time of c and o together.
func (c CPUTime) Add(o CPUTime) CPUTime {
	return CPUTime{User: c.User + o.User, Sys: c.Sys + o.Sys}
}
