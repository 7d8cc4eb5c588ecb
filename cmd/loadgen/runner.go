package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
	"github.com/feoxdb/feox-go/pkg/hist"
)

// opKind is an operation kind as reported: puts are split by whether they created the key.
type opKind uint8

const (
	kindGet    opKind = iota // Get
	kindInsert               // Insert that created the key (a failed put counts here too)
	kindUpdate               // Insert that replaced a present key's value
	kindDelete               // Delete
	numKinds
)

// String returns the kind's name as printed in reports.
func (k opKind) String() string {
	switch k {
	case kindGet:
		return "get"
	case kindInsert:
		return "insert"
	case kindUpdate:
		return "update"
	case kindDelete:
		return "delete"
	}
	return fmt.Sprintf("opKind(%d)", uint8(k))
}

// kindStats are the measurements of one operation kind.
type kindStats struct {
	// lat holds the latency of every operation of the kind, failed ones included.
	lat hist.Histogram
	// misses counts ErrNotFound results (a get or delete of an absent key), which are normal.
	misses int64
	// errors counts every other error.
	errors int64
}

// workerStats are one worker's measurements; only that worker writes them during the run.
type workerStats struct {
	kinds    [numKinds]kindStats
	firstErr error
}

// result is the outcome of a measured run.
type result struct {
	// elapsed is the wall time from starting the workers until the last one stopped.
	elapsed time.Duration
	// kinds merges every worker's measurements, per kind.
	kinds [numKinds]kindStats
	// firstErr is one of the unexpected errors, if any occurred.
	firstErr error
}

// errorCount returns the number of unexpected errors of every kind.
func (r *result) errorCount() int64 {
	var n int64
	for i := range r.kinds {
		n += r.kinds[i].errors
	}
	return n
}

// runner drives a workload against a store with cfg.goroutines workers.
type runner struct {
	cfg   config
	store *feox.Store
	wl    workload
}

// preloadChunk is how many keys a preload worker inserts between progress updates and
// cancellation checks.
const preloadChunk = 4096

// preload inserts every key of the key space, split into contiguous ranges among the
// workers. When progress is not nil it receives a progress line a few times a second.
func (rn *runner) preload(ctx context.Context, progress io.Writer) error {
	var done atomic.Int64
	n := rn.cfg.keys
	workers := min(rn.cfg.goroutines, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() {
			keys := newKeyGen(rn.cfg.keySize, n)
			value := makeValue(rn.cfg.valueSize, rn.cfg.seed, w)
			for from := lo; from < hi; from += preloadChunk {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				to := min(from+preloadChunk, hi)
				for i := from; i < to; i++ {
					if _, err := rn.store.Insert(keys.key(i), value); err != nil {
						errs[w] = fmt.Errorf("cannot preload key %d: %w", i, err)
						return
					}
				}
				done.Add(int64(to - from))
			}
		})
	}
	finished := make(chan struct{})
	var pwg sync.WaitGroup
	if progress != nil {
		pwg.Go(func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-finished:
					fmt.Fprint(progress, "\r\x1b[K") // erase the progress line
					return
				case <-tick.C:
					d := done.Load()
					fmt.Fprintf(progress, "\rpreloading %d/%d keys (%d%%)", d, n, d*100/int64(n))
				}
			}
		})
	}
	wg.Wait()
	close(finished)
	pwg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// run runs the workload for cfg.duration, or until ctx is done, and merges the workers'
// measurements.
func (rn *runner) run(ctx context.Context) *result {
	var stop atomic.Bool
	stats := make([]*workerStats, rn.cfg.goroutines)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range stats {
		stats[w] = new(workerStats)
		wg.Go(func() { rn.worker(w, &stop, stats[w]) })
	}
	timer := time.NewTimer(rn.cfg.duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	// Sequentially consistent store and loads: every worker sees the flag within an
	// operation or so, and wg.Wait orders their measurements before the merge below.
	stop.Store(true)
	wg.Wait()
	res := &result{elapsed: time.Since(start)}
	for _, ws := range stats {
		for k := range ws.kinds {
			res.kinds[k].lat.Merge(&ws.kinds[k].lat)
			res.kinds[k].misses += ws.kinds[k].misses
			res.kinds[k].errors += ws.kinds[k].errors
		}
		if res.firstErr == nil {
			res.firstErr = ws.firstErr
		}
	}
	return res
}

// worker runs operations until stop is set, timing each one. Apart from what the store does,
// the loop does not allocate: the generator, key buffer and value are made once.
func (rn *runner) worker(idx int, stop *atomic.Bool, ws *workerStats) {
	r := rand.New(rand.NewPCG(rn.cfg.seed, uint64(idx)))
	keys := newKeyGen(rn.cfg.keySize, rn.cfg.keys)
	value := makeValue(rn.cfg.valueSize, rn.cfg.seed, idx)
	st := rn.store
	for !stop.Load() {
		o := rn.wl.next(r)
		key := keys.key(o.key)
		var (
			kind opKind
			err  error
		)
		start := time.Now()
		switch o.action {
		case actGet:
			kind = kindGet
			_, err = st.Get(key)
		case actPut:
			var created bool
			created, err = st.Insert(key, value)
			kind = kindInsert
			if err == nil && !created {
				kind = kindUpdate
			}
		case actDelete:
			kind = kindDelete
			err = st.Delete(key)
		}
		ks := &ws.kinds[kind]
		ks.lat.Record(time.Since(start))
		switch {
		case err == nil:
		case errors.Is(err, feox.ErrNotFound):
			ks.misses++
		default:
			ks.errors++
			if ws.firstErr == nil {
				ws.firstErr = fmt.Errorf("%s of key %d: %w", kind, o.key, err)
			}
		}
	}
}

// makeValue returns a value of size bytes with deterministic content that depends on the
// seed and the worker.
func makeValue(size int, seed uint64, worker int) []byte {
	r := rand.New(rand.NewPCG(seed, ^uint64(worker)))
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(r.IntN(26))
	}
	return v
}
