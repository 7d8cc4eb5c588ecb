package resp

import (
	"errors"
	"math/big"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// More string commands: GETEX, GETSET, MSETNX, INCRBYFLOAT.

// getex implements GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]: GET that also sets or
// clears the key's expiry.
func (h *Handler) getex(_ *Session, w Writer, args [][]byte) {
	key := args[1]
	var ttl time.Duration
	hasTTL, persist := false, false
	if len(args) > 2 {
		a := args[2]
		var unit time.Duration
		rel := true
		switch {
		case equalFold(a, "persist") && len(args) == 3:
			persist = true
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
			return
		}
		if !persist {
			if len(args) != 4 {
				w.WriteError(errSyntax)
				return
			}
			n, ok := parseInt(args[3])
			if !ok {
				w.WriteError(errNotInteger)
				return
			}
			d, ok := expireDuration(args[3], unit, rel)
			if n <= 0 || !ok {
				w.WriteError("ERR invalid expire time in 'getex' command")
				return
			}
			ttl, hasTTL = d, true
		}
	}
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	v, err := h.store.Get(key)
	if err != nil {
		h.replyValue(w, nil, err)
		return
	}
	switch {
	case hasTTL && ttl <= 0:
		err = h.store.Delete(key)
	case hasTTL:
		err = h.store.UpdateTTL(key, ttl)
	case persist:
		err = h.store.Persist(key)
	}
	if err != nil && !errors.Is(err, feox.ErrNotFound) {
		storeError(w, err)
		return
	}
	w.WriteBulk(v)
}

// getset implements GETSET key value: SET key value GET, which clears the expiry.
func (h *Handler) getset(_ *Session, w Writer, args [][]byte) {
	key, value := args[1], args[2]
	if !validKey(w, key) || !validValue(w, value) {
		return
	}
	defer h.locks.lock(key)()
	old, err := h.store.Get(key)
	found := err == nil
	if err != nil && !errors.Is(err, feox.ErrNotFound) {
		storeError(w, err)
		return
	}
	if _, err := h.store.Insert(key, value); err != nil {
		storeError(w, err)
		return
	}
	if !found {
		w.WriteNull()
		return
	}
	w.WriteBulk(old)
}

// msetnx implements MSETNX: it sets every key only if none exists, holding the stripe locks of
// all of them (taken in stripe order) so that no other command of this server writes them in
// between. A concurrent reader may see part of the keys set.
func (h *Handler) msetnx(_ *Session, w Writer, args [][]byte) {
	keys, ok := pairKeys(w, "msetnx", args)
	if !ok {
		return
	}
	defer h.locks.lockAll(keys)()
	for _, k := range keys {
		if h.store.Contains(k) {
			w.WriteInt64(0)
			return
		}
	}
	if h.insertPairs(w, args[1:]) {
		w.WriteInt64(1)
	}
}

// longDouble is the precision of the x87 long double Redis computes INCRBYFLOAT in.
const longDouble = 64

// errNotFloat is Redis's error for an argument or value that is not a float.
const errNotFloat = "ERR value is not a valid float"

// parseLongDouble parses a decimal float as Redis's INCRBYFLOAT does (no spaces, no infinities
// or NaN), rounded to a long double.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) > 5000 {
		return nil, false
	}
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return nil, false
		}
	}
	f, _, err := big.ParseFloat(string(b), 10, longDouble, big.ToNearestEven)
	if err != nil || f.IsInf() || f.MantExp(nil) > 16384 {
		return nil, false
	}
	return f, true
}

// formatLongDouble formats f as Redis does a long double: fixed point with 17 decimals, then
// trailing zeros and a trailing point trimmed, so 10.5+0.1 is "10.6" and 3e3 is "3000".
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// incrbyfloat implements INCRBYFLOAT key increment, keeping the key's expiry.
func (h *Handler) incrbyfloat(_ *Session, w Writer, args [][]byte) {
	key := args[1]
	incr, ok := parseLongDouble(args[2])
	if !ok {
		w.WriteError(errNotFloat)
		return
	}
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	old, err := h.store.Get(key)
	exists := err == nil
	if err != nil && !errors.Is(err, feox.ErrNotFound) {
		storeError(w, err)
		return
	}
	cur := new(big.Float).SetPrec(longDouble)
	if exists {
		if cur, ok = parseLongDouble(old); !ok {
			w.WriteError(errNotFloat)
			return
		}
	}
	sum := new(big.Float).SetPrec(longDouble).SetMode(big.ToNearestEven).Add(cur, incr)
	// A long double overflows past 2^16384.
	if sum.MantExp(nil) > 16384 {
		w.WriteError("ERR increment would produce NaN or Infinity")
		return
	}
	next := []byte(formatLongDouble(sum))
	ttl := time.Duration(0)
	if exists {
		if left, terr := h.store.TTL(key); terr == nil && left > 0 {
			ttl = left
		}
	}
	if _, err := h.store.InsertWithTTL(key, next, ttl); err != nil {
		storeError(w, err)
		return
	}
	w.WriteBulk(next)
}
