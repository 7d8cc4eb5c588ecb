// Package gen generates the inputs of a load, the same for the load generator and the
// comparison with other stores: fixed-size keys made from integer indexes, values cut from a
// pool of random bytes, and the indexes of the keys to touch, drawn from a request
// distribution (uniform, YCSB's scrambled zipfian, an unscrambled zipfian, latest) by one
// exact zipfian sampler.
package gen

import "encoding/binary"

// Keys turns integer indexes into distinct fixed-size keys. The first min(size, 8) bytes of a
// key are a bijective hash of the index, big-endian; a key of 16 bytes or more then holds the
// index itself, big-endian, in its next 8 bytes (so that a key read back names its index);
// the rest is zero padding. Consecutive
// indexes therefore land far apart in key order, so that a skewed distribution over indexes
// (where the hot indexes are the small ones) touches keys scattered through the whole key
// space, as it would in a real data set.
//
// Distinct indexes below Capacity give distinct keys. A Keys value is immutable and safe for
// concurrent use.
type Keys struct {
	size int
	bits uint   // width of the hash: 8 * min(size, 8)
	mask uint64 // bits ones
}

// NewKeys returns a generator of size-byte keys; size must be at least 1.
func NewKeys(size int) Keys {
	b := uint(8 * min(size, 8))
	return Keys{size: size, bits: b, mask: 1<<b - 1} // for b = 64, 1<<64 is 0 and 0-1 is all ones
}

// Size returns the length of every key.
func (k Keys) Size() int { return k.size }

// Capacity returns the number of distinct keys: 2^(8*size) for keys shorter than 8 bytes,
// else 2^64 - 1 (every uint64 index but the last, to keep the count representable).
func (k Keys) Capacity() uint64 {
	if k.bits == 64 {
		return 1<<64 - 1
	}
	return 1 << k.bits
}

// scatter is a bijection of [0, 2^bits): each step (a right xorshift within the width, a
// multiplication by an odd constant modulo 2^bits) is invertible, so distinct indexes give
// distinct results.
func (k Keys) scatter(i uint64) uint64 {
	s := (k.bits + 1) / 2
	x := i & k.mask
	x ^= x >> s
	x = (x * 0xbf58476d1ce4e5b9) & k.mask
	x ^= x >> s
	x = (x * 0x94d049bb133111eb) & k.mask
	x ^= x >> s
	return x
}

// Put writes the key of index i into dst, which must be Size() bytes long, and returns it.
// Put does not allocate.
func (k Keys) Put(dst []byte, i uint64) []byte {
	dst = dst[:k.size]
	h := k.scatter(i)
	n := min(k.size, 8)
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], h)
	copy(dst, be[8-n:])
	if k.size >= 16 {
		binary.BigEndian.PutUint64(dst[8:16], i)
		n = 16
	}
	clear(dst[n:])
	return dst
}

// Key returns the key of index i in a new slice.
func (k Keys) Key(i uint64) []byte {
	return k.Put(make([]byte, k.size), i)
}
