package gen

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKey_DistinctAndInvertible ensures distinct indexes give distinct keys of KeySize bytes
// that decode back to their index, and that other slices do not decode.
func TestKey_DistinctAndInvertible(t *testing.T) {
	seen := make(map[string]uint64)
	for i := uint64(0); i < 100_000; i++ {
		k := Key(i)
		if len(k) != KeySize {
			t.Fatalf("key %d has %d bytes", i, len(k))
		}
		if j, ok := seen[string(k)]; ok {
			t.Fatalf("indexes %d and %d share key %x", j, i, k)
		}
		seen[string(k)] = i
		if got, ok := Index(k); !ok || got != i {
			t.Fatalf("Index(Key(%d)) = %d, %v", i, got, ok)
		}
	}
	bad := Key(7)
	bad[0] ^= 1
	if _, ok := Index(bad); ok {
		t.Fatal("Index accepted a damaged key")
	}
	if _, ok := Index([]byte("short")); ok {
		t.Fatal("Index accepted a short slice")
	}
}

// TestKey_Scattered ensures neighbouring indexes do not give neighbouring keys: the keys of
// 0..999 are not in ascending order.
func TestKey_Scattered(t *testing.T) {
	ascending := 0
	for i := uint64(0); i < 1000; i++ {
		if bytes.Compare(Key(i), Key(i+1)) < 0 {
			ascending++
		}
	}
	if ascending < 400 || ascending > 600 {
		t.Fatalf("%d of 1000 neighbouring pairs ascend, want about half", ascending)
	}
}

// TestValues ensures values have the requested size, are deterministic for one seed, and
// differ between versions and indexes.
func TestValues(t *testing.T) {
	for _, size := range []int{1, 100, 4096} {
		a, b := NewValues(size, 1), NewValues(size, 1)
		if a.Size() != size {
			t.Fatalf("Size() = %d, want %d", a.Size(), size)
		}
		v := a.Value(3, 0)
		if len(v) != size || cap(v) != size {
			t.Fatalf("size %d: value has len %d cap %d", size, len(v), cap(v))
		}
		if !bytes.Equal(v, b.Value(3, 0)) {
			t.Fatalf("size %d: same seed gave different values", size)
		}
		if size >= 8 && (bytes.Equal(v, a.Value(3, 1)) || bytes.Equal(v, a.Value(4, 0))) {
			t.Fatalf("size %d: distinct versions or indexes gave equal values", size)
		}
	}
}

// TestZipf_Frequencies ensures the sampler stays in range and that the frequencies of the
// first ranks match the zipfian law (the generator is exact for ranks 0 and 1) and decrease.
func TestZipf_Frequencies(t *testing.T) {
	f := func(n uint64, theta float64) {
		t.Helper()
		z := NewZipf(n, theta)
		r := rand.New(rand.NewPCG(1, 2))
		const draws = 400_000
		counts := make([]int, n)
		for range draws {
			i := z.Next(r)
			if i >= n {
				t.Fatalf("n=%d: drew %d", n, i)
			}
			counts[i]++
		}
		zn := zeta(n, theta)
		for rank := range 2 {
			want := math.Pow(float64(rank+1), -theta) / zn
			got := float64(counts[rank]) / draws
			if math.Abs(got-want) > 0.01 {
				t.Errorf("n=%d theta=%v: rank %d frequency %.4f, want %.4f", n, theta, rank, got, want)
			}
		}
		// The first tenth of the ranks must draw more than the last tenth.
		var head, tail int
		for i := range n / 10 {
			head += counts[i]
			tail += counts[n-1-i]
		}
		if head <= 5*tail {
			t.Errorf("n=%d theta=%v: head %d, tail %d", n, theta, head, tail)
		}
	}
	f(100, 0.99)
	f(1000, 0.99)
	f(10_000, 0.8)
}

// TestZipf_OneItem ensures a single-item sampler always draws 0.
func TestZipf_OneItem(t *testing.T) {
	z := NewZipf(1, 0.99)
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		if i := z.Next(r); i != 0 {
			t.Fatalf("drew %d", i)
		}
	}
}

// TestZetaApprox ensures the approximation matches the exact sum where both can be computed,
// and YCSB's published constant for its ten billion items (ZipfianGenerator's ZETAN).
func TestZetaApprox(t *testing.T) {
	for _, n := range []uint64{100_001, 1_000_000, 3_000_000} {
		exact, approx := zeta(n, 0.99), zetaApprox(n, 0.99)
		if math.Abs(exact-approx) > 1e-9*exact {
			t.Errorf("n=%d: approx %.12f, exact %.12f", n, approx, exact)
		}
	}
	const ycsb = 26.46902820178302
	if got := zetaApprox(scrambledItems, 0.99); math.Abs(got-ycsb) > 1e-6 {
		t.Errorf("zeta(10^10, 0.99) = %.12f, YCSB uses %.12f", got, ycsb)
	}
}

// TestScrambled ensures the scrambled sampler stays in range, is skewed (its hottest index
// draws far more than the uniform share) but less so than the plain zipfian.
func TestScrambled(t *testing.T) {
	const n = 10_000
	s := NewScrambled(n, 0.99)
	z := NewZipf(n, 0.99)
	r := rand.New(rand.NewPCG(5, 6))
	cs, cz := make([]int, n), make([]int, n)
	const draws = 300_000
	for range draws {
		i := s.Next(r)
		if i >= n {
			t.Fatalf("drew %d", i)
		}
		cs[i]++
		cz[z.Next(r)]++
	}
	hs, hz := slices.Max(cs), slices.Max(cz)
	if hs < 50*draws/n || hs >= hz {
		t.Fatalf("hottest index: scrambled %d, plain %d draws of %d (uniform share %d)", hs, hz, draws, draws/n)
	}
}
