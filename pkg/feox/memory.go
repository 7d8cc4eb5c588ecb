package feox

import (
	"slices"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/index"
)

// What MemoryUsage counts. Every present key charges the heap bytes its cell, its share of the
// hash index and its entry in the ordered index take, and in persistent mode the place of its
// version in the data file; every version in memory charges its record's allocation, value
// included, rounded up to Go's size classes as the allocator rounds it. The two index shares
// are averages (docs/DECISIONS.md 20): the hash index doubles its table when it fills, so its
// true share per key swings between about 11 and 23 bytes; the B-tree's leaves are 50-100%
// full. Not counted: the garbage collector's headroom (the heap grows to about twice the live
// heap at GOGC=100 before a collection), the write pipeline's buffers and the runtime.

const (
	// hashShare is the average bytes a key takes in the hash index's table.
	hashShare = 16
	// orderedShare is the average bytes a key's entry takes in the ordered index: a 16-byte
	// item in leaves of 256 slots about 69% full after random inserts.
	orderedShare = 24
	// placeBytes is the size of a version's datafile.Place, which a persistent key holds.
	placeBytes = int(unsafe.Sizeof(datafile.Place{}))
	// ringSlot is the cache's slot for a resident value (persistent mode).
	ringSlot = 8
)

// keyCharge is the number of bytes a present key of klen bytes charges to MemoryUsage beside
// its version: its cell and its index shares, and in persistent mode its place and the stub
// that stands for its version when the value is not in memory (every key holds at least that
// much, so it counts against MaxMemory with the key).
func (s *Store) keyCharge(klen int) int64 {
	cell, key := index.CellBytes(klen)
	n := heapSize(cell) + heapSize(key) + hashShare + orderedShare
	if s.df != nil {
		n += heapSize(placeBytes) + stubBytes()
	}
	return n
}

// stubBytes is the size of a stub without an extra, as newRecord allocates it.
func stubBytes() int64 { return recordBytes(0, false) }

// charge is the number of bytes r charges to MemoryUsage beside its key's charge: the heap bytes
// of its allocation, value included, less in persistent mode the stub the key charges
// already; nothing for a tombstone, which lasts only until the background goroutine drops it.
// It depends only on fields of r that never change.
func (s *Store) charge(r *record) int64 {
	switch {
	case r == nil || r.dead:
		return 0
	case s.df == nil:
		return recordBytes(int(r.vlen), r.x != nil)
	case r.stub:
		return recordBytes(0, r.x != nil) - stubBytes()
	}
	return recordBytes(int(r.vlen), true) - stubBytes()
}

// cacheCharge is what the cache counts for a resident value: what evicting it frees (the
// record with its value, less the stub that replaces it: one without an extra, as most are)
// and its slot in the cache's ring.
func cacheCharge(vlen uint32) int64 {
	return recordBytes(int(vlen), true) + ringSlot - stubBytes()
}

// recordBytes returns the heap bytes newRecord takes for a value of n bytes.
func recordBytes(n int, withX bool) int64 {
	h := int(unsafe.Sizeof(record{}))
	if withX {
		h = int(unsafe.Sizeof(recordXBare{}))
	}
	switch {
	case n == 0:
		return heapSize(h)
	case h+n <= maxSingleAlloc:
		return heapSize(h + n)
	}
	return heapSize(h) + heapSize(n)
}

// maxSingleAlloc is the largest allocation that holds a record and its value together.
const maxSingleAlloc = 512

// sizeClasses are Go's malloc size classes (runtime/sizeclasses.go).
var sizeClasses = [...]int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208,
	224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152,
	1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
	6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480,
	21760, 24576, 27264, 28672, 32768}

// heapSize returns the bytes Go's allocator takes for an object of n bytes: its size class, or
// whole 8 KiB pages past the largest class.
func heapSize(n int) int64 {
	if n <= 0 {
		return 0
	}
	if n > sizeClasses[len(sizeClasses)-1] {
		return int64(n+8191) &^ 8191
	}
	i, _ := slices.BinarySearch(sizeClasses[:], n)
	return int64(sizeClasses[i])
}
