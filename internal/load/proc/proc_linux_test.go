package proc

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestCPU_Grows ensures the CPU time grows while the test spins, and by no more than the
// wall time spent (one goroutine spins). The spin lasts until 50ms of CPU time show, or 10s on
// a machine too busy to give them.
func TestCPU_Grows(t *testing.T) {
	before, start := CPU(), time.Now()
	var spent CPUTime
	for x := 0; time.Since(start) < 10*time.Second; x++ {
		if x%100_000 == 0 {
			if spent = CPU().Sub(before); spent.Total() >= 50*time.Millisecond {
				break
			}
		}
	}
	wall := time.Since(start)
	if spent.User < 0 || spent.Sys < 0 || spent.Total() < 50*time.Millisecond || spent.Total() > wall+20*time.Millisecond {
		t.Fatalf("spinning %v used %+v of CPU", wall, spent)
	}
}

// TestRSS_FollowsMemory ensures RSS and PeakRSS see 64 MiB being touched, that the peak stays
// after the memory is given back, and that ResetPeakRSS brings it down again.
func TestRSS_FollowsMemory(t *testing.T) {
	const size = 64 << 20
	before := RSS()
	if before <= 0 || PeakRSS() < before {
		t.Fatalf("RSS %d, peak %d", before, PeakRSS())
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i)
	}
	during := RSS()
	if during-before < size/2 {
		t.Fatalf("RSS grew by %d bytes while %d were touched", during-before, size)
	}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
	debug.FreeOSMemory()
	peak := PeakRSS()
	if peak < during {
		t.Fatalf("peak %d below the RSS %d seen before", peak, during)
	}
	ResetPeakRSS()
	if after := PeakRSS(); after >= peak-size/2 {
		t.Skipf("peak %d after ResetPeakRSS, %d before: the kernel did not reset it here", after, peak)
	}
}

// TestChildPeakRSS ensures the peak RSS of a finished child process is read.
func TestChildPeakRSS(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := ChildPeakRSS(cmd.ProcessState); got < 1<<20 {
		t.Fatalf("child peak RSS %d bytes", got)
	}
}
