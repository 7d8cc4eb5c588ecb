package feox_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/pkg/feox"
)

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
