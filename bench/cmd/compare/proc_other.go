//go:build !linux

package main

import "os"

func maxRSS(*os.ProcessState) int64 { return 0 }
func cpuModel() string              { return "unknown" }
func memTotal() string              { return "unknown" }
func kernel() string                { return "unknown" }
func fsType(string) string          { return "unknown" }
