package feox_test

// Get, View and Size, and the slices Get and Range return.

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/feoxdb/feox-go/pkg/feox"
)

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

// TestStore_View_NilFunc ensures that View with a nil fn returns an error wrapping
// ErrInvalidValue instead of panicking, whether the key is present or absent, in memory-only
// and persistent stores (value in memory or only on disk), without counting a read; and that
// ErrClosed and ErrInvalidKey come before it.
func TestStore_View_NilFunc(t *testing.T) {
	stores := []struct {
		name string
		opts func(t *testing.T) feox.Options
	}{
		{"mode=memory", func(*testing.T) feox.Options { return feox.Options{} }},
		{"mode=persistent", func(t *testing.T) feox.Options {
			return feox.Options{Path: filepath.Join(t.TempDir(), "data.feox")}
		}},
		{"mode=persistent/cache=off", func(t *testing.T) feox.Options {
			return feox.Options{Path: filepath.Join(t.TempDir(), "data.feox"), DisableCache: true}
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := openStore(t, st.opts(t))
			mustInsert(t, s, "present", "value")
			mustInsert(t, s, "deleted", "value")
			if err := s.Delete([]byte("deleted")); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			// With the cache off the flushed value is on disk only, so a View that reached
			// the read would go to the file.
			if err := s.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}

			f := func(key string) {
				t.Helper()
				before := s.Stats()
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("View(%q, nil) panicked: %v", key, p)
						}
					}()
					err = s.View([]byte(key), nil)
				}()
				if !errors.Is(err, feox.ErrInvalidValue) {
					t.Fatalf("View(%q, nil) = %v, want an error wrapping ErrInvalidValue", key, err)
				}
				if errors.Is(err, feox.ErrNotFound) {
					t.Fatalf("View(%q, nil) = %v, which also matches ErrNotFound", key, err)
				}
				after := s.Stats()
				if after.Gets != before.Gets || after.GetMisses != before.GetMisses {
					t.Fatalf("View(%q, nil) counted a read: Gets %d -> %d, GetMisses %d -> %d",
						key, before.Gets, after.Gets, before.GetMisses, after.GetMisses)
				}
			}
			f("present")
			f("absent")
			f("deleted")

			// The key is untouched and a View with a function still reads it.
			var got string
			if err := s.View([]byte("present"), func(v []byte) error {
				got = string(v)
				return nil
			}); err != nil || got != "value" {
				t.Fatalf("View(present) after the nil calls = %q, %v; want \"value\", nil", got, err)
			}

			// An invalid key is reported before the nil function.
			for _, key := range [][]byte{nil, {}, make([]byte, feox.MaxKeySize+1)} {
				if err := s.View(key, nil); !errors.Is(err, feox.ErrInvalidKey) {
					t.Fatalf("View(key of %d bytes, nil) = %v, want ErrInvalidKey", len(key), err)
				}
			}

			// After Close, ErrClosed is reported before the nil function.
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for _, key := range []string{"present", "absent"} {
				if err := s.View([]byte(key), nil); !errors.Is(err, feox.ErrClosed) {
					t.Fatalf("View(%q, nil) after Close = %v, want ErrClosed", key, err)
				}
			}
		})
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
