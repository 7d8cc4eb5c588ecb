// Package index holds the store's two key indexes over one shared Cell per key: Hash, the
// lock-free hash index every point operation goes to, and Ordered, the ordered index behind
// Range and Scan, a B-tree of the same cells (from github.com/google/btree) kept in
// bytes.Compare order. A cell holds its key's bytes and its current value, so neither index
// copies a key and a scan reaches each value without a second lookup.
//
// The tree is guarded by a sync.RWMutex. Writers (creation and deletion of keys) take the write
// lock for one tree operation; readers never hold the lock while their caller works: Collect copies
// a bounded chunk of cells out under the read lock and returns, and a scan resumes from the last key
// it saw with a fresh O(log n) seek. A key present for a whole scan is therefore seen exactly once,
// in ascending order, and a scan never blocks writers for longer than one chunk.
//
// Each entry stores the first eight key bytes as a big-endian integer beside its cell, so most
// comparisons inside a node are integer compares that never touch the cell.
package index

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/btree"
)

// degree is the B-tree degree: among 1M random keys a tree of degree 128 is three levels deep
// where degree 32 needs four, and a level is a dependent cache miss, which costs more than
// searching a wider node (docs/DECISIONS.md, 15).
const degree = 128

type item[V any] struct {
	pfx uint64 // first eight key bytes, big-endian, zero-padded
	c   *Cell[V]
}

// itemOf returns the tree item of c.
func itemOf[V any](c *Cell[V]) item[V] { return item[V]{pfx: prefix(c.Key()), c: c} }

// probe returns an item that compares as key does, for searching the tree.
func probe[V any](key string) item[V] {
	c := &cellExt[V]{key: key}
	c.n = uint32(len(key)) | externalKey
	return item[V]{pfx: prefix(key), c: &c.Cell}
}

func prefix(key string) uint64 {
	var p uint64
	n := min(len(key), 8)
	for i := 0; i < n; i++ {
		p |= uint64(key[i]) << (56 - 8*i)
	}
	return p
}

func less[V any](a, b item[V]) bool {
	if a.pfx != b.pfx {
		return a.pfx < b.pfx
	}
	return a.c.Key() < b.c.Key()
}

// Ordered is a set of cells in ascending bytes.Compare order of their keys, at most one per
// key. It is safe for concurrent use. The zero value is not usable; call NewOrdered.
//
// Besides immediate Insert and Delete, it takes changes for later (InsertLater, DeleteLater):
// they go to a log in O(1) and are applied to the tree, in the order they were logged, by
// Apply, which every read (Collect, Has, Len) calls first. So a change is visible to every
// read that starts after it was logged, and a writer pays for the tree only when the log is
// long or someone applies it on its behalf (Kick tells when the log has grown).
type Ordered[V any] struct {
	mu   sync.RWMutex
	tree *btree.BTreeG[item[V]]

	logMu   sync.Mutex
	log     []change[V]
	spare   []change[V]  // the previous log's backing array, reused
	pending atomic.Int64 // len(log), readable without logMu
	kick    chan struct{}
	// busy is set while Run is applying the log, so that Settle waits for it rather than
	// applying the log itself; guarded by logMu.
	busy bool
	// taken is signalled (under logMu) whenever Apply takes the log, or Run stops applying.
	taken *sync.Cond
	// loading counts the goroutines of InsertManyLater that are still inserting.
	loading sync.WaitGroup
}

// change is a logged Insert (del false) or Delete.
type change[V any] struct {
	c   *Cell[V]
	del bool
	pos uint32 // the change's place in its log, set by Apply (which sorts the log by key)
}

// KickAt is the log length at which Kick fires.
const KickAt = 256

// NewOrdered returns an empty ordered index.
func NewOrdered[V any]() *Ordered[V] {
	o := &Ordered[V]{tree: btree.NewG(degree, less[V]), kick: make(chan struct{}, 1)}
	o.taken = sync.NewCond(&o.logMu)
	return o
}

// InsertLater logs the insertion of c, to be applied before the next read: it replaces the
// cell of c's key if there is one. Changes of one key must be logged in the order they happen
// (the caller serializes them).
func (o *Ordered[V]) InsertLater(c *Cell[V]) { o.logChange(change[V]{c: c}) }

// DeleteLater logs the deletion of c's key (whichever cell holds it then), like InsertLater.
func (o *Ordered[V]) DeleteLater(c *Cell[V]) { o.logChange(change[V]{c: c, del: true}) }

func (o *Ordered[V]) logChange(c change[V]) {
	o.logMu.Lock()
	o.log = append(o.log, c)
	n := len(o.log)
	o.pending.Store(int64(n))
	o.logMu.Unlock()
	if n == KickAt {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

// Pending returns the number of logged changes not applied yet.
func (o *Ordered[V]) Pending() int { return int(o.pending.Load()) }

// Kick returns a channel that receives when the log reaches KickAt changes, for a goroutine
// that applies it in the background.
func (o *Ordered[V]) Kick() <-chan struct{} { return o.kick }

// Run applies the log in the background until stop is closed: it wakes when the log reaches
// KickAt changes and applies batch after batch while writers keep it growing. While it runs,
// Settle waits for it instead of applying the log on the writer's time. Run must have at most
// one caller at a time.
func (o *Ordered[V]) Run(stop <-chan struct{}) {
	defer o.setBusy(false)
	for {
		select {
		case <-stop:
			return
		case <-o.kick:
		}
		o.setBusy(true)
		for o.pending.Load() > 0 {
			select {
			case <-stop:
				return
			default:
			}
			o.Apply()
		}
		o.setBusy(false)
	}
}

// setBusy records whether Run is applying the log and wakes the writers waiting in Settle.
func (o *Ordered[V]) setBusy(b bool) {
	o.logMu.Lock()
	o.busy = b
	o.taken.Broadcast()
	o.logMu.Unlock()
}

// Settle bounds the log at about limit changes. When the log has reached limit, the caller
// waits while Run applies the previous batch (so the tree's work stays on Run's goroutine and
// overlaps with the caller's), or applies the log itself when Run is not busy.
func (o *Ordered[V]) Settle(limit int) {
	if o.pending.Load() < int64(limit) {
		return
	}
	o.logMu.Lock()
	for len(o.log) >= limit && o.busy {
		o.taken.Wait()
	}
	over := len(o.log) >= limit
	o.logMu.Unlock()
	if over {
		o.Apply()
	}
}

// Apply applies every logged change to the tree, in order. The tree's write lock is taken
// before the log is taken, so two Apply calls cannot apply two parts of the log out of order.
func (o *Ordered[V]) Apply() {
	if o.pending.Load() == 0 {
		return
	}
	o.mu.Lock()
	o.logMu.Lock()
	log := o.log
	o.log, o.spare = o.spare[:0], nil
	o.pending.Store(0)
	o.taken.Broadcast()
	o.logMu.Unlock()
	// Changes of different keys commute, and those of one key stay in the order they were
	// logged (pos breaks ties): in key order, consecutive changes walk nearby paths of the tree.
	for i := range log {
		log[i].pos = uint32(i)
	}
	slices.SortFunc(log, func(a, b change[V]) int {
		if c := strings.Compare(a.c.Key(), b.c.Key()); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for _, c := range log {
		it := itemOf(c.c)
		if c.del {
			o.tree.Delete(it)
		} else {
			o.tree.ReplaceOrInsert(it)
		}
	}
	clear(log)
	o.logMu.Lock()
	if o.spare == nil && cap(log) <= 1<<16 {
		o.spare = log[:0]
	}
	o.logMu.Unlock()
	o.mu.Unlock()
}

// Insert adds c, replacing the cell of c's key if there is one, and reports whether the key was
// absent.
func (o *Ordered[V]) Insert(c *Cell[V]) bool {
	o.Apply()
	it := itemOf(c)
	o.mu.Lock()
	_, found := o.tree.ReplaceOrInsert(it)
	o.mu.Unlock()
	return !found
}

// Delete removes key and reports whether it was present.
func (o *Ordered[V]) Delete(key string) bool {
	o.Apply()
	it := probe[V](key)
	o.mu.Lock()
	_, found := o.tree.Delete(it)
	o.mu.Unlock()
	return found
}

// InsertMany inserts cells, in any order (one per key), faster than one Insert each when there
// are many: they are sorted first (mostly by their eight-byte prefixes, without touching the
// cells; the two halves of a large set on two goroutines) and inserted in ascending order, so
// consecutive insertions walk the same path of the tree, which stays in cache. Recovery uses
// it to rebuild the index.
func (o *Ordered[V]) InsertMany(cells []*Cell[V]) {
	o.Apply()
	o.mu.Lock()
	o.insertSorted(cells)
	o.mu.Unlock()
}

// InsertManyLater is InsertMany on a goroutine of its own: it returns at once, and every
// read, Apply and immediate change waits until the keys are in, so that they come before any
// change logged after the call. Wait waits for the goroutine. Open uses it: the hash index is
// ready first, and the ordered one is built while the store already serves point operations.
func (o *Ordered[V]) InsertManyLater(cells []*Cell[V]) {
	o.Apply()
	o.mu.Lock() // handed over to the goroutine, which unlocks it once the keys are in
	o.loading.Go(func() {
		defer o.mu.Unlock()
		o.insertSorted(cells)
	})
}

// Wait waits until the keys of every InsertManyLater are in.
func (o *Ordered[V]) Wait() { o.loading.Wait() }

// insertSorted sorts cells and inserts them in ascending order. Called with o.mu held.
func (o *Ordered[V]) insertSorted(cells []*Cell[V]) {
	items := make([]item[V], len(cells))
	for i, c := range cells {
		items[i] = itemOf(c)
	}
	for _, it := range sortItems(items) {
		o.tree.ReplaceOrInsert(it)
	}
}

// parallelSortMin is the number of items from which sortItems sorts two halves at once.
const parallelSortMin = 1 << 16

// sortItems sorts items in ascending order and returns them sorted: in place, or, for a large
// set on a machine with more than one processor, in a new slice merged from its two halves,
// each sorted on a goroutine of its own.
func sortItems[V any](items []item[V]) []item[V] {
	if len(items) < parallelSortMin || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(items, compareItems[V])
		return items
	}
	a, b := items[:len(items)/2], items[len(items)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(a, compareItems[V]) })
	slices.SortFunc(b, compareItems[V])
	wg.Wait()
	out := make([]item[V], 0, len(items))
	for len(a) > 0 && len(b) > 0 {
		if compareItems(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// compareItems orders items as less does, for sorting.
func compareItems[V any](a, b item[V]) int {
	if c := cmp.Compare(a.pfx, b.pfx); c != 0 {
		return c
	}
	return strings.Compare(a.c.Key(), b.c.Key())
}

// Has reports whether key is in the index.
func (o *Ordered[V]) Has(key string) bool {
	o.Apply()
	it := probe[V](key)
	o.mu.RLock()
	ok := o.tree.Has(it)
	o.mu.RUnlock()
	return ok
}

// Len returns the number of keys.
func (o *Ordered[V]) Len() int {
	o.Apply()
	o.mu.RLock()
	n := o.tree.Len()
	o.mu.RUnlock()
	return n
}

// Collect appends to dst, in ascending order of their keys, at most max cells of keys k with from <= k (from < k when
// after is true) and k <= to; an empty from starts at the first key and an empty to with
// toOpen set runs through the last. It holds the read lock only while copying the chunk and
// returns dst. A caller scans a whole range by calling Collect again with the last key returned as
// from and after set, until fewer than max cells come back.
func (o *Ordered[V]) Collect(dst []*Cell[V], from string, after bool, to string, toOpen bool, max int) []*Cell[V] {
	if max <= 0 {
		return dst
	}
	o.Apply()
	start := probe[V](from)
	var end item[V]
	if !toOpen {
		end = probe[V](to)
	}
	n := 0
	o.mu.RLock()
	o.tree.AscendGreaterOrEqual(start, func(it item[V]) bool {
		if after {
			// Only the first key visited can equal from: compare once, cheapest part first.
			after = false
			if it.pfx == start.pfx && it.c.Key() == from {
				return true
			}
		}
		if !toOpen && less(end, it) {
			return false
		}
		dst = append(dst, it.c)
		n++
		return n < max
	})
	o.mu.RUnlock()
	return dst
}
