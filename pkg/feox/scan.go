package feox

import (
	"bytes"
	"errors"
	"iter"
	"runtime"
	"unsafe"
)

// scanChunk is how many keys a Range or Scan copies out of the ordered index per visit; the
// index is locked only while one chunk is copied. Each chunk costs a seek down the B-tree (a
// few cache misses per level), so a scan of 100 pairs seeks once.
const scanChunk = 128

// KV is a key and its value, as returned by Range. Both slices belong to the caller.
type KV struct {
	Key, Value []byte
}

// bounds is a validated key range.
type bounds struct {
	from, to string
	toOpen   bool
	after    bool // exclude from itself (resuming after a key already visited)
}

// rangeBounds validates [start, end]: nil or empty start = from the first key, nil or empty end
// = through the last.
func rangeBounds(start, end []byte) (bounds, error) {
	if len(start) > 0 && len(end) > 0 && bytes.Compare(start, end) > 0 {
		return bounds{}, ErrInvalidRange
	}
	return bounds{from: string(start), to: string(end), toOpen: len(end) == 0}, nil
}

// each calls fn for every present, unexpired key in b in ascending order, with the key's
// cell and record, until fn returns false. It holds no lock while fn runs: the ordered index is
// read in chunks, each resumed after the last key seen. The record is the cell's current one,
// loaded without a second lookup.
func (s *Store) each(b bounds, fn func(c *cell, r *record) bool) {
	cells := make([]*cell, 0, scanChunk)
	recs := make([]*record, 0, prefetchBatch)
	from, after := b.from, b.after
	for {
		cells = s.ordered.Collect(cells[:0], from, after, b.to, b.toOpen, scanChunk)
		now := wallNow()
		for lo := 0; lo < len(cells); lo += prefetchBatch {
			batch := cells[lo:min(lo+prefetchBatch, len(cells))]
			recs = prefetch(recs[:0], batch)
			for _, c := range batch {
				r := c.Load() // again: the loop body may have changed the key (now in cache)
				if r == nil || !r.liveAt(now) {
					continue // deleted (or expired) since the chunk was collected
				}
				if !fn(c, r) {
					return
				}
			}
		}
		if len(cells) < scanChunk {
			return
		}
		from, after = cells[len(cells)-1].Key(), true
	}
}

// prefetchBatch is how many of a chunk's keys a scan prefetches at once: enough misses in
// flight to keep the processor's memory queues full, few enough that a scan which stops early
// fetched little it did not use.
const prefetchBatch = 32

// prefetch appends to recs the record of each cell, and reads each record's cache handle and
// the first and last bytes of its value, so that the cache misses of a batch overlap: a chunk's
// cells and records lie scattered across the heap, and visited one by one each pair would wait
// for its misses in turn. It returns recs.
func prefetch(recs []*record, cells []*cell) []*record {
	for _, c := range cells {
		recs = append(recs, c.Load()) // independent loads: the processor has many in flight
	}
	var sum uintptr
	for _, r := range recs {
		if r == nil {
			continue
		}
		if r.x != nil { // the cache handle the visit touches, on the record's second line
			sum += uintptr(unsafe.Pointer(r.x.ch.Load()))
		}
		if !r.stub && r.vlen > 0 {
			sum += uintptr(*(*byte)(r.val)) + uintptr(*(*byte)(unsafe.Add(r.val, r.vlen-1)))
		}
	}
	runtime.KeepAlive(sum) // keeps the reads from being optimised away
	return recs
}

// version is a key's cell with the record a scan found in it.
type version struct {
	c *cell
	r *record
}

// Range returns the present keys in [start, end], both inclusive, in ascending bytes.Compare
// order, with their values, at most limit of them (none for limit <= 0). A nil or empty start
// means from the first key and a nil or empty end through the last. It returns ErrInvalidRange
// when both are given and start > end. The result belongs to the caller. Range is not a
// snapshot: a key present and unchanged for the whole call is returned exactly once, a key
// written meanwhile shows its old or new value or is absent.
func (s *Store) Range(start, end []byte, limit int) ([]KV, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	b, err := rangeBounds(start, end)
	if err != nil {
		return nil, err
	}
	s.stats.ranges.Inc()
	if limit <= 0 {
		return []KV{}, nil
	}
	out := make([]KV, 0, min(limit, scanChunk))
	var recs []version
	for len(out) < limit {
		want := limit - len(out)
		recs = recs[:0]
		s.each(b, func(c *cell, r *record) bool {
			recs = append(recs, version{c, r})
			return len(recs) < want
		})
		if len(recs) == 0 {
			break
		}
		vals, err := s.stubValues(recs)
		if err != nil {
			return nil, err
		}
		for i, f := range recs {
			k := f.c.Key()
			switch {
			case !f.r.stub:
				s.touch(f.r)
				buf := make([]byte, len(k)+int(f.r.vlen))
				copy(buf[copy(buf, k):], f.r.value())
				out = append(out, KV{Key: buf[:len(k):len(k)], Value: buf[len(k):]})
			case vals[i].gone:
				// deleted since its chunk was collected: the next round fills its place
			default:
				out = append(out, KV{Key: []byte(k), Value: vals[i].v})
			}
		}
		if len(recs) < want {
			break // the range is exhausted
		}
		b.from, b.after = recs[len(recs)-1].c.Key(), true
	}
	return out, nil
}

// Scan returns an iterator over the present keys in [start, end] with the same bounds as
// Range, streaming: nothing is materialised. The yielded slices are valid only until the next
// step (copy them to keep them) and must not be modified. The loop body may call any Store
// method, writes included. A key present and unchanged for the whole scan is yielded exactly
// once, in ascending order. start > end, or a closed store, yields nothing.
func (s *Store) Scan(start, end []byte) iter.Seq2[[]byte, []byte] {
	if s.closed.Load() {
		return func(func([]byte, []byte) bool) {}
	}
	b, err := rangeBounds(start, end)
	if err != nil {
		return func(func([]byte, []byte) bool) {}
	}
	s.stats.ranges.Inc()
	return func(yield func([]byte, []byte) bool) {
		s.each(b, func(c *cell, r *record) bool {
			if s.closed.Load() {
				return false
			}
			v := r.value()
			s.touch(r)
			if r.stub {
				var err error
				if _, v, _, err = s.valueOf(c.Key(), r); err != nil {
					// Gone since the chunk was collected, or unreadable: an iterator has no
					// error to return, so the key is skipped (a read error is logged).
					if !errors.Is(err, ErrNotFound) {
						s.log.Error().Err(err).Msg("feox: Scan skipped a value it could not read")
					}
					return true
				}
			}
			// The key's bytes and a resident value are immutable: they are yielded in place,
			// capacity capped so that an append by the caller copies.
			k := c.Key()
			return yield(unsafe.Slice(unsafe.StringData(k), len(k))[:len(k):len(k)], v[:len(v):len(v)])
		})
	}
}
