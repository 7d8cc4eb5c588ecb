package feox_test

// Bad input to a persistent store: Open of paths that are not usable data files (a directory,
// a missing parent, an unreadable file, files that are not stores, truncated stores, stores of
// an older or a newer format), each with a clear error that matches its sentinel and with the
// file left byte for byte as it was; and every public method called with invalid or malformed
// arguments on a persistent store, which must fail with its documented error without writing
// a byte.
// The memory-only cases are in args_test.go (TestStore_KeySize, TestStore_ValueSize,
// TestStore_ErrorPrecedence) and are not repeated here.

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// smallStore writes a small persistent store at path and returns its bytes.
func smallStore(t *testing.T, path string) []byte {
	t.Helper()
	st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		mustInsert(t, st, "key-"+strings.Repeat("x", i), strings.Repeat("v", i*40))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headerWith returns both header copies of a store with the given generations and versions,
// as a writer of that version would have made them (checksums fixed), followed by 1 MiB of
// zeros.
func headerWith(genA, verA, genB, verB uint64) []byte {
	mk := func(gen, ver uint64) []byte {
		h := format.AppendHeader(nil, format.Header{Version: format.Version, Generation: gen, Salt: 11, Created: 1})
		h[8] = byte(ver)
		fixHeaderCRC(h)
		return h
	}
	data := append(mk(genA, verA), mk(genB, verB)...)
	return append(data, make([]byte, 1<<20)...)
}

// TestReliability_BadInput_OpenRefusesUntouched opens paths that hold no usable store: each
// Open fails with an error matching the case's sentinel and naming the path, and the file is
// byte for byte unchanged (for a directory: nothing was created in it).
func TestReliability_BadInput_OpenRefusesUntouched(t *testing.T) {
	dir := t.TempDir()
	store := smallStore(t, filepath.Join(dir, "valid.feox"))
	zeroHeaders := bytes.Clone(store)
	clear(zeroHeaders[:format.DataStart])
	badCRC := bytes.Clone(store)
	badCRC[50] ^= 1
	badCRC[format.HeaderSize+50] ^= 1
	badBlock := bytes.Clone(store)
	for _, off := range []int{0, format.HeaderSize} {
		badBlock[off+12] = 0x20 // block size 8192: the checksum is right, the field is not
		fixHeaderCRC(badBlock[off : off+format.HeaderSize])
	}
	const older, cur, newer = 1, format.Version, format.Version + 1
	newerOnlyA := headerWith(3, newer, 1, cur)
	newerOnlyA[format.HeaderSize+50] ^= 1 // copy B's checksum fails
	olderOnlyB := headerWith(3, cur, 2, older)
	olderOnlyB[50] ^= 1 // copy A's checksum fails
	twins := headerWith(1, cur, 1, cur)
	twins[format.HeaderSize+32] ^= 1 // another salt in copy B, checksum fixed
	fixHeaderCRC(twins[format.HeaderSize : 2*format.HeaderSize])
	random := make([]byte, 1<<20)
	for i := range random {
		random[i] = byte(i*7 + i>>9)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"text file", []byte("these are my notes, not a database\n"), feox.ErrCorrupted},
		{"1 MiB of non-zero bytes", random, feox.ErrCorrupted},
		{"one non-zero byte", []byte{1}, feox.ErrCorrupted},
		{"store truncated inside header A", store[:100], feox.ErrCorrupted},
		{"store truncated inside header B", store[:format.HeaderSize+100], feox.ErrCorrupted},
		{"store truncated before the data area", store[:format.DataStart-1], feox.ErrCorrupted},
		{"both header copies zeroed, data intact", zeroHeaders, feox.ErrCorrupted},
		{"both header checksums wrong", badCRC, feox.ErrCorrupted},
		{"both headers with a wrong block size", badBlock, feox.ErrCorrupted},
		{"newer format version in both copies", headerWith(1, newer, 1, newer), errors.ErrUnsupported},
		{"newer format version in the newest copy", headerWith(1, cur, 2, newer), errors.ErrUnsupported},
		{"newer format version in the older copy", headerWith(2, cur, 1, newer), errors.ErrUnsupported},
		{"newer format version in the only valid copy", newerOnlyA, errors.ErrUnsupported},
		{"older format version in both copies", headerWith(1, older, 1, older), feox.ErrOlderFormat},
		{"older format version in the newest copy", headerWith(1, cur, 2, older), feox.ErrOlderFormat},
		{"older format version in the older copy", headerWith(2, cur, 1, older), feox.ErrOlderFormat},
		{"older format version in the only valid copy", olderOnlyB, feox.ErrOlderFormat},
		{"older and newer format versions", headerWith(1, older, 2, newer), errors.ErrUnsupported},
		{"two copies of one generation that differ", twins, feox.ErrCorrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.feox")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for attempt := range 2 { // the second attempt sees the same file and fails the same way
				st, err := openIO(feox.Options{Path: path})
				if err == nil {
					st.Close()
					t.Fatalf("attempt %d: Open succeeded, want an error matching %v", attempt, tc.want)
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("attempt %d: Open = %v, want an error matching %v", attempt, err, tc.want)
				}
				if tc.want != feox.ErrCorrupted && errors.Is(err, feox.ErrCorrupted) {
					t.Fatalf("attempt %d: Open = %v, which matches ErrCorrupted too", attempt, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("Open error %q does not name the file", err)
				}
				after, rerr := os.ReadFile(path)
				if rerr != nil || !bytes.Equal(after, tc.data) {
					t.Fatalf("attempt %d: the refused file changed (%d bytes before, %d after, %v)", attempt, len(tc.data), len(after), rerr)
				}
			}
		})
	}
}

// TestReliability_BadInput_OpenPaths opens a directory, a file in a missing directory, a FIFO
// and an unreadable store: each fails with a clear error and changes nothing.
func TestReliability_BadInput_OpenPaths(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := openIO(feox.Options{Path: dir})
		if !errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("Open(directory) = %v, want an error matching EISDIR that names it", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("Open(directory) created %d entries in it", len(ents))
		}
	})
	t.Run("missing parent directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "no", "such", "data.feox")
		if _, err := openIO(feox.Options{Path: path}); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open in a missing directory = %v, want an error matching fs.ErrNotExist", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("Open created the missing parent directory")
		}
	})
	t.Run("fifo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
		st, err := openIO(feox.Options{Path: path})
		if err == nil {
			st.Close()
			t.Fatal("Open of a FIFO succeeded")
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("Open of a FIFO = %q: does not name the path", err)
		}
	})
	t.Run("unreadable store", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret.feox")
		data := smallStore(t, path)
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o644)
		// Root (CAP_DAC_OVERRIDE) reads a mode-000 file anyway: then there is nothing to refuse,
		// and only this case is skipped.
		if _, err := os.ReadFile(path); err == nil {
			t.Skip("running with the privilege to read a mode-000 file: the permission check cannot fail")
		}
		if _, err := openIO(feox.Options{Path: path}); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Fatalf("Open of an unreadable file = %v, want an error matching fs.ErrPermission that names it", err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, data) {
			t.Fatalf("the unreadable file changed: %v", err)
		}
	})
	t.Run("invalid options create no file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "never.feox")
		for _, o := range []feox.Options{
			{Path: path, FileSize: -1},
			{Path: path, MaxMemory: -1},
			{Path: path, Pipeline: feox.PipelineOptions{Shards: -1}},
			{Path: path, Pipeline: feox.PipelineOptions{IO: feox.IOPwrite + 1}},
		} {
			if _, err := feox.Open(o); !errors.Is(err, feox.ErrInvalidOption) {
				t.Fatalf("Open(%+v) = %v, want ErrInvalidOption", o, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Open(%+v) with invalid options created the file", o)
			}
		}
	})
}

// TestReliability_BadInput_TruncatedDataOpens checks that a store cut anywhere in its data
// area still opens, with only values that were written, and keeps opening.
func TestReliability_BadInput_TruncatedDataOpens(t *testing.T) {
	dir := t.TempDir()
	store := smallStore(t, filepath.Join(dir, "valid.feox"))
	written := map[string]string{}
	for i := range 50 {
		written["key-"+strings.Repeat("x", i)] = strings.Repeat("v", i*40)
	}
	for _, cut := range []int{format.DataStart, format.DataStart + 1, format.DataStart + 700, format.DataStart + 5000, len(store) / 2} {
		path := filepath.Join(dir, "cut.feox")
		if err := os.WriteFile(path, store[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		for reopen := range 2 {
			st, err := openIO(feox.Options{Path: path})
			if err != nil {
				t.Fatalf("store cut at %d, open %d: %v", cut, reopen, err)
			}
			for k, v := range storeContents(st) {
				if written[k] != v {
					st.Close()
					t.Fatalf("store cut at %d: %q = %.20q, never written", cut, k, v)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReliability_BadInput_MethodsWriteNothing calls every method with invalid or malformed
// arguments on a persistent store: each fails with its documented error, and neither the
// contents, nor the pipeline's counters, nor a byte of the data file change (after a Flush and
// after Close).
func TestReliability_BadInput_MethodsWriteNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "args.feox")
	opts := feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1, Pipeline: feox.PipelineOptions{Shards: 2}}
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustInsert(t, st, "text", "not json!") // 9 bytes: not a counter either
	mustInsert(t, st, "json", `{"a":1}`)
	if _, err := st.Insert([]byte("max"), counter(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertWithTimestamp([]byte("ts"), []byte("stamped"), 1000); err != nil {
		t.Fatal(err)
	}
	mustInsertTTL(t, st, "ttl", "expiring", time.Hour)
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	contents := storeContents(st)
	stats := st.Stats()

	long := bytes.Repeat([]byte{'k'}, feox.MaxKeySize+1)
	huge := make([]byte, feox.MaxValueSize+1)
	patch := []byte(`[{"op":"replace","path":"/a","value":2}]`)
	type call struct {
		name string
		do   func() error
		want error
	}
	var calls []call
	for _, op := range keyOps() {
		for name, k := range map[string][]byte{"nil": nil, "empty": {}, "MaxKeySize+1": long} {
			calls = append(calls, call{op.name + " with a " + name + " key", func() error { return op.call(st, k) }, feox.ErrInvalidKey})
		}
	}
	for _, op := range valueOps() {
		calls = append(calls, call{op.name + " with MaxValueSize+1 bytes", func() error { return op.call(st, []byte("text"), huge) }, feox.ErrInvalidValue})
	}
	b := func(s string) []byte { return []byte(s) }
	calls = append(calls,
		call{"Range with start > end", func() error { _, err := st.Range(b("b"), b("a"), 10); return err }, feox.ErrInvalidRange},
		call{"JSONPatch with a nil patch", func() error { return st.JSONPatch(b("json"), nil) }, feox.ErrJSONPatch},
		call{"JSONPatch with an empty patch", func() error { return st.JSONPatch(b("json"), []byte{}) }, feox.ErrJSONPatch},
		call{"JSONPatch with an object for a patch", func() error { return st.JSONPatch(b("json"), b(`{}`)) }, feox.ErrJSONPatch},
		call{"JSONPatch with an unknown op", func() error { return st.JSONPatch(b("json"), b(`[{"op":"bogus"}]`)) }, feox.ErrJSONPatch},
		call{"JSONPatch with a failing test", func() error {
			return st.JSONPatch(b("json"), b(`[{"op":"test","path":"/a","value":2},{"op":"remove","path":"/a"}]`))
		}, feox.ErrJSONPatch},
		call{"JSONPatch with a path that does not exist", func() error { return st.JSONPatch(b("json"), b(`[{"op":"replace","path":"/x/y","value":1}]`)) }, feox.ErrJSONPatch},
		call{"JSONPatch with malformed JSON", func() error { return st.JSONPatch(b("json"), b(`[{"op":`)) }, feox.ErrJSONPatch},
		call{"JSONPatch of a value that is not JSON", func() error { return st.JSONPatch(b("text"), patch) }, feox.ErrJSONPatch},
		call{"JSONPatch of an absent key", func() error { return st.JSONPatch(b("absent"), patch) }, feox.ErrNotFound},
		call{"Increment of a value that is not a counter", func() error { _, err := st.Increment(b("text"), 1); return err }, feox.ErrNotCounter},
		call{"Increment past MaxInt64", func() error { _, err := st.Increment(b("max"), 1); return err }, feox.ErrOverflow},
		call{"InsertWithTimestamp older", func() error { _, err := st.InsertWithTimestamp(b("ts"), b("x"), 999); return err }, feox.ErrOlderTimestamp},
		call{"InsertWithTimestamp equal", func() error { _, err := st.InsertWithTimestamp(b("ts"), b("x"), 1000); return err }, feox.ErrOlderTimestamp},
		call{"DeleteWithTimestamp older", func() error { return st.DeleteWithTimestamp(b("ts"), 5) }, feox.ErrOlderTimestamp},
		call{"Delete of an absent key", func() error { return st.Delete(b("absent")) }, feox.ErrNotFound},
		call{"DeleteWithTimestamp of an absent key", func() error { return st.DeleteWithTimestamp(b("absent"), 1) }, feox.ErrNotFound},
		call{"UpdateTTL of an absent key", func() error { return st.UpdateTTL(b("absent"), time.Hour) }, feox.ErrNotFound},
		call{"Persist of an absent key", func() error { return st.Persist(b("absent")) }, feox.ErrNotFound},
		call{"TTL of an absent key", func() error { _, err := st.TTL(b("absent")); return err }, feox.ErrNotFound},
		call{"Get of an absent key", func() error { _, err := st.Get(b("absent")); return err }, feox.ErrNotFound},
		call{"View of an absent key", func() error {
			return st.View(b("absent"), func([]byte) error { return errors.New("fn called") })
		}, feox.ErrNotFound},
		call{"Size of an absent key", func() error { _, err := st.Size(b("absent")); return err }, feox.ErrNotFound},
		call{"CompareAndSwap of an absent key", func() error { ok, err := st.CompareAndSwap(b("absent"), nil, b("v")); return swapped(ok, err) }, errNotSwapped},
		call{"CompareAndSwap with a nil expected value", func() error { ok, err := st.CompareAndSwap(b("text"), nil, b("v")); return swapped(ok, err) }, errNotSwapped},
		call{"CompareAndSwap with another value", func() error { ok, err := st.CompareAndSwap(b("text"), b("not json"), b("v")); return swapped(ok, err) }, errNotSwapped},
		call{"InsertIfAbsent of a present key", func() error { ok, err := st.InsertIfAbsent(b("text"), b("v")); return swapped(ok, err) }, errNotSwapped},
		call{"Persist of a key without expiry", func() error { return st.Persist(b("text")) }, nil},
	)
	for _, c := range calls {
		if err := c.do(); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for _, r := range []struct {
		start, end []byte
		limit      int
	}{{nil, nil, 0}, {nil, nil, -1}, {b("a"), b("z"), math.MinInt}} {
		if kvs, err := st.Range(r.start, r.end, r.limit); err != nil || len(kvs) != 0 {
			t.Errorf("Range(%q, %q, %d) = %d results, %v; want none", r.start, r.end, r.limit, len(kvs), err)
		}
	}
	for k := range st.Scan(b("b"), b("a")) {
		t.Errorf("Scan with start > end yielded %q", k)
	}
	if d := diffContents(storeContents(st), contents); d != "" {
		t.Fatalf("the failed calls changed the contents: %s", d)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.WritesBuffered != stats.WritesBuffered || s.Inserts != stats.Inserts || s.Updates != stats.Updates || s.Deletes != stats.Deletes {
		t.Errorf("the failed calls changed the write counters: %+v, before %+v", s, stats)
	}
	sameFile := func(when string) {
		t.Helper()
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, before) {
			i := 0
			for i < min(len(after), len(before)) && after[i] == before[i] {
				i++
			}
			t.Fatalf("%s: the data file changed (first difference at offset %d; %d bytes before, %d after)", when, i, len(before), len(after))
		}
	}
	sameFile("after the failed calls and a Flush")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	sameFile("after Close")
	st2, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if d := diffContents(storeContents(st2), contents); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
	if d, err := st2.TTL(b("ttl")); err != nil || d <= 0 || d > time.Hour {
		t.Fatalf("TTL(ttl) after reopen = %v, %v", d, err)
	}
}

// swapped turns a false result of a conditional write into errNotSwapped.
func swapped(ok bool, err error) error {
	if err == nil && !ok {
		return errNotSwapped
	}
	return err
}

// TestReliability_BadInput_LimitsSurviveReopen stores a key of exactly MaxKeySize bytes, a
// value of exactly MaxValueSize bytes, an empty value and keys of unusual bytes, and finds them
// all after a reopen (the large value read back from disk, not from memory).
func TestReliability_BadInput_LimitsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.feox")
	opts := feox.Options{Path: path, FileSize: 1 << 20, DisableCache: true}
	maxKey := bytes.Repeat([]byte{0xAB}, feox.MaxKeySize)
	maxValue := make([]byte, feox.MaxValueSize)
	for i := 0; i < len(maxValue); i += 4093 {
		maxValue[i] = byte(i >> 12)
	}
	want := map[string][]byte{
		string(maxKey):     []byte("max key"),
		"big":              maxValue,
		"empty":            {},
		"\x00":             []byte("zero key"),
		"\xff\xff\xff\xff": []byte("high key"),
		"nil value":        nil,
	}
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if _, err := st.Insert([]byte(k), v); err != nil {
			t.Fatalf("Insert(%.10q, %d bytes): %v", k, len(v), err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Len() != len(want) {
		t.Fatalf("Len after reopen = %d, want %d", st.Len(), len(want))
	}
	for k, v := range want {
		got, err := st.Get([]byte(k))
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get(%.10q) after reopen: %d bytes, %v; want %d bytes", k, len(got), err, len(v))
		}
	}
}
