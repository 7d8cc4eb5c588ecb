package gen

import (
	"math"
	"math/rand/v2"
)

// Zipf draws indexes in [0, n) with P(i) proportional to 1/(i+1)^theta, so index 0 is the most
// popular; since keys hash their index, the popular keys are spread over the key space. It
// uses the closed-form generator of Gray et al., "Quickly generating billion-record synthetic
// databases" (SIGMOD 1994), the one YCSB's zipfian generator is built on: setting up costs one
// pass over n (the generalized harmonic number), a draw costs one power. A Zipf is immutable
// after NewZipf and may be shared; each goroutine brings its own *rand.Rand.
type Zipf struct {
	n                   uint64
	theta               float64
	alpha, zetan, eta   float64
	halfPowTheta, zeta2 float64
}

// NewZipf returns a sampler over [0, n), n >= 1, with skew theta in (0, 1).
func NewZipf(n uint64, theta float64) *Zipf {
	n = max(n, 1)
	return newZipfZeta(n, theta, zeta(n, theta))
}

// newZipfZeta returns a sampler over [0, n) given zetan = zeta(n, theta).
func newZipfZeta(n uint64, theta, zetan float64) *Zipf {
	z := &Zipf{n: n, theta: theta, zetan: zetan}
	z.zeta2 = zeta(2, theta)
	z.alpha = 1 / (1 - theta)
	z.halfPowTheta = 1 + math.Pow(0.5, theta)
	z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - z.zeta2/z.zetan)
	return z
}

// zeta returns the sum over i in [1, n] of 1/i^theta.
func zeta(n uint64, theta float64) float64 {
	var s float64
	for i := uint64(1); i <= n; i++ {
		s += math.Pow(float64(i), -theta)
	}
	return s
}

// Next returns an index in [0, n).
func (z *Zipf) Next(r *rand.Rand) uint64 {
	u := r.Float64()
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < z.halfPowTheta {
		return min(1, z.n-1)
	}
	i := uint64(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(i, z.n-1)
}

// scrambledItems is the item space of YCSB's scrambled zipfian: ranks are drawn over ten
// billion items, then hashed down to the key count.
const scrambledItems = 10_000_000_000

// NewScrambled returns YCSB's "zipfian" request distribution over [0, n) (its
// ScrambledZipfianGenerator): a zipfian rank over ten billion items, hashed with 64-bit
// FNV-1a and reduced modulo n. The popular indexes are scattered, and the skew is milder than
// NewZipf(n, theta)'s (ranks that hash to the same index add up, and the hottest index gets
// about 4% of the draws for theta 0.99, not 7%).
func NewScrambled(n uint64, theta float64) *Scrambled {
	return &Scrambled{z: newZipfZeta(scrambledItems, theta, zetaApprox(scrambledItems, theta)), n: max(n, 1)}
}

// Scrambled draws indexes as YCSB's scrambled zipfian does; see NewScrambled. It is immutable
// and may be shared; each goroutine brings its own *rand.Rand.
type Scrambled struct {
	z *Zipf
	n uint64
}

// Next returns an index in [0, n).
func (s *Scrambled) Next(r *rand.Rand) uint64 {
	return fnv1a64(s.z.Next(r)) % s.n
}

// fnv1a64 returns the 64-bit FNV-1a hash of the eight little-endian bytes of v.
func fnv1a64(v uint64) uint64 {
	h := uint64(0xcbf29ce484222325)
	for range 8 {
		h = (h ^ (v & 0xff)) * 0x100000001b3
		v >>= 8
	}
	return h
}

// zetaApprox returns zeta(n, theta) for any n: the exact sum up to m, then the Euler-Maclaurin
// estimate of the rest (the integral of x^-theta from m to n plus the end corrections), whose
// error is far below a float64's resolution of the total for m = 100,000.
func zetaApprox(n uint64, theta float64) float64 {
	const m = 100_000
	if n <= m {
		return zeta(n, theta)
	}
	f := func(x float64) float64 { return math.Pow(x, -theta) }
	df := func(x float64) float64 { return -theta * math.Pow(x, -theta-1) }
	fm, fn := float64(m), float64(n)
	integral := (math.Pow(fn, 1-theta) - math.Pow(fm, 1-theta)) / (1 - theta)
	return zeta(m, theta) + integral + (f(fn)-f(fm))/2 + (df(fn)-df(fm))/12
}
