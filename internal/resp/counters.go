package resp

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Counter commands: INCR, INCRBY, DECR, DECRBY. A Redis counter is a decimal string, not
// feox's 8-byte binary counter, so they are built on InsertIfAbsent and CompareAndSwap.

func (h *Handler) incr(_ *Session, w Writer, args [][]byte) { h.incrBy(w, args[1], 1) }

func (h *Handler) decr(_ *Session, w Writer, args [][]byte) { h.incrBy(w, args[1], -1) }

func (h *Handler) incrby(_ *Session, w Writer, args [][]byte) {
	d, ok := parseInt(args[2])
	if !ok {
		w.WriteError(errNotInteger)
		return
	}
	h.incrBy(w, args[1], d)
}

func (h *Handler) decrby(_ *Session, w Writer, args [][]byte) {
	d, ok := parseInt(args[2])
	if !ok {
		w.WriteError(errNotInteger)
		return
	}
	if d == math.MinInt64 {
		w.WriteError("ERR decrement would overflow")
		return
	}
	h.incrBy(w, args[1], -d)
}

// incrBy adds delta to the decimal counter at key, keeping its expiry, and writes the new
// value. An absent key starts at 0.
func (h *Handler) incrBy(w Writer, key []byte, delta int64) {
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	var buf [20]byte
	for {
		old, err := h.store.Get(key)
		if errors.Is(err, feox.ErrNotFound) {
			next := strconv.AppendInt(buf[:0], delta, 10)
			created, err := h.store.InsertIfAbsent(key, next)
			if err != nil {
				storeError(w, err)
				return
			}
			if created {
				w.WriteInt64(delta)
				return
			}
			continue // created by a writer outside this server's locks: read it again
		}
		if err != nil {
			storeError(w, err)
			return
		}
		n, ok := parseInt(old)
		if !ok {
			w.WriteError(errNotInteger)
			return
		}
		if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
			w.WriteError("ERR increment or decrement would overflow")
			return
		}
		left, terr := h.store.TTL(key)
		next := strconv.AppendInt(buf[:0], n+delta, 10)
		swapped, err := h.store.CompareAndSwap(key, old, next)
		if err != nil {
			storeError(w, err)
			return
		}
		if !swapped {
			continue
		}
		if terr == nil && left > 0 {
			// CompareAndSwap clears the expiry; Redis keeps it. The stripe lock keeps other
			// clients' writes of the key out of the gap.
			h.restoreTTL(key, left)
		}
		w.WriteInt64(n + delta)
		return
	}
}

// restoreTTL puts back an expiry of ttl that a CompareAndSwap cleared.
func (h *Handler) restoreTTL(key []byte, ttl time.Duration) {
	_ = h.store.UpdateTTL(key, ttl) // ErrNotFound only if deleted meanwhile: nothing to keep
}
