package tracesim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestZipfian ensures the generator is skewed as a zipfian should be: the share of the most
// popular item is close to 1/zeta(n, theta), and ranks are in range.
func TestZipfian(t *testing.T) {
	const n, draws = 1000, 200_000
	z := NewZipfian(rand.New(rand.NewPCG(1, 2)), n, 0.99)
	var counts [n]int
	for range draws {
		r := z.Next()
		if r < 0 || r >= n {
			t.Fatalf("rank %d out of [0, %d)", r, n)
		}
		counts[r]++
	}
	for _, rank := range []int{0, 1, 9} {
		want := draws / math.Pow(float64(rank+1), 0.99) / z.zetan
		if got := float64(counts[rank]); math.Abs(got-want) > 0.1*want {
			t.Errorf("rank %d drawn %v times; want about %.0f", rank, got, want)
		}
	}
}
