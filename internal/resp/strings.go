package resp

import (
	"errors"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// String commands: GET, SET, SETNX, SETEX, PSETEX, GETDEL, MGET, MSET, STRLEN, APPEND.

func (h *Handler) get(_ *Session, w Writer, args [][]byte) {
	if !validKey(w, args[1]) {
		return
	}
	v, err := h.store.Get(args[1])
	h.replyValue(w, v, err)
}

// replyValue writes the reply of a read: the value, a null for an absent key, or the error.
func (h *Handler) replyValue(w Writer, v []byte, err error) {
	switch {
	case err == nil:
		w.WriteBulk(v)
	case errors.Is(err, feox.ErrNotFound):
		w.WriteNull()
	default:
		storeError(w, err)
	}
}

// setOptions are the options of SET.
type setOptions struct {
	nx, xx, get, keepTTL bool
	// ttl is the expiry from now when hasTTL; zero or negative means already expired.
	ttl    time.Duration
	hasTTL bool
}

// parseSetOptions parses the options of SET, writing the error reply if they are invalid.
func parseSetOptions(w Writer, opts [][]byte) (setOptions, bool) {
	var o setOptions
	for i := 0; i < len(opts); i++ {
		a := opts[i]
		var unit time.Duration
		rel := true
		switch {
		case equalFold(a, "nx") && !o.xx:
			o.nx = true
			continue
		case equalFold(a, "xx") && !o.nx:
			o.xx = true
			continue
		case equalFold(a, "get"):
			o.get = true
			continue
		case equalFold(a, "keepttl") && !o.hasTTL:
			o.keepTTL = true
			continue
		case equalFold(a, "ex"):
			unit = time.Second
		case equalFold(a, "px"):
			unit = time.Millisecond
		case equalFold(a, "exat"):
			unit, rel = time.Second, false
		case equalFold(a, "pxat"):
			unit, rel = time.Millisecond, false
		default:
			w.WriteError(errSyntax)
			return o, false
		}
		if o.hasTTL || o.keepTTL || i+1 >= len(opts) {
			w.WriteError(errSyntax)
			return o, false
		}
		i++
		n, ok := parseInt(opts[i])
		if !ok {
			w.WriteError(errNotInteger)
			return o, false
		}
		d, ok := expireDuration(opts[i], unit, rel)
		if n <= 0 || !ok {
			w.WriteError("ERR invalid expire time in 'set' command")
			return o, false
		}
		o.ttl, o.hasTTL = d, true
	}
	return o, true
}

func (h *Handler) set(_ *Session, w Writer, args [][]byte) {
	key, value := args[1], args[2]
	o, ok := parseSetOptions(w, args[3:])
	if !ok || !validKey(w, key) || !validValue(w, value) {
		return
	}
	defer h.locks.lock(key)()
	var old []byte
	exists := false
	if o.nx || o.xx || o.get {
		v, err := h.store.Get(key)
		switch {
		case err == nil:
			old, exists = v, true
		case !errors.Is(err, feox.ErrNotFound):
			storeError(w, err)
			return
		}
	} else {
		exists = h.store.Contains(key)
	}
	reply := func() {
		if o.get {
			if exists {
				w.WriteBulk(old)
			} else {
				w.WriteNull()
			}
			return
		}
		w.WriteString("OK")
	}
	if (o.nx && exists) || (o.xx && !exists) {
		if o.get {
			reply()
		} else {
			w.WriteNull()
		}
		return
	}
	ttl := time.Duration(0)
	switch {
	case o.hasTTL:
		ttl = o.ttl
		if ttl <= 0 {
			// An absolute expiry in the past: the key is set and expires at once.
			if err := h.store.Delete(key); err != nil && !errors.Is(err, feox.ErrNotFound) {
				storeError(w, err)
				return
			}
			reply()
			return
		}
	case o.keepTTL && exists:
		if left, err := h.store.TTL(key); err == nil && left > 0 {
			ttl = left
		}
	}
	if _, err := h.store.InsertWithTTL(key, value, ttl); err != nil {
		storeError(w, err)
		return
	}
	reply()
}

func (h *Handler) setnx(_ *Session, w Writer, args [][]byte) {
	if !validKey(w, args[1]) || !validValue(w, args[2]) {
		return
	}
	defer h.locks.lock(args[1])()
	created, err := h.store.InsertIfAbsent(args[1], args[2])
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteInt64(boolInt(created))
}

func (h *Handler) setex(s *Session, w Writer, args [][]byte) {
	h.setWithExpiry(w, args, time.Second, "setex")
}

func (h *Handler) psetex(s *Session, w Writer, args [][]byte) {
	h.setWithExpiry(w, args, time.Millisecond, "psetex")
}

// setWithExpiry implements SETEX and PSETEX: key, expiry in unit, value.
func (h *Handler) setWithExpiry(w Writer, args [][]byte, unit time.Duration, name string) {
	key, value := args[1], args[3]
	n, ok := parseInt(args[2])
	if !ok {
		w.WriteError(errNotInteger)
		return
	}
	ttl, ok := expireDuration(args[2], unit, true)
	if n <= 0 || !ok {
		w.WriteError("ERR invalid expire time in '" + name + "' command")
		return
	}
	if !validKey(w, key) || !validValue(w, value) {
		return
	}
	defer h.locks.lock(key)()
	if _, err := h.store.InsertWithTTL(key, value, ttl); err != nil {
		storeError(w, err)
		return
	}
	w.WriteString("OK")
}

func (h *Handler) getdel(_ *Session, w Writer, args [][]byte) {
	key := args[1]
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	v, err := h.store.Get(key)
	if err == nil {
		if err = h.store.Delete(key); errors.Is(err, feox.ErrNotFound) {
			// Expired between the two calls: as if it had expired before.
			v = nil
		}
	}
	h.replyValue(w, v, err)
}

func (h *Handler) mget(_ *Session, w Writer, args [][]byte) {
	keys := args[1:]
	for _, k := range keys {
		if !validKey(w, k) {
			return
		}
	}
	w.WriteArray(len(keys))
	for _, k := range keys {
		v, err := h.store.Get(k)
		if err != nil {
			// One reply per key is already promised: an error of one key reads as absent.
			w.WriteNull()
			continue
		}
		w.WriteBulk(v)
	}
}

// insertPairs inserts the key-value pairs kv, whose keys' stripes the caller holds. On a store
// error it writes the error reply and returns false; the pairs before it stay set.
func (h *Handler) insertPairs(w Writer, kv [][]byte) bool {
	for i := 0; i < len(kv); i += 2 {
		if _, err := h.store.Insert(kv[i], kv[i+1]); err != nil {
			storeError(w, err)
			return false
		}
	}
	return true
}

func (h *Handler) mset(_ *Session, w Writer, args [][]byte) {
	keys, ok := pairKeys(w, "mset", args)
	if !ok {
		return
	}
	defer h.locks.lockAll(keys)()
	if h.insertPairs(w, args[1:]) {
		w.WriteString("OK")
	}
}

func (h *Handler) strlen(_ *Session, w Writer, args [][]byte) {
	if !validKey(w, args[1]) {
		return
	}
	n, err := h.store.Size(args[1])
	switch {
	case err == nil:
		w.WriteInt64(int64(n))
	case errors.Is(err, feox.ErrNotFound):
		w.WriteInt64(0)
	default:
		storeError(w, err)
	}
}

func (h *Handler) append(_ *Session, w Writer, args [][]byte) {
	key, tail := args[1], args[2]
	if !validKey(w, key) || !validValue(w, tail) {
		return
	}
	defer h.locks.lock(key)()
	old, err := h.store.Get(key)
	if err != nil && !errors.Is(err, feox.ErrNotFound) {
		storeError(w, err)
		return
	}
	if len(old)+len(tail) > feox.MaxValueSize {
		w.WriteError("ERR string exceeds maximum allowed size (67108864 bytes)")
		return
	}
	v := append(old, tail...)
	if err == nil {
		// Keep the key's expiry, as Redis does.
		ttl := time.Duration(0)
		if left, terr := h.store.TTL(key); terr == nil && left > 0 {
			ttl = left
		}
		_, err = h.store.InsertWithTTL(key, v, ttl)
	} else {
		_, err = h.store.Insert(key, v)
	}
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteInt64(int64(len(v)))
}

// boolInt is 1 for true, 0 for false.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
