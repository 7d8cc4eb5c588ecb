package resp

import (
	"errors"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Key commands: DEL, UNLINK, EXISTS, TYPE, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL,
// PERSIST, DBSIZE, FLUSH.

func (h *Handler) del(_ *Session, w Writer, args [][]byte) {
	keys := args[1:]
	for _, k := range keys {
		if !validKey(w, k) {
			return
		}
	}
	defer h.locks.lockAll(keys)()
	var n int64
	for _, k := range keys {
		switch err := h.store.Delete(k); {
		case err == nil:
			n++
		case !errors.Is(err, feox.ErrNotFound):
			storeError(w, err)
			return
		}
	}
	w.WriteInt64(n)
}

func (h *Handler) exists(_ *Session, w Writer, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if !validKey(w, k) {
			return
		}
		if h.store.Contains(k) {
			n++
		}
	}
	w.WriteInt64(n)
}

// typeOf implements TYPE: every feox value is a Redis string.
func (h *Handler) typeOf(_ *Session, w Writer, args [][]byte) {
	if !validKey(w, args[1]) {
		return
	}
	if h.store.Contains(args[1]) {
		w.WriteString("string")
		return
	}
	w.WriteString("none")
}

func (h *Handler) expire(_ *Session, w Writer, args [][]byte) {
	h.setExpiry(w, args, time.Second, true, "expire")
}

func (h *Handler) pexpire(_ *Session, w Writer, args [][]byte) {
	h.setExpiry(w, args, time.Millisecond, true, "pexpire")
}

func (h *Handler) expireat(_ *Session, w Writer, args [][]byte) {
	h.setExpiry(w, args, time.Second, false, "expireat")
}

func (h *Handler) pexpireat(_ *Session, w Writer, args [][]byte) {
	h.setExpiry(w, args, time.Millisecond, false, "pexpireat")
}

// setExpiry implements EXPIRE, PEXPIRE (rel: a ttl from now) and EXPIREAT, PEXPIREAT (a Unix
// time): an expiry that is not in the future deletes the key.
func (h *Handler) setExpiry(w Writer, args [][]byte, unit time.Duration, rel bool, name string) {
	key := args[1]
	if _, ok := parseInt(args[2]); !ok {
		w.WriteError(errNotInteger)
		return
	}
	ttl, ok := expireDuration(args[2], unit, rel)
	if !ok {
		w.WriteError("ERR invalid expire time in '" + name + "' command")
		return
	}
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	var err error
	if ttl <= 0 {
		err = h.store.Delete(key)
	} else {
		err = h.store.UpdateTTL(key, ttl)
	}
	replyDone(w, err)
}

func (h *Handler) ttl(_ *Session, w Writer, args [][]byte) {
	h.replyTTL(w, args[1], time.Second)
}

func (h *Handler) pttl(_ *Session, w Writer, args [][]byte) {
	h.replyTTL(w, args[1], time.Millisecond)
}

// replyTTL writes the time left before key expires in unit, rounded to the nearest unit as
// Redis rounds it, -1 for a key without an expiry and -2 for an absent key.
func (h *Handler) replyTTL(w Writer, key []byte, unit time.Duration) {
	if !validKey(w, key) {
		return
	}
	left, err := h.store.TTL(key)
	switch {
	case errors.Is(err, feox.ErrNotFound):
		w.WriteInt64(-2)
	case err != nil:
		storeError(w, err)
	case left == feox.NoExpiry:
		w.WriteInt64(-1)
	default:
		w.WriteInt64(int64((left + unit/2) / unit))
	}
}

func (h *Handler) persist(_ *Session, w Writer, args [][]byte) {
	key := args[1]
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	left, err := h.store.TTL(key)
	switch {
	case errors.Is(err, feox.ErrNotFound) || left == feox.NoExpiry:
		w.WriteInt64(0)
		return
	case err != nil:
		storeError(w, err)
		return
	}
	replyDone(w, h.store.Persist(key))
}

func (h *Handler) dbsize(_ *Session, w Writer, _ [][]byte) {
	w.WriteInt64(int64(h.store.Len()))
}

// flush makes every write accepted so far durable (feox's Flush; not Redis's FLUSHDB).
func (h *Handler) flush(_ *Session, w Writer, _ [][]byte) {
	if err := h.store.Flush(); err != nil {
		storeError(w, err)
		return
	}
	w.WriteString("OK")
}
