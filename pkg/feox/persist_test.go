package feox_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/disk"
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

// TestPersist_IOBackends opens a store with each I/O mode, and with io_uring refused as an old
// or locked-down kernel would: IOAuto picks io_uring for batches of 256 entries or more and
// pwrite below (docs/DECISIONS.md, 11), and falls back to pwrite where io_uring is refused;
// IOUring fails with an error matching errors.ErrUnsupported when it is refused; IOPwrite never
// tries io_uring. Every store that opens keeps what it flushed across a reopen.
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
			var refuse func(int, disk.Writer, *disk.File) (disk.Writer, error)
			if tc.refuse {
				refuse = refuseUring
			}
			st, err := feox.OpenWithHooks(opts, refuse, nil)
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

// refuseUring is a writer wrapper that refuses io_uring as a kernel without it would: a shard
// offered an io_uring writer gets an error matching errors.ErrUnsupported.
func refuseUring(_ int, w disk.Writer, _ *disk.File) (disk.Writer, error) {
	if w.Name() == "pwrite" {
		return w, nil
	}
	return nil, fmt.Errorf("io_uring setup refused (test): %w", errors.ErrUnsupported)
}
