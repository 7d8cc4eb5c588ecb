package gen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// chiSquare returns Pearson's statistic of observed counts against the probabilities pmf.
func chiSquare(counts []int, pmf []float64, n int) float64 {
	var chi float64
	for k, c := range counts {
		e := pmf[k] * float64(n)
		chi += (float64(c) - e) * (float64(c) - e) / e
	}
	return chi
}

// chiLimit is a generous acceptance bound for a chi-square statistic with dof degrees of
// freedom: the mean plus six standard deviations. A sample from the right distribution
// exceeds it with negligible probability, and a wrong shape exceeds it by far (each test
// below checks that a nearby wrong pmf is rejected).
func chiLimit(dof int) float64 { return float64(dof) + 6*math.Sqrt(2*float64(dof)) }

// TestZipf_MatchesPMF draws a large sample of ranks for n = 1000 and compares it with the
// exact zipfian pmf, for YCSB's constant and for other skews (theta = 1 takes the special
// case of the integrals).
func TestZipf_MatchesPMF(t *testing.T) {
	const (
		n       = 1000
		samples = 1_000_000
	)
	for _, theta := range []float64{ZipfianConstant, 0.5, 1, 1.5} {
		t.Run(fmt.Sprintf("theta=%v", theta), func(t *testing.T) {
			z := NewZipf(n, theta)
			r := rand.New(rand.NewPCG(42, uint64(theta*100)))
			counts := make([]int, n)
			for range samples {
				k := z.Rank(r)
				if k >= n {
					t.Fatalf("rank %d out of [0, %d)", k, n)
				}
				counts[k]++
			}
			if chi := chiSquare(counts, ZipfPMF(n, theta), samples); chi > chiLimit(n-1) {
				t.Errorf("chi-square %.0f > %.0f against the zipfian pmf", chi, chiLimit(n-1))
			}
			if chi := chiSquare(counts, ZipfPMF(n, theta*1.05), samples); chi <= chiLimit(n-1) {
				t.Errorf("chi-square %.0f does not reject theta %v: the check is too weak", chi, theta*1.05)
			}
		})
	}
}

// TestZipf_SetN ensures that after SetN the ranks follow the pmf of the new size.
func TestZipf_SetN(t *testing.T) {
	const samples = 300_000
	z := NewZipf(10, ZipfianConstant)
	z.SetN(200)
	if z.N() != 200 {
		t.Fatalf("N() = %d after SetN(200)", z.N())
	}
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, 200)
	for range samples {
		counts[z.Rank(r)]++
	}
	if chi := chiSquare(counts, ZipfPMF(200, ZipfianConstant), samples); chi > chiLimit(199) {
		t.Errorf("chi-square %.0f > %.0f", chi, chiLimit(199))
	}
}

// TestChooser_Latest ensures the latest distribution is the zipfian pmf read from the newest
// index backwards, also when the key count grows between draws.
func TestChooser_Latest(t *testing.T) {
	const (
		n       = 1000
		samples = 1_000_000
	)
	c := NewChooser(Latest, 10, ZipfianConstant)
	r := rand.New(rand.NewPCG(3, 4))
	c.Index(r, 10) // a draw over a smaller key space first
	counts := make([]int, n)
	for range samples {
		counts[n-1-c.Index(r, n)]++ // rank 0 is the newest index, n-1
	}
	pmf := ZipfPMF(n, ZipfianConstant)
	if chi := chiSquare(counts, pmf, samples); chi > chiLimit(n-1) {
		t.Errorf("chi-square %.0f > %.0f against the reversed zipfian pmf", chi, chiLimit(n-1))
	}
	reversed := make([]int, n)
	for k, cnt := range counts {
		reversed[n-1-k] = cnt
	}
	if chi := chiSquare(reversed, pmf, samples); chi <= chiLimit(n-1) {
		t.Errorf("chi-square %.0f does not reject the oldest-first order", chi)
	}
}

// TestChooser_Uniform ensures uniform draws are flat over [0, n).
func TestChooser_Uniform(t *testing.T) {
	const (
		n       = 1000
		samples = 500_000
	)
	c := NewChooser(Uniform, n, ZipfianConstant)
	r := rand.New(rand.NewPCG(5, 6))
	counts := make([]int, n)
	for range samples {
		counts[c.Index(r, n)]++
	}
	flat := make([]float64, n)
	for k := range flat {
		flat[k] = 1.0 / n
	}
	if chi := chiSquare(counts, flat, samples); chi > chiLimit(n-1) {
		t.Errorf("chi-square %.0f > %.0f against the uniform pmf", chi, chiLimit(n-1))
	}
}

// ycsbZetan is zeta(10^10, 0.99), the normalising constant YCSB hard-codes for its scrambled
// zipfian; it is computed independently of this package's sampler.
const ycsbZetan = 26.46902820178302

// TestChooser_ZipfianScrambled ensures the zipfian chooser behaves like YCSB's scrambled
// zipfian: the index of item k (FNV64(k) mod n) gets the mass (k+1)^-0.99 / zeta(10^10), plus
// its uniform share of the tail.
func TestChooser_ZipfianScrambled(t *testing.T) {
	const (
		n       = 1000
		samples = 1_000_000
		top     = 5
	)
	c := NewChooser(Zipfian, n, ZipfianConstant)
	r := rand.New(rand.NewPCG(7, 8))
	counts := make([]int, n)
	for range samples {
		counts[c.Index(r, n)]++
	}
	want := make(map[uint64]float64)
	var head float64
	for k := range top {
		p := math.Pow(float64(k+1), -ZipfianConstant) / ycsbZetan
		want[FNV64(uint64(k))%n] += p
		head += p
	}
	for idx, p := range want {
		p += (1 - head) / n
		got := float64(counts[idx]) / samples
		sigma := math.Sqrt(p * (1 - p) / samples)
		if math.Abs(got-p) > 6*sigma+0.001 {
			t.Errorf("index %d: share %.4f, want %.4f", idx, got, p)
		}
	}
	// Away from the hashed head, the indexes share the tail about evenly.
	var tail int
	for idx, cnt := range counts {
		if _, hot := want[uint64(idx)]; !hot {
			tail = max(tail, cnt)
		}
	}
	if share := float64(tail) / samples; share > 0.01 {
		t.Errorf("a tail index got %.4f of the draws: the items are not scrambled", share)
	}
}

// TestZipf_Degenerate ensures a single rank is always drawn for n = 1, and that theta = 0
// draws every rank alike.
func TestZipf_Degenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	one := NewZipf(1, ZipfianConstant)
	for range 1000 {
		if k := one.Rank(r); k != 0 {
			t.Fatalf("n=1 drew rank %d", k)
		}
	}
	const n, samples = 100, 200_000
	flat := NewZipf(n, 0)
	counts := make([]int, n)
	for range samples {
		counts[flat.Rank(r)]++
	}
	if chi := chiSquare(counts, ZipfPMF(n, 0), samples); chi > chiLimit(n-1) {
		t.Errorf("theta 0: chi-square %.0f > %.0f against the flat pmf", chi, chiLimit(n-1))
	}
}

// TestChooser_UnscrambledZipfian ensures the unscrambled zipfian draws index k with the
// zipfian probability of rank k, over the key count of each draw.
func TestChooser_UnscrambledZipfian(t *testing.T) {
	const (
		n       = 1000
		samples = 500_000
	)
	c := NewChooser(UnscrambledZipfian, 10, ZipfianConstant)
	r := rand.New(rand.NewPCG(11, 12))
	c.Index(r, 10) // the key count changes between draws
	counts := make([]int, n)
	for range samples {
		counts[c.Index(r, n)]++
	}
	if chi := chiSquare(counts, ZipfPMF(n, ZipfianConstant), samples); chi > chiLimit(n-1) {
		t.Errorf("chi-square %.0f > %.0f against the zipfian pmf", chi, chiLimit(n-1))
	}
}

// TestChooser_ZipfianCoversKeySpace ensures the scrambled zipfian reaches every index, and that
// its hottest index is drawn less often than the unscrambled zipfian's (the scrambling
// spreads the ranks).
func TestChooser_ZipfianCoversKeySpace(t *testing.T) {
	const (
		n       = 2000
		samples = 400_000
	)
	r := rand.New(rand.NewPCG(13, 14))
	scr, plain := NewChooser(Zipfian, n, ZipfianConstant), NewChooser(UnscrambledZipfian, n, ZipfianConstant)
	cs, cp := make([]int, n), make([]int, n)
	for range samples {
		cs[scr.Index(r, n)]++
		cp[plain.Index(r, n)]++
	}
	for idx, cnt := range cs {
		if cnt == 0 {
			t.Fatalf("index %d of %d never drawn", idx, n)
		}
	}
	if hs, hp := slices.Max(cs), slices.Max(cp); hs >= hp || hs < 20*samples/n {
		t.Errorf("hottest index: scrambled %d, unscrambled %d draws (uniform share %d)", hs, hp, samples/n)
	}
}

// TestChooser_ZipfianShrunkSpace ensures indexes stay below n when n is smaller than the
// zipfian's item space.
func TestChooser_ZipfianShrunkSpace(t *testing.T) {
	c := NewChooser(Zipfian, 1000, ZipfianConstant)
	r := rand.New(rand.NewPCG(9, 9))
	for range 10_000 {
		if i := c.Index(r, 7); i >= 7 {
			t.Fatalf("Index(r, 7) = %d", i)
		}
	}
}

// TestParseDist checks names in both directions and the error for an unknown one.
func TestParseDist(t *testing.T) {
	for _, d := range allDists() {
		got, err := ParseDist(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDist(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := ParseDist("pareto"); !errors.Is(err, ErrUnknownDist) {
		t.Errorf("ParseDist(pareto) error = %v, want ErrUnknownDist", err)
	}
}

// TestKeys_DistinctFixedSize ensures keys have the configured size and that distinct indexes
// give distinct keys, for short keys (a hash narrower than 64 bits) and long ones.
func TestKeys_DistinctFixedSize(t *testing.T) {
	for _, size := range []int{1, 2, 3, 8, 16, 100} {
		t.Run(fmt.Sprintf("key-size=%d", size), func(t *testing.T) {
			k := NewKeys(size)
			count := min(k.Capacity(), 100_000)
			seen := make(map[string]uint64, count)
			buf := make([]byte, size)
			for i := range count {
				key := k.Put(buf, i)
				if len(key) != size {
					t.Fatalf("key %d has %d bytes", i, len(key))
				}
				if j, dup := seen[string(key)]; dup {
					t.Fatalf("indexes %d and %d give the same key %x", j, i, key)
				}
				seen[string(key)] = i
				if !bytes.Equal(key, k.Key(i)) {
					t.Fatalf("Put and Key disagree for index %d", i)
				}
			}
			key, pad := k.Key(0x0102030405060708), 8
			if size >= 16 {
				if got := binary.BigEndian.Uint64(key[8:16]); got != 0x0102030405060708 {
					t.Fatalf("bytes 8-16 hold %#x, not the index", got)
				}
				pad = 16
			}
			if size > pad && !bytes.Equal(key[pad:], make([]byte, size-pad)) {
				t.Fatalf("padding is not zero: %x", key)
			}
		})
	}
}

// TestKeys_Capacity checks the number of distinct keys per size.
func TestKeys_Capacity(t *testing.T) {
	tests := []struct {
		size int
		want uint64
	}{{1, 256}, {2, 65536}, {7, 1 << 56}, {8, 1<<64 - 1}, {32, 1<<64 - 1}}
	for _, tt := range tests {
		if got := NewKeys(tt.size).Capacity(); got != tt.want {
			t.Errorf("NewKeys(%d).Capacity() = %d, want %d", tt.size, got, tt.want)
		}
	}
}

// TestKeys_Scattered ensures consecutive indexes are spread over the key space: the first
// bytes of the keys of indexes 0..4095 fill every one of the 256 values.
func TestKeys_Scattered(t *testing.T) {
	k := NewKeys(16)
	var first [256]int
	for i := range uint64(4096) {
		first[k.Key(i)[0]]++
	}
	for b, c := range first {
		if c == 0 || c > 48 {
			t.Fatalf("first byte %#x appears %d times in 4096 consecutive keys", b, c)
		}
	}
}

// TestValues ensures values have a size in the configured range, are the same for one seed,
// differ between versions and indexes, and come from the whole pool.
func TestValues(t *testing.T) {
	f := func(lo, hi, pool int) {
		t.Helper()
		a, b := NewValues(lo, hi, pool, 1), NewValues(lo, hi, pool, 1)
		if a.Max() != hi {
			t.Fatalf("Max() = %d, want %d", a.Max(), hi)
		}
		sizes := make(map[int]bool)
		for i := range uint64(2000) {
			v := a.Value(i, 7)
			if len(v) < lo || len(v) > hi || cap(v) != len(v) {
				t.Fatalf("[%d, %d]: value of %d has len %d cap %d", lo, hi, i, len(v), cap(v))
			}
			if !bytes.Equal(v, b.Value(i, 7)) {
				t.Fatalf("[%d, %d]: the same seed gave different values", lo, hi)
			}
			sizes[len(v)] = true
		}
		if span := hi - lo + 1; len(sizes) != min(span, 2000) && span <= 100 {
			t.Errorf("[%d, %d]: %d distinct sizes, want every one", lo, hi, len(sizes))
		}
		if v := a.Value(3, 0); len(v) >= 8 && (bytes.Equal(v, a.Value(3, 1)) || bytes.Equal(v, a.Value(4, 0))) {
			t.Errorf("[%d, %d]: distinct versions or indexes gave equal values", lo, hi)
		}
	}
	f(0, 0, 1)
	f(1, 1, 64)
	f(100, 100, IncompressiblePool)
	f(100, 200, 1<<16)
	f(4096, 4096, 1<<16)
}

func BenchmarkZipf_Rank(b *testing.B) {
	for _, n := range []uint64{1000, scrambledItems} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			z := NewZipf(n, ZipfianConstant)
			r := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for b.Loop() {
				z.Rank(r)
			}
		})
	}
}

func BenchmarkKeys_Put(b *testing.B) {
	k := NewKeys(16)
	buf := make([]byte, 16)
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		k.Put(buf, i)
	}
}
