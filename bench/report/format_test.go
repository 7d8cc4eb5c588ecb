package report

import "testing"

// TestRatio ensures ratios are shown with three significant digits.
func TestRatio(t *testing.T) {
	f := func(r float64, want string) {
		t.Helper()
		if got := ratio(r); got != want {
			t.Errorf("ratio(%v) = %q, want %q", r, got, want)
		}
	}
	f(12.34, "12.3x")
	f(0.456, "0.46x")
	f(250, "250x")
	f(1, "1.00x")
}
