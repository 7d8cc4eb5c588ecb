// Package gen makes the inputs every engine of the comparison receives: fixed-size keys
// derived from integer indexes, values cut from a pool of random bytes, and the index
// distributions of the workloads (uniform and zipfian).
package gen

import "encoding/binary"

// KeySize is the length of every key the comparison writes.
const KeySize = 16

// mix64 is a bijection of uint64 (each step, a xor with a right shift or a multiplication by
// an odd constant, can be undone), so that consecutive indexes get unrelated high bits.
func mix64(x uint64) uint64 {
	x ^= x >> 31
	x *= 0x7fb5d329728ea185
	x ^= x >> 27
	x *= 0x81dadef4bc2dd44d
	x ^= x >> 33
	return x
}

// PutKey writes the key of index i into dst, which must hold at least KeySize bytes, and
// returns dst[:KeySize]. The first eight bytes are a bijective hash of i, so keys of
// neighbouring indexes lie far apart in key order; the last eight are i itself, big-endian.
// Distinct indexes give distinct keys. PutKey does not allocate.
func PutKey(dst []byte, i uint64) []byte {
	dst = dst[:KeySize]
	binary.BigEndian.PutUint64(dst[:8], mix64(i))
	binary.BigEndian.PutUint64(dst[8:], i)
	return dst
}

// Key returns the key of index i in a new slice.
func Key(i uint64) []byte {
	return PutKey(make([]byte, KeySize), i)
}

// Index returns the index a key made by PutKey encodes, and false for a slice that is not
// such a key.
func Index(key []byte) (uint64, bool) {
	if len(key) != KeySize {
		return 0, false
	}
	i := binary.BigEndian.Uint64(key[8:])
	return i, binary.BigEndian.Uint64(key[:8]) == mix64(i)
}
