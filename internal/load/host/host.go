// Package host describes the machine a load runs on, for reports: its CPU model, memory,
// kernel, load average and the file system of a directory. On Linux the figures come from
// /proc and statfs(2); elsewhere they read as unknown.
package host

// Tmpfs is what FileSystem returns for a directory in memory (tmpfs), where a sync costs
// nothing and a measurement of durable writes means little.
const Tmpfs = "tmpfs"

// Unknown is what the functions of this package return for what they cannot tell.
const Unknown = "unknown"
