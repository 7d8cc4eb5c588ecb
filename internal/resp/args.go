package resp

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Error replies shared by several commands.
const (
	errSyntax     = "ERR syntax error"
	errNotInteger = "ERR value is not an integer or out of range"
	errInvalidKey = "ERR invalid key: empty or longer than 65535 bytes"
	errBigValue   = "ERR value is longer than 67108864 bytes"
)

// validKey reports whether key is one the store accepts, writing the error reply if not.
func validKey(w Writer, key []byte) bool {
	if len(key) == 0 || len(key) > feox.MaxKeySize {
		w.WriteError(errInvalidKey)
		return false
	}
	return true
}

// validValue reports whether value is one the store accepts, writing the error reply if not.
func validValue(w Writer, value []byte) bool {
	if len(value) > feox.MaxValueSize {
		w.WriteError(errBigValue)
		return false
	}
	return true
}

// parseInt parses a Redis integer argument: a decimal int64 with an optional minus sign and
// nothing else (no plus sign, spaces or leading zeros beyond a single 0).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	digits := b
	if b[0] == '-' {
		digits = b[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(b) > 1) {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// expireDuration converts an expiry argument in units of unit (time.Second or
// time.Millisecond) to a duration, or reports false when it overflows or is not an integer.
// A relative expiry (rel) is from now; an absolute one (EXAT, PXAT) is a Unix time.
func expireDuration(arg []byte, unit time.Duration, rel bool) (time.Duration, bool) {
	n, ok := parseInt(arg)
	if !ok {
		return 0, false
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return 0, false
	}
	d := time.Duration(n) * unit
	if rel {
		return d, true
	}
	return time.Until(time.Unix(0, 0).Add(d)), true
}

// replyDone writes 1 for a store call that succeeded, 0 for one that found no key, and the
// store's error otherwise.
func replyDone(w Writer, err error) {
	switch {
	case err == nil:
		w.WriteInt64(1)
	case errors.Is(err, feox.ErrNotFound):
		w.WriteInt64(0)
	default:
		storeError(w, err)
	}
}

// pairKeys validates the key-value pairs of an MSET-like command named name (args[1:]) and
// returns their keys, or writes the error reply and returns false.
func pairKeys(w Writer, name string, args [][]byte) ([][]byte, bool) {
	kv := args[1:]
	if len(kv)%2 != 0 {
		w.WriteError("ERR wrong number of arguments for '" + name + "' command")
		return nil, false
	}
	keys := make([][]byte, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if !validKey(w, kv[i]) || !validValue(w, kv[i+1]) {
			return nil, false
		}
		keys = append(keys, kv[i])
	}
	return keys, true
}

// storeError writes the reply for an unexpected store error.
func storeError(w Writer, err error) {
	switch {
	case errors.Is(err, feox.ErrInvalidKey):
		w.WriteError(errInvalidKey)
	case errors.Is(err, feox.ErrInvalidValue):
		w.WriteError(errBigValue)
	case errors.Is(err, feox.ErrOutOfMemory):
		w.WriteError("OOM command not allowed when used memory > 'maxmemory'.")
	case errors.Is(err, feox.ErrClosed):
		w.WriteError("ERR server is shutting down")
	default:
		w.WriteError("ERR " + clip([]byte(err.Error())))
	}
}
