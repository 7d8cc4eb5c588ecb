package index

import (
	"hash/maphash"
	"strings"

	"github.com/puzpuzpuz/xsync/v4"
)

// Hash is the hash index: a map from a key to its Cell. Reads (Load, Cell) take no lock;
// changes of one key are serialized by Compute. It is safe for concurrent use. The zero value
// is not usable; call NewHash.
type Hash[V any] struct {
	seed  maphash.Seed
	cells *xsync.Map[string, *Cell[V]]
}

// NewHash returns an empty hash index sized for about presize keys.
func NewHash[V any](presize int) *Hash[V] {
	return &Hash[V]{seed: maphash.MakeSeed(), cells: xsync.NewMap[string, *Cell[V]](xsync.WithPresize(max(presize, 1)))}
}

// NewCell returns a new cell holding a copy of key, with no value, for Compute to insert.
func (m *Hash[V]) NewCell(key string) *Cell[V] {
	return newCell[V](key, maphash.String(m.seed, key))
}

// Cell returns the cell of key, or nil if key has none. It takes no lock.
func (m *Hash[V]) Cell(key string) *Cell[V] {
	c, _ := m.cells.Load(key)
	return c
}

// Load returns the current value of key, or nil if key has no cell. It takes no lock.
func (m *Hash[V]) Load(key string) *V {
	if c, _ := m.cells.Load(key); c != nil {
		return c.Load()
	}
	return nil
}

// Compute runs fn inside key's critical section: no other Compute of key runs meanwhile. fn
// gets key's cell (nil if it has none) and returns the cell key must have afterwards: c itself
// to keep it (fn may have stored a new value in it), nil to remove it, or a cell made by NewCell
// for key to insert (or to replace c). fn must not call Compute.
func (m *Hash[V]) Compute(key string, fn func(c *Cell[V]) *Cell[V]) {
	m.cells.Compute(strings.Clone(key), func(old *Cell[V], loaded bool) (*Cell[V], xsync.ComputeOp) {
		if !loaded {
			old = nil
		}
		c := fn(old)
		switch {
		case c == old:
			return old, xsync.CancelOp
		case c == nil:
			return nil, xsync.DeleteOp
		default:
			return c, xsync.UpdateOp
		}
	})
}

// Len returns the number of keys with a cell.
func (m *Hash[V]) Len() int { return m.cells.Size() }
