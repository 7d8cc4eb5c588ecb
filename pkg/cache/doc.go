// Package cache decides which values stay in memory within a budget: a CLOCK
// (second-chance) replacement policy over the values an owner keeps resident.
//
// In feox-go's persistent mode, a value stays in memory until it is durable on disk; from
// then on this package decides whether it stays resident, and a value that does not is read
// back from disk on Get. The package knows nothing of records, keys or disks: a Cache[T]
// holds one opaque T per entry (typically a pointer to the owner's record version) and its
// size in bytes, and hands the T back to the owner's callback when the entry is chosen for
// eviction.
//
// # Policy
//
// The entries form a circle with a hand. Each entry has a reference bit, set by Touch on
// every hit. When memory must be freed, the hand sweeps the circle: an entry whose bit is
// set has it cleared and is passed over (its second chance); an entry whose bit is clear is
// offered to the owner's callback, which drops the value and accepts, or refuses if the
// value cannot be evicted yet (the entry then stays, as if passed over). An entry that is
// read between two passes of the hand therefore survives, and one that is not is evicted on
// the next pass: an approximation of LRU that costs a hit one atomic load instead of a
// list update under a lock.
//
// Admit places a new entry just behind the hand, so the hand reaches it last, with its
// reference bit clear. A value read once and never again is then evicted on the hand's
// first visit; a value read again in the meantime stays for another round. Starting with
// the bit clear gave better hit ratios than starting with it set in BenchmarkHitRate, and kept
// CLOCK at or above exact LRU on every trace measured (see Measured below).
//
// TestCache_Model pins the policy down: on random traces of Admit, Touch, Remove and Evict,
// the cache makes the same offers to the callback, in the same order and with the same
// outcomes, as a textbook CLOCK written as a slice and an index.
//
// # Watermarks and bounded work
//
// Admit never evicts, so the resident size can go above the budget between evictions, and
// Touch never does any eviction work, so reads never pay for it. The owner asks NeedsEvict
// after writes (or from a background goroutine) and calls Evict while it holds:
//
//	for c.NeedsEvict() {
//		if n, _ := c.Evict(dropValue); n == 0 {
//			break // everything examined was hot or refused; try again later
//		}
//	}
//
// NeedsEvict reports true once the resident size is above the high watermark, and stays true
// until eviction has brought it down to the low watermark (hysteresis), so eviction runs in
// batches rather than one entry per write. Each Evict call examines at most MaxEvictPerCall
// entries, and at most twice as many entries as were live when it started (enough to clear
// every reference bit and then offer every entry once), so one call holds the cache's mutex
// for a bounded time. Removed entries skipped by the hand do not count: each costs O(1) and
// is skipped once.
//
// # Binding entries to record versions
//
// An entry belongs to one record version, never to a key, so that an update or a delete can
// never bring a stale value back:
//
//   - The owner admits a value when the version becomes durable (or when it reads the value
//     back from disk) and stores the returned Handle in that version, next to the value, or
//     embeds the Handle in the version and admits it with AdmitHandle.
//   - A new version of the key gets a new Handle from its own Admit; the owner Removes the old
//     version's Handle when the old version is superseded or deleted, or when it drops the
//     value itself.
//   - The callback receives the T given to Admit for that entry, so it drops exactly that
//     version's value. It is never called for a Handle once Remove of that Handle has
//     returned, so an eviction racing an update cannot touch the old version after the
//     update has removed it.
//   - A Handle leaves the cache once, by Remove or by eviction; afterwards Remove and Touch of
//     it do nothing. A value that is made resident again (read back after an eviction) is
//     admitted again with a new Handle. If two readers read back the same version at once,
//     the owner keeps one Handle (for instance with a compare-and-swap in the version) and
//     Removes the other.
//
// # Concurrency
//
// Touch, Resident, Len, NeedsEvict and Stats take no lock and may be called from any number
// of goroutines. Touch loads the reference bit and stores it only if it is clear: on a hot
// entry, readers on different cores then only read the Handle's cache line, which stays
// shared, where an unconditional store would move the line from core to core on every hit.
// It neither allocates nor touches any shared counter, which is why the cache does not
// count hits: the owner knows hits and misses and counts them where it sees them.
//
// Admit and Evict serialise on a mutex that guards the ring of slots and the hand. Evict
// calls the owner's callback under that mutex, so the callback must be short and must not
// call Admit, Remove or Evict on the same cache.
//
// Remove takes no lock. Each Handle has a state word: live, evicting, removed or evicted.
// Remove moves it from live to removed with a compare-and-swap, and the evictor claims an
// entry with a compare-and-swap from live to evicting before it calls the callback, so
// exactly one of them takes the entry (and its bytes) out of the cache. A Remove that finds
// the entry evicting waits, yielding, until the callback has returned: to evicted if the
// callback accepted (Remove then has nothing left to do), or back to live if it refused
// (Remove then takes it). The removed entry's slot becomes a tombstone that the hand, or
// the next resize, drops.
//
// Go's atomic operations are sequentially consistent; the package relies on that where the
// comments in the code say so: the state compare-and-swaps order the owner's value, written
// by Admit, before the callback reads it, and order the callback's use of it before a
// Remove that clears it; the reference bit publishes no data, so only its atomicity matters.
// A Touch that lands while the hand clears the bit of the same entry may be absorbed by the
// clearing: the entry then loses one second chance, which costs at most one eviction of a
// warm value, never a stale read.
//
// # Structure and cost
//
// The entries live in a power-of-two array of Handle pointers used as a circular queue whose
// head is the hand: passing an entry over moves its pointer from the head to the tail,
// evicting it pops the head, and Admit pushes at the tail, which is just behind the hand.
// This is the textbook circle with the hand fixed at the head, and it makes every operation
// O(1): Admit amortized, Touch and Remove worst-case (plus the wait for a running callback
// in Remove), and Evict O(MaxEvictPerCall) plus the tombstones it drops. The array is
// resized, dropping tombstones, when Admit finds it full, and shrunk when Evict leaves it
// under a quarter full. Every resize leaves it at most half full, so growing again takes
// at least half an array of pushes, and each shrink at least halves it, so successive
// shrinks copy geometrically less: the copying is O(1) amortized per push and pop. The hand reads the
// array in order, so it follows one pointer per entry, to the Handle, which holds the
// reference bit, the state, the size and the value.
//
// Memory: one Handle (two 32-bit words, the size and the T) per admission, allocated by
// Admit or embedded by the owner in the structure that holds the value (AdmitHandle), plus 8
// bytes of slot. A removed entry's T is cleared by Remove at once, but its Handle stays
// reachable from its tombstone until the hand or a resize drops it; an embedded Handle keeps
// the whole structure around it reachable. Tombstones are therefore bounded: when they pass a
// quarter of the live entries (and minSlots), the next Admit, or the Remove that made one too
// many if it can take the lock without waiting, compacts the ring. The bound is tight because
// an owner's structure is usually much larger than a Handle: a store that replaces every value
// in turn would otherwise keep up to one dead version alive for each live one.
//
// # Measured
//
// The costs of Touch, Admit, Evict and Remove, and the hit ratios of CLOCK against LRU and
// FIFO on zipfian traces, are in docs/DECISIONS.md, 15 (BenchmarkTouch, BenchmarkAdmitEvict,
// BenchmarkUpdate and BenchmarkHitRate in this package measure them).
package cache
