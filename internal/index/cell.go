package index

import (
	"sync/atomic"
	"unsafe"
)

// Cell is one key's slot, shared by the hash index and the ordered index: it holds the key's
// bytes and a pointer to the key's current value, which writers swap atomically. A reader that
// reaches the cell through either index loads the value with one atomic load, so a scan of the
// ordered index never looks the key up again in the hash index.
//
// The key's bytes follow the cell's header in the same allocation (NewCell picks the smallest of
// a table of sizes); keys longer than maxInlineKey are kept in a separate buffer. A cell's key
// never changes. Cells are made by Hash.NewCell and compared by key.
type Cell[V any] struct {
	v atomic.Pointer[V]
	// hash is the low 32 bits of the key's hash under its Hash's seed, so that a probe can
	// rule out most non-matching cells, and a resize place a cell, without touching the key.
	hash uint32
	// n is the key's length; n&externalKey marks a key kept in a separate buffer (cellExt).
	n uint32
}

// externalKey flags a cell whose key is held by a string after the header (cellExt).
const externalKey = 1 << 31

// cellHeader is the size of a Cell's header, where an inline key begins.
const cellHeader = unsafe.Sizeof(Cell[struct{}]{})

// cellWith is a cell with room for an inline key of up to len(B) bytes.
type cellWith[V, B any] struct {
	Cell[V]
	key B
}

// cellExt is a cell whose key lives in a buffer of its own.
type cellExt[V any] struct {
	Cell[V]
	key string
}

// maxInlineKey is the longest key kept inside its cell's allocation. Beyond 512 bytes an
// object with pointers carries an 8-byte allocation header, so a longer one would waste more
// than a separate buffer does.
const maxInlineKey = 496

// cellAllocs are the cell allocations with an inline key, smallest first: each fills one of
// Go's size classes (header included), so at most 32 bytes of one go unused.
var cellAllocs = [...]struct {
	max   int
	alloc func() unsafe.Pointer
}{
	{16, newCellWith[[16]byte]}, {32, newCellWith[[32]byte]}, {48, newCellWith[[48]byte]},
	{64, newCellWith[[64]byte]}, {80, newCellWith[[80]byte]}, {96, newCellWith[[96]byte]},
	{112, newCellWith[[112]byte]}, {128, newCellWith[[128]byte]}, {144, newCellWith[[144]byte]},
	{176, newCellWith[[176]byte]}, {208, newCellWith[[208]byte]}, {240, newCellWith[[240]byte]},
	{272, newCellWith[[272]byte]}, {304, newCellWith[[304]byte]}, {336, newCellWith[[336]byte]},
	{368, newCellWith[[368]byte]}, {400, newCellWith[[400]byte]}, {432, newCellWith[[432]byte]},
	{464, newCellWith[[464]byte]}, {496, newCellWith[[496]byte]},
}

// newCellWith allocates a cell with an inline key buffer of type B. The value type does not
// change the layout (the header holds a pointer whatever V is), so the allocation is typed with
// struct{} and converted by the caller.
func newCellWith[B any]() unsafe.Pointer { return unsafe.Pointer(new(cellWith[struct{}, B])) }

// newCell returns an unpublished cell holding a copy of key, whose hash is h.
func newCell[V any](key string, h uint64) *Cell[V] {
	n := len(key)
	if n > maxInlineKey {
		c := &cellExt[V]{key: string([]byte(key))} // a copy the caller cannot alias
		c.hash, c.n = uint32(h), uint32(n)|externalKey
		return &c.Cell
	}
	for _, a := range cellAllocs {
		if n <= a.max {
			c := (*Cell[V])(a.alloc())
			c.hash, c.n = uint32(h), uint32(n)
			copy(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(c), cellHeader)), n), key)
			return c
		}
	}
	panic("unreachable")
}

// Key returns the cell's key. The string aliases the cell and must not be modified.
func (c *Cell[V]) Key() string {
	if c.n&externalKey != 0 {
		return (*cellExt[V])(unsafe.Pointer(c)).key
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(c), cellHeader)), int(c.n))
}

// Load returns the key's current value; nil once the cell has left the hash index.
func (c *Cell[V]) Load() *V { return c.v.Load() } // sequentially consistent: a value stored by a writer is seen whole

// Store sets the key's current value. Writers call it inside the key's critical section
// (Hash.Compute); readers never block on it.
func (c *Cell[V]) Store(v *V) { c.v.Store(v) } // publishes v's fields, written before, to every later Load

// CellBytes returns the size of the allocation NewCell makes for a key of klen bytes, and of the
// separate buffer it makes for a key longer than the inline sizes (0 for a shorter one). Both
// are what the program asks of the allocator, not yet rounded to a size class.
func CellBytes(klen int) (cell, key int) {
	if klen > maxInlineKey {
		return int(unsafe.Sizeof(cellExt[struct{}]{})), klen
	}
	for _, a := range cellAllocs {
		if klen <= a.max {
			return int(cellHeader) + a.max, 0
		}
	}
	panic("unreachable")
}
