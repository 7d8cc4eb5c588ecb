package proc

import (
	"testing"
	"time"
)

// TestCPUTime_Arithmetic checks Sub, Add and Total.
func TestCPUTime_Arithmetic(t *testing.T) {
	a := CPUTime{User: 3 * time.Second, Sys: time.Second}
	b := CPUTime{User: time.Second, Sys: 500 * time.Millisecond}
	if got := a.Sub(b); got != (CPUTime{User: 2 * time.Second, Sys: 500 * time.Millisecond}) {
		t.Errorf("Sub = %+v", got)
	}
	if got := a.Sub(b).Add(b); got != a {
		t.Errorf("Sub then Add = %+v, want %+v", got, a)
	}
	if a.Total() != 4*time.Second {
		t.Errorf("Total = %v", a.Total())
	}
}
