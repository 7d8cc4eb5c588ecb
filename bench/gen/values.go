package gen

import "math/rand/v2"

// poolSize is the length of the random pool values are cut from. It is much larger than a
// compression block, so that values in one block of an engine do not repeat each other.
const poolSize = 8 << 20

// Values hands out values of one size cut from a pool of random (incompressible) bytes. The
// value of (index, version) starts at an offset that depends on both, so an update writes
// different bytes from the value it replaces. Values is immutable and safe for concurrent use;
// the slices it returns must not be modified.
type Values struct {
	size int
	pool []byte
}

// NewValues returns a source of size-byte values whose pool is filled from seed.
func NewValues(size int, seed uint64) *Values {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := make([]byte, poolSize+size)
	for i := 0; i+8 <= len(pool); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			pool[i+j] = byte(v >> (8 * j))
		}
	}
	return &Values{size: size, pool: pool}
}

// Size returns the length of every value.
func (v *Values) Size() int { return v.size }

// Value returns the value of version ver of index i: Size() bytes that belong to the pool and
// must not be modified.
func (v *Values) Value(i, ver uint64) []byte {
	off := mix64(i*0x9e3779b97f4a7c15+ver) % poolSize
	return v.pool[off : off+uint64(v.size) : off+uint64(v.size)]
}
