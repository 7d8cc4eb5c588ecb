package feox_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// waitBound is the generous upper bound for "eventually" conditions: far above what any
// correct implementation needs, so that a loaded CI machine cannot make a test flaky.
const waitBound = 10 * time.Second

// testIOEnv names the environment variable that picks the I/O backend of the persistent stores
// the tests open: "uring", "pwrite", "auto" (the default), or "direct" (io_uring with
// Pipeline.DirectIO). CI runs the suite once per value.
const testIOEnv = "FEOX_TEST_IO"

// openIO is feox.Open with the I/O backend chosen by testIOEnv (openHooksIO).
func openIO(opts feox.Options) (*feox.Store, error) { return openHooksIO(opts, nil, nil) }

// openHooksIO is feox.OpenWithHooks with the I/O backend chosen by testIOEnv when opts leaves
// it at IOAuto. With testIOEnv "direct" it fails unless the store writes with O_DIRECT.
func openHooksIO(opts feox.Options, wrap func(int, disk.Writer, *disk.File) (disk.Writer, error),
	crash func(string)) (*feox.Store, error) {
	opts, err := withTestIO(opts)
	if err != nil {
		return nil, err
	}
	st, err := feox.OpenWithHooks(opts, wrap, crash)
	if err == nil && opts.Path != "" && opts.Pipeline.DirectIO && !st.Stats().DirectIO && os.Getenv(testIOEnv) == "direct" {
		// The suite asked for direct writes; running it buffered would test nothing new.
		st.Close()
		return nil, fmt.Errorf("%s=direct, but the filesystem of %s does not allow O_DIRECT writes", testIOEnv, opts.Path)
	}
	return st, err
}

// withTestIO returns opts with the I/O backend chosen by testIOEnv when opts leaves it at
// IOAuto.
func withTestIO(opts feox.Options) (feox.Options, error) {
	if opts.Pipeline.IO != feox.IOAuto {
		return opts, nil
	}
	switch v := os.Getenv(testIOEnv); v {
	case "uring":
		opts.Pipeline.IO = feox.IOUring
	case "pwrite":
		opts.Pipeline.IO = feox.IOPwrite
	case "direct":
		opts.Pipeline.IO, opts.Pipeline.DirectIO = feox.IOUring, true
	case "", "auto":
	default:
		return opts, fmt.Errorf("%s=%q: want uring, pwrite, direct or auto", testIOEnv, v)
	}
	return opts, nil
}

// openStore opens a store with opts (openIO) and closes it when the test ends.
func openStore(tb testing.TB, opts feox.Options) *feox.Store {
	tb.Helper()
	s, err := openIO(opts)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", opts, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// noSweep returns Options with the background TTL sweep disabled, so that expired keys stay in
// the store (invisible) for the whole test.
func noSweep() feox.Options { return feox.Options{TTLSweepInterval: -1} }

// eventually polls cond every millisecond until it returns true, and fails the test if it has
// not within timeout.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still false after %v", what, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustInsert stores value under key and fails the test on error.
func mustInsert(tb testing.TB, s *feox.Store, key, value string) {
	tb.Helper()
	if _, err := s.Insert([]byte(key), []byte(value)); err != nil {
		tb.Fatalf("Insert(%q, %q): %v", key, value, err)
	}
}

// mustInsertTTL stores value under key with ttl and fails the test on error.
func mustInsertTTL(tb testing.TB, s *feox.Store, key, value string, ttl time.Duration) {
	tb.Helper()
	if _, err := s.InsertWithTTL([]byte(key), []byte(value), ttl); err != nil {
		tb.Fatalf("InsertWithTTL(%q, %q, %v): %v", key, value, ttl, err)
	}
}

// wantValue fails the test unless key holds exactly want.
func wantValue(tb testing.TB, s *feox.Store, key, want string) {
	tb.Helper()
	got, err := s.Get([]byte(key))
	if err != nil {
		tb.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, []byte(want)) {
		tb.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantAbsent fails the test unless key is absent for Get and Contains.
func wantAbsent(tb testing.TB, s *feox.Store, key string) {
	tb.Helper()
	if v, err := s.Get([]byte(key)); !errors.Is(err, feox.ErrNotFound) {
		tb.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, v, err)
	}
	if s.Contains([]byte(key)) {
		tb.Fatalf("Contains(%q) = true, want false", key)
	}
}

// waitExpired waits until key is no longer visible (its TTL has passed).
func waitExpired(tb testing.TB, s *feox.Store, key string) {
	tb.Helper()
	eventually(tb, waitBound, "key "+key+" expires", func() bool { return !s.Contains([]byte(key)) })
}

// counter encodes n as an 8-byte little-endian counter value.
func counter(n int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(n))
}

// storeContents returns every key and value of st.
func storeContents(st *feox.Store) map[string]string {
	m := map[string]string{}
	for k, v := range st.Scan(nil, nil) {
		m[string(k)] = string(v)
	}
	return m
}

// diffContents describes the first difference between two contents, or returns "".
func diffContents(got, want map[string]string) string {
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			return fmt.Sprintf("key %q missing (want %.24q)", k, v)
		case g != v:
			return fmt.Sprintf("key %q = %.24q (%d bytes), want %.24q (%d bytes)", k, g, len(g), v, len(v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("unexpected key %q = %.24q", k, v)
		}
	}
	return ""
}
