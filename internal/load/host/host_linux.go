package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// field returns the value after "name:" on the first line of a /proc file that has it, or "".
func field(path, name string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// CPUModel returns the model name of the first CPU, or Unknown.
func CPUModel() string {
	if m := field("/proc/cpuinfo", "model name"); m != "" {
		return m
	}
	return Unknown
}

// Memory returns the machine's total memory, "15.6 GiB", or Unknown.
func Memory() string {
	f := strings.Fields(field("/proc/meminfo", "MemTotal"))
	if len(f) == 0 {
		return Unknown
	}
	kib, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return Unknown
	}
	return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
}

// Kernel returns "Linux" and the kernel's release, or Unknown.
func Kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return Unknown
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// LoadAvg returns the 1, 5 and 15 minute load averages, "0.52 0.58 0.59", or "" when they
// cannot be read.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// FileSystem names the file system holding dir: "ext4", "xfs", "btrfs", Tmpfs, "overlayfs",
// "type 0x...", or Unknown when dir cannot be examined.
func FileSystem(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Unknown
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return Tmpfs
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("type 0x%x", st.Type)
}
