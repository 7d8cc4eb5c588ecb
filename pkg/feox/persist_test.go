package feox_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestStore_Persist_ReopenRecovers checks that what Close flushed is there after reopening:
// values, overwrites, deletes and expiries.
func TestStore_Persist_ReopenRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for round := range 5 {
		for i := range 300 {
			k := fmt.Sprintf("key-%03d", i)
			v := fmt.Sprintf("value-%d-%d-%s", round, i, make([]byte, i*7))
			if _, err := st.Insert([]byte(k), []byte(v)); err != nil {
				t.Fatal(err)
			}
			want[k] = v
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 300; i += 3 {
		k := fmt.Sprintf("key-%03d", i)
		if err := st.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
		delete(want, k)
	}
	if _, err := st.InsertWithTTL([]byte("short"), []byte("x"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertWithTTL([]byte("long"), []byte("y"), time.Hour); err != nil {
		t.Fatal(err)
	}
	want["long"] = "y"
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	for reopen := range 3 {
		st, err = openIO(feox.Options{Path: path})
		if err != nil {
			t.Fatalf("reopen %d: %v", reopen, err)
		}
		if st.Len() != len(want) {
			t.Errorf("reopen %d: Len = %d, want %d", reopen, st.Len(), len(want))
		}
		for k, v := range want {
			got, err := st.Get([]byte(k))
			if err != nil || string(got) != v {
				t.Fatalf("reopen %d: Get(%s) = %.20q, %v; want %.20q", reopen, k, got, err, v)
			}
		}
		if ttl, err := st.TTL([]byte("long")); err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("TTL(long) = %v, %v", ttl, err)
		}
		if st.Contains([]byte("short")) || st.Contains([]byte("key-000")) {
			t.Error("expired or deleted key came back")
		}
		// One more overwrite round per reopen: file size must stay bounded.
		for k := range want {
			if k == "long" {
				continue
			}
			if _, err := st.Insert([]byte(k), []byte(want[k])); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file size %d", fi.Size())
}

// TestStore_Persist_Locked checks that a second Open of an open data file fails with ErrLocked.
func TestStore_Persist_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	st, err := openIO(feox.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := openIO(feox.Options{Path: path}); !errors.Is(err, feox.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

// TestStore_Persist_NotAStore checks that Open refuses a file that is not a data file and
// leaves it untouched.
func TestStore_Persist_NotAStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := []byte("these are my notes, not a database\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openIO(feox.Options{Path: path}); !errors.Is(err, feox.ErrCorrupted) {
		t.Fatalf("Open = %v, want ErrCorrupted", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(content) {
		t.Fatalf("file changed: %q, %v", got, err)
	}
}

// TestStore_Persist_SnapshotAfterFlush copies the data file right after Flush, while the store
// keeps running, and checks that the copy recovers exactly the store's contents at that moment.
// Nothing writes between the Flush and the copy: not this test, and not the cleaner, which is
// paused (it moves and erases records in the background, so a copy taken during one of its
// rounds is not a snapshot; docs/DURABILITY.md).
func TestStore_Persist_SnapshotAfterFlush(t *testing.T) {
	for trial := range 5 {
		seed := uint64(1000 + trial)
		dir := t.TempDir()
		path := filepath.Join(dir, "live.feox")
		st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20,
			Pipeline: feox.PipelineOptions{FlushInterval: 2 * time.Millisecond, BatchEntries: 64}})
		if err != nil {
			t.Fatal(err)
		}
		next := crashOps(seed)
		for i := range 3000 {
			op := next()
			switch {
			case op.del:
				_ = st.Delete([]byte(op.key))
			case op.ttl > 0:
				_, err = st.InsertWithTTL([]byte(op.key), []byte(op.value), op.ttl)
			default:
				_, err = st.Insert([]byte(op.key), []byte(op.value))
			}
			if err != nil {
				t.Fatal(err)
			}
			if (i+1)%500 != 0 {
				continue
			}
			resume := st.PauseCleaner()
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			snap, err := os.ReadFile(path)
			resume()
			if err != nil {
				t.Fatal(err)
			}
			cp := filepath.Join(dir, fmt.Sprintf("copy-%d.feox", i))
			if err := os.WriteFile(cp, snap, 0o644); err != nil {
				t.Fatal(err)
			}
			rec, err := openIO(feox.Options{Path: cp})
			if err != nil {
				t.Fatalf("seed %d op %d: open copy: %v", seed, i, err)
			}
			for k := range crashKeys {
				key := []byte(fmt.Sprintf("key-%03d", k))
				v1, e1 := st.Get(key)
				v2, e2 := rec.Get(key)
				if string(v1) != string(v2) || (e1 == nil) != (e2 == nil) {
					t.Fatalf("seed %d op %d: %s: store %.16q %v, recovered copy %.16q %v", seed, i, key, v1, e1, v2, e2)
				}
			}
			if rec.Len() != st.Len() {
				t.Fatalf("seed %d op %d: Len store %d, copy %d", seed, i, st.Len(), rec.Len())
			}
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPersist_IOBackends opens a store with each I/O mode, and with io_uring refused as an old
// or locked-down kernel would: IOAuto picks pwrite (measured faster, docs/DECISIONS.md) and so
// never depends on io_uring, IOUring fails with an error matching errors.ErrUnsupported when it
// is refused, IOPwrite never tries io_uring. Every store that opens
// keeps what it flushed across a reopen.
func TestPersist_IOBackends(t *testing.T) {
	tests := []struct {
		name    string
		io      feox.IOMode
		refuse  bool
		backend string // "" means Open must fail with errors.ErrUnsupported
		batch   int    // Pipeline.BatchEntries (0: the default)
	}{
		{"auto", feox.IOAuto, false, "uring", 0},
		{"uring", feox.IOUring, false, "uring", 0},
		{"pwrite", feox.IOPwrite, false, "pwrite", 0},
		{"auto refused", feox.IOAuto, true, "pwrite", 0},
		{"auto small batches", feox.IOAuto, false, "pwrite", 255},
		{"auto batches of 256", feox.IOAuto, false, "uring", 256},
		{"uring refused", feox.IOUring, true, "", 0},
		{"pwrite refused", feox.IOPwrite, true, "pwrite", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "io.feox")
			opts := feox.Options{Path: path, FileSize: 1 << 20, Pipeline: feox.PipelineOptions{IO: tc.io, BatchEntries: tc.batch}}
			open := feox.Open
			if tc.refuse {
				open = feox.OpenRefusingUring
			}
			st, err := open(opts)
			if tc.backend == "" {
				if !errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("Open = %v, want an error matching errors.ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := st.IOBackend(); got != tc.backend {
				t.Errorf("backend %q, want %q", got, tc.backend)
			}
			for i := range 300 {
				if _, err := st.Insert([]byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprintf("v%03d", i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st, err = feox.Open(feox.Options{Path: path, Pipeline: feox.PipelineOptions{IO: feox.IOPwrite}})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for i := range 300 {
				if v, err := st.Get([]byte(fmt.Sprintf("k%03d", i))); err != nil || string(v) != fmt.Sprintf("v%03d", i) {
					t.Fatalf("k%03d after reopen = %q, %v", i, v, err)
				}
			}
		})
	}
}
