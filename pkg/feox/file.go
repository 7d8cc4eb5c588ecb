package feox

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/panjf2000/ants/v2"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/index"
	"github.com/feoxdb/feox-go/pkg/cache"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// The persistent side of a Store: the data file (package datafile) writes, settles, cleans and
// recovers the records; the Store keeps the versions and the indexes. The two meet through the
// versions' places (a record carries its datafile.Place), the index the data file asks
// (fileIndex), and the Rebuilder that turns the records found at Open into versions.

// openFile opens the data file, recovering its records into the indexes, and the pool of disk
// readers.
func (s *Store) openFile() error {
	o := &s.opts
	s.cache = cache.New[*record](cache.Config{HighWatermark: o.MaxMemory})
	cfg := s.hooks.file
	cfg.Path, cfg.FileSize, cfg.Shards = o.Path, o.FileSize, o.Pipeline.Shards
	cfg.Writers.IO, cfg.Writers.QueueDepth = o.Pipeline.IO.disk(), o.Pipeline.QueueDepth
	cfg.Writers.SQPoll, cfg.Writers.BatchEntries = o.Pipeline.SQPoll, o.Pipeline.BatchEntries
	cfg.DirectIO, cfg.Index, cfg.ShardOf, cfg.Log = o.Pipeline.DirectIO, fileIndex{s}, s.shardOf, s.log
	cfg.MaxGarbage = o.MaxGarbage
	rb := &rebuild{s: s}
	df, err := datafile.Open(cfg, rb)
	if err != nil {
		return fileErr(err)
	}
	s.df = df
	rb.finish()
	if s.readers, err = ants.NewPool(diskReaders()); err != nil {
		s.closeFile()
		return err
	}
	s.log.Info().Str("path", o.Path).Int64("keys", s.keys.Value()).Int("deletions_kept", rb.deletions).
		Msg("feox: recovery done")
	return nil
}

// closeFile waits for the ordered index's rebuild, stops the disk readers and closes the data
// file; the pipeline must be closed.
func (s *Store) closeFile() error {
	s.ordered.Wait()
	if s.readers != nil {
		if err := s.readers.ReleaseTimeout(readersRelease); err != nil {
			s.log.Error().Err(err).Msg("feox: the disk reader pool did not stop in time")
		}
	}
	if s.df == nil {
		return nil
	}
	return s.df.Close()
}

// fileErr maps an error of the data file onto the Store's sentinels, keeping its cause.
func fileErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{datafile.ErrLocked, ErrLocked},
		{datafile.ErrOlderFormat, ErrOlderFormat},
		{datafile.ErrCorrupted, ErrCorrupted},
		{datafile.ErrFull, ErrStoreFull},
	} {
		if errors.Is(err, m.from) && !errors.Is(err, m.to) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return err
}

// fileIndex is the hash index as the data file sees it (datafile.Index).
type fileIndex struct{ s *Store }

// Newest returns the place of key's newest version in the hash index.
func (x fileIndex) Newest(key string) *datafile.Place {
	if r := x.s.hash.Load(key); r != nil {
		return r.place()
	}
	return nil
}

// onDurable is the complete stage's report of a durable batch, which the data file has
// settled: each version is marked durable, the values of the versions it replaced leave the
// cache, and its own value may now leave memory (the cache admits it, or with DisableCache it
// becomes a stub at once).
func (s *Store) onDurable(b *stages.Batch) {
	var victims []*record
	for i := range b.Entries {
		if r, ok := b.Entries[i].Ref.(*record); ok {
			s.dropReplaced(r)
			r.x.durable.Store(true)
			// A retried value the data file skipped (a newer version replaces it) has no
			// place on disk, and no business in the cache.
			if _, written := r.x.pl.Loc(); written && !r.dead {
				victims = s.admit(r, victims)
			}
		}
	}
	for i := range b.Dropped {
		if r, ok := b.Dropped[i].Ref.(*record); ok {
			s.dropReplaced(r)
			r.x.durable.Store(true)
		}
	}
	s.evict(victims)
}

// rebuild turns the records the data file finds at Open into versions in the hash index (the
// Store's datafile.Rebuilder), then settles the winners (finish).
type rebuild struct {
	s *Store
	// kept counts the value bytes Build chose to keep in memory: values are kept while the
	// cache has room (first come, first kept), the rest start as stubs and are read back on
	// demand. The cache admits them only later, in Add, so its own count lags behind.
	kept int64
	// met lists every version that won when Add met it, with its key's cell, in file order (a
	// newer one may beat it later); deletions counts the deletion records finish kept.
	met       []version
	deletions int
}

// Expect sizes the hash index, and the list of versions met, for the records Open may find:
// the map then never grows, which would move every entry, while the rebuild fills it.
func (rb *rebuild) Expect(n int64) {
	n = min(n, maxPresize)
	rb.s.hash = index.NewHash[record](int(n))
	rb.met = make([]version, 0, n)
}

// maxPresize bounds the entries Expect sizes the hash index for up front.
const maxPresize = 1 << 26

// Build makes the version of the record r found at pl (the scanning goroutine) and returns it
// in a new cell holding its key: Add keeps the cell if the key has none yet.
func (rb *rebuild) Build(f *disk.FoundPacked, pl *datafile.Place) any {
	s, r := rb.s, &f.Record
	var rec *record
	switch {
	case !s.opts.DisableCache && rb.kept+cacheCharge(uint32(len(r.Value))) <= s.cache.LowWatermark():
		rec = newRecord(r.Value, true)
		rb.kept += cacheCharge(uint32(len(r.Value)))
	case r.Expiry == 0:
		rec = &record{val: unsafe.Pointer(pl), stub: true} // a stub holds its place itself
	default:
		rec = bare(true)
		rec.stub = true
	}
	rec.ts, rec.seq, rec.vlen = r.TS, r.Seq, uint32(len(r.Value))
	rec.dead = pl.Dead()
	if rec.x != nil {
		rec.x.expiry, rec.x.pl = r.Expiry, pl
		rec.x.durable.Store(true)
	}
	c := s.hash.NewCell(unsafe.String(unsafe.SliceData(r.Key), len(r.Key))) // NewCell copies it
	c.Store(rec)
	return c
}

// Add resolves v, a cell from Build, against the version of its key met before: the larger
// sequence number wins.
func (rb *rebuild) Add(v any) (winner, loser *datafile.Place) {
	s, c := rb.s, v.(*cell)
	rec := c.Load()
	var prev *record
	older := false
	s.hash.Compute(c.Key(), func(kc *cell) *cell {
		if kc == nil { // most keys are met once
			return c
		}
		if prev = kc.Load(); rec.seq <= prev.seq {
			older = true
			return kc
		}
		c = kc
		kc.Store(rec)
		return kc
	})
	if older {
		return prev.place(), rec.place() // an older copy
	}
	if prev != nil {
		s.cache.Remove(prev.handle())
	}
	if !rec.stub && !rec.dead {
		rec.x.cell = c
		s.cache.AdmitHandle(&rec.x.ce, rec, cacheCharge(rec.vlen))
		rec.x.ch.Store(&rec.x.ce)
	}
	rb.met = append(rb.met, version{c, rec})
	if prev != nil {
		return rec.place(), prev.place()
	}
	return nil, nil
}

// finish settles the winners: a deletion or an expired version leaves the key absent (and is
// kept on disk while older copies of the key remain); every other one counts as live and
// enters the indexes and the memory accounting.
func (rb *rebuild) finish() {
	s := rb.s
	now := wallNow()
	var maxSeq uint64
	cells := make([]*cell, 0, len(rb.met))
	for _, m := range rb.met {
		c, r := m.c, m.r
		if r.place().Superseded() {
			continue // a newer version of the key won
		}
		maxSeq = max(maxSeq, r.seq)
		if r.dead || (r.expiry() != 0 && now >= r.expiry()) {
			s.hash.Compute(c.Key(), func(*cell) *cell { c.Store(nil); return nil })
			s.cache.Remove(r.handle())
			if s.df.Keep(c.Key(), r.place()) {
				rb.deletions++
			}
			continue
		}
		if r.x != nil {
			r.x.durable.Store(true)
		}
		s.df.Count(r.place())
		cells = append(cells, c)
		s.keys.Inc()
		s.mem.Add(s.charge(r) + s.keyCharge(len(c.Key())))
		s.keyMem.Add(s.keyCharge(len(c.Key())))
		if r.expiry() != 0 {
			s.ttl.update(c.Key(), 0, r.expiry())
		}
	}
	// Point operations need only the hash index: the ordered one, which takes about as long to
	// build as the rest of Open, is built on a goroutine of its own, and Range and Scan wait
	// for it.
	s.ordered.InsertManyLater(cells)
	for i := range s.clocks {
		s.clocks[i].seq.Store(maxSeq)
	}
	rb.met = nil
}
