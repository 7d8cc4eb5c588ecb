package feox

import (
	"hash/maphash"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// decision is what a write decides inside its key's critical section, given the key's live
// record.
type decision struct {
	rec    *record // the new version, made by newRecord and not yet published; or
	same   *record // a version whose value to publish again with a new expiry
	expiry int64   // the new version's expiry (Unix ns), 0 = none
	del    bool    // delete the key instead of writing a version
	noop   bool    // change nothing (and report the live record as both prev and next)
}

// outcome reports what apply did.
type outcome struct {
	cell    *cell   // the key's cell after the write (the one deleted, after a delete)
	old     *record // the record replaced, expired or tombstone included; nil if none
	prev    *record // the live record before the write, nil if the key was absent or expired
	next    *record // the published record, nil after a delete
	created bool    // a key that was absent (or expired) now exists
	deleted bool    // a present key was deleted
}

// decideFunc decides a write. cur is the key's live record, nil when the key is absent, expired
// or deleted; now is the wall clock (Unix ns) used for every expiry decision of the write.
type decideFunc func(cur *record, now int64) (decision, error)

// apply runs one write of key atomically with respect to every other write of the same key.
// explicit is the caller's timestamp, 0 for an automatic one.
//
// The write is published in the key's cell and, for a creation or deletion, in the ordered
// index, all inside the hash index's per-key critical section, so the ordered index follows
// the hash index key by key. With a write pipeline, the new version is handed to the key's
// shard inside the same critical section, so the versions of a key enter the ring in the order
// they were made; when the ring is full the write is undone, waits for room outside the
// critical section and starts again.
func (s *Store) apply(key []byte, explicit uint64, decide decideFunc) (outcome, error) {
	c, shard := s.route(maphash.Bytes(s.seed, key))
	var startSeq uint64
	if explicit != 0 {
		// inflight is raised before startSeq is read: a delete that sees inflight == 0 and skips
		// its tombstone has taken its sequence number before ours, so it is not "after our start".
		c.inflight.Add(1)
		defer c.inflight.Add(-1)
		startSeq = c.seq.Load()
	}
	// The hash index keeps no reference to the key it is given: a new cell holds a copy.
	k := keyString(key)
	for {
		out, full, err := s.applyOnce(k, c, shard, explicit, startSeq, decide)
		if !full {
			if err != nil {
				return outcome{}, err
			}
			s.afterWrite(out)
			s.ordered.Settle(maxIndexLog) // bound the log when the background applier falls behind
			return out, nil
		}
		if s.pipe.WaitRoom(shard) != nil {
			return outcome{}, ErrClosed
		}
	}
}

// applyOnce is one attempt of apply. It reports full when the shard's ring had no room; the
// attempt then changed nothing.
func (s *Store) applyOnce(k string, c *clock, shard int, explicit, startSeq uint64,
	decide decideFunc) (out outcome, full bool, ferr error) {
	now := wallNow()
	s.hash.Compute(k, func(kc *cell) *cell {
		var old, cur *record
		if kc != nil {
			old = kc.Load() // never nil while the cell is in the hash index
		}
		loaded := old != nil
		if loaded && old.liveAt(now) {
			cur = old
		}
		if explicit != 0 && cur != nil && explicit <= cur.ts {
			ferr = ErrOlderTimestamp
			return kc
		}
		d, err := decide(cur, now)
		if err != nil {
			ferr = err
			return kc
		}
		if d.noop {
			out.prev, out.next = cur, cur
			return kc
		}
		if explicit != 0 && loaded && old.guardSeq() > startSeq && explicit <= old.x.guardTs {
			ferr = ErrOlderTimestamp // a newer delete overtook this write while it was in flight
			return kc
		}
		ts := explicit
		if ts == 0 {
			// A tombstone leaves no lasting timestamp: the key starts afresh from the wall
			// clock (versions are ordered by sequence number, not timestamp).
			var prev *record
			if loaded && !old.dead {
				prev = old
			}
			if ts = autoTS(now, prev); ts == 0 {
				if !d.del {
					ferr = ErrOlderTimestamp
					return kc
				}
				ts = prev.ts // deleting a key that holds the largest timestamp
			}
		}
		// Explicit-timestamp writers in flight other than this one.
		others := c.inflight.Load()
		if explicit != 0 {
			others--
		}
		// A sequence number taken by an attempt that fails is simply skipped.
		seq := c.seq.Add(1)
		if d.del {
			tomb, ok := s.deleteVersion(kc, shard, old, ts, seq, others > 0)
			if !ok {
				full = true
				return kc
			}
			out.cell, out.old, out.prev, out.deleted = kc, old, cur, true
			kc.Store(tomb) // nil removes the key: a scan still holding the cell skips it
			if tomb != nil {
				return kc
			}
			return nil
		}
		nc := kc
		if nc == nil {
			nc = s.hash.NewCell(k)
		}
		next, err := s.putVersion(nc, shard, old, cur, d, ts, seq, others > 0)
		if err != nil || next == nil {
			ferr, full = err, err == nil
			return kc
		}
		out.cell, out.old, out.prev, out.next, out.created = nc, old, cur, next, cur == nil
		nc.Store(next)
		return nc
	})
	return out, full, ferr
}

// putVersion makes the new version of c's key that d decides, inside the key's critical
// section: old is the key's record (nil if none; a tombstone or an expired version included),
// cur its live record or nil. It charges the memory, hands the version to the pipeline and
// updates the ordered index and the counters, and returns the version to publish; nil with no
// error when the shard's ring is full (nothing changed). inflight reports another
// explicit-timestamp writer of the key's clock in flight.
func (s *Store) putVersion(c *cell, shard int, old, cur *record, d decision,
	ts, seq uint64, inflight bool) (*record, error) {
	loaded := old != nil
	guarded := loaded && old.guardSeq() != 0 && inflight
	needX := s.versionX || d.expiry != 0 || guarded
	next := d.rec
	if next == nil {
		next = republished(d.same, needX)
	} else if needX {
		next = withExtra(next)
	}
	// Every field is set here: an attempt that found the ring full may have used next.
	next.ts, next.seq = ts, seq
	if x := next.x; x != nil {
		x.expiry, x.guardTs, x.guardSeq, x.prev = d.expiry, 0, 0, nil
		if s.df != nil {
			x.cell = c
			x.pl = datafile.NewPlace(placeOf(old), false)
			x.prev = old
		}
	}
	delta := s.charge(next) - s.charge(old)
	var keyCost int64
	if !loaded || old.dead {
		keyCost = s.keyCharge(len(c.Key()))
	}
	if err := s.reserve(delta+keyCost, keyCost); err != nil {
		return nil, err
	}
	if !s.enqueue(shard, stages.Entry{Key: c.Key(), Value: next.value(), TS: ts, Seq: seq,
		Expiry: d.expiry, Kind: stages.Put, Fresh: cur == nil, Ref: next}) {
		s.unreserve(delta+keyCost, keyCost)
		return nil, nil
	}
	if guarded {
		next.x.guardTs, next.x.guardSeq = old.x.guardTs, old.x.guardSeq
	}
	if !loaded || old.dead {
		s.ordered.InsertLater(c)
		s.keys.Inc()
	} else if cur == nil {
		s.stats.expired.Inc() // an expired key replaced by a new one
	}
	return next, nil
}

// deleteVersion deletes old, the newest record of c's key, inside the key's critical section:
// it hands the deletion to the pipeline (false if the ring is full: nothing changed) and
// updates the indexes and counters. It returns the tombstone to publish in place of old, or
// nil to remove the key from the hash index. A tombstone is left when inflight reports another
// explicit-timestamp writer of the key's clock in flight (it must beat the delete) and, in
// persistent mode, until the deletion is durable: the tombstone links the key's next
// incarnation to the versions still on disk, so that they are retired in order. The background
// goroutine removes tombstones once neither reason holds.
func (s *Store) deleteVersion(c *cell, shard int, old *record, ts, seq uint64, inflight bool) (*record, bool) {
	k := c.Key()
	var tomb *record
	if s.df != nil || inflight {
		tomb = bare(true)
		tomb.ts, tomb.seq, tomb.dead = ts, seq, true
		if inflight {
			tomb.x.guardTs, tomb.x.guardSeq = max(ts, old.guardTs()), seq
		}
		if s.df != nil {
			tomb.x.cell, tomb.x.pl, tomb.x.prev = c, datafile.NewPlace(old.place(), true), old
		}
	}
	var ref any
	if s.df != nil {
		ref = tomb
	}
	if !s.enqueue(shard, stages.Entry{Key: k, TS: ts, Seq: seq, Kind: stages.Delete, Ref: ref}) {
		return nil, false
	}
	if !old.dead {
		s.unreserve(s.charge(old)+s.keyCharge(len(k)), s.keyCharge(len(k)))
		s.ordered.DeleteLater(c)
		s.keys.Dec()
	}
	if tomb != nil {
		s.tombstones.add(k)
	}
	return tomb, true
}

// enqueue hands e to the write pipeline without blocking; it reports false when the shard's
// ring is full. A memory-only store has no pipeline and takes every write.
func (s *Store) enqueue(shard int, e stages.Entry) bool {
	return s.pipe == nil || s.pipe.TryEnqueue(shard, e)
}

// afterWrite keeps the expiry index in step with a successful write.
func (s *Store) afterWrite(out outcome) {
	if out.next == out.prev && !out.deleted {
		return
	}
	var from, to int64
	if out.old != nil && !out.old.dead {
		from = out.old.expiry()
	}
	if out.next != nil {
		to = out.next.expiry()
	}
	s.ttl.update(out.cell.Key(), from, to)
}

// expire removes r, the record of key that the caller found expired, if it is still the key's
// newest record and still expired at now. It reports whether it removed the key.
func (s *Store) expire(key string, r *record, now int64) bool {
	c, shard := s.route(maphash.String(s.seed, key))
	removed := false
	s.hash.Compute(key, func(kc *cell) *cell {
		if kc == nil || kc.Load() != r || !r.expired(now) {
			return kc
		}
		ts := autoTS(now, r)
		if ts == 0 {
			ts = r.ts
		}
		// A full ring leaves the key for a later sweep rather than block the sweeper. The key
		// is absent since its expiry: removing it guards no explicit-timestamp write in
		// flight, which finds it absent whenever it applies (a delete would).
		tomb, ok := s.deleteVersion(kc, shard, r, ts, c.seq.Add(1), false)
		if !ok {
			return kc
		}
		removed = true
		kc.Store(tomb)
		if tomb != nil {
			return kc
		}
		return nil
	})
	if removed {
		s.stats.expired.Inc()
	}
	return removed
}

// dropTombstone removes the tombstone of key if it is still one and no explicit-timestamp writer
// of its clock is in flight. It reports whether key needs no further attention.
func (s *Store) dropTombstone(key string) bool {
	c, _ := s.route(maphash.String(s.seed, key))
	done := true
	s.hash.Compute(key, func(kc *cell) *cell {
		if kc == nil || !kc.Load().dead {
			return kc
		}
		// Checked under the key's lock: a delete that left this tombstone for a writer in flight
		// cannot slip in between the check and the removal. In persistent mode the tombstone
		// also stays until its deletion is durable (or was dropped by coalescing).
		if c.inflight.Load() > 0 || (s.df != nil && !kc.Load().isDurable()) {
			done = false
			return kc
		}
		kc.Store(nil)
		return nil
	})
	return done
}

// route returns the version clock and the pipeline shard of a key with hash h: one hash picks
// both, so that every version of a key takes its sequence numbers from one clock and travels
// through one shard.
func (s *Store) route(h uint64) (*clock, int) {
	shard := 0
	if s.pipe != nil {
		shard = s.pipe.ShardOf(h / clockShards)
	}
	return &s.clocks[h&(clockShards-1)], shard
}

// shardOf returns the pipeline shard of key (see route).
func (s *Store) shardOf(key string) int {
	_, shard := s.route(maphash.String(s.seed, key))
	return shard
}

// placeOf returns the place of old, the record a write replaces, or nil when there is none.
func placeOf(old *record) *datafile.Place {
	if old == nil {
		return nil
	}
	return old.place()
}
