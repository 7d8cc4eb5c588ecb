package feox

import (
	"bytes"
	"errors"
	"sync"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/datafile"
)

// Values in persistent mode. A version's value stays in memory until the version is durable;
// then the CLOCK cache (package cache) decides whether it stays. An evicted version is replaced
// in the hash index by a stub: the same version (key, timestamps, sequence number, place on
// disk) without its value. A read that meets a stub reads the record back from the data file,
// verifies it against the stub and publishes a resident copy again. Replacing records, never
// changing one, keeps every record immutable: a reader that loaded the resident record before
// the eviction keeps a valid value.

// stubOf returns r's version without its value: what the key's cell holds once the value is
// evicted, so that r (and its value) can be freed. A stub has no extra unless it needs an
// expiry or guards: it holds its place itself.
func stubOf(r *record) *record {
	var st *record
	if r.x.expiry == 0 && r.x.guardSeq == 0 {
		st = new(record)
		st.val = unsafe.Pointer(r.x.pl)
	} else {
		st = bare(true)
		st.x.expiry, st.x.guardTs, st.x.guardSeq = r.x.expiry, r.x.guardTs, r.x.guardSeq
		st.x.pl = r.x.pl
		st.x.durable.Store(true)
	}
	st.ts, st.seq, st.vlen, st.stub = r.ts, r.seq, r.vlen, true
	return st
}

// residentOf returns the stub's version, of the key of cell c, with its value v back in memory.
func residentOf(st *record, c *cell, v []byte) *record {
	r := newRecord(v, true)
	r.ts, r.seq = st.ts, st.seq
	if st.x != nil {
		r.x.expiry, r.x.guardTs, r.x.guardSeq = st.x.expiry, st.x.guardTs, st.x.guardSeq
	}
	r.x.cell, r.x.pl = c, st.place()
	r.x.durable.Store(true)
	return r
}

// admit hands a durable version's value to the cache; with DisableCache it evicts it at once.
// Only the key's shard's complete stage calls it, once per version.
func (s *Store) admit(r *record, victims []*record) []*record {
	if s.opts.DisableCache {
		return append(victims, r)
	}
	s.cache.AdmitHandle(&r.x.ce, r, cacheCharge(r.vlen))
	r.x.ch.Store(&r.x.ce)
	return victims
}

// dropReplaced drops from the cache the values of the versions r replaced, now that r is
// durable, and forgets them. The versions between r and the newest durable one it replaced
// were never admitted (versions enter the cache once durable, in the key's shard's order), so
// the walk ends there: that version's link was cleared when it became durable. Complete stage
// of r's shard only.
func (s *Store) dropReplaced(r *record) {
	for p := r.x.prev; p != nil && p.x != nil; p = p.x.prev { // a stub has neither link nor value
		if h := p.x.ch.Load(); h != nil {
			s.cache.Remove(h)
		}
	}
	r.x.prev = nil
}

// evict runs bounded rounds of the CLOCK hand while the cache is over its high watermark and
// replaces each victim still current in the hash index by its stub.
func (s *Store) evict(victims []*record) {
	for s.cache.NeedsEvict() {
		n, _ := s.cache.Evict(func(r *record) bool {
			victims = append(victims, r) // runs under the cache's lock: only collect
			return true
		})
		if n == 0 {
			break // everything the hand met was referenced; try again after the next batch
		}
	}
	for _, r := range victims {
		s.stubOut(r)
	}
}

// evictRound runs one bounded round of the CLOCK hand.
func (s *Store) evictRound() {
	var victims []*record
	s.cache.Evict(func(r *record) bool {
		victims = append(victims, r) // runs under the cache's lock: only collect
		return true
	})
	for _, r := range victims {
		s.stubOut(r)
	}
}

// stubOut replaces r by its stub if r is still its key's newest record.
func (s *Store) stubOut(r *record) {
	st := stubOf(r)
	done := false
	c := r.x.cell
	s.hash.Compute(c.Key(), func(kc *cell) *cell {
		if kc == c && c.Load() == r {
			done = true
			c.Store(st)
		}
		return kc
	})
	if done {
		s.mem.Add(s.charge(st) - s.charge(r))
		s.stats.evictions.Inc()
	}
}

// readBack reads the value of st, a stub of key, from the data file and publishes a resident
// copy if st is still its key's newest record (unless DisableCache). It returns the record now
// holding the version (the copy, or st if it was replaced meanwhile) and the value, a new
// buffer owned by the caller. A verification failure wraps ErrCorrupted; it may also mean that
// st was replaced and its space reused since the caller loaded it (see valueOf).
func (s *Store) readBack(key string, st *record) (*record, []byte, error) {
	v, err := s.readValue(key, st)
	s.stats.diskReads.Inc()
	if err != nil {
		return st, nil, err
	}
	if s.opts.DisableCache {
		return st, v, nil // every read goes to disk
	}
	c := s.hash.Cell(key)
	if c == nil {
		return st, v, nil // the key has gone meanwhile
	}
	r := residentOf(st, c, v)
	s.cache.AdmitHandle(&r.x.ce, r, cacheCharge(r.vlen))
	r.x.ch.Store(&r.x.ce)
	done := false
	s.hash.Compute(c.Key(), func(kc *cell) *cell {
		if kc == c && c.Load() == st {
			done = true
			c.Store(r)
		}
		return kc
	})
	if !done {
		s.cache.Remove(&r.x.ce)
		return st, v, nil
	}
	s.mem.Add(s.charge(r) - s.charge(st))
	if s.cache.NeedsEvict() {
		s.evictRound() // bound the overshoot on the reader's (already slow) path
		s.kickEvict()  // and let the background goroutine finish the job
	}
	return r, v, nil
}

// touch records a read of r's value in the cache (a no-op for versions the cache does not
// hold, and in memory-only mode).
func (s *Store) touch(r *record) {
	if h := r.handle(); h != nil {
		s.cache.Touch(h)
	}
}

// kickEvict asks the background goroutine to run the CLOCK hand.
func (s *Store) kickEvict() {
	select {
	case s.evictKick <- struct{}{}:
	default:
	}
}

// valueOf returns the value of r, which the caller loaded as the newest record of key outside
// the key's critical section, and the record that holds it: r, or the resident copy that
// replaced r's stub. fresh reports that v is a new buffer the caller owns; otherwise v belongs
// to the record and must not be modified. When r's disk copy fails verification because r was
// replaced (and its space reused) meanwhile, valueOf goes on with the key's newest record;
// it returns ErrNotFound if the key has gone.
func (s *Store) valueOf(key string, r *record) (cur *record, v []byte, fresh bool, err error) {
	for {
		if !r.stub {
			s.touch(r)
			return r, r.value(), false, nil
		}
		cur, v, err := s.readBack(key, r)
		if err == nil {
			return cur, v, true, nil
		}
		if !errors.Is(err, ErrCorrupted) {
			return r, nil, false, err
		}
		now := s.hash.Load(key)
		if now == r {
			return r, nil, false, err // the newest version's own copy is damaged
		}
		if now == nil || !now.liveAt(wallNow()) {
			return r, nil, false, ErrNotFound
		}
		r = now
	}
}

// valueLocked returns the value of cur, the newest record of key, from inside the key's
// critical section (so cur cannot be replaced meanwhile); it reads a stub's value from disk
// without publishing a resident copy.
func (s *Store) valueLocked(key []byte, cur *record) ([]byte, error) {
	if !cur.stub {
		return cur.value(), nil
	}
	s.stats.diskReads.Inc()
	return s.readValue(keyString(key), cur)
}

// readValue reads the value of r's version of key back from the data file and verifies it (see
// datafile.File.ReadValue); a failed verification wraps ErrCorrupted.
func (s *Store) readValue(key string, r *record) ([]byte, error) {
	v, err := s.df.ReadValue(r.place(), datafile.Version{Key: key, TS: r.ts, Seq: r.seq, ValueLen: int(r.vlen)})
	return v, fileErr(err)
}

// stubValue is the value of a stub read for Range; gone reports that the key went away between
// the ordered index visit and the read.
type stubValue struct {
	v    []byte
	gone bool
}

// stubValues reads the values of the stubs among recs, concurrently on the store's bounded pool
// of disk readers when there are several, so that a Range over values that left memory waits
// for about one disk read per pool worker instead of one per key. Entries of resident records
// are left zero. Every value is a new buffer owned by the caller.
func (s *Store) stubValues(recs []version) ([]stubValue, error) {
	n := 0
	for _, f := range recs {
		if f.r.stub {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	vals := make([]stubValue, len(recs))
	errs := make([]error, len(recs))
	read := func(i int) {
		_, v, fresh, err := s.valueOf(recs[i].c.Key(), recs[i].r)
		switch {
		case errors.Is(err, ErrNotFound):
			vals[i].gone = true
		case err != nil:
			errs[i] = err
		case fresh:
			vals[i].v = v
		default:
			vals[i].v = bytes.Clone(v)
		}
	}
	if n == 1 || s.readers == nil {
		for i, f := range recs {
			if f.r.stub {
				read(i)
			}
		}
	} else {
		var wg sync.WaitGroup
		for i, f := range recs {
			if !f.r.stub {
				continue
			}
			wg.Add(1)
			if err := s.readers.Submit(func() { defer wg.Done(); read(i) }); err != nil {
				wg.Done()
				read(i) // the pool is released (the store is closing): read here
			}
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return vals, nil
}
