//go:build !linux

package main

import "os"

func maxRSS(*os.ProcessState) int64 { return 0 }
func cpuModel() string              { return "unknown" }
func memTotal() string              { return "unknown" }
func kernel() string                { return "unknown" }
func loadAvg() string               { return "" }
func fsType(string) string          { return "unknown" }
