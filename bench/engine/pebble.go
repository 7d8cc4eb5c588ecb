package engine

import (
	"bytes"
	"errors"
	"log"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pebbleCacheSize is the block cache given to pebble: badger's default block cache, so that
// the two LSM engines read through caches of the same size (pebble's own default is 8 MiB).
const pebbleCacheSize = 256 << 20

// pebbleEngine adapts a pebble DB.
type pebbleEngine struct {
	db  *pebble.DB
	dir string // "" in memory-only mode
}

func pebbleSpec() Spec {
	return Spec{
		Name:    "pebble",
		Version: "github.com/cockroachdb/pebble/v2 v2.1.7",
		Memory:  true,
		Open:    openPebble,
		Notes: "`pebble.Options` with `FormatMajorVersion: FormatNewest` (its docs recommend " +
			"setting an explicit version), a 256 MiB block cache (`pebble.NewCache`, the size of " +
			"badger's default; pebble's default is 8 MiB), a silent logger, the rest default; " +
			"memory-only: the same with `FS: vfs.NewMem()` (the WAL is kept, as in the default " +
			"options). Put = `db.Set` with `pebble.NoSync`; load = a `Batch` per 1,000 pairs " +
			"committed with `NoSync`; Get = `db.Get`, copy, `closer.Close`; scan = `db.NewIter`, " +
			"`SeekGE`, n `Next`s; durable write = `db.Set` with `pebble.Sync`; sync = " +
			"`db.LogData(nil, pebble.Sync)` (a synced WAL write, which covers every earlier write).",
	}
}

// quietLogger drops pebble's informational and error logs; fatal ones still stop the process.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Errorf(string, ...any)             {}
func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }

func openPebble(dir string, memory bool) (Engine, error) {
	cache := pebble.NewCache(pebbleCacheSize)
	defer cache.Unref() // the DB holds its own reference
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Cache:              cache,
		Logger:             quietLogger{},
	}
	path := dir
	if memory {
		opts.FS = vfs.NewMem()
		path = "db"
	}
	db, err := pebble.Open(path, opts)
	if err != nil {
		return nil, err
	}
	e := &pebbleEngine{db: db}
	if !memory {
		e.dir = dir
	}
	return e, nil
}

func (e *pebbleEngine) Put(key, value []byte) error {
	return e.db.Set(key, value, pebble.NoSync)
}

func (e *pebbleEngine) PutSync(key, value []byte) error {
	return e.db.Set(key, value, pebble.Sync)
}

func (e *pebbleEngine) PutBatch(keys, values [][]byte) error {
	b := e.db.NewBatch()
	defer b.Close()
	for i, k := range keys {
		if err := b.Set(k, values[i], nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

func (e *pebbleEngine) Get(key []byte) ([]byte, error) {
	v, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	return out, closer.Close()
}

func (e *pebbleEngine) Scan(start []byte, n int, fn func(key, value []byte)) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	it, err := e.db.NewIter(nil)
	if err != nil {
		return 0, err
	}
	seen := 0
	for ok := it.SeekGE(start); ok && seen < n; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return seen, err
		}
		fn(it.Key(), v)
		seen++
	}
	return seen, it.Close()
}

func (e *pebbleEngine) Sync() error {
	if e.dir == "" {
		return nil
	}
	return e.db.LogData(nil, pebble.Sync)
}

func (e *pebbleEngine) DiskUsage() (int64, error) {
	if e.dir == "" {
		return 0, nil
	}
	return DirUsage(e.dir)
}

func (e *pebbleEngine) Close() error { return e.db.Close() }
