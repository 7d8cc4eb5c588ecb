package feox

import (
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// wrapKey is the member name under which a document is nested while a patch is applied, so
// that patches work on every JSON document, top-level scalars included (the patch library
// accepts only objects and arrays as documents).
const wrapKey = "v"

// compilePatch parses an RFC 6902 patch and rewrites its paths to address the wrapped document.
func compilePatch(patch []byte) (jsonpatch.Patch, error) {
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, fmt.Errorf("%w: patch is not a JSON array of operations: %v", ErrJSONPatch, err)
	}
	for i, op := range ops {
		if op == nil {
			return nil, fmt.Errorf("%w: operation %d is not an object", ErrJSONPatch, i)
		}
		for _, field := range []string{"path", "from"} {
			raw, ok := op[field]
			if !ok {
				continue
			}
			var p string
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("%w: operation %d: %q is not a string", ErrJSONPatch, i, field)
			}
			if p != "" && p[0] != '/' {
				return nil, fmt.Errorf("%w: operation %d: %q %q is not a JSON pointer", ErrJSONPatch, i, field, p)
			}
			op[field], _ = json.Marshal("/" + wrapKey + p)
		}
	}
	rewritten, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSONPatch, err)
	}
	p, err := jsonpatch.DecodePatch(rewritten)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSONPatch, err)
	}
	return p, nil
}

// applyPatch applies a compiled patch to the JSON document doc and returns the new document.
func applyPatch(p jsonpatch.Patch, doc []byte) ([]byte, error) {
	if !json.Valid(doc) {
		return nil, fmt.Errorf("%w: stored value is not JSON", ErrJSONPatch)
	}
	wrapped := make([]byte, 0, len(doc)+len(wrapKey)+5)
	wrapped = append(wrapped, `{"`+wrapKey+`":`...)
	wrapped = append(wrapped, doc...)
	wrapped = append(wrapped, '}')
	out, err := p.Apply(wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSONPatch, err)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSONPatch, err)
	}
	v, ok := res[wrapKey]
	if !ok || len(res) != 1 {
		return nil, fmt.Errorf("%w: the patch removed the whole document", ErrJSONPatch)
	}
	return []byte(v), nil
}

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
	p, err := compilePatch(patch)
	if err != nil {
		return err
	}
	for {
		r := s.live(key)
		if r == nil {
			return ErrNotFound
		}
		v, err := applyPatch(p, r.value)
		if err != nil {
			return err
		}
		if len(v) > MaxValueSize {
			return ErrInvalidValue
		}
		raced := false
		out, err := s.apply(key, 0, func(cur *record, _ int64) (decision, error) {
			switch {
			case cur == nil:
				return decision{}, ErrNotFound
			case cur != r:
				raced = true
				return decision{noop: true}, nil
			}
			return decision{value: v, expiry: cur.expiry}, nil
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
