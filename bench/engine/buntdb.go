package engine

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tidwall/buntdb"
)

// buntSyncKey is the key Sync rewrites to make buntdb fsync its file. It is 17 bytes of 0xff,
// so it sorts after every key of KeySize (16) bytes; Scan skips it.
var buntSyncKey = strings.Repeat("\xff", 17)

// buntEngine adapts a buntdb DB.
type buntEngine struct {
	db  *buntdb.DB
	dir string // "" in memory-only mode
	// syncMu serializes the switches of the sync policy made by PutSync and Sync.
	syncMu sync.Mutex
}

func buntdbSpec() Spec {
	return Spec{
		Name:    "buntdb",
		Version: "github.com/tidwall/buntdb v1.3.0",
		Memory:  true,
		Open:    openBunt,
		Notes: "`buntdb.Open(dir/data.db)` with `SyncPolicy: EverySecond` (its default and " +
			"recommended setting: an fsync of the append-only file once a second); memory-only: " +
			"`Open(\":memory:\")`. Put = `db.Update` with `tx.Set`; load = one `db.Update` per " +
			"1,000 pairs; Get = `db.View` with `tx.Get` (buntdb keys and values are strings, so " +
			"both are converted); scan = `tx.AscendGreaterOrEqual` on the key order in `db.View`, " +
			"stopped after n; durable write = the same `db.Update` under `SyncPolicy: Always` " +
			"(set with `SetConfig` for that write: every commit then fsyncs the file, which " +
			"covers every earlier write). buntdb has no sync call, so sync = rewriting one marker " +
			"key under `Always`.",
	}
}

func openBunt(dir string, memory bool) (Engine, error) {
	path := ":memory:"
	if !memory {
		path = filepath.Join(dir, "data.db")
	}
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, err
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	cfg.SyncPolicy = buntdb.EverySecond
	if err := db.SetConfig(cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	e := &buntEngine{db: db}
	if !memory {
		e.dir = dir
	}
	return e, nil
}

func (e *buntEngine) Put(key, value []byte) error {
	return e.db.Update(func(tx *buntdb.Tx) error {
		_, _, err := tx.Set(string(key), string(value), nil)
		return err
	})
}

// withPolicy runs fn with the sync policy set to p, then restores EverySecond.
func (e *buntEngine) withPolicy(p buntdb.SyncPolicy, fn func() error) error {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	var cfg buntdb.Config
	if err := e.db.ReadConfig(&cfg); err != nil {
		return err
	}
	cfg.SyncPolicy = p
	if err := e.db.SetConfig(cfg); err != nil {
		return err
	}
	ferr := fn()
	cfg.SyncPolicy = buntdb.EverySecond
	return errors.Join(ferr, e.db.SetConfig(cfg))
}

func (e *buntEngine) PutSync(key, value []byte) error {
	if e.dir == "" {
		return e.Put(key, value)
	}
	return e.withPolicy(buntdb.Always, func() error { return e.Put(key, value) })
}

func (e *buntEngine) PutBatch(keys, values [][]byte) error {
	return e.db.Update(func(tx *buntdb.Tx) error {
		for i, k := range keys {
			if _, _, err := tx.Set(string(k), string(values[i]), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *buntEngine) Get(key []byte) ([]byte, error) {
	var out []byte
	err := e.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(string(key))
		if err != nil {
			return err
		}
		out = []byte(v)
		return nil
	})
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil, ErrNotFound
	}
	return out, err
}

func (e *buntEngine) Scan(start []byte, n int, fn func(key, value []byte)) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	seen := 0
	err := e.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", string(start), func(k, v string) bool {
			if k == buntSyncKey {
				return true
			}
			fn([]byte(k), []byte(v))
			seen++
			return seen < n
		})
	})
	return seen, err
}

func (e *buntEngine) Sync() error {
	if e.dir == "" {
		return nil
	}
	return e.withPolicy(buntdb.Always, func() error {
		return e.db.Update(func(tx *buntdb.Tx) error {
			_, _, err := tx.Set(buntSyncKey, "", nil)
			return err
		})
	})
}

func (e *buntEngine) DiskUsage() (int64, error) {
	if e.dir == "" {
		return 0, nil
	}
	return DirUsage(e.dir)
}

func (e *buntEngine) Close() error { return e.db.Close() }
