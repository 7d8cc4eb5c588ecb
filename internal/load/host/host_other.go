//go:build !linux

package host

// CPUModel returns Unknown: the CPU is described on Linux only.
func CPUModel() string { return Unknown }

// Memory returns Unknown: memory is described on Linux only.
func Memory() string { return Unknown }

// Kernel returns Unknown: the kernel is described on Linux only.
func Kernel() string { return Unknown }

// LoadAvg returns "": the load average is read on Linux only.
func LoadAvg() string { return "" }

// FileSystem returns Unknown: file systems are told apart on Linux only.
func FileSystem(string) string { return Unknown }
