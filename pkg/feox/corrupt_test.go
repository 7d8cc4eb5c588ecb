package feox_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// buildStoreFile writes a small persistent store and returns its path and contents.
func buildStoreFile(t *testing.T, dir string) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(dir, "base.feox")
	st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := range 400 {
		k := fmt.Sprintf("k%04d", i%250)
		v := fmt.Sprintf("value %d %s", i, bytes.Repeat([]byte{'z'}, i*5))
		if _, err := st.Insert([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// TestStore_Persist_CorruptionNeverPanics flips bytes and truncates a data file at random:
// Open must either recover (returning only values that were written) or fail with
// ErrCorrupted; it must never panic or return a foreign value.
func TestStore_Persist_CorruptionNeverPanics(t *testing.T) {
	dir := t.TempDir()
	base, want := buildStoreFile(t, dir)
	orig, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, v := range want {
		written[v] = true
	}
	r := rand.New(rand.NewPCG(42, 43))
	for iter := range 60 {
		data := append([]byte(nil), orig...)
		switch iter % 3 {
		case 0: // flip bytes anywhere
			for range 1 + r.IntN(20) {
				data[r.IntN(len(data))] ^= byte(1 + r.IntN(255))
			}
		case 1: // flip bytes in the data area only
			for range 1 + r.IntN(20) {
				data[format.DataStart+r.IntN(len(data)-format.DataStart)] ^= 0xff
			}
		case 2: // truncate
			data = data[:r.IntN(len(data))]
		}
		path := filepath.Join(dir, fmt.Sprintf("c%d.feox", iter))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := openIO(feox.Options{Path: path})
		if err != nil {
			if !errors.Is(err, feox.ErrCorrupted) {
				t.Fatalf("iter %d: Open = %v, want success or ErrCorrupted", iter, err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, data) {
				t.Fatalf("iter %d: a failed Open changed the file", iter)
			}
			continue
		}
		for v := range st.Scan(nil, nil) {
			_ = v
		}
		for k := range want {
			v, err := st.Get([]byte(k))
			if err == nil && !written[string(v)] {
				t.Fatalf("iter %d: %s has a value that was never written: %.30q", iter, k, v)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatalf("iter %d: Close: %v", iter, err)
		}
	}
}

// TestStore_Persist_NewerFormatVersion checks that a file from a newer format version is
// refused with a clear error and left untouched.
func TestStore_Persist_NewerFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.feox")
	hdr := format.AppendHeader(nil, format.Header{Version: format.Version, Generation: 1, Salt: 7, Created: 1})
	// Rewrite the version field and fix the checksum as a newer writer would.
	hdr[8] = format.Version + 1
	fixHeaderCRC(hdr)
	data := append(append([]byte(nil), hdr...), hdr...)
	data = append(data, make([]byte, 1<<20)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := openIO(feox.Options{Path: path})
	if err == nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Open = %v, want an error wrapping errors.ErrUnsupported", err)
	}
	if errors.Is(err, feox.ErrCorrupted) || errors.Is(err, feox.ErrOlderFormat) {
		t.Errorf("Open = %v, want neither ErrCorrupted nor ErrOlderFormat", err)
	}
	if want := fmt.Sprintf("version %d", format.Version+1); !strings.Contains(err.Error(), want) {
		t.Errorf("Open error %q does not contain %q", err, want)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Fatal("Open changed the file")
	}
}

// TestStore_Persist_OlderFormatVersion checks that a healthy data file of format version 1
// (both header copies valid version-1 headers, records in the data area) is refused with
// ErrOlderFormat, not ErrCorrupted, with an error that names the version and the file, and is
// left byte for byte as it was, at every attempt.
func TestStore_Persist_OlderFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.feox")
	hdr := format.Header{Version: 1, Generation: 1, Salt: 0x5eed, Created: 1}
	data := format.AppendHeader(nil, hdr) // copy A
	data = format.AppendHeader(data, hdr) // copy B: a new file has generation 1 in both
	area := make([]byte, 1<<20)
	for i := 0; i < len(area)/2; i += format.SectorSize {
		copy(area[i:], fmt.Sprintf("FXR1 an old record at sector %d", i/format.SectorSize))
	}
	data = append(data, area...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := range 2 {
		st, err := openIO(feox.Options{Path: path})
		if err == nil {
			st.Close()
			t.Fatalf("attempt %d: Open succeeded, want ErrOlderFormat", attempt)
		}
		if !errors.Is(err, feox.ErrOlderFormat) || errors.Is(err, feox.ErrCorrupted) {
			t.Errorf("attempt %d: Open = %v, want ErrOlderFormat and not ErrCorrupted", attempt, err)
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("attempt %d: Open = %v, want an error matching errors.ErrUnsupported too", attempt, err)
		}
		for _, want := range []string{"version 1", fmt.Sprintf("reads version %d", format.Version), path} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("attempt %d: Open error %q does not contain %q", attempt, err, want)
			}
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, data) {
			t.Fatalf("attempt %d: Open changed the file (%d bytes before, %d after, %v)", attempt, len(data), len(after), err)
		}
	}
}

// TestStore_Persist_ZeroFileIsNew checks that an existing all-zero file opens as a new store.
func TestStore_Persist_ZeroFileIsNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zero.feox")
	if err := os.WriteFile(path, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := openIO(feox.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Insert([]byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = openIO(feox.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.Get([]byte("a")); err != nil || string(v) != "b" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

// TestStore_Persist_ReopenCyclesBounded overwrites the same 1,000 keys with 4 KiB values in
// 50 rounds, reopening after each: the file must stay bounded and the live-bytes accounting
// must not drift across reopens.
func TestStore_Persist_ReopenCyclesBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cycles.feox")
	val := bytes.Repeat([]byte{'v'}, 4096)
	var maxSize, live int64
	for round := range 50 {
		st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if round > 0 {
			if got := st.Stats().DiskLiveBytes; got != live {
				t.Fatalf("round %d: DiskLiveBytes after reopen = %d, before close %d", round, got, live)
			}
		}
		for i := range 1000 {
			val[0] = byte(round)
			if _, err := st.Insert([]byte(fmt.Sprintf("key-%04d", i)), val); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
		s := st.Stats()
		maxSize = max(maxSize, s.DiskBytes)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		// What stays live after Close is one record per key, whatever the next Open finds.
		live = s.DiskLiveBytes
	}
	liveBytes := 1000 * int64(format.PackedSize(&format.Record{Key: []byte("key-0000"), Value: val, Seq: 1 << 20}))
	if live > liveBytes {
		t.Fatalf("DiskLiveBytes = %d, want at most %d (1,000 records of 8-byte keys and 4 KiB values)", live, liveBytes)
	}
	if maxSize > 4*liveBytes+(2<<20) {
		t.Fatalf("file grew to %d bytes for %d live bytes", maxSize, liveBytes)
	}
	t.Logf("largest file %d bytes for %d live bytes", maxSize, liveBytes)
}

// fixHeaderCRC recomputes the checksum of a header copy (bytes 124-127 over bytes 0-123).
func fixHeaderCRC(h []byte) {
	binary.LittleEndian.PutUint32(h[124:], crc32.Checksum(h[:124], crc32.MakeTable(crc32.Castagnoli)))
}
