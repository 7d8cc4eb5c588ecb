package gen

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// IncompressiblePool is a pool size for stores that compress their blocks: much larger than
// a compression block, so that the values of one block do not repeat each other.
const IncompressiblePool = 8 << 20

// Values hands out values cut from a pool of random (incompressible) bytes. The value of
// (index, version) starts at an offset that depends on both, and so does its size, uniform
// in [min, max]; an update thus writes other bytes than the value it replaces. A Values is
// immutable and safe for concurrent use; the slices it returns must not be modified.
type Values struct {
	lo, hi int
	pool   []byte
	// window is the number of start offsets: the pool holds window + max bytes.
	window uint64
}

// NewValues returns a source of values of lo to hi bytes (0 <= lo <= hi) cut from a pool of
// poolSize (at least 1) plus hi random bytes filled from seed.
func NewValues(lo, hi, poolSize int, seed uint64) *Values {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	window := max(poolSize, 1)
	pool := make([]byte, window+hi+8)
	for i := 0; i+8 <= len(pool); i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], r.Uint64())
	}
	return &Values{lo: lo, hi: hi, pool: pool[:window+hi], window: uint64(window)}
}

// Max returns the length of the longest value.
func (v *Values) Max() int { return v.hi }

// Value returns the value of version ver of index i: bytes of the pool that must not be
// modified, valid for as long as v. Value does not allocate.
func (v *Values) Value(i, ver uint64) []byte {
	h := mix64(i*0x9e3779b97f4a7c15 + ver)
	size := uint64(v.lo)
	if span := uint64(v.hi - v.lo); span > 0 {
		size += (h >> 32) % (span + 1)
	}
	off := h % v.window
	return v.pool[off : off+size : off+size]
}

// mix64 is the 64-bit bijection keys hash their index with.
func mix64(x uint64) uint64 {
	return Keys{bits: 64, mask: math.MaxUint64}.scatter(x)
}
