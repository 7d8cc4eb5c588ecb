package resp

import (
	"errors"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// feox commands: CAS and JSON.PATCH.

// cas implements CAS key expected new: it sets key to new if its value is expected, and
// replies 1 if it did, 0 otherwise (value differs, or key absent). A swap clears the expiry.
func (h *Handler) cas(_ *Session, w Writer, args [][]byte) {
	key, expected, value := args[1], args[2], args[3]
	if !validKey(w, key) || !validValue(w, value) {
		return
	}
	defer h.locks.lock(key)()
	ok, err := h.store.CompareAndSwap(key, expected, value)
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteInt64(boolInt(ok))
}

// jsonPatch implements JSON.PATCH key patch: it applies the RFC 6902 patch to the JSON value of
// key, keeping its expiry, and replies OK, a null for an absent key, or an error.
func (h *Handler) jsonPatch(_ *Session, w Writer, args [][]byte) {
	key, patch := args[1], args[2]
	if !validKey(w, key) {
		return
	}
	defer h.locks.lock(key)()
	switch err := h.store.JSONPatch(key, patch); {
	case err == nil:
		w.WriteString("OK")
	case errors.Is(err, feox.ErrNotFound):
		w.WriteNull()
	case errors.Is(err, feox.ErrJSONPatch):
		w.WriteError("ERR " + clip([]byte(err.Error())))
	default:
		storeError(w, err)
	}
}
