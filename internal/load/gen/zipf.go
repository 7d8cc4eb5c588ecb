package gen

import (
	"math"
	"math/rand/v2"
)

// ZipfianConstant is the skew YCSB uses for its zipfian request distributions.
const ZipfianConstant = 0.99

// Zipf draws ranks in [0, n) with P(rank = k) proportional to 1/(k+1)^theta, exactly (not an
// approximation), by rejection-inversion sampling (Hörmann and Derflinger, "Rejection-inversion
// to generate variates from monotone discrete distributions", 1996). A draw costs a few
// logarithms and exponentials whatever n is, and setting up a new n costs about as much, so
// n can follow a growing key space (the latest distribution) draw by draw.
//
// The method inverts H, an integral of the continuous density h(x) = x^-theta, over
// [0.5, n+0.5] and accepts a candidate k when the uniform draw falls under the mass of k,
// which happens for all but a small fraction of draws. A Zipf is owned by one goroutine.
type Zipf struct {
	theta float64
	n     uint64
	// hLow is H(1.5) - 1 (the rank-1 mass is 1 = h(1)); hHigh is H(n + 0.5).
	hLow, hHigh float64
	// squeeze accepts k at once when k - x <= squeeze.
	squeeze float64
}

// NewZipf returns a sampler of ranks in [0, n) with skew theta >= 0 (theta = 1 included;
// theta = 0 draws every rank alike). n must be at least 1.
func NewZipf(n uint64, theta float64) *Zipf {
	z := &Zipf{theta: theta}
	z.squeeze = 2 - z.hInv(z.hInt(2.5)-z.h(2))
	z.hLow = z.hInt(1.5) - 1
	z.SetN(n)
	return z
}

// N returns the number of ranks.
func (z *Zipf) N() uint64 { return z.n }

// SetN changes the number of ranks to n >= 1.
func (z *Zipf) SetN(n uint64) {
	z.n = max(n, 1)
	z.hHigh = z.hInt(float64(z.n) + 0.5)
}

// Rank returns a rank in [0, N()); rank 0 is the most likely.
func (z *Zipf) Rank(r *rand.Rand) uint64 {
	for {
		u := z.hHigh + r.Float64()*(z.hLow-z.hHigh) // uniform in (hLow, hHigh]
		x := z.hInv(u)
		kf := math.Floor(x + 0.5)
		kf = min(max(kf, 1), float64(z.n))
		if kf-x <= z.squeeze || u >= z.hInt(kf+0.5)-z.h(kf) {
			return uint64(kf) - 1
		}
	}
}

// h is the density x^-theta.
func (z *Zipf) h(x float64) float64 { return math.Exp(-z.theta * math.Log(x)) }

// hInt is an antiderivative of h: (x^(1-theta) - 1) / (1-theta), and log x for theta = 1,
// computed without cancellation near theta = 1.
func (z *Zipf) hInt(x float64) float64 {
	lx := math.Log(x)
	return expm1Over((1-z.theta)*lx) * lx
}

// hInv is the inverse of hInt.
func (z *Zipf) hInv(y float64) float64 {
	t := max(y*(1-z.theta), -1) // rounding can push t just below -1
	return math.Exp(log1pOver(t) * y)
}

// expm1Over returns (e^x - 1) / x, continuous at 0.
func expm1Over(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x/2*(1+x/3*(1+x/4))
}

// log1pOver returns log(1 + x) / x, continuous at 0.
func log1pOver(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(1.0/2-x*(1.0/3-x/4))
}

// ZipfPMF returns the probabilities of ranks 0 to n-1 under a zipfian distribution of skew
// theta: the distribution Zipf samples.
func ZipfPMF(n int, theta float64) []float64 {
	p := make([]float64, n)
	var sum float64
	for k := range p {
		p[k] = math.Pow(float64(k+1), -theta)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
	return p
}

// scrambledItems is the size of the zipfian item space that ScrambledZipf hashes down to n,
// as in YCSB's ScrambledZipfianGenerator.
const scrambledItems = 10_000_000_000

// ScrambledZipf draws indexes in [0, n) the way YCSB's "zipfian" request distribution does: a
// zipfian rank over ten billion items, hashed (FNV-1a, 64 bits) and reduced modulo n. The
// popular items are thus scattered over the index space, and the skew is milder than a
// zipfian over n items alone (the hottest index gets about 4% of the draws for theta 0.99).
// A ScrambledZipf is owned by one goroutine.
type ScrambledZipf struct {
	z *Zipf
	n uint64
}

// NewScrambledZipf returns a sampler of indexes in [0, n), n >= 1.
func NewScrambledZipf(n uint64, theta float64) *ScrambledZipf {
	return &ScrambledZipf{z: NewZipf(scrambledItems, theta), n: max(n, 1)}
}

// Index returns an index in [0, n).
func (s *ScrambledZipf) Index(r *rand.Rand) uint64 {
	return FNV64(s.z.Rank(r)) % s.n
}

// FNV64 returns the 64-bit FNV-1a hash of the eight little-endian bytes of v.
func FNV64(v uint64) uint64 {
	const (
		offset = 0xcbf29ce484222325
		prime  = 0x100000001b3
	)
	h := uint64(offset)
	for range 8 {
		h ^= v & 0xff
		h *= prime
		v >>= 8
	}
	return h
}
