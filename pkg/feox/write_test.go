package feox_test

// Insert and its variants, InsertIfAbsent, CompareAndSwap, Increment and Delete on one
// goroutine (ops_test.go races them).

import (
	"errors"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

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
