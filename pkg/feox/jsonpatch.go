package feox

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/jsonpatch"
)

// JSONPatch applies an RFC 6902 patch to the JSON value of key (any JSON document, top-level
// scalars included), keeping its expiry. It returns ErrNotFound when the key is absent or
// expired, and an error wrapping ErrJSONPatch when the patch is malformed, a test operation
// fails, or the value is not JSON; the value is then unchanged. The patch is applied to the
// value current at the moment of the write: a concurrent write makes JSONPatch apply it again
// to the newer value.
func (s *Store) JSONPatch(key, patch []byte) error {
	if err := s.check(key); err != nil {
		return err
	}
	if s.live(key) == nil {
		return ErrNotFound
	}
	p, err := jsonpatch.Compile(patch)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrJSONPatch, err)
	}
	for {
		r := s.live(key)
		if r == nil {
			return ErrNotFound
		}
		r, doc, _, err := s.valueOf(keyString(key), r)
		if err != nil {
			return err
		}
		v, err := p.Apply(doc)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrJSONPatch, err)
		}
		if len(v) > MaxValueSize {
			return ErrInvalidValue
		}
		raced := false
		rec := newRecord(v, s.versionX || r.expiry() != 0)
		out, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
			switch {
			case cur == nil:
				return decision{}, ErrNotFound
			case cur != r:
				raced = true
				return decision{noop: true}, nil
			}
			return decision{rec: rec, expiry: cur.expiry()}, nil
		})
		if err != nil {
			return err
		}
		if !raced {
			s.countWrite(out)
			return nil
		}
	}
}
