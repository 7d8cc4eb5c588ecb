package host

import (
	"os"
	"regexp"
	"testing"
)

// TestDescribe ensures each description reads as its source says on this machine.
func TestDescribe(t *testing.T) {
	f := func(what, got, pattern string) {
		t.Helper()
		if !regexp.MustCompile(pattern).MatchString(got) {
			t.Errorf("%s = %q, want a match of %s", what, got, pattern)
		}
	}
	f("Memory", Memory(), `^[0-9]+\.[0-9] GiB$`)
	f("Kernel", Kernel(), `^Linux [0-9]+\.[0-9]+`)
	f("LoadAvg", LoadAvg(), `^[0-9.]+ [0-9.]+ [0-9.]+$`)
	f("CPUModel", CPUModel(), `.`)
	f("FileSystem", FileSystem(os.TempDir()), `^(ext4|xfs|btrfs|tmpfs|overlayfs|type 0x[0-9a-f]+)$`)
	if got := FileSystem("/proc"); got != "type 0x9fa0" { // PROC_SUPER_MAGIC
		t.Errorf("FileSystem(/proc) = %q", got)
	}
	if got := FileSystem("/no/such/dir"); got != Unknown {
		t.Errorf("FileSystem of a missing directory = %q, want %q", got, Unknown)
	}
}
