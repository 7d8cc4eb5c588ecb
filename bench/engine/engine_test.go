package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// mode is one way of opening an engine in the conformance tests.
type mode struct {
	name   string
	memory bool
}

var modes = [...]mode{{"memory", true}, {"persistent", false}}

// keySize is the length of the tests' keys, as the runner's.
const keySize = 16

// keyOf returns the key of index i.
func keyOf(i uint64) []byte { return gen.NewKeys(keySize).Key(i) }

// putKey writes the key of index i into buf and returns it.
func putKey(buf []byte, i uint64) []byte { return gen.NewKeys(keySize).Put(buf, i) }

// model is the expected content of an engine: key -> value.
type model map[string][]byte

// sortedKeys returns the model's keys in ascending order.
func (m model) sortedKeys() [][]byte {
	keys := make([][]byte, 0, len(m))
	for k := range m {
		keys = append(keys, []byte(k))
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys
}

// checkContent ensures e holds exactly the model's pairs: every Get returns the model's value
// and scans from several starts visit the model's keys in order.
func checkContent(t *testing.T, e Engine, m model) {
	t.Helper()
	for k, want := range m {
		got, err := e.Get([]byte(k))
		if err != nil {
			t.Fatalf("Get(%x): %v", k, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Get(%x) = %d bytes, want %d bytes of the model", k, len(got), len(want))
		}
	}
	keys := m.sortedKeys()
	for _, start := range [][]byte{nil, {0}, keys[0], keys[len(keys)/3], keys[len(keys)-5], append(bytes.Clone(keys[len(keys)/2]), 0)} {
		from, _ := slices.BinarySearchFunc(keys, start, bytes.Compare)
		want := keys[from:min(from+50, len(keys))]
		var got [][]byte
		n, err := e.Scan(start, 50, func(k, v []byte) {
			got = append(got, bytes.Clone(k))
			if !bytes.Equal(v, m[string(k)]) {
				t.Errorf("Scan from %x: value of %x differs from the model", start, k)
			}
		})
		if err != nil {
			t.Fatalf("Scan from %x: %v", start, err)
		}
		if n != len(got) || !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("Scan from %x: visited %d keys (reported %d), want the %d from index %d", start, len(got), n, len(want), from)
		}
	}
	last := keys[len(keys)-1]
	if n, err := e.Scan(append(bytes.Clone(last), 0), 10, func(k, _ []byte) { t.Errorf("Scan past the end visited %x", k) }); err != nil || n != 0 {
		t.Fatalf("Scan past the end = %d, %v", n, err)
	}
	if n, err := e.Scan(nil, 0, func([]byte, []byte) {}); err != nil || n != 0 {
		t.Fatalf("Scan of 0 = %d, %v", n, err)
	}
}

// fill writes a known content through every write method and returns its model.
func fill(t *testing.T, e Engine, vals *gen.Values) model {
	t.Helper()
	m := model{}
	var keys, values [][]byte
	for i := range uint64(500) {
		keys = append(keys, keyOf(i))
		values = append(values, vals.Value(i, 0))
		m[string(keyOf(i))] = vals.Value(i, 0)
	}
	if err := e.PutBatch(keys, values); err != nil {
		t.Fatalf("PutBatch: %v", err)
	}
	// Put through one reused buffer: the engine must not retain it.
	buf := make([]byte, keySize)
	for i := range uint64(600) {
		v := vals.Value(i, 1)
		if err := e.Put(putKey(buf, i), v); err != nil {
			t.Fatalf("Put: %v", err)
		}
		m[string(keyOf(i))] = v
	}
	v := vals.Value(700, 2)
	if err := e.PutSync(putKey(buf, 700), v); err != nil {
		t.Fatalf("PutSync: %v", err)
	}
	m[string(keyOf(700))] = v
	clear(buf)
	return m
}

// TestConformance runs every adapter, in each mode it supports, through put, get, scan, sync
// and (when it persists) close and reopen, against a model.
func TestConformance(t *testing.T) {
	vals := gen.NewValues(100, 100, 1<<16, 1)
	for _, spec := range All() {
		for _, md := range modes {
			t.Run(fmt.Sprintf("engine=%s/mode=%s", spec.Name, md.name), func(t *testing.T) {
				dir := t.TempDir()
				e, err := spec.Open(dir, md.memory)
				if md.memory && !spec.Memory {
					if !errors.Is(err, ErrNoMemoryMode) {
						t.Fatalf("Open in memory = %v, want ErrNoMemoryMode", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if _, err := e.Get(keyOf(1)); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get on an empty engine = %v, want ErrNotFound", err)
				}
				m := fill(t, e, vals)
				checkContent(t, e, m)

				// A returned value belongs to the caller.
				got, err := e.Get(keyOf(3))
				if err != nil {
					t.Fatal(err)
				}
				clear(got)
				if again, _ := e.Get(keyOf(3)); !bytes.Equal(again, m[string(keyOf(3))]) {
					t.Fatal("changing a returned value changed the stored one")
				}
				if _, err := e.Get(keyOf(10_000)); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get of an absent key = %v, want ErrNotFound", err)
				}
				if err := e.Sync(); err != nil {
					t.Fatalf("Sync: %v", err)
				}
				checkContent(t, e, m) // Sync adds no visible key
				usage, err := e.DiskUsage()
				if err != nil {
					t.Fatalf("DiskUsage: %v", err)
				}
				if md.memory {
					files, _ := os.ReadDir(dir)
					if usage != 0 || len(files) != 0 {
						t.Fatalf("memory mode: DiskUsage %d, %d files in dir", usage, len(files))
					}
				} else if usage < 500*100 {
					t.Fatalf("DiskUsage after Sync = %d, want at least the data", usage)
				}
				if err := e.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if md.memory {
					return
				}
				e, err = spec.Open(dir, false)
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				defer func() {
					if err := e.Close(); err != nil {
						t.Fatalf("Close after reopen: %v", err)
					}
				}()
				checkContent(t, e, m)
			})
		}
	}
}

// TestConcurrentUse runs two writers and a reader on every adapter at once, as the runner
// does with two goroutines, and checks the final content.
func TestConcurrentUse(t *testing.T) {
	vals := gen.NewValues(64, 64, 1<<16, 2)
	for _, spec := range All() {
		md := modes[0]
		if !spec.Memory {
			md = modes[1]
		}
		t.Run(fmt.Sprintf("engine=%s/mode=%s", spec.Name, md.name), func(t *testing.T) {
			e, err := spec.Open(t.TempDir(), md.memory)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer e.Close()
			const perWriter = 300
			var wg sync.WaitGroup
			errs := make(chan error, 3)
			for w := range uint64(2) {
				wg.Go(func() {
					buf := make([]byte, keySize)
					for i := w * perWriter; i < (w+1)*perWriter; i++ {
						if err := e.Put(putKey(buf, i), vals.Value(i, 0)); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Go(func() {
				for i := range uint64(2 * perWriter) {
					if _, err := e.Get(keyOf(i)); err != nil && !errors.Is(err, ErrNotFound) {
						errs <- err
						return
					}
					if _, err := e.Scan(keyOf(i), 5, func([]byte, []byte) {}); err != nil {
						errs <- err
						return
					}
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			m := model{}
			for i := range uint64(2 * perWriter) {
				m[string(keyOf(i))] = vals.Value(i, 0)
			}
			checkContent(t, e, m)
		})
	}
}

// TestLookup ensures every adapter is found by its name and an unknown name is refused.
func TestLookup(t *testing.T) {
	for _, s := range All() {
		got, err := Lookup(s.Name)
		if err != nil || got.Name != s.Name {
			t.Fatalf("Lookup(%q) = %q, %v", s.Name, got.Name, err)
		}
		if s.Notes == "" || s.Version == "" {
			t.Fatalf("%s: missing notes or version", s.Name)
		}
	}
	if _, err := Lookup("nosuch"); !errors.Is(err, ErrUnknownEngine) {
		t.Fatalf("Lookup of an unknown name = %v", err)
	}
}
