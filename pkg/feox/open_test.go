package feox_test

// Open and its options, Close, and what a closed store does.

import (
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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
		{"negative MaxGarbage", "MaxGarbage", feox.Options{MaxGarbage: -0.1}},
		{"MaxGarbage above 1", "MaxGarbage", feox.Options{MaxGarbage: 1.5}},
		{"MaxGarbage NaN", "MaxGarbage", feox.Options{MaxGarbage: math.NaN()}},
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
		{"MaxGarbage 1 (no bound)", feox.Options{MaxGarbage: 1}},
		{"small MaxGarbage", feox.Options{MaxGarbage: 0.01}},
		{"persistent, MaxGarbage 0.1", feox.Options{Path: filepath.Join(t.TempDir(), "g.feox"), MaxGarbage: 0.1}},
		{"every field set", feox.Options{FileSize: 1 << 20, MaxMemory: 1 << 20, DisableCache: true, MaxGarbage: 0.5,
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
