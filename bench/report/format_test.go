package report

import (
	"testing"
	"time"
)

// TestFormat ensures numbers are shown with three significant digits in the right unit.
func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{rate(0), "0"},
		{rate(7.5), "7.5"},
		{rate(999), "999"},
		{rate(1234), "1.23K"},
		{rate(20_000), "20K"},
		{rate(456_700), "457K"},
		{rate(2_345_678), "2.35M"},
		{dur(0), "0"},
		{dur(850 * time.Nanosecond), "850 ns"},
		{dur(1500 * time.Nanosecond), "1.5 µs"},
		{dur(12_340 * time.Microsecond), "12.3 ms"},
		{dur(2 * time.Second), "2 s"},
		{mib(0), "0"},
		{mib(512 << 10), "0.5 MiB"},
		{mib(300 << 20), "300 MiB"},
		{mib(12 << 30), "12 GiB"},
		{ratio(12.34), "12.3x"},
		{ratio(0.456), "0.46x"},
		{ratio(250), "250x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
