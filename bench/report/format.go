package report

import "github.com/feoxdb/feox-go/internal/load/units"

// ratio formats a ratio of throughputs with three significant digits: "12.3x", "0.46x".
func ratio(r float64) string {
	return units.Sig3(r) + "x"
}
