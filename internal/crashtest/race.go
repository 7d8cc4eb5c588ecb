//go:build race

package crashtest

// raceEnabled reports whether the binary was built with the race detector.
const raceEnabled = true
