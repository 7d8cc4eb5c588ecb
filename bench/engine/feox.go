package engine

import (
	"errors"
	"path/filepath"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// feoxEngine adapts a feox-go Store.
type feoxEngine struct {
	st  *feox.Store
	dir string // "" in memory-only mode
}

func feoxSpec() Spec {
	return Spec{
		Name:    "feox-go",
		Version: "github.com/feoxdb/feox-go (this repository)",
		Memory:  true,
		Open:    openFeox,
		Notes: "`feox.Options{}` (memory-only) or `feox.Options{Path: dir/data.feox}`, every other " +
			"option at its default. Put = `Insert` (write-behind: it returns once the write is in " +
			"the index and queued to its shard's pipeline); load = one `Insert` per pair (the " +
			"pipeline batches); Get = `Get` (a copy); scan = the streaming `Scan` iterator, left " +
			"after n pairs; sync and durable writes = `Flush` (returns once every accepted write " +
			"is written and fdatasynced).",
	}
}

func openFeox(dir string, memory bool) (Engine, error) {
	opts := feox.Options{}
	if !memory {
		opts.Path = filepath.Join(dir, "data.feox")
	}
	st, err := feox.Open(opts)
	if err != nil {
		return nil, err
	}
	e := &feoxEngine{st: st}
	if !memory {
		e.dir = dir
	}
	return e, nil
}

func (e *feoxEngine) Put(key, value []byte) error {
	_, err := e.st.Insert(key, value)
	return err
}

func (e *feoxEngine) PutSync(key, value []byte) error {
	if _, err := e.st.Insert(key, value); err != nil {
		return err
	}
	return e.st.Flush()
}

func (e *feoxEngine) PutBatch(keys, values [][]byte) error {
	for i, k := range keys {
		if _, err := e.st.Insert(k, values[i]); err != nil {
			return err
		}
	}
	return nil
}

func (e *feoxEngine) Get(key []byte) ([]byte, error) {
	v, err := e.st.Get(key)
	if errors.Is(err, feox.ErrNotFound) {
		return nil, ErrNotFound
	}
	return v, err
}

func (e *feoxEngine) Scan(start []byte, n int, fn func(key, value []byte)) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	seen := 0
	for k, v := range e.st.Scan(start, nil) {
		fn(k, v)
		seen++
		if seen == n {
			break
		}
	}
	return seen, nil
}

func (e *feoxEngine) Sync() error { return e.st.Flush() }

func (e *feoxEngine) DiskUsage() (int64, error) {
	if e.dir == "" {
		return 0, nil
	}
	return DirUsage(e.dir)
}

func (e *feoxEngine) Close() error { return e.st.Close() }
