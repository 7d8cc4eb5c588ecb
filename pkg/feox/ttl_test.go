package feox_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// shortTTL is a TTL that passes during a test; tests wait for it by polling, never by
// asserting how long it took.
const shortTTL = 30 * time.Millisecond

// TestStore_TTL ensures TTL, UpdateTTL and Persist on keys with and without an expiry.
func TestStore_TTL(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	ttlOf := func() time.Duration {
		t.Helper()
		d, err := s.TTL(k)
		if err != nil {
			t.Fatalf("TTL: %v", err)
		}
		return d
	}
	inRange := func(what string, lo, hi time.Duration) {
		t.Helper()
		if d := ttlOf(); d <= lo || d > hi {
			t.Fatalf("%s: TTL = %v, want in (%v, %v]", what, d, lo, hi)
		}
	}

	if _, err := s.TTL(k); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("TTL(absent) error = %v, want ErrNotFound", err)
	}
	if err := s.UpdateTTL(k, time.Hour); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("UpdateTTL(absent) error = %v, want ErrNotFound", err)
	}
	if err := s.Persist(k); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("Persist(absent) error = %v, want ErrNotFound", err)
	}
	wantAbsent(t, s, "k") // the failed calls created nothing

	mustInsert(t, s, "k", "v")
	if d := ttlOf(); d != feox.NoExpiry {
		t.Fatalf("TTL without expiry = %v, want NoExpiry", d)
	}
	if feox.NoExpiry != -1 {
		t.Fatalf("NoExpiry = %d, want -1", feox.NoExpiry)
	}
	before := s.Stats()
	if err := s.Persist(k); err != nil {
		t.Fatalf("Persist without expiry: %v", err)
	}
	if d := ttlOf(); d != feox.NoExpiry {
		t.Fatalf("TTL after Persist of a key without expiry = %v", d)
	}
	if s.Stats().Updates != before.Updates {
		t.Error("Persist of a key without expiry counted as an update")
	}

	for _, ttl := range []time.Duration{0, -1, -time.Hour} {
		mustInsertTTL(t, s, "k", "v", ttl)
		if d := ttlOf(); d != feox.NoExpiry {
			t.Fatalf("InsertWithTTL(%v): TTL = %v, want NoExpiry", ttl, d)
		}
	}

	mustInsertTTL(t, s, "k", "v", time.Hour)
	inRange("InsertWithTTL(1h)", 0, time.Hour)
	if err := s.UpdateTTL(k, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	inRange("UpdateTTL(2h)", time.Hour, 2*time.Hour)
	if err := s.UpdateTTL(k, time.Minute); err != nil {
		t.Fatal(err)
	}
	inRange("UpdateTTL(1m)", 0, time.Minute)
	wantValue(t, s, "k", "v")
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.UpdateTTL(k, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateTTL(k, ttl); err != nil {
			t.Fatalf("UpdateTTL(%v): %v", ttl, err)
		}
		if d := ttlOf(); d != feox.NoExpiry {
			t.Fatalf("UpdateTTL(%v) left TTL = %v, want NoExpiry", ttl, d)
		}
	}
	if err := s.UpdateTTL(k, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Persist(k); err != nil {
		t.Fatal(err)
	}
	if d := ttlOf(); d != feox.NoExpiry {
		t.Fatalf("TTL after Persist = %v, want NoExpiry", d)
	}
	wantValue(t, s, "k", "v")

	// Writes that clear or keep an expiry.
	clearing := map[string]func() error{
		"Insert":              func() error { _, err := s.Insert(k, []byte("v")); return err },
		"InsertWithTimestamp": func() error { _, err := s.InsertWithTimestamp(k, []byte("v"), 0); return err },
		"CompareAndSwap":      func() error { _, err := s.CompareAndSwap(k, []byte("v"), []byte("v")); return err },
	}
	for name, call := range clearing {
		mustInsertTTL(t, s, "k", "v", time.Hour)
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := ttlOf(); d != feox.NoExpiry {
			t.Errorf("%s left TTL = %v, want NoExpiry (it clears the expiry)", name, d)
		}
	}
	if _, err := s.InsertWithTTL(k, []byte(`{"a":1}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.JSONPatch(k, []byte(`[{"op":"add","path":"/b","value":2}]`)); err != nil {
		t.Fatal(err)
	}
	inRange("after JSONPatch (keeps the expiry)", 0, time.Hour)
}

// TestStore_TTL_NeverMoreThanSet ensures that TTL never reports more time than was set.
func TestStore_TTL_NeverMoreThanSet(t *testing.T) {
	s := openStore(t, feox.Options{})
	k := []byte("k")
	for i := range 200 {
		ttl := time.Second + time.Duration(i)*time.Nanosecond*997
		if i%2 == 0 {
			mustInsertTTL(t, s, "k", "v", ttl)
		} else if err := s.UpdateTTL(k, ttl); err != nil {
			t.Fatal(err)
		}
		d, err := s.TTL(k)
		if err != nil || d > ttl || d <= 0 {
			t.Fatalf("TTL after setting %v = %v, %v", ttl, d, err)
		}
	}
}

// TestStore_Expired_Invisible ensures that from its expiry instant a key is invisible to every
// read and treated as absent by every conditional write, whether or not the sweep has removed
// it yet.
func TestStore_Expired_Invisible(t *testing.T) {
	for _, sweep := range []time.Duration{-1, 5 * time.Millisecond} {
		t.Run(fmt.Sprintf("TTLSweepInterval=%v", sweep), func(t *testing.T) {
			s := openStore(t, feox.Options{TTLSweepInterval: sweep})
			checks := []struct {
				name  string
				check func(t *testing.T, k []byte)
			}{
				{"Get", func(t *testing.T, k []byte) {
					if v, err := s.Get(k); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("Get = %q, %v", v, err)
					}
				}},
				{"View", func(t *testing.T, k []byte) {
					called := false
					if err := s.View(k, func([]byte) error { called = true; return nil }); !errors.Is(err, feox.ErrNotFound) || called {
						t.Errorf("View = %v, fn called %v", err, called)
					}
				}},
				{"Size", func(t *testing.T, k []byte) {
					if _, err := s.Size(k); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("Size error = %v", err)
					}
				}},
				{"Contains", func(t *testing.T, k []byte) {
					if s.Contains(k) {
						t.Error("Contains = true")
					}
				}},
				{"Range", func(t *testing.T, k []byte) {
					kvs, err := s.Range(k, k, 10)
					if err != nil || len(kvs) != 0 {
						t.Errorf("Range(k, k) = %q, %v", kvs, err)
					}
					all, _ := s.Range(nil, nil, 1000)
					for _, kv := range all {
						if string(kv.Key) == string(k) {
							t.Error("Range(nil, nil) returned the expired key")
						}
					}
				}},
				{"Scan", func(t *testing.T, k []byte) {
					for key := range s.Scan(nil, nil) {
						if string(key) == string(k) {
							t.Error("Scan yielded the expired key")
						}
					}
				}},
				{"TTL", func(t *testing.T, k []byte) {
					if d, err := s.TTL(k); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("TTL = %v, %v", d, err)
					}
				}},
				{"CompareAndSwap", func(t *testing.T, k []byte) {
					if ok, err := s.CompareAndSwap(k, counter(100), []byte("x")); ok || err != nil {
						t.Errorf("CompareAndSwap = %v, %v; want false, nil", ok, err)
					}
					wantAbsent(t, s, string(k))
				}},
				{"InsertIfAbsent", func(t *testing.T, k []byte) {
					if ok, err := s.InsertIfAbsent(k, []byte("x")); !ok || err != nil {
						t.Errorf("InsertIfAbsent = %v, %v; want true, nil", ok, err)
					}
					wantValue(t, s, string(k), "x")
				}},
				{"Insert", func(t *testing.T, k []byte) {
					if created, err := s.Insert(k, []byte("x")); !created || err != nil {
						t.Errorf("Insert = %v, %v; want created", created, err)
					}
				}},
				{"InsertWithTimestamp with an old timestamp", func(t *testing.T, k []byte) {
					if created, err := s.InsertWithTimestamp(k, []byte("x"), 1); !created || err != nil {
						t.Errorf("InsertWithTimestamp(ts 1) = %v, %v; want created", created, err)
					}
				}},
				{"JSONPatch", func(t *testing.T, k []byte) {
					if err := s.JSONPatch(k, []byte(`[{"op":"replace","path":"","value":1}]`)); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("JSONPatch error = %v, want ErrNotFound", err)
					}
					wantAbsent(t, s, string(k))
				}},
				{"Delete", func(t *testing.T, k []byte) {
					if err := s.Delete(k); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("Delete error = %v, want ErrNotFound", err)
					}
				}},
				{"DeleteWithTimestamp", func(t *testing.T, k []byte) {
					if err := s.DeleteWithTimestamp(k, 1<<62); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("DeleteWithTimestamp error = %v, want ErrNotFound", err)
					}
				}},
				{"UpdateTTL", func(t *testing.T, k []byte) {
					if err := s.UpdateTTL(k, time.Hour); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("UpdateTTL error = %v, want ErrNotFound", err)
					}
					wantAbsent(t, s, string(k))
				}},
				{"Persist", func(t *testing.T, k []byte) {
					if err := s.Persist(k); !errors.Is(err, feox.ErrNotFound) {
						t.Errorf("Persist error = %v, want ErrNotFound", err)
					}
					wantAbsent(t, s, string(k))
				}},
				{"Increment", func(t *testing.T, k []byte) {
					if n, err := s.Increment(k, 5); n != 5 || err != nil {
						t.Errorf("Increment = %d, %v; want 5 (restart from delta)", n, err)
					}
					if d, err := s.TTL(k); d != feox.NoExpiry || err != nil {
						t.Errorf("TTL of the restarted counter = %v, %v; want NoExpiry", d, err)
					}
				}},
			}
			// The JSON number 100 is 3 bytes; counter(100) is an 8-byte counter. Use the
			// counter so that Increment would add to it if it saw the expired value.
			for _, c := range checks {
				if _, err := s.InsertWithTTL([]byte(c.name), counter(100), shortTTL); err != nil {
					t.Fatal(err)
				}
			}
			mustInsert(t, s, "live", "v")
			for _, c := range checks {
				waitExpired(t, s, c.name)
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, []byte(c.name)) })
			}
			wantValue(t, s, "live", "v")
		})
	}
}

// TestStore_Expired_InvisibleAtOnce ensures that a key is invisible as soon as its expiry
// passes, not only when the sweep has run: with the sweep disabled it never runs.
func TestStore_Expired_InvisibleAtOnce(t *testing.T) {
	s := openStore(t, noSweep())
	mustInsertTTL(t, s, "k", "v", shortTTL)
	mustInsertTTL(t, s, "long", "v", time.Hour)
	if !s.Contains([]byte("long")) {
		t.Fatal("a key with a one-hour TTL is not visible")
	}
	waitExpired(t, s, "k")
	wantAbsent(t, s, "k")
	if d, err := s.TTL([]byte("k")); !errors.Is(err, feox.ErrNotFound) {
		t.Errorf("TTL = %v, %v; want ErrNotFound", d, err)
	}
}

// TestStore_Sweep_LenFollows ensures that Len, MemoryUsage, Stats.Keys and Stats.Expired follow
// expiries once the sweep has run: within TTLSweepInterval + 1 s by the contract (polled with
// extra slack for loaded CI machines).
func TestStore_Sweep_LenFollows(t *testing.T) {
	const interval = 20 * time.Millisecond
	s := openStore(t, feox.Options{TTLSweepInterval: interval})
	// More keys than one sweep round takes, so that the sweep works through a backlog.
	const expiring, staying = 5000, 10
	for i := range staying {
		mustInsert(t, s, fmt.Sprintf("s%04d", i), "vv")
	}
	for i := range expiring {
		mustInsertTTL(t, s, fmt.Sprintf("e%04d", i), "vv", shortTTL)
	}
	expiredAt := time.Now().Add(shortTTL)
	// Len and Stats are read separately: wait for both (Expired may follow Len by a moment).
	eventually(t, shortTTL+interval+time.Second+waitBound, "Len and Stats.Expired follow the expiries", func() bool {
		return s.Len() == staying && s.Stats().Expired == expiring
	})
	if late := time.Since(expiredAt); late > interval+time.Second {
		t.Logf("the sweep took %v after the expiry (contract: %v); the machine may be loaded", late, interval+time.Second)
	}
	st := s.Stats()
	if st.Keys != staying || st.Expired != expiring {
		t.Errorf("Stats.Keys = %d, Stats.Expired = %d; want %d, %d", st.Keys, st.Expired, staying, expiring)
	}
	if got, want := s.MemoryUsage(), staying*feox.Charge(5, 2); got != want {
		t.Errorf("MemoryUsage = %d after the sweep, want %d", got, want)
	}
	if st.Deletes != 0 {
		t.Errorf("Stats.Deletes = %d; expiry is not a delete", st.Deletes)
	}
}

// TestStore_Sweep_RewrittenKeys ensures that the sweep removes a key according to its newest
// expiry: keys whose expiry was extended, removed or overwritten are not swept at their old
// expiry, a shortened one is swept at its new one, and an incremented one keeps its expiry.
func TestStore_Sweep_RewrittenKeys(t *testing.T) {
	// The first expiry must not pass before the rewrites below, even on a stalled machine.
	const first = 500 * time.Millisecond
	s := openStore(t, feox.Options{TTLSweepInterval: 2 * time.Millisecond})
	start := time.Now()
	mustInsertTTL(t, s, "extended", "v", first)
	mustInsertTTL(t, s, "persisted", "v", first)
	mustInsertTTL(t, s, "overwritten", "v", first)
	mustInsertTTL(t, s, "incremented", string(counter(1)), first)
	mustInsertTTL(t, s, "shortened", "v", time.Hour)
	if err := s.UpdateTTL([]byte("extended"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Persist([]byte("persisted")); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, "overwritten", "w")
	if _, err := s.Increment([]byte("incremented"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateTTL([]byte("shortened"), shortTTL); err != nil {
		t.Fatal(err)
	}
	// The incremented key keeps the first expiry, so once it is swept the sweep has passed the
	// first expiry of every key.
	eventually(t, waitBound, "the shortened and incremented keys are swept", func() bool { return s.Len() == 3 })
	if time.Since(start) < first {
		t.Fatalf("the incremented key was swept before its expiry (after %v)", time.Since(start))
	}
	for _, k := range []string{"extended", "persisted", "overwritten"} {
		if !s.Contains([]byte(k)) {
			t.Errorf("key %q was swept although its expiry was moved", k)
		}
	}
	if st := s.Stats(); st.Expired != 2 {
		t.Errorf("Stats.Expired = %d, want 2", st.Expired)
	}
}

// TestStore_Sweep_Disabled ensures that a negative TTLSweepInterval runs no sweep (Stats.Sweeps
// stays 0 for longer than the default interval) while expired keys stay invisible.
func TestStore_Sweep_Disabled(t *testing.T) {
	s := openStore(t, noSweep())
	mustInsertTTL(t, s, "k", "v", time.Millisecond)
	waitExpired(t, s, "k")
	// Wait longer than the default interval: a negative value mistaken for the default would
	// sweep meanwhile. This sleep bounds no timing; it only gives a wrong sweep time to act.
	time.Sleep(feox.DefaultTTLSweepInterval + 200*time.Millisecond)
	if st := s.Stats(); st.Sweeps != 0 {
		t.Errorf("with the sweep disabled: Stats.Sweeps = %d, want 0", st.Sweeps)
	}
	wantAbsent(t, s, "k")
	keys := slices.Collect(func(yield func(string) bool) {
		for k := range s.Scan(nil, nil) {
			if !yield(string(k)) {
				return
			}
		}
	})
	if len(keys) != 0 {
		t.Errorf("Scan yielded %q", keys)
	}
}

// TestStore_TTL_SweepGuardsNoExplicitWrite ensures the sweep's removal of an expired key does
// not make an explicit-timestamp write of the key fail: the key is absent from its expiry on,
// so a write that applies after it finds it absent, whether or not the sweep removed it while
// the write was in flight. (The sweep used to leave a tombstone that guarded in-flight explicit
// writes, as a delete does, and such writes failed with ErrOlderTimestamp.)
func TestStore_TTL_SweepGuardsNoExplicitWrite(t *testing.T) {
	st := openStore(t, feox.Options{TTLSweepInterval: time.Microsecond})
	for i := range 2000 {
		k := []byte(fmt.Sprintf("k%d", i%16))
		if _, err := st.InsertWithTTL(k, []byte("v"), time.Microsecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Microsecond) // expired, and the sweep may be removing it now
		if _, err := st.InsertWithTimestamp(k, []byte("w"), 368); err != nil {
			t.Fatalf("iteration %d: InsertWithTimestamp over an expired key: %v", i, err)
		}
		if err := st.Delete(k); err != nil && !errors.Is(err, feox.ErrNotFound) {
			t.Fatal(err)
		}
	}
}
