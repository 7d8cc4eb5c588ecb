// Package alloc keeps track of the free space of a data file and hands out extents of it.
//
// The allocator works in abstract units: offsets and lengths are uint64 counts of whatever the
// caller addresses the file in (feox-go uses 512-byte sectors). It manages the address range
// [0, End()); End starts at zero and moves only forward, through Grow, when the file grows. Every
// unit below End is either free (known to the allocator) or allocated (owned by the caller); the
// allocator keeps no record of allocated extents, so the caller decides how much of an allocation
// it later returns with Free.
//
// # Two trees
//
// The free space is a set of maximal extents held twice, in two B-trees from
// github.com/google/btree:
//
//   - byOff orders the extents by offset. It answers "which free extents are the neighbours of
//     this range?", which Free, Reserve and Grow need.
//   - bySize orders the same extents by (length, offset). It answers "which is the smallest free
//     extent of at least n units, and of those the lowest?", which Alloc needs.
//
// Both trees always hold exactly the same extents.
//
// # Best fit
//
// Alloc(n) takes the first extent of bySize at or after (n, 0): the smallest free extent that is
// large enough, ties broken by the lowest offset. The allocation is cut from that extent's start
// and the remainder, if any, goes back into both trees. Choosing the smallest extent that fits
// keeps large extents whole for large requests.
//
// AllocRun places a batch of sizes. If a single free extent can hold their sum, the batch is
// cut from the best fit for the sum as consecutive extents, so the whole batch becomes one
// sequential write. Otherwise each size is placed by best fit on its own, largest first. A batch
// is all or nothing: when it cannot be placed, nothing stays allocated.
//
// # Coalescing
//
// Free and Grow merge the released range with a free extent that ends exactly where it starts and
// with one that starts exactly where it ends. Because every release coalesces, two free extents
// never touch: the free space is always held as the unique set of maximal free runs, whatever the
// order of earlier operations. A release that overlaps free space is rejected with ErrOverlap and
// changes nothing, which catches double frees.
//
// # Complexity
//
// With n free extents, Alloc, Free, Reserve and Grow each do a constant number of tree searches,
// insertions and deletions, so each runs in O(log n). AllocRun with k sizes costs O(k + log n)
// when the batch fits one extent and O(k log k + k log n) otherwise. FreeUnits, End and Extents
// are O(1); Largest is O(log n); Walk visits every extent in O(n). The operations do not allocate
// memory, except for tree nodes when a tree grows beyond the nodes it kept for reuse, the
// wrapped errors of Free, Reserve and Grow, and AllocRun's growth of a dst without room.
//
// # Concurrency
//
// An Allocator is not safe for concurrent use. It is meant to be owned by one goroutine (the
// write pipeline's owner of the data file); other goroutines must not call its methods, not even
// the read-only ones, without their own synchronization.
//
// # Crash semantics
//
// The allocator lives only in memory and survives nothing: after a restart, recovery rebuilds it
// with Grow (the file's size, all free) followed by Reserve for every live record and for any
// header area. Making a freed extent's old contents harmless before it is reused is the caller's
// job.
package alloc
