package resp

import (
	"hash/maphash"
	"slices"
	"sync"
)

// lockStripes is the number of stripe locks that serialize writes of one key.
const lockStripes = 1024

// keyLocks serializes the writes of each key: a key's writers share the stripe its hash
// selects. Different keys mostly proceed in parallel.
type keyLocks struct {
	seed    maphash.Seed
	stripes [lockStripes]sync.Mutex
}

func (l *keyLocks) init() { l.seed = maphash.MakeSeed() }

// stripe returns the index of key's stripe.
func (l *keyLocks) stripe(key []byte) int { return int(maphash.Bytes(l.seed, key) % lockStripes) }

// lock locks key's stripe and returns the function that unlocks it.
func (l *keyLocks) lock(key []byte) (unlock func()) {
	mu := &l.stripes[l.stripe(key)]
	mu.Lock()
	return mu.Unlock
}

// lockAll locks the stripes of every key, in stripe order so that two multi-key writers
// cannot deadlock, and returns the function that unlocks them.
func (l *keyLocks) lockAll(keys [][]byte) (unlock func()) {
	idx := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = l.stripe(k)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		l.stripes[i].Lock()
	}
	return func() {
		for _, i := range idx {
			l.stripes[i].Unlock()
		}
	}
}
