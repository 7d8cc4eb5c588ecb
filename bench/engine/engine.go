// Package engine adapts each key-value store of the comparison to one small interface, so
// that the runner drives every engine through the same calls. Each adapter uses its engine
// the way the engine's documentation recommends; Spec.Notes says how.
package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

var (
	// ErrNotFound is returned by Get for a key the engine does not hold.
	ErrNotFound = errors.New("key not found")
	// ErrNoMemoryMode is returned by Open with memory set for an engine that always
	// persists.
	ErrNoMemoryMode = errors.New("engine has no memory-only mode")
	// ErrUnknownEngine is returned by Lookup for a name no adapter has.
	ErrUnknownEngine = errors.New("unknown engine")
)

// Engine is an open key-value store. Every method is safe for concurrent use. No method
// retains the slices passed to it after it returns, so callers may reuse them at once.
type Engine interface {
	// Put sets key to value the engine's ordinary (not synced) way.
	Put(key, value []byte) error
	// PutSync sets key to value and returns once it, and every write before it, is durable.
	PutSync(key, value []byte) error
	// PutBatch sets keys[i] to values[i] for every i, in as few commits as the engine's bulk
	// loading path allows; the writes are not synced.
	PutBatch(keys, values [][]byte) error
	// Get returns a copy of key's value that belongs to the caller, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn with the first n pairs whose key is >= start, in ascending key order,
	// and returns how many it visited. The slices passed to fn are valid only until fn
	// returns.
	Scan(start []byte, n int, fn func(key, value []byte)) (int, error)
	// Sync returns once every write accepted before the call is durable; it does nothing in
	// memory-only mode.
	Sync() error
	// DiskUsage returns the bytes the engine's files occupy on disk (allocated blocks, as du
	// counts them); 0 in memory-only mode.
	DiskUsage() (int64, error)
	// Close releases the engine, making every write durable first where it persists.
	Close() error
}

// Spec describes one adapter.
type Spec struct {
	// Name is the engine's name on the command line and in reports.
	Name string
	// Version is the module and version the adapter is built against.
	Version string
	// Memory tells whether the engine has a memory-only mode.
	Memory bool
	// Open opens (creating if needed) the engine in dir, which must exist, or in memory only
	// when memory is set (dir is then left untouched).
	Open func(dir string, memory bool) (Engine, error)
	// Notes say, as Markdown, how the adapter uses the engine.
	Notes string
}

// All returns the specs of every adapter, feox-go first.
func All() []Spec {
	return []Spec{feoxSpec(), badgerSpec(), pebbleSpec(), bboltSpec(), buntdbSpec()}
}

// Names returns the names of every adapter, comma-separated.
func Names() string {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// Lookup returns the spec called name.
func Lookup(name string) (Spec, error) {
	for _, s := range All() {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("%w %q (have %s)", ErrUnknownEngine, name, Names())
}

// DirUsage returns the bytes of disk blocks allocated to the files under dir, as du counts
// them (holes of sparse files excluded).
func DirUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed by the engine meanwhile
				return nil
			}
			return err
		}
		total += allocated(info)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cannot measure disk usage of %q: %w", dir, err)
	}
	return total, nil
}
