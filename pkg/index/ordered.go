// Package index holds the ordered key index behind Range and Scan: a B-tree of keys (from
// github.com/google/btree) kept in bytes.Compare order.
//
// The tree is guarded by a sync.RWMutex. Writers (creation and deletion of keys) take the write
// lock for one tree operation; readers never hold the lock while their caller works: Collect copies
// a bounded chunk of keys out under the read lock and returns, and a scan resumes from the last key
// it saw with a fresh O(log n) seek. A key present for a whole scan is therefore seen exactly once,
// in ascending order, and a scan never blocks writers for longer than one chunk.
//
// Each entry stores the first eight key bytes as a big-endian integer beside the key, so most
// comparisons inside a node are integer compares that never touch the key's bytes elsewhere in
// memory.
package index

import (
	"sync"

	"github.com/google/btree"
)

// degree is the B-tree degree; 32 keeps nodes a few cache lines wide and the tree shallow.
const degree = 32

type item struct {
	pfx uint64 // first eight key bytes, big-endian, zero-padded
	key string
}

func prefix(key string) uint64 {
	var p uint64
	n := min(len(key), 8)
	for i := 0; i < n; i++ {
		p |= uint64(key[i]) << (56 - 8*i)
	}
	return p
}

func less(a, b item) bool {
	if a.pfx != b.pfx {
		return a.pfx < b.pfx
	}
	return a.key < b.key
}

// Ordered is a set of keys in ascending bytes.Compare order. It is safe for concurrent use.
// The zero value is not usable; call NewOrdered.
type Ordered struct {
	mu   sync.RWMutex
	tree *btree.BTreeG[item]
}

// NewOrdered returns an empty ordered index.
func NewOrdered() *Ordered {
	return &Ordered{tree: btree.NewG(degree, less)}
}

// Insert adds key and reports whether it was absent. The index keeps key; the caller must not
// modify the bytes behind it (Go strings are immutable, so only unsafe conversions can).
func (o *Ordered) Insert(key string) bool {
	it := item{pfx: prefix(key), key: key}
	o.mu.Lock()
	_, found := o.tree.ReplaceOrInsert(it)
	o.mu.Unlock()
	return !found
}

// Delete removes key and reports whether it was present.
func (o *Ordered) Delete(key string) bool {
	it := item{pfx: prefix(key), key: key}
	o.mu.Lock()
	_, found := o.tree.Delete(it)
	o.mu.Unlock()
	return found
}

// Has reports whether key is in the index.
func (o *Ordered) Has(key string) bool {
	it := item{pfx: prefix(key), key: key}
	o.mu.RLock()
	ok := o.tree.Has(it)
	o.mu.RUnlock()
	return ok
}

// Len returns the number of keys.
func (o *Ordered) Len() int {
	o.mu.RLock()
	n := o.tree.Len()
	o.mu.RUnlock()
	return n
}

// Collect appends to dst, in ascending order, at most max keys k with from <= k (from < k when
// after is true) and k <= to; an empty from starts at the first key and an empty to with
// toOpen set runs through the last. It holds the read lock only while copying the chunk and
// returns dst. A caller scans a whole range by calling Collect again with the last key returned as
// from and after set, until fewer than max keys come back.
func (o *Ordered) Collect(dst []string, from string, after bool, to string, toOpen bool, max int) []string {
	if max <= 0 {
		return dst
	}
	start := item{pfx: prefix(from), key: from}
	var end item
	if !toOpen {
		end = item{pfx: prefix(to), key: to}
	}
	n := 0
	o.mu.RLock()
	o.tree.AscendGreaterOrEqual(start, func(it item) bool {
		if after {
			// Only the first key visited can equal from: compare once, cheapest part first.
			after = false
			if it.pfx == start.pfx && it.key == from {
				return true
			}
		}
		if !toOpen && less(end, it) {
			return false
		}
		dst = append(dst, it.key)
		n++
		return n < max
	})
	o.mu.RUnlock()
	return dst
}
