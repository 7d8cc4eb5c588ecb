package feox_test

// The arguments of the store's methods: which error an invalid one gets first, the limits on
// keys and values, and that the store keeps none of the caller's slices.

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestStore_ErrorPrecedence ensures ErrClosed > ErrInvalidKey > ErrInvalidValue > the rest.
func TestStore_ErrorPrecedence(t *testing.T) {
	huge := make([]byte, feox.MaxValueSize+1)
	long := make([]byte, feox.MaxKeySize+1)
	badPatch := []byte(`not a patch`)

	open := func(t *testing.T) *feox.Store {
		s := openStore(t, feox.Options{MaxMemory: 1 << 10})
		if _, err := s.InsertWithTimestamp([]byte("k"), []byte("v"), 100); err != nil {
			t.Fatal(err)
		}
		mustInsert(t, s, "text", "not json")
		return s
	}
	closed := func(t *testing.T) *feox.Store {
		s := open(t)
		s.Close()
		return s
	}
	tests := []struct {
		name  string
		store func(*testing.T) *feox.Store
		call  func(s *feox.Store) error
		want  error
	}{
		{"closed beats invalid key and value", closed, func(s *feox.Store) error { _, err := s.Insert(nil, huge); return err }, feox.ErrClosed},
		{"closed beats invalid key (CompareAndSwap)", closed, func(s *feox.Store) error { _, err := s.CompareAndSwap(long, nil, huge); return err }, feox.ErrClosed},
		{"closed beats invalid range", closed, func(s *feox.Store) error { _, err := s.Range([]byte("b"), []byte("a"), 1); return err }, feox.ErrClosed},
		{"closed beats invalid key (JSONPatch)", closed, func(s *feox.Store) error { return s.JSONPatch(nil, badPatch) }, feox.ErrClosed},
		{"closed beats invalid key (Increment)", closed, func(s *feox.Store) error { _, err := s.Increment(nil, 1); return err }, feox.ErrClosed},
		{"closed beats older timestamp", closed, func(s *feox.Store) error { _, err := s.InsertWithTimestamp([]byte("k"), nil, 1); return err }, feox.ErrClosed},
		{"invalid key beats invalid value", open, func(s *feox.Store) error { _, err := s.Insert(nil, huge); return err }, feox.ErrInvalidKey},
		{"invalid key beats invalid value (InsertWithTimestamp)", open, func(s *feox.Store) error { _, err := s.InsertWithTimestamp(long, huge, 1); return err }, feox.ErrInvalidKey},
		{"invalid key beats invalid value (CompareAndSwap)", open, func(s *feox.Store) error { _, err := s.CompareAndSwap(nil, nil, huge); return err }, feox.ErrInvalidKey},
		{"invalid key beats bad patch", open, func(s *feox.Store) error { return s.JSONPatch(long, badPatch) }, feox.ErrInvalidKey},
		{"invalid value beats out of memory", open, func(s *feox.Store) error { _, err := s.Insert([]byte("new"), huge); return err }, feox.ErrInvalidValue},
		{"invalid value beats older timestamp", open, func(s *feox.Store) error { _, err := s.InsertWithTimestamp([]byte("k"), huge, 1); return err }, feox.ErrInvalidValue},
		{"invalid value beats present key (InsertIfAbsent)", open, func(s *feox.Store) error { _, err := s.InsertIfAbsent([]byte("k"), huge); return err }, feox.ErrInvalidValue},
		{"invalid value beats absent key (CompareAndSwap)", open, func(s *feox.Store) error { _, err := s.CompareAndSwap([]byte("absent"), nil, huge); return err }, feox.ErrInvalidValue},
		{"invalid value beats mismatch (CompareAndSwap)", open, func(s *feox.Store) error { _, err := s.CompareAndSwap([]byte("k"), []byte("other"), huge); return err }, feox.ErrInvalidValue},
		{"invalid key beats absent key (Delete)", open, func(s *feox.Store) error { return s.Delete(nil) }, feox.ErrInvalidKey},
		{"invalid key beats not a counter", open, func(s *feox.Store) error { _, err := s.Increment(long, 1); return err }, feox.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.store(t)
			if err := tt.call(s); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// keyOp is a key-taking method called with valid other arguments. On a store where the key
// holds "12345678" (an 8-byte counter that is also a JSON number) every keyOp succeeds.
type keyOp struct {
	name string
	call func(s *feox.Store, key []byte) error
}

var errNotSwapped = errors.New("not swapped")

func keyOps() []keyOp {
	v := []byte("12345678")
	return []keyOp{
		{"Insert", func(s *feox.Store, k []byte) error { _, err := s.Insert(k, v); return err }},
		{"InsertWithTTL", func(s *feox.Store, k []byte) error { _, err := s.InsertWithTTL(k, v, time.Hour); return err }},
		{"InsertWithTimestamp", func(s *feox.Store, k []byte) error { _, err := s.InsertWithTimestamp(k, v, 0); return err }},
		{"InsertIfAbsent", func(s *feox.Store, k []byte) error { _, err := s.InsertIfAbsent(k, v); return err }},
		{"Get", func(s *feox.Store, k []byte) error { _, err := s.Get(k); return err }},
		{"View", func(s *feox.Store, k []byte) error { return s.View(k, func([]byte) error { return nil }) }},
		{"Size", func(s *feox.Store, k []byte) error { _, err := s.Size(k); return err }},
		{"Delete", func(s *feox.Store, k []byte) error { return s.Delete(k) }},
		{"DeleteWithTimestamp", func(s *feox.Store, k []byte) error { return s.DeleteWithTimestamp(k, 0) }},
		{"JSONPatch", func(s *feox.Store, k []byte) error {
			return s.JSONPatch(k, []byte(`[{"op":"replace","path":"","value":7}]`))
		}},
		{"Increment", func(s *feox.Store, k []byte) error { _, err := s.Increment(k, 1); return err }},
		{"CompareAndSwap", func(s *feox.Store, k []byte) error {
			ok, err := s.CompareAndSwap(k, v, []byte("x"))
			if err == nil && !ok {
				return errNotSwapped
			}
			return err
		}},
		{"TTL", func(s *feox.Store, k []byte) error { _, err := s.TTL(k); return err }},
		{"UpdateTTL", func(s *feox.Store, k []byte) error { return s.UpdateTTL(k, time.Hour) }},
		{"Persist", func(s *feox.Store, k []byte) error { return s.Persist(k) }},
	}
}

// TestStore_KeySize ensures that every key-taking method rejects an empty key and a key of
// MaxKeySize+1 with ErrInvalidKey, changing nothing, and accepts a key of exactly MaxKeySize.
func TestStore_KeySize(t *testing.T) {
	maxKey := bytes.Repeat([]byte{0xAB}, feox.MaxKeySize)
	long := bytes.Repeat([]byte{0xAB}, feox.MaxKeySize+1)
	invalid := map[string][]byte{"nil": nil, "empty": {}, "MaxKeySize+1": long}
	for _, op := range keyOps() {
		t.Run(op.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			if _, err := s.Insert(maxKey, []byte("12345678")); err != nil {
				t.Fatalf("Insert of a MaxKeySize key: %v", err)
			}
			before := s.Stats()
			for name, k := range invalid {
				if err := op.call(s, k); !errors.Is(err, feox.ErrInvalidKey) {
					t.Errorf("%s key: %v, want ErrInvalidKey", name, err)
				}
			}
			if after := s.Stats(); countsOf(after) != countsOf(before) || after.Keys != before.Keys ||
				after.MemoryBytes != before.MemoryBytes {
				t.Errorf("calls with invalid keys changed Stats from %+v to %+v", before, after)
			}
			if s.Len() != 1 {
				t.Errorf("Len = %d after calls with invalid keys, want 1", s.Len())
			}
			if err := op.call(s, maxKey); err != nil {
				t.Errorf("MaxKeySize key: %v, want success", err)
			}
		})
	}
	t.Run("Contains", func(t *testing.T) {
		s := openStore(t, feox.Options{})
		if _, err := s.Insert(maxKey, nil); err != nil {
			t.Fatal(err)
		}
		for name, k := range invalid {
			if s.Contains(k) {
				t.Errorf("Contains(%s key) = true", name)
			}
		}
		if !s.Contains(maxKey) {
			t.Error("Contains(MaxKeySize key) = false")
		}
		kvs, err := s.Range(nil, nil, 10)
		if err != nil || len(kvs) != 1 || !bytes.Equal(kvs[0].Key, maxKey) {
			t.Errorf("Range over a MaxKeySize key: %d results, %v", len(kvs), err)
		}
	})
}

// valueOp is a value-taking method storing value under key. When absent is set it stores
// only into an absent key, so the test deletes the key first.
type valueOp struct {
	name   string
	absent bool
	call   func(s *feox.Store, key, value []byte) error
}

func valueOps() []valueOp {
	return []valueOp{
		{"Insert", false, func(s *feox.Store, k, v []byte) error { _, err := s.Insert(k, v); return err }},
		{"InsertWithTTL", false, func(s *feox.Store, k, v []byte) error { _, err := s.InsertWithTTL(k, v, time.Hour); return err }},
		{"InsertWithTimestamp", false, func(s *feox.Store, k, v []byte) error { _, err := s.InsertWithTimestamp(k, v, 0); return err }},
		{"InsertIfAbsent", true, func(s *feox.Store, k, v []byte) error {
			ok, err := s.InsertIfAbsent(k, v)
			if err == nil && !ok {
				return errNotSwapped
			}
			return err
		}},
		{"CompareAndSwap", false, func(s *feox.Store, k, v []byte) error {
			old, err := s.Get(k)
			if err != nil {
				return err
			}
			ok, err := s.CompareAndSwap(k, old, v)
			if err == nil && !ok {
				return errNotSwapped
			}
			return err
		}},
	}
}

// TestStore_ValueSize ensures that a value of MaxValueSize is stored, one byte more fails with
// ErrInvalidValue leaving the key as it was, and an empty value is stored as an empty value.
func TestStore_ValueSize(t *testing.T) {
	maxValue := make([]byte, feox.MaxValueSize)
	maxValue[len(maxValue)-1] = 0x5A
	tooLong := make([]byte, feox.MaxValueSize+1)
	for _, op := range valueOps() {
		t.Run(op.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			k := []byte("k")
			prepare := func() {
				t.Helper()
				mustInsert(t, s, "k", "old")
				if op.absent {
					if err := s.Delete(k); err != nil {
						t.Fatal(err)
					}
				}
			}
			prepare()
			if err := op.call(s, k, tooLong); !errors.Is(err, feox.ErrInvalidValue) {
				t.Errorf("MaxValueSize+1: %v, want ErrInvalidValue", err)
			}
			if op.absent {
				wantAbsent(t, s, "k")
			} else {
				wantValue(t, s, "k", "old")
			}

			// Copying 64 MiB is slow under the race detector: store one only through Insert
			// (every method shares the size check the +1 case above covers).
			if op.name == "Insert" {
				prepare()
				if err := op.call(s, k, maxValue); err != nil {
					t.Fatalf("MaxValueSize: %v", err)
				}
				if n, err := s.Size(k); err != nil || n != feox.MaxValueSize {
					t.Fatalf("Size after storing MaxValueSize bytes = %d, %v", n, err)
				}
				err := s.View(k, func(v []byte) error {
					if v[0] != 0 || v[len(v)-1] != 0x5A {
						t.Error("the MaxValueSize value read back differs")
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}

			for _, empty := range [][]byte{{}, nil} {
				prepare()
				if err := op.call(s, k, empty); err != nil {
					t.Fatalf("empty value: %v", err)
				}
				got, err := s.Get(k)
				if err != nil || len(got) != 0 {
					t.Fatalf("Get of an empty value = %q, %v; want empty, nil", got, err)
				}
				if n, err := s.Size(k); err != nil || n != 0 {
					t.Fatalf("Size of an empty value = %d, %v", n, err)
				}
				if !s.Contains(k) {
					t.Fatal("Contains of a key with an empty value = false")
				}
				called := false
				if err := s.View(k, func(v []byte) error { called = len(v) == 0; return nil }); err != nil || !called {
					t.Fatalf("View of an empty value: err %v, fn called with empty value %v", err, called)
				}
			}
		})
	}
}

// TestStore_NoRetention ensures that the store keeps copies of the keys, values, expected
// values, patches and bounds it is given: the caller may overwrite them as soon as a call
// returns.
func TestStore_NoRetention(t *testing.T) {
	scribble := func(bs ...[]byte) {
		for _, b := range bs {
			for i := range b {
				b[i] = '#'
			}
		}
	}
	tests := []struct {
		name string
		// call writes "v" under "k" (or patches it to 2) with fresh slices it then overwrites.
		call func(t *testing.T, s *feox.Store)
		want string
	}{
		{"Insert", func(t *testing.T, s *feox.Store) {
			k, v := []byte("k"), []byte("value")
			s.Insert(k, v)
			scribble(k, v)
		}, "value"},
		{"InsertWithTTL", func(t *testing.T, s *feox.Store) {
			k, v := []byte("k"), []byte("value")
			s.InsertWithTTL(k, v, time.Hour)
			scribble(k, v)
		}, "value"},
		{"InsertWithTimestamp", func(t *testing.T, s *feox.Store) {
			k, v := []byte("k"), []byte("value")
			s.InsertWithTimestamp(k, v, 5)
			scribble(k, v)
		}, "value"},
		{"InsertIfAbsent", func(t *testing.T, s *feox.Store) {
			k, v := []byte("k"), []byte("value")
			s.InsertIfAbsent(k, v)
			scribble(k, v)
		}, "value"},
		{"CompareAndSwap", func(t *testing.T, s *feox.Store) {
			mustInsert(t, s, "k", "old")
			k, e, v := []byte("k"), []byte("old"), []byte("value")
			if ok, err := s.CompareAndSwap(k, e, v); !ok || err != nil {
				t.Fatalf("CompareAndSwap = %v, %v", ok, err)
			}
			scribble(k, e, v)
		}, "value"},
		{"Increment", func(t *testing.T, s *feox.Store) {
			k := []byte("k")
			s.Increment(k, 0x3030303030303030) // "00000000"
			scribble(k)
		}, "00000000"},
		{"JSONPatch", func(t *testing.T, s *feox.Store) {
			mustInsert(t, s, "k", `1`)
			k, p := []byte("k"), []byte(`[{"op":"replace","path":"","value":2}]`)
			if err := s.JSONPatch(k, p); err != nil {
				t.Fatal(err)
			}
			scribble(k, p)
		}, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			tt.call(t, s)
			wantValue(t, s, "k", tt.want)
			if s.Contains([]byte("#")) || s.Len() != 1 {
				t.Errorf("the store follows the caller's key bytes: Len %d", s.Len())
			}
			kvs, err := s.Range(nil, nil, 10)
			if err != nil || len(kvs) != 1 || string(kvs[0].Key) != "k" {
				t.Errorf("Range = %q, %v; want the single key k", kvs, err)
			}
		})
	}
	t.Run("Scan bounds", func(t *testing.T) {
		s := openStore(t, feox.Options{})
		for _, k := range []string{"a", "b", "c", "d"} {
			mustInsert(t, s, k, k)
		}
		start, end := []byte("b"), []byte("c")
		seq := s.Scan(start, end)
		scribble(start, end) // '#' sorts before every key: a retained bound would change the range
		var got []string
		for k := range seq {
			got = append(got, string(k))
		}
		if strings.Join(got, ",") != "b,c" {
			t.Errorf("Scan(b, c) after the caller reused the bounds yielded %q, want [b c]", got)
		}
	})
}
