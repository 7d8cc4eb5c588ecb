package engine

import (
	"bytes"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bboltLockWait is how long Open waits for another process's lock on the file.
const bboltLockWait = 5 * time.Second

// bboltEngine adapts a bbolt DB holding every pair in one bucket.
type bboltEngine struct {
	db     *bolt.DB
	dir    string
	bucket []byte
}

func bboltSpec() Spec {
	return Spec{
		Name:    "bbolt",
		Version: "go.etcd.io/bbolt v1.5.0",
		Memory:  false,
		Open:    openBbolt,
		Notes: "One file, one bucket, `bolt.Options{NoSync: true, FreelistType: " +
			"FreelistMapType, NoFreelistSync: true}` (the freelist settings etcd uses; the docs " +
			"call the map freelist faster in almost all circumstances). No memory-only mode " +
			"exists. Put = one `db.Update` per write; load = one `db.Update` per 1,000 pairs. " +
			"`db.Batch` is not used: its README says it is only useful with multiple goroutines " +
			"calling it, and with 1 or 2 writers each batch would hold 1-2 writes and wait " +
			"`MaxBatchDelay` (10 ms). Get = `db.View`, `Bucket.Get`, copy; scan = a `Cursor` " +
			"in `db.View`, `Seek` then n `Next`s; sync and durable writes = Put then `db.Sync` " +
			"(fdatasync, documented for users of NoSync).",
	}
}

func openBbolt(dir string, memory bool) (Engine, error) {
	if memory {
		return nil, ErrNoMemoryMode
	}
	db, err := bolt.Open(filepath.Join(dir, "data.bolt"), 0o600, &bolt.Options{
		Timeout:        bboltLockWait,
		NoSync:         true,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, err
	}
	e := &bboltEngine{db: db, dir: dir, bucket: []byte("kv")}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(e.bucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, err
	}
	return e, nil
}

func (e *bboltEngine) Put(key, value []byte) error {
	return e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(e.bucket).Put(key, value) })
}

func (e *bboltEngine) PutSync(key, value []byte) error {
	if err := e.Put(key, value); err != nil {
		return err
	}
	return e.db.Sync()
}

func (e *bboltEngine) PutBatch(keys, values [][]byte) error {
	return e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(e.bucket)
		for i, k := range keys {
			if err := b.Put(k, values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *bboltEngine) Get(key []byte) ([]byte, error) {
	var out []byte
	err := e.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(e.bucket).Get(key)
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}

func (e *bboltEngine) Scan(start []byte, n int, fn func(key, value []byte)) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	seen := 0
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(e.bucket).Cursor()
		for k, v := c.Seek(start); k != nil && seen < n; k, v = c.Next() {
			fn(k, v)
			seen++
		}
		return nil
	})
	return seen, err
}

func (e *bboltEngine) Sync() error { return e.db.Sync() }

func (e *bboltEngine) DiskUsage() (int64, error) { return DirUsage(e.dir) }

func (e *bboltEngine) Close() error { return e.db.Close() }
