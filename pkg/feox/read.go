package feox

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// live returns the record of key if the key is present and unexpired, else nil.
func (s *Store) live(key []byte) *record {
	r := s.lookup(key)
	if r == nil || r.dead || (r.x != nil && r.x.expiry != 0 && wallNow() >= r.x.expiry) {
		return nil
	}
	return r
}

// Get returns a copy of the value of key, which belongs to the caller. It returns ErrNotFound
// when the key is absent or expired.
func (s *Store) Get(key []byte) ([]byte, error) {
	if err := s.check(key); err != nil {
		return nil, err
	}
	t0 := sampleStart()
	s.stats.gets.Inc()
	r := s.live(key)
	if r == nil {
		s.stats.getMisses.Inc()
		sampleEnd(&s.stats.getLat, t0)
		return nil, ErrNotFound
	}
	if r.stub {
		return s.getStub(key, r, t0)
	}
	s.touch(r)
	v := make([]byte, r.vlen)
	copy(v, r.value())
	sampleEnd(&s.stats.getLat, t0)
	return v, nil
}

// getStub is Get of a key whose value is not in memory.
func (s *Store) getStub(key []byte, r *record, t0 time.Time) ([]byte, error) {
	_, v, fresh, err := s.valueOf(keyString(key), r)
	if errors.Is(err, ErrNotFound) {
		s.stats.getMisses.Inc()
	}
	if err == nil && !fresh {
		v = bytes.Clone(v)
	}
	sampleEnd(&s.stats.getLat, t0)
	return v, err
}

// View calls fn with the value of key without copying it and returns fn's error as is. The
// slice passed to fn is valid only until fn returns and must not be modified. fn may call
// read methods of the store; writers are not blocked while it runs. View returns ErrNotFound,
// without calling fn, when the key is absent or expired.
//
// A nil fn is an error, not a panic: View then returns an error wrapping ErrInvalidValue,
// whether or not the key is present, and reads nothing (the call is not counted in
// Stats.Gets). ErrClosed and ErrInvalidKey take precedence over it.
func (s *Store) View(key []byte, fn func(value []byte) error) error {
	if err := s.check(key); err != nil {
		return err
	}
	if fn == nil {
		// No sentinel names an invalid argument other than a key or a value; ErrInvalidValue,
		// the error of a call's invalid argument, is the closest.
		return fmt.Errorf("%w: View needs a non-nil fn", ErrInvalidValue)
	}
	t0 := sampleStart()
	s.stats.gets.Inc()
	r := s.live(key)
	if r == nil {
		s.stats.getMisses.Inc()
		sampleEnd(&s.stats.getLat, t0)
		return ErrNotFound
	}
	v := r.value()
	if r.stub || r.handle() != nil {
		var err error
		if _, v, _, err = s.valueOf(keyString(key), r); err != nil {
			if errors.Is(err, ErrNotFound) {
				s.stats.getMisses.Inc()
			}
			sampleEnd(&s.stats.getLat, t0)
			return err
		}
	}
	err := fn(v)
	sampleEnd(&s.stats.getLat, t0)
	return err
}

// Size returns the length of the value of key, or ErrNotFound when the key is absent or
// expired.
func (s *Store) Size(key []byte) (int, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	r := s.live(key)
	if r == nil {
		return 0, ErrNotFound
	}
	return int(r.vlen), nil
}

// Contains reports whether key is present and unexpired. It returns false for an invalid key
// and after Close.
func (s *Store) Contains(key []byte) bool {
	if s.check(key) != nil {
		return false
	}
	return s.live(key) != nil
}

// TTL returns the time left before key expires, never more than was set, or NoExpiry for a key
// without an expiry. It returns ErrNotFound when the key is absent or expired.
func (s *Store) TTL(key []byte) (time.Duration, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	r := s.lookup(key)
	if r == nil || r.dead {
		return 0, ErrNotFound
	}
	if r.expiry() == 0 {
		return NoExpiry, nil
	}
	left := r.expiry() - wallNow()
	if left <= 0 {
		return 0, ErrNotFound
	}
	return time.Duration(left), nil
}
