package feox_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestOpen_InvalidOptions ensures that every out-of-range option makes Open fail with an error
// that wraps ErrInvalidOption and names the field.
func TestOpen_InvalidOptions(t *testing.T) {
	pipe := func(p feox.PipelineOptions) feox.Options { return feox.Options{Pipeline: p} }
	tests := []struct {
		name  string
		field string
		opts  feox.Options
	}{
		{"negative FileSize", "FileSize", feox.Options{FileSize: -1}},
		{"negative MaxMemory", "MaxMemory", feox.Options{MaxMemory: -1}},
		{"negative Shards", "Shards", pipe(feox.PipelineOptions{Shards: -1})},
		{"too many Shards", "Shards", pipe(feox.PipelineOptions{Shards: feox.MaxShards + 1})},
		{"negative RingSize", "RingSize", pipe(feox.PipelineOptions{RingSize: -1})},
		{"RingSize above 1<<20", "RingSize", pipe(feox.PipelineOptions{RingSize: 1<<20 + 1})},
		{"negative BatchEntries", "BatchEntries", pipe(feox.PipelineOptions{BatchEntries: -1})},
		{"negative BatchBytes", "BatchBytes", pipe(feox.PipelineOptions{BatchBytes: -1})},
		{"negative FlushInterval", "FlushInterval", pipe(feox.PipelineOptions{FlushInterval: -time.Nanosecond})},
		{"negative QueueDepth", "QueueDepth", pipe(feox.PipelineOptions{QueueDepth: -1})},
		{"QueueDepth above the maximum", "QueueDepth", pipe(feox.PipelineOptions{QueueDepth: feox.MaxQueueDepth + 1})},
		{"unknown IO mode", "IO", pipe(feox.PipelineOptions{IO: feox.IOPwrite + 1})},
		{"negative IO mode", "IO", pipe(feox.PipelineOptions{IO: -1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := openIO(tt.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want ErrInvalidOption", tt.opts)
			}
			if s != nil {
				t.Errorf("Open returned a non-nil store with error %v", err)
			}
			if !errors.Is(err, feox.ErrInvalidOption) {
				t.Errorf("Open error %v does not wrap ErrInvalidOption", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Open error %q does not name the field %s", err, tt.field)
			}
		})
	}
}

// TestOpen_ValidOptions ensures that the zero Options and options at the edges of their ranges
// open a working store.
func TestOpen_ValidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts feox.Options
	}{
		{"zero", feox.Options{}},
		{"RingSize 1<<20", feox.Options{Pipeline: feox.PipelineOptions{RingSize: 1 << 20}}},
		{"RingSize not a power of two", feox.Options{Pipeline: feox.PipelineOptions{RingSize: 1000}}},
		{"QueueDepth at the maximum", feox.Options{Pipeline: feox.PipelineOptions{QueueDepth: feox.MaxQueueDepth}}},
		{"Shards at the maximum", feox.Options{Pipeline: feox.PipelineOptions{Shards: feox.MaxShards}}},
		{"IOPwrite", feox.Options{Pipeline: feox.PipelineOptions{IO: feox.IOPwrite}}},
		{"negative TTLSweepInterval", feox.Options{TTLSweepInterval: -time.Second}},
		{"tiny MaxMemory", feox.Options{MaxMemory: 1}},
		{"every field set", feox.Options{FileSize: 1 << 20, MaxMemory: 1 << 20, DisableCache: true,
			TTLSweepInterval: time.Millisecond, Pipeline: feox.PipelineOptions{Shards: 3, RingSize: 7,
				BatchEntries: 1, BatchBytes: 1, FlushInterval: time.Microsecond, DisableCoalesce: true,
				IO: feox.IOAuto, QueueDepth: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, tt.opts)
			if err := s.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			if s.Len() != 0 || s.MemoryUsage() != 0 {
				t.Errorf("new store: Len = %d, MemoryUsage = %d; want 0, 0", s.Len(), s.MemoryUsage())
			}
		})
	}
}

// TestIOMode_String ensures the flag names of the I/O modes.
func TestIOMode_String(t *testing.T) {
	for m, want := range map[feox.IOMode]string{
		feox.IOAuto: "auto", feox.IOUring: "uring", feox.IOPwrite: "pwrite", 7: "IOMode(7)",
	} {
		if got := m.String(); got != want {
			t.Errorf("IOMode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}

// TestStore_Close_Idempotent ensures that Close may be called again, also concurrently, and
// always returns nil.
func TestStore_Close_Idempotent(t *testing.T) {
	s, err := openIO(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, "k", "v")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Close() })
	}
	wg.Wait()
	errs = append(errs, s.Close())
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close call %d: %v", i, err)
		}
	}
}

// closedStoreCalls lists every error-returning method of s, each called with valid arguments
// for a key "k" that holds an 8-byte JSON number.
func closedStoreCalls(s *feox.Store) []struct {
	name string
	call func() error
} {
	k, v := []byte("k"), []byte("12345678")
	patch := []byte(`[{"op":"replace","path":"","value":1}]`)
	return []struct {
		name string
		call func() error
	}{
		{"Insert", func() error { _, err := s.Insert(k, v); return err }},
		{"InsertWithTTL", func() error { _, err := s.InsertWithTTL(k, v, time.Hour); return err }},
		{"InsertWithTimestamp", func() error { _, err := s.InsertWithTimestamp(k, v, 0); return err }},
		{"InsertIfAbsent", func() error { _, err := s.InsertIfAbsent([]byte("new"), v); return err }},
		{"Get", func() error { _, err := s.Get(k); return err }},
		{"View", func() error { return s.View(k, func([]byte) error { return nil }) }},
		{"Size", func() error { _, err := s.Size(k); return err }},
		{"Delete", func() error { return s.Delete(k) }},
		{"DeleteWithTimestamp", func() error { return s.DeleteWithTimestamp(k, 0) }},
		{"JSONPatch", func() error { return s.JSONPatch(k, patch) }},
		{"Increment", func() error { _, err := s.Increment(k, 1); return err }},
		{"CompareAndSwap", func() error { _, err := s.CompareAndSwap(k, v, v); return err }},
		{"TTL", func() error { _, err := s.TTL(k); return err }},
		{"UpdateTTL", func() error { return s.UpdateTTL(k, time.Hour) }},
		{"Persist", func() error { return s.Persist(k) }},
		{"Range", func() error { _, err := s.Range(nil, nil, 10); return err }},
		{"Flush", s.Flush},
	}
}

// TestStore_AfterClose ensures that every method returns ErrClosed after Close, Contains
// returns false, Len returns 0, Scan yields nothing, and Stats keeps the last counters.
func TestStore_AfterClose(t *testing.T) {
	s, err := openIO(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, "k", "12345678")
	mustInsert(t, s, "j", "x")
	if _, err := s.Get([]byte("k")); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, c := range closedStoreCalls(s) {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, feox.ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", c.name, err)
			}
		})
	}
	if s.Contains([]byte("k")) {
		t.Error("Contains after Close = true")
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len after Close = %d, want 0", n)
	}
	for k := range s.Scan(nil, nil) {
		t.Errorf("Scan after Close yielded %q", k)
	}
	after := s.Stats()
	if after.Gets != before.Gets || after.Inserts != before.Inserts || after.Updates != before.Updates ||
		after.Deletes != before.Deletes || after.Ranges != before.Ranges || after.GetMisses != before.GetMisses {
		t.Errorf("Stats after Close = %+v, want the counters of %+v (failed calls count nothing)", after, before)
	}
}

// TestStore_Close_StopsScan ensures that a Scan running when the store is closed stops.
func TestStore_Close_StopsScan(t *testing.T) {
	s, err := openIO(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		mustInsert(t, s, string(rune('a'+i%26))+strings.Repeat("x", i/26), "v")
	}
	n := 0
	for range s.Scan(nil, nil) {
		n++
		if n == 1 {
			s.Close()
		}
		if n > 300 {
			t.Fatal("Scan did not stop")
		}
	}
	if n == 300 {
		t.Error("Scan yielded every key although the store was closed after the first")
	}
}

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

// TestStore_ReturnedSlicesBelongToCaller ensures that the slices from Get and Range may be
// modified and appended to without changing the store or each other.
func TestStore_ReturnedSlicesBelongToCaller(t *testing.T) {
	s := openStore(t, feox.Options{})
	mustInsert(t, s, "key", "value")
	v, err := s.Get([]byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	wantValue(t, s, "key", "value")

	kvs, err := s.Range(nil, nil, 1)
	if err != nil || len(kvs) != 1 {
		t.Fatalf("Range = %v, %v", kvs, err)
	}
	copy(kvs[0].Value, "XXXXX")
	kvs[0].Key = append(kvs[0].Key, "-appended-to-the-key"...)
	copy(kvs[0].Key, "XXX")
	wantValue(t, s, "key", "value")
	if string(kvs[0].Value) != "XXXXX" {
		t.Errorf("appending to a Range key changed its value slice to %q", kvs[0].Value)
	}
	again, _ := s.Range(nil, nil, 1)
	if string(again[0].Key) != "key" || string(again[0].Value) != "value" {
		t.Errorf("Range after modifying an earlier result = %q", again)
	}
}

// TestStore_Insert_Created ensures the created result of Insert and its variants.
func TestStore_Insert_Created(t *testing.T) {
	for _, op := range []struct {
		name string
		call func(s *feox.Store, k, v []byte) (bool, error)
	}{
		{"Insert", func(s *feox.Store, k, v []byte) (bool, error) { return s.Insert(k, v) }},
		{"InsertWithTTL", func(s *feox.Store, k, v []byte) (bool, error) { return s.InsertWithTTL(k, v, time.Hour) }},
		{"InsertWithTimestamp", func(s *feox.Store, k, v []byte) (bool, error) { return s.InsertWithTimestamp(k, v, 0) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			s := openStore(t, noSweep())
			k := []byte("k")
			step := func(v string, want bool) {
				t.Helper()
				created, err := op.call(s, k, []byte(v))
				if err != nil || created != want {
					t.Fatalf("%s(k, %q) = %v, %v; want %v, nil", op.name, v, created, err, want)
				}
				wantValue(t, s, "k", v)
			}
			step("1", true)
			step("2", false)
			if err := s.Delete(k); err != nil {
				t.Fatal(err)
			}
			step("3", true)
			mustInsertTTL(t, s, "k", "short", 20*time.Millisecond)
			waitExpired(t, s, "k")
			step("4", true) // an expired key counts as absent
			if s.Len() != 1 {
				t.Errorf("Len = %d, want 1", s.Len())
			}
		})
	}
}

// TestStore_InsertIfAbsent ensures InsertIfAbsent sets only absent or expired keys.
func TestStore_InsertIfAbsent(t *testing.T) {
	s := openStore(t, noSweep())
	k := []byte("k")
	ok, err := s.InsertIfAbsent(k, []byte("first"))
	if !ok || err != nil {
		t.Fatalf("InsertIfAbsent(absent) = %v, %v", ok, err)
	}
	ok, err = s.InsertIfAbsent(k, []byte("second"))
	if ok || err != nil {
		t.Fatalf("InsertIfAbsent(present) = %v, %v; want false, nil", ok, err)
	}
	wantValue(t, s, "k", "first")
	mustInsertTTL(t, s, "k", "short", 20*time.Millisecond)
	waitExpired(t, s, "k")
	ok, err = s.InsertIfAbsent(k, []byte("third"))
	if !ok || err != nil {
		t.Fatalf("InsertIfAbsent(expired) = %v, %v; want true, nil", ok, err)
	}
	wantValue(t, s, "k", "third")
	if ttl, err := s.TTL(k); err != nil || ttl != feox.NoExpiry {
		t.Errorf("TTL after InsertIfAbsent over an expired key = %v, %v; want NoExpiry", ttl, err)
	}
}

// TestStore_CompareAndSwap ensures CompareAndSwap on absent, mismatching, matching and expired
// keys, and that a swap clears the expiry.
func TestStore_CompareAndSwap(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, s *feox.Store)
		expected    string
		wantSwapped bool
		wantValue   string // "" with !wantPresent: the key stays absent
		wantPresent bool
	}{
		{"absent", func(*testing.T, *feox.Store) {}, "", false, "", false},
		{"mismatch", func(t *testing.T, s *feox.Store) { mustInsert(t, s, "k", "cur") }, "other", false, "cur", true},
		{"prefix mismatch", func(t *testing.T, s *feox.Store) { mustInsert(t, s, "k", "cur") }, "cu", false, "cur", true},
		{"match", func(t *testing.T, s *feox.Store) { mustInsert(t, s, "k", "cur") }, "cur", true, "new", true},
		{"match empty", func(t *testing.T, s *feox.Store) { mustInsert(t, s, "k", "") }, "", true, "new", true},
		{"match with expiry", func(t *testing.T, s *feox.Store) { mustInsertTTL(t, s, "k", "cur", time.Hour) }, "cur", true, "new", true},
		{"expired", func(t *testing.T, s *feox.Store) {
			mustInsertTTL(t, s, "k", "cur", 20*time.Millisecond)
			waitExpired(t, s, "k")
		}, "cur", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, noSweep())
			tt.setup(t, s)
			ok, err := s.CompareAndSwap([]byte("k"), []byte(tt.expected), []byte("new"))
			if err != nil || ok != tt.wantSwapped {
				t.Fatalf("CompareAndSwap = %v, %v; want %v, nil", ok, err, tt.wantSwapped)
			}
			if !tt.wantPresent {
				wantAbsent(t, s, "k")
				return
			}
			wantValue(t, s, "k", tt.wantValue)
			if tt.wantSwapped {
				if ttl, err := s.TTL([]byte("k")); err != nil || ttl != feox.NoExpiry {
					t.Errorf("TTL after a swap = %v, %v; want NoExpiry", ttl, err)
				}
			}
		})
	}
}

// TestStore_Increment ensures Increment's arithmetic, its errors and that it keeps the expiry.
func TestStore_Increment(t *testing.T) {
	const maxI, minI = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	tests := []struct {
		name    string
		initial []byte // nil: absent
		delta   int64
		want    int64
		wantErr error
	}{
		{"absent starts at delta", nil, 5, 5, nil},
		{"absent with zero delta", nil, 0, 0, nil},
		{"absent with the minimum delta", nil, minI, minI, nil},
		{"add", counter(40), 2, 42, nil},
		{"subtract below zero", counter(5), -7, -2, nil},
		{"reach the maximum", counter(maxI - 1), 1, maxI, nil},
		{"reach the minimum", counter(minI + 1), -1, minI, nil},
		{"zero delta at the maximum", counter(maxI), 0, maxI, nil},
		{"overflow at the top", counter(maxI), 1, 0, feox.ErrOverflow},
		{"overflow at the top by a large delta", counter(1), maxI, 0, feox.ErrOverflow},
		{"overflow at the bottom", counter(minI), -1, 0, feox.ErrOverflow},
		{"overflow at the bottom by the minimum delta", counter(-1), minI, 0, feox.ErrOverflow},
		{"empty value", []byte{}, 1, 0, feox.ErrNotCounter},
		{"7-byte value", []byte("1234567"), 1, 0, feox.ErrNotCounter},
		{"9-byte value", []byte("123456789"), 1, 0, feox.ErrNotCounter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			k := []byte("k")
			if tt.initial != nil {
				if _, err := s.Insert(k, tt.initial); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Increment(k, tt.delta)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Increment = %d, %v; want %v", got, err, tt.wantErr)
				}
				wantValue(t, s, "k", string(tt.initial)) // a failed operation changes nothing
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Increment = %d, %v; want %d", got, err, tt.want)
			}
			wantValue(t, s, "k", string(counter(tt.want)))
		})
	}
	t.Run("keeps the expiry", func(t *testing.T) {
		s := openStore(t, feox.Options{})
		k := []byte("k")
		if _, err := s.InsertWithTTL(k, counter(1), time.Hour); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Increment(k, 1); err != nil || n != 2 {
			t.Fatalf("Increment = %d, %v", n, err)
		}
		if ttl, err := s.TTL(k); err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("TTL after Increment = %v, %v; want in (0, 1h]", ttl, err)
		}
	})
}

// TestStore_Size ensures Size reports the value length and ErrNotFound for an absent key.
func TestStore_Size(t *testing.T) {
	s := openStore(t, feox.Options{})
	for _, n := range []int{0, 1, 100, 4096} {
		if _, err := s.Insert([]byte("k"), make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Size([]byte("k")); err != nil || got != n {
			t.Errorf("Size of a %d-byte value = %d, %v", n, got, err)
		}
	}
	if _, err := s.Size([]byte("absent")); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("Size(absent) error = %v, want ErrNotFound", err)
	}
}

// TestStore_Delete ensures Delete removes a present key and reports ErrNotFound for an absent
// or already deleted one.
func TestStore_Delete(t *testing.T) {
	s := openStore(t, feox.Options{})
	mustInsert(t, s, "k", "v")
	mustInsert(t, s, "j", "w")
	if err := s.Delete([]byte("k")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, "k")
	wantValue(t, s, "j", "w")
	if err := s.Delete([]byte("k")); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete([]byte("never")); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("Delete(never stored): %v, want ErrNotFound", err)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
}

// errFromView is returned by View callbacks to check that View returns it unchanged.
type errFromView struct{ n int }

func (e *errFromView) Error() string { return "callback error" }

// TestStore_View ensures that View passes the stored bytes without copying, returns fn's error
// as is, reports ErrNotFound without calling fn, and lets fn call read methods.
func TestStore_View(t *testing.T) {
	s := openStore(t, feox.Options{})
	mustInsert(t, s, "k", "value")
	mustInsert(t, s, "j", "other")

	var first, second *byte
	if err := s.View([]byte("k"), func(v []byte) error { first = unsafe.SliceData(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.View([]byte("k"), func(v []byte) error { second = unsafe.SliceData(v); return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get([]byte("k"))
	if first != second {
		t.Error("two Views of an unchanged key saw different copies: View is not zero-copy")
	}
	if unsafe.SliceData(got) == first {
		t.Error("Get returned the stored bytes instead of a copy")
	}

	want := &errFromView{n: 7}
	if err := s.View([]byte("k"), func([]byte) error { return want }); err != error(want) {
		t.Errorf("View returned %v (%T), want fn's error as is", err, err)
	}

	called := false
	if err := s.View([]byte("absent"), func([]byte) error { called = true; return nil }); !errors.Is(err, feox.ErrNotFound) || called {
		t.Errorf("View(absent) = %v, fn called %v; want ErrNotFound without calling fn", err, called)
	}

	err := s.View([]byte("k"), func(v []byte) error {
		other, err := s.Get([]byte("j"))
		if err != nil || string(other) != "other" {
			t.Errorf("Get inside View = %q, %v", other, err)
		}
		same, err := s.Get([]byte("k"))
		if err != nil || string(same) != "value" {
			t.Errorf("Get of the viewed key inside View = %q, %v", same, err)
		}
		if !s.Contains([]byte("j")) {
			t.Error("Contains inside View = false")
		}
		n := 0
		for range s.Scan(nil, nil) {
			n++
		}
		if n != 2 {
			t.Errorf("Scan inside View saw %d keys, want 2", n)
		}
		return s.View([]byte("j"), func(w []byte) error {
			if string(w) != "other" {
				t.Errorf("nested View = %q", w)
			}
			return nil
		})
	})
	if err != nil {
		t.Errorf("View with reads inside: %v", err)
	}
}

// TestStore_View_WritersNotBlocked ensures that a writer of the viewed key, in another
// goroutine, completes while the View callback is still running, and that the callback's
// slice keeps the old value meanwhile.
func TestStore_View_WritersNotBlocked(t *testing.T) {
	s := openStore(t, feox.Options{})
	mustInsert(t, s, "k", "old")
	done := make(chan error)
	err := s.View([]byte("k"), func(v []byte) error {
		go func() {
			if _, err := s.Insert([]byte("k"), []byte("new")); err != nil {
				done <- err
				return
			}
			if _, err := s.Insert([]byte("other"), []byte("x")); err != nil {
				done <- err
				return
			}
			done <- s.Delete([]byte("other"))
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("writer during View: %v", err)
			}
		case <-time.After(waitBound):
			t.Fatal("a writer stayed blocked while a View callback ran")
		}
		if string(v) != "old" {
			t.Errorf("the View slice changed to %q while fn ran", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "k", "new")
}

// TestStore_MemoryUsage ensures that MemoryUsage is key + value bytes + a fixed per-key
// overhead, growing and shrinking with the data.
func TestStore_MemoryUsage(t *testing.T) {
	c := recordOverhead(t)
	s := openStore(t, feox.Options{})
	want := int64(0)
	check := func(what string) {
		t.Helper()
		if got := s.MemoryUsage(); got != want {
			t.Fatalf("after %s: MemoryUsage = %d, want %d", what, got, want)
		}
		if got := s.Stats().MemoryBytes; got != want {
			t.Fatalf("after %s: Stats.MemoryBytes = %d, want %d", what, got, want)
		}
	}
	check("open")
	mustInsert(t, s, "alpha", "0123456789")
	want += c + 5 + 10
	check("a first insert")
	mustInsert(t, s, "b", "")
	want += c + 1
	check("a second insert with an empty value")
	mustInsert(t, s, "alpha", "01234567890123456789")
	want += 10
	check("growing a value")
	mustInsert(t, s, "alpha", "0")
	want -= 19
	check("shrinking a value")
	if _, err := s.Increment([]byte("ctr"), 1); err != nil {
		t.Fatal(err)
	}
	want += c + 3 + 8
	check("creating a counter")
	if err := s.Delete([]byte("alpha")); err != nil {
		t.Fatal(err)
	}
	want -= c + 5 + 1
	check("a delete")
	for _, k := range []string{"b", "ctr"} {
		if err := s.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	want = 0
	check("deleting every key")
}

// TestStore_MaxMemory ensures that in memory-only mode a write that would take MemoryUsage
// past MaxMemory fails with ErrOutOfMemory and changes nothing, for every kind of write.
func TestStore_MaxMemory(t *testing.T) {
	c := recordOverhead(t)
	const keyLen, valLen = 2, 10
	per := c + keyLen + valLen
	s := openStore(t, feox.Options{MaxMemory: 3 * per})
	for _, k := range []string{"k0", "k1"} {
		mustInsert(t, s, k, "0123456789")
	}
	mustInsert(t, s, "k2", "[1,2,3,44]") // 10 bytes of JSON
	if got := s.MemoryUsage(); got != 3*per {
		t.Fatalf("MemoryUsage = %d, want %d (exactly MaxMemory is allowed)", got, 3*per)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Insert of a new key", func() error { _, err := s.Insert([]byte("n"), nil); return err }},
		{"InsertWithTTL of a new key", func() error { _, err := s.InsertWithTTL([]byte("n"), nil, time.Hour); return err }},
		{"InsertWithTimestamp of a new key", func() error { _, err := s.InsertWithTimestamp([]byte("n"), nil, 7); return err }},
		{"InsertIfAbsent", func() error { _, err := s.InsertIfAbsent([]byte("n"), nil); return err }},
		{"Increment of a new key", func() error { _, err := s.Increment([]byte("n"), 1); return err }},
		{"Insert growing a value", func() error { _, err := s.Insert([]byte("k0"), []byte("0123456789A")); return err }},
		{"InsertWithTimestamp growing a value", func() error { _, err := s.InsertWithTimestamp([]byte("k0"), []byte("0123456789A"), 0); return err }},
		{"CompareAndSwap growing a value", func() error {
			_, err := s.CompareAndSwap([]byte("k1"), []byte("0123456789"), []byte("0123456789A"))
			return err
		}},
		{"JSONPatch growing a value", func() error {
			return s.JSONPatch([]byte("k2"), []byte(`[{"op":"add","path":"/-","value":5}]`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats()
			if err := tt.call(); !errors.Is(err, feox.ErrOutOfMemory) {
				t.Fatalf("got %v, want ErrOutOfMemory", err)
			}
			if got := s.MemoryUsage(); got != 3*per {
				t.Errorf("MemoryUsage = %d after a refused write, want %d", got, 3*per)
			}
			if s.Len() != 3 || s.Contains([]byte("n")) {
				t.Errorf("a refused write changed the key set: Len %d", s.Len())
			}
			wantValue(t, s, "k0", "0123456789")
			wantValue(t, s, "k1", "0123456789")
			wantValue(t, s, "k2", "[1,2,3,44]")
			after := s.Stats()
			if after.Inserts != before.Inserts || after.Updates != before.Updates {
				t.Errorf("a refused write counted as a write: %+v -> %+v", before, after)
			}
		})
	}
	// Writes that do not grow memory still succeed at the limit.
	if _, err := s.Insert([]byte("k0"), []byte("abcdefghij")); err != nil {
		t.Errorf("same-size update at the limit: %v", err)
	}
	if _, err := s.Insert([]byte("k0"), []byte("short")); err != nil {
		t.Errorf("shrinking update at the limit: %v", err)
	}
	if _, err := s.Insert([]byte("k0"), []byte("0123456789")); err != nil {
		t.Errorf("growing back into the freed room: %v", err)
	}
	if err := s.UpdateTTL([]byte("k0"), time.Hour); err != nil {
		t.Errorf("UpdateTTL at the limit: %v", err)
	}
	if err := s.Delete([]byte("k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert([]byte("k9"), []byte("0123456789")); err != nil {
		t.Errorf("insert after a delete freed room: %v", err)
	}
}

// TestStore_MaxMemory_ConcurrentCreators ensures that concurrent creators can never jointly
// pass MaxMemory: with room for exactly N records, exactly N creations succeed.
func TestStore_MaxMemory_ConcurrentCreators(t *testing.T) {
	c := recordOverhead(t)
	const n, workers, perWorker = 40, 8, 25
	value := make([]byte, 16)
	per := c + 6 + int64(len(value)) // keys are 6 bytes
	s := openStore(t, feox.Options{MaxMemory: n * per})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range perWorker {
				key := []byte{'c', byte('0' + w), byte('0' + i/10), byte('0' + i%10), '-', 'x'}
				_, err := s.Insert(key, value)
				switch {
				case err == nil:
					mu.Lock()
					succeeded++
					mu.Unlock()
				case !errors.Is(err, feox.ErrOutOfMemory):
					t.Errorf("Insert: %v, want nil or ErrOutOfMemory", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if succeeded != n {
		t.Errorf("%d creations succeeded, want exactly %d", succeeded, n)
	}
	if s.Len() != n || s.MemoryUsage() != n*per {
		t.Errorf("Len = %d, MemoryUsage = %d; want %d, %d", s.Len(), s.MemoryUsage(), n, n*per)
	}
}

// statCounts are the operation counters of Stats that a test predicts.
type statCounts struct {
	Inserts, Updates, Gets, GetMisses, Deletes, Ranges int64
}

func countsOf(st feox.Stats) statCounts {
	return statCounts{st.Inserts, st.Updates, st.Gets, st.GetMisses, st.Deletes, st.Ranges}
}

func (a statCounts) minus(b statCounts) statCounts {
	return statCounts{a.Inserts - b.Inserts, a.Updates - b.Updates, a.Gets - b.Gets,
		a.GetMisses - b.GetMisses, a.Deletes - b.Deletes, a.Ranges - b.Ranges}
}

// TestStore_Stats ensures that each call moves exactly the counters the contract names, that
// Keys follows Len and MemoryBytes follows MemoryUsage, and that the disk counters of a
// memory-only store stay 0.
func TestStore_Stats(t *testing.T) {
	s := openStore(t, feox.Options{})
	b := func(str string) []byte { return []byte(str) }
	steps := []struct {
		name string
		call func()
		want statCounts
	}{
		{"Insert creating", func() { s.Insert(b("k"), b("v")) }, statCounts{Inserts: 1}},
		{"Insert replacing", func() { s.Insert(b("k"), b("w")) }, statCounts{Updates: 1}},
		{"InsertWithTTL replacing", func() { s.InsertWithTTL(b("k"), b("x"), time.Hour) }, statCounts{Updates: 1}},
		{"InsertWithTimestamp replacing", func() { s.InsertWithTimestamp(b("k"), b("y"), 0) }, statCounts{Updates: 1}},
		{"InsertWithTimestamp creating", func() { s.InsertWithTimestamp(b("t"), b("y"), 10) }, statCounts{Inserts: 1}},
		{"InsertWithTimestamp refused", func() { s.InsertWithTimestamp(b("t"), b("z"), 5) }, statCounts{}},
		{"InsertIfAbsent on a present key", func() { s.InsertIfAbsent(b("k"), b("z")) }, statCounts{}},
		{"InsertIfAbsent creating", func() { s.InsertIfAbsent(b("a"), b("1")) }, statCounts{Inserts: 1}},
		{"CompareAndSwap mismatch", func() { s.CompareAndSwap(b("k"), b("nope"), b("z")) }, statCounts{}},
		{"CompareAndSwap absent", func() { s.CompareAndSwap(b("none"), nil, b("z")) }, statCounts{}},
		{"CompareAndSwap match", func() { s.CompareAndSwap(b("k"), b("y"), b("z")) }, statCounts{Updates: 1}},
		{"Increment creating", func() { s.Increment(b("c"), 1) }, statCounts{Inserts: 1}},
		{"Increment replacing", func() { s.Increment(b("c"), 1) }, statCounts{Updates: 1}},
		{"Increment on a non-counter", func() { s.Increment(b("k"), 1) }, statCounts{}},
		{"JSONPatch replacing", func() { s.JSONPatch(b("a"), b(`[{"op":"replace","path":"","value":2}]`)) }, statCounts{Updates: 1}},
		{"JSONPatch failing", func() { s.JSONPatch(b("a"), b(`[{"op":"test","path":"","value":3}]`)) }, statCounts{}},
		{"UpdateTTL", func() { s.UpdateTTL(b("a"), time.Hour) }, statCounts{}},
		{"Persist", func() { s.Persist(b("a")) }, statCounts{}},
		{"Get hit", func() { s.Get(b("k")) }, statCounts{Gets: 1}},
		{"Get miss", func() { s.Get(b("none")) }, statCounts{Gets: 1, GetMisses: 1}},
		{"Get with an invalid key", func() { s.Get(nil) }, statCounts{}},
		{"View hit", func() { s.View(b("k"), func([]byte) error { return nil }) }, statCounts{Gets: 1}},
		{"View miss", func() { s.View(b("none"), func([]byte) error { return nil }) }, statCounts{Gets: 1, GetMisses: 1}},
		{"Size, Contains and TTL", func() { s.Size(b("k")); s.Contains(b("k")); s.TTL(b("k")) }, statCounts{}},
		{"Range", func() { s.Range(nil, nil, 10) }, statCounts{Ranges: 1}},
		{"Scan", func() {
			for range s.Scan(nil, nil) {
			}
		}, statCounts{Ranges: 1}},
		{"Delete", func() { s.Delete(b("k")) }, statCounts{Deletes: 1}},
		{"Delete of an absent key", func() { s.Delete(b("k")) }, statCounts{}},
		{"DeleteWithTimestamp refused", func() { s.DeleteWithTimestamp(b("t"), 9) }, statCounts{}},
		{"DeleteWithTimestamp", func() { s.DeleteWithTimestamp(b("t"), 11) }, statCounts{Deletes: 1}},
	}
	for _, st := range steps {
		before := s.Stats()
		st.call()
		after := s.Stats()
		if got := countsOf(after).minus(countsOf(before)); got != st.want {
			t.Errorf("%s: counters moved by %+v, want %+v", st.name, got, st.want)
		}
		if after.Keys != int64(s.Len()) || after.MemoryBytes != s.MemoryUsage() {
			t.Errorf("%s: Keys = %d, MemoryBytes = %d; want Len %d, MemoryUsage %d",
				st.name, after.Keys, after.MemoryBytes, s.Len(), s.MemoryUsage())
		}
	}
	st := s.Stats()
	disk := []int64{st.WritesBuffered, st.WritesCoalesced, st.WritesDurable, st.WriteErrors, st.Batches,
		st.Syncs, st.BackpressureWaits, st.DiskBytes, st.DiskLiveBytes, st.BytesWritten, st.BytesRead,
		st.CorruptRecords, st.CacheMisses, st.CacheEvictions}
	for i, v := range disk {
		if v != 0 {
			t.Errorf("disk/pipeline counter %d of a memory-only store = %d, want 0 (%+v)", i, v, st)
		}
	}
}

// TestStore_NoGoroutineLeak ensures that every goroutine a store starts, the TTL sweeper
// included, has ended once Close returns (allowing the runtime a moment to retire them).
func TestStore_NoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	dir := t.TempDir()
	for i, opts := range []feox.Options{{}, {TTLSweepInterval: time.Millisecond}, noSweep(),
		{Path: filepath.Join(dir, "a.feox"), MaxMemory: 1 << 10}, {Path: filepath.Join(dir, "b.feox"), DisableCache: true}} {
		s, err := openIO(opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			k := []byte{byte(i)}
			s.InsertWithTTL(k, k, time.Millisecond)
			s.InsertWithTimestamp(append(k, 'x'), k, uint64(i+1))
			s.DeleteWithTimestamp(append(k, 'x'), 0)
		}
		for range s.Scan(nil, nil) {
			break // an abandoned scan holds nothing either
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Range(nil, nil, 1000); err != nil { // persistent: disk reads on the pool
			t.Fatalf("options %d: Range: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, waitBound, "goroutine count back to its value before Open", func() bool {
		return runtime.NumGoroutine() <= base
	})
}
