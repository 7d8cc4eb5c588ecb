package main

// keyDigits returns the number of decimal digits of the largest key index, keys-1: the
// shortest key size that keeps every key of a keys-sized key space distinct.
func keyDigits(keys int) int {
	n := 1
	for v := keys - 1; v >= 10; v /= 10 {
		n++
	}
	return n
}

// keyGen formats key indexes into one reusable fixed-size buffer: the decimal index,
// zero-padded on the left to the key size. Keys therefore sort in index order, and formatting
// one does not allocate. A keyGen is owned by one goroutine.
type keyGen struct {
	buf    []byte
	digits int
}

// newKeyGen returns a generator of keySize-byte keys for indexes in [0, keys). keySize must
// be at least keyDigits(keys) (config.validate checks it).
func newKeyGen(keySize, keys int) *keyGen {
	g := &keyGen{buf: make([]byte, keySize), digits: keyDigits(keys)}
	for i := range g.buf {
		g.buf[i] = '0'
	}
	return g
}

// key returns the key of index i, 0 <= i < keys. The returned slice is the generator's
// buffer: it is valid until the next call. Only the trailing digits are rewritten; the
// leading padding stays '0'.
func (g *keyGen) key(i int) []byte {
	for p := len(g.buf) - 1; p >= len(g.buf)-g.digits; p-- {
		g.buf[p] = '0' + byte(i%10)
		i /= 10
	}
	return g.buf
}
