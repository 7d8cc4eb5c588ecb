package main

import (
	"testing"
	"time"
)

// TestFmtDuration checks the three-significant-digit formatting at the unit boundaries.
func TestFmtDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"},
		{999, "999ns"},
		{time.Microsecond, "1.00µs"},
		{1250 * time.Nanosecond, "1.25µs"},
		{12500 * time.Nanosecond, "12.5µs"},
		{254 * time.Microsecond, "254µs"},
		{time.Millisecond, "1.00ms"},
		{72200 * time.Microsecond, "72.2ms"},
		{3 * time.Second, "3.00s"},
		{2 * time.Hour, "7200s"},
	}
	for _, tt := range tests {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%d) = %q, want %q", int64(tt.d), got, tt.want)
		}
	}
}

// TestOpsPerSec checks the rate, including an empty interval.
func TestOpsPerSec(t *testing.T) {
	if got := opsPerSec(500, 2*time.Second); got != 250 {
		t.Errorf("opsPerSec(500, 2s) = %v, want 250", got)
	}
	if got := opsPerSec(500, 0); got != 0 {
		t.Errorf("opsPerSec(500, 0) = %v, want 0", got)
	}
}
