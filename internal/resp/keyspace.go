package resp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Keyspace commands: SCAN, KEYS, RANDOMKEY, FLUSHDB, FLUSHALL. They walk the store's ordered
// index with Scan.

// maxCursors bounds the SCAN cursors a Handler remembers; past it the oldest is forgotten and
// a client passing it back gets an error.
const maxCursors = 1 << 14

// defaultScanCount is SCAN's COUNT when not given, as in Redis.
const defaultScanCount = 10

// scanCursors maps the SCAN cursors handed out to the key each resumes after. A cursor is a
// handler-wide number, so a client may continue an iteration on another connection.
type scanCursors struct {
	mu   sync.Mutex
	last uint64
	keys map[uint64]string
	// order holds the live cursors, oldest first, for eviction.
	order []uint64
}

// put remembers that an iteration resumes after key and returns its cursor (never 0).
func (c *scanCursors) put(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[uint64]string{}
	}
	if len(c.order) >= maxCursors {
		delete(c.keys, c.order[0])
		c.order = c.order[1:]
	}
	c.last++
	c.keys[c.last] = key
	c.order = append(c.order, c.last)
	return c.last
}

// get returns the key cursor id resumes after. A cursor stays valid until it is evicted, so a
// client may retry a SCAN call whose reply it lost.
func (c *scanCursors) get(id uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[id]
	return k, ok
}

// parseCursor parses a SCAN cursor: an unsigned decimal.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	return n, err == nil
}

// scan implements SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. Cursor 0 starts an
// iteration; each reply carries the cursor of the next call, 0 once the iteration is over. The
// keys are visited in ascending order and each reply resumes after the last key visited, so a
// key present for the whole iteration is returned exactly once. COUNT is how many keys a call
// visits (before MATCH filters them).
func (h *Handler) scan(_ *Session, w Writer, args [][]byte) {
	id, ok := parseCursor(args[1])
	if !ok {
		w.WriteError("ERR invalid cursor")
		return
	}
	var pattern []byte
	count := int64(defaultScanCount)
	onlyStrings := true
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			w.WriteError(errSyntax)
			return
		}
		switch {
		case equalFold(args[i], "match"):
			pattern = args[i+1]
		case equalFold(args[i], "count"):
			n, ok := parseInt(args[i+1])
			if !ok {
				w.WriteError(errNotInteger)
				return
			}
			if n < 1 {
				w.WriteError(errSyntax)
				return
			}
			count = n
		case equalFold(args[i], "type"):
			onlyStrings = equalFold(args[i+1], "string")
		default:
			w.WriteError(errSyntax)
			return
		}
	}
	var start []byte
	if id != 0 {
		after, ok := h.cursors.get(id)
		if !ok {
			w.WriteError("ERR invalid cursor")
			return
		}
		// The least key greater than after.
		start = append([]byte(after), 0)
	}
	var found [][]byte
	var last []byte
	visited := int64(0)
	if onlyStrings {
		for k := range h.store.Scan(start, nil) {
			visited++
			if pattern == nil || globMatch(pattern, k) {
				found = append(found, bytes.Clone(k))
			}
			if visited == count {
				last = bytes.Clone(k)
				break
			}
		}
	}
	next := uint64(0)
	if last != nil {
		next = h.cursors.put(string(last))
	}
	w.WriteArray(2)
	w.WriteBulkString(strconv.FormatUint(next, 10))
	w.WriteArray(len(found))
	for _, k := range found {
		w.WriteBulk(k)
	}
}

// keys implements KEYS pattern: every present key matching it, in ascending order.
func (h *Handler) keys(_ *Session, w Writer, args [][]byte) {
	var found [][]byte
	for k := range h.store.Scan(nil, nil) {
		if globMatch(args[1], k) {
			found = append(found, bytes.Clone(k))
		}
	}
	w.WriteArray(len(found))
	for _, k := range found {
		w.WriteBulk(k)
	}
}

// randomkey implements RANDOMKEY: the first key at or after a random point of the key space,
// wrapping around, or null when the store is empty. Keys after a wide gap of the key space are
// more likely than others; every key can be returned.
func (h *Handler) randomkey(_ *Session, w Writer, _ [][]byte) {
	var seed [8]byte
	for i := range seed {
		seed[i] = byte(rand.Uint32())
	}
	start := seed[:1+rand.IntN(len(seed))]
	for _, from := range [][]byte{start, nil} {
		for k := range h.store.Scan(from, nil) {
			w.WriteBulk(bytes.Clone(k))
			return
		}
	}
	w.WriteNull()
}

// flushdb implements FLUSHDB and FLUSHALL [ASYNC|SYNC]: it deletes every key, each under its
// stripe lock. A key written while the flush runs may survive it.
func (h *Handler) flushdb(_ *Session, w Writer, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync")) {
		w.WriteError(errSyntax)
		return
	}
	for k := range h.store.Scan(nil, nil) {
		key := bytes.Clone(k)
		unlock := h.locks.lock(key)
		err := h.store.Delete(key)
		unlock()
		if err != nil && !errors.Is(err, feox.ErrNotFound) {
			storeError(w, err)
			return
		}
	}
	w.WriteString("OK")
}
