package engine

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// badgerEngine adapts a badger DB.
type badgerEngine struct {
	db  *badger.DB
	dir string // "" in memory-only mode
}

func badgerSpec() Spec {
	return Spec{
		Name:    "badger",
		Version: "github.com/dgraph-io/badger/v4 v4.9.6",
		Memory:  true,
		Open:    openBadger,
		Notes: "`badger.DefaultOptions(dir)` with `SyncWrites` off (its default) and the logger " +
			"silenced; memory-only: `DefaultOptions(\"\").WithInMemory(true)`. Put = `db.Update` " +
			"with `txn.Set`; load = a `WriteBatch` per 1,000 pairs (`Set` each, then `Flush`); Get = " +
			"a read-only `db.View` with `txn.Get` and `item.ValueCopy`; scan = an iterator in a " +
			"`db.View` with `DefaultIteratorOptions` (values prefetched), `Seek` then n `Next`s; " +
			"sync = `db.Sync` (syncs the WAL and value log); durable write = Put then `db.Sync`.",
	}
}

func openBadger(dir string, memory bool) (Engine, error) {
	opts := badger.DefaultOptions(dir).WithSyncWrites(false).WithLogger(nil)
	if memory {
		opts = badger.DefaultOptions("").WithInMemory(true).WithLogger(nil)
	}
	db, err := badger.Open(opts)
	if err != nil {
		return nil, err
	}
	e := &badgerEngine{db: db}
	if !memory {
		e.dir = dir
	}
	return e, nil
}

func (e *badgerEngine) Put(key, value []byte) error {
	return e.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) })
}

func (e *badgerEngine) PutSync(key, value []byte) error {
	if err := e.Put(key, value); err != nil {
		return err
	}
	return e.db.Sync()
}

func (e *badgerEngine) PutBatch(keys, values [][]byte) error {
	wb := e.db.NewWriteBatch()
	defer wb.Cancel()
	for i, k := range keys {
		if err := wb.Set(k, values[i]); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (e *badgerEngine) Get(key []byte) ([]byte, error) {
	var out []byte
	err := e.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	return out, err
}

func (e *badgerEngine) Scan(start []byte, n int, fn func(key, value []byte)) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	seen := 0
	err := e.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchSize = n
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(start); it.Valid() && seen < n; it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error {
				fn(item.Key(), v)
				return nil
			}); err != nil {
				return err
			}
			seen++
		}
		return nil
	})
	return seen, err
}

func (e *badgerEngine) Sync() error { return e.db.Sync() }

func (e *badgerEngine) DiskUsage() (int64, error) {
	if e.dir == "" {
		return 0, nil
	}
	return DirUsage(e.dir)
}

func (e *badgerEngine) Close() error { return e.db.Close() }
