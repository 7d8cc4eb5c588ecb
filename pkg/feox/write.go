package feox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// NoExpiry is what TTL returns for a key without an expiry.
const NoExpiry time.Duration = -1

// expiryAt returns the expiry instant of a ttl set at now; 0 (none) for ttl <= 0.
func expiryAt(now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	if now > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// countWrite updates the insert and update counters for a write that set a value.
func (s *Store) countWrite(out outcome) {
	switch {
	case out.created:
		s.stats.inserts.Inc()
	case out.prev != nil && out.next != out.prev:
		s.stats.updates.Inc()
	}
}

// Insert sets key to value, creating the key if it is absent (or expired), and clears any
// expiry. It reports whether the key was created. The store keeps copies: the caller may reuse
// both slices as soon as Insert returns. An empty value is allowed.
func (s *Store) Insert(key, value []byte) (created bool, err error) {
	return s.set(key, value, 0, 0)
}

// InsertWithTTL is Insert with an expiry ttl from now; ttl <= 0 means no expiry.
func (s *Store) InsertWithTTL(key, value []byte, ttl time.Duration) (bool, error) {
	return s.set(key, value, ttl, 0)
}

// InsertWithTimestamp is Insert with an explicit timestamp (nanoseconds since the Unix epoch):
// it sets the value only if ts is newer than the key's current timestamp, and otherwise fails
// with ErrOlderTimestamp. ts 0 means an automatic timestamp. A successful explicit timestamp
// raises the store's clock, so later automatic timestamps of the key are newer still.
func (s *Store) InsertWithTimestamp(key, value []byte, ts uint64) (bool, error) {
	return s.set(key, value, 0, ts)
}

func (s *Store) set(key, value []byte, ttl time.Duration, ts uint64) (bool, error) {
	if err := s.checkKV(key, value); err != nil {
		return false, err
	}
	t0 := sampleStart()
	rec := newRecord(value, s.versionX || ttl > 0)
	out, err := s.apply(key, ts, func(_ *record, now int64) (decision, error) {
		return decision{rec: rec, expiry: expiryAt(now, ttl)}, nil
	})
	if err != nil {
		return false, err
	}
	s.countWrite(out)
	sampleEnd(&s.stats.insertLat, t0)
	return out.created, nil
}

// InsertIfAbsent sets key to value only if the key is absent (or expired), and reports whether
// it did. Of many concurrent callers for one absent key exactly one succeeds.
func (s *Store) InsertIfAbsent(key, value []byte) (bool, error) {
	if err := s.checkKV(key, value); err != nil {
		return false, err
	}
	if s.live(key) != nil {
		return false, nil
	}
	rec := newRecord(value, s.versionX)
	out, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
		if cur != nil {
			return decision{noop: true}, nil
		}
		return decision{rec: rec}, nil
	})
	if err != nil {
		return false, err
	}
	s.countWrite(out)
	return out.created, nil
}

// Delete removes key. It returns ErrNotFound when the key is absent or expired.
func (s *Store) Delete(key []byte) error {
	return s.DeleteWithTimestamp(key, 0)
}

// DeleteWithTimestamp removes key only if ts is newer than the key's current timestamp, and
// otherwise fails with ErrOlderTimestamp; ts 0 means an automatic timestamp. It returns
// ErrNotFound when the key is absent or expired. An explicit-timestamp write that was in flight
// when the delete happened, with a timestamp not newer than the delete's, fails with
// ErrOlderTimestamp instead of bringing the key back; a write that starts after Delete returned
// succeeds with any timestamp.
func (s *Store) DeleteWithTimestamp(key []byte, ts uint64) error {
	if err := s.check(key); err != nil {
		return err
	}
	r := s.live(key)
	if r == nil {
		return ErrNotFound
	}
	_, err := s.apply(key, ts, func(cur *record, _ int64) (decision, error) {
		if cur == nil {
			return decision{}, ErrNotFound
		}
		return decision{del: true}, nil
	})
	if err != nil {
		return err
	}
	s.stats.deletes.Inc()
	return nil
}

// CompareAndSwap sets key to value if its current value equals expected, and reports whether it
// did. It returns false when the key is absent or expired. A successful swap clears any expiry.
func (s *Store) CompareAndSwap(key, expected, value []byte) (bool, error) {
	if err := s.checkKV(key, value); err != nil {
		return false, err
	}
	r := s.live(key)
	if r == nil {
		return false, nil
	}
	if _, v, _, err := s.valueOf(keyString(key), r); errors.Is(err, ErrNotFound) || (err == nil && !bytes.Equal(v, expected)) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rec := newRecord(value, s.versionX)
	swapped := false
	out, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
		if cur == nil {
			return decision{noop: true}, nil
		}
		v, err := s.valueLocked(key, cur)
		if err != nil {
			return decision{}, err
		}
		if !bytes.Equal(v, expected) {
			return decision{noop: true}, nil
		}
		swapped = true
		return decision{rec: rec}, nil
	})
	if err != nil {
		return false, err
	}
	if swapped {
		s.countWrite(out)
	}
	return swapped, nil
}

// Increment adds delta to the counter stored at key, an 8-byte little-endian int64, and
// returns the new value, keeping the key's expiry. An absent or expired key starts at delta.
// It returns ErrNotCounter when the value is not 8 bytes long and ErrOverflow (value unchanged)
// when the sum would overflow int64.
func (s *Store) Increment(key []byte, delta int64) (int64, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	var result int64
	var zero [8]byte
	rec := newRecord(zero[:], s.versionX)
	v := rec.value() // filled in below, before rec is published
	out, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
		if cur == nil {
			result = delta
			binary.LittleEndian.PutUint64(v, uint64(delta))
			return decision{rec: rec}, nil
		}
		if cur.vlen != 8 {
			return decision{}, ErrNotCounter
		}
		old, err := s.valueLocked(key, cur)
		if err != nil {
			return decision{}, err
		}
		n := int64(binary.LittleEndian.Uint64(old))
		if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
			return decision{}, ErrOverflow
		}
		result = n + delta
		binary.LittleEndian.PutUint64(v, uint64(result))
		return decision{rec: rec, expiry: cur.expiry()}, nil
	})
	if err != nil {
		return 0, err
	}
	s.countWrite(out)
	return result, nil
}

// UpdateTTL sets a new expiry, ttl from now, on a present key; ttl <= 0 removes its expiry.
// It returns ErrNotFound when the key is absent or expired.
func (s *Store) UpdateTTL(key []byte, ttl time.Duration) error {
	if err := s.check(key); err != nil {
		return err
	}
	_, err := s.apply(key, 0, func(cur *record, now int64) (decision, error) {
		if cur == nil {
			return decision{}, ErrNotFound
		}
		return s.republish(key, cur, expiryAt(now, ttl))
	})
	return err
}

// Persist removes the expiry of a present key; a key without one is left as it is. It returns
// ErrNotFound when the key is absent or expired.
func (s *Store) Persist(key []byte) error {
	if err := s.check(key); err != nil {
		return err
	}
	_, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
		switch {
		case cur == nil:
			return decision{}, ErrNotFound
		case cur.expiry() == 0:
			return decision{noop: true}, nil
		}
		return s.republish(key, cur, 0)
	})
	return err
}

// republish decides a new version of key with cur's value and the given expiry: the same
// buffer when the value is in memory, a new record holding the value read back from disk when
// cur is a stub.
func (s *Store) republish(key []byte, cur *record, expiry int64) (decision, error) {
	if !cur.stub {
		return decision{same: cur, expiry: expiry}, nil
	}
	v, err := s.valueLocked(key, cur)
	if err != nil {
		return decision{}, err
	}
	return decision{rec: newRecord(v, true), expiry: expiry}, nil
}
