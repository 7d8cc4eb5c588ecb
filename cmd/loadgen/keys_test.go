package main

import (
	"bytes"
	"fmt"
	"testing"
)

// TestKeyDigits checks the digit count at the decimal boundaries.
func TestKeyDigits(t *testing.T) {
	tests := []struct{ keys, want int }{
		{1, 1}, {10, 1}, {11, 2}, {100, 2}, {101, 3}, {1_000_000, 6}, {1_000_001, 7},
	}
	for _, tt := range tests {
		if got := keyDigits(tt.keys); got != tt.want {
			t.Errorf("keyDigits(%d) = %d, want %d", tt.keys, got, tt.want)
		}
	}
}

// TestKeyGen_Format checks exact keys for a few sizes and indexes.
func TestKeyGen_Format(t *testing.T) {
	tests := []struct {
		keySize, keys, i int
		want             string
	}{
		{16, 1_000_000, 0, "0000000000000000"},
		{16, 1_000_000, 42, "0000000000000042"},
		{16, 1_000_000, 999_999, "0000000000999999"},
		{6, 1_000_000, 123_456, "123456"},
		{1, 10, 7, "7"},
		{3, 1, 0, "000"},
	}
	for _, tt := range tests {
		g := newKeyGen(tt.keySize, tt.keys)
		if got := string(g.key(tt.i)); got != tt.want {
			t.Errorf("newKeyGen(%d, %d).key(%d) = %q, want %q", tt.keySize, tt.keys, tt.i, got, tt.want)
		}
	}
}

// TestKeyGen_DeterministicFixedSizeDistinct ensures every key has the configured size, that
// two generators agree, that keys of distinct indexes differ and sort in index order, and that
// reusing the buffer after a long key leaves no stale digit behind.
func TestKeyGen_DeterministicFixedSizeDistinct(t *testing.T) {
	for _, keySize := range []int{4, 16, 100} {
		t.Run(fmt.Sprintf("key-size=%d", keySize), func(t *testing.T) {
			const keys = 5000
			a, b := newKeyGen(keySize, keys), newKeyGen(keySize, keys)
			seen := make(map[string]int, keys)
			var prev []byte
			for i := range keys {
				a.key(keys - 1) // leave every digit non-zero in the buffer first
				k := a.key(i)
				if len(k) != keySize {
					t.Fatalf("key(%d) has %d bytes, want %d", i, len(k), keySize)
				}
				if other := b.key(i); !bytes.Equal(k, other) {
					t.Fatalf("key(%d) = %q from one generator, %q from another", i, k, other)
				}
				if j, dup := seen[string(k)]; dup {
					t.Fatalf("key(%d) = key(%d) = %q", i, j, k)
				}
				seen[string(k)] = i
				if prev != nil && bytes.Compare(prev, k) >= 0 {
					t.Fatalf("key(%d) = %q does not sort after %q", i, k, prev)
				}
				prev = append(prev[:0], k...)
			}
		})
	}
}

// TestKeyGen_NoAllocs ensures formatting a key does not allocate.
func TestKeyGen_NoAllocs(t *testing.T) {
	g := newKeyGen(16, 1_000_000)
	i := 0
	if n := testing.AllocsPerRun(1000, func() { i = (i + 7919) % 1_000_000; g.key(i) }); n != 0 {
		t.Fatalf("key allocates %v times per call", n)
	}
}

func BenchmarkKeyGen_Key(b *testing.B) {
	for _, keySize := range []int{16, 256} {
		b.Run(fmt.Sprintf("key-size=%d", keySize), func(b *testing.B) {
			b.ReportAllocs()
			g := newKeyGen(keySize, 1_000_000)
			i := 0
			for b.Loop() {
				i = (i + 7919) % 1_000_000
				g.key(i)
			}
		})
	}
}
