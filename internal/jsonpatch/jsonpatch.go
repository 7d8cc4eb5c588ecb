// Package jsonpatch applies RFC 6902 JSON Patches to JSON documents of every type, top-level
// scalars included. A patch is applied one operation at a time: every operation is first
// checked against the current document with strict RFC 6901 pointer rules (array indexes
// without leading zeros, "-" only where add allows it); "test" is evaluated here, the other
// operations by github.com/evanphx/json-patch on the document nested under one member, so that
// a document of any JSON type can be patched. An error describes the operation that failed.
package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// wrapKey is the member name under which a document is nested while an operation is applied.
const wrapKey = "v"

var (
	errPatchRemovedDocument = errors.New("the patch removed the whole document")
	errNotJSON              = errors.New("the document is not JSON")
)

// Patch is a compiled RFC 6902 patch: its operations, validated.
type Patch []patchOp

// patchOp is one validated operation.
type patchOp struct {
	op         string
	path, from []string // pointer tokens, unescaped
	value      any      // decoded value of add, replace and test
	single     jsonpatch.Patch
}

// Compile parses and validates an RFC 6902 patch.
func Compile(patch []byte) (Patch, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &raw); err != nil {
		return nil, fmt.Errorf("patch is not a JSON array of operations: %w", err)
	}
	ops := make([]patchOp, 0, len(raw))
	for i, m := range raw {
		op, err := compileOp(m)
		if err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func compileOp(m map[string]json.RawMessage) (patchOp, error) {
	var op patchOp
	if m == nil {
		return op, errors.New("not an object")
	}
	if err := jsonString(m, "op", &op.op); err != nil {
		return op, err
	}
	var needFrom, needValue bool
	switch op.op {
	case "add", "replace", "test":
		needValue = true
	case "move", "copy":
		needFrom = true
	case "remove":
	default:
		return op, fmt.Errorf("unknown op %q", op.op)
	}
	var path, from string
	if err := jsonString(m, "path", &path); err != nil {
		return op, err
	}
	var err error
	if op.path, err = pointerTokens(path); err != nil {
		return op, err
	}
	wrapped := map[string]json.RawMessage{"op": m["op"]}
	wrapped["path"], _ = json.Marshal("/" + wrapKey + path)
	if needFrom {
		if err := jsonString(m, "from", &from); err != nil {
			return op, err
		}
		if op.from, err = pointerTokens(from); err != nil {
			return op, err
		}
		wrapped["from"], _ = json.Marshal("/" + wrapKey + from)
	}
	if needValue {
		v, ok := m["value"]
		if !ok {
			return op, errors.New(`missing "value"`)
		}
		if op.value, err = decodeJSON(v); err != nil {
			return op, err
		}
		wrapped["value"] = v
	}
	single, _ := json.Marshal([]map[string]json.RawMessage{wrapped})
	if op.single, err = jsonpatch.DecodePatch(single); err != nil {
		return op, err
	}
	return op, nil
}

// jsonString reads member name of m as a JSON string (null and other types are refused).
func jsonString(m map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := m[name]
	if !ok {
		return fmt.Errorf("missing %q", name)
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf("%q is not a string", name)
	}
	return nil
}

// pointerTokens splits an RFC 6901 JSON pointer into unescaped tokens.
func pointerTokens(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("%q is not a JSON pointer", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("%q has a bad escape", p)
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	// More would miss a closing bracket after the value; only the end of input will do.
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// arrayIndex parses an array index token: "0" or a digit string without a leading zero.
func arrayIndex(t string) (int, bool) {
	if t == "" || len(t) > 9 || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
		n = n*10 + int(t[i]-'0')
	}
	return n, true
}

// resolve follows tokens in doc. With forAdd the last token may name a new object member, an
// array index up to the array's length, or "-"; the parent must exist either way.
func resolve(doc any, tokens []string, forAdd bool) (any, error) {
	cur := doc
	for i, t := range tokens {
		last := i == len(tokens)-1
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				if last && forAdd {
					return nil, nil
				}
				return nil, fmt.Errorf("member %q does not exist", t)
			}
			cur = v
		case []any:
			if last && forAdd && t == "-" {
				return nil, nil
			}
			n, ok := arrayIndex(t)
			if !ok {
				return nil, fmt.Errorf("%q is not an array index", t)
			}
			if last && forAdd && n <= len(c) {
				return nil, nil
			}
			if n >= len(c) {
				return nil, fmt.Errorf("index %d is out of range", n)
			}
			cur = c[n]
		default:
			return nil, fmt.Errorf("cannot descend into a scalar at %q", t)
		}
	}
	return cur, nil
}

// jsonEqual compares decoded JSON values; numbers compare by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b // string, bool, nil
	}
}

// Apply applies the patch to the JSON document doc (of any JSON type) and returns the new
// document, a new buffer; doc is not modified.
func (ops Patch) Apply(doc []byte) ([]byte, error) {
	cur := doc
	tree, err := decodeJSON(cur)
	if err != nil {
		return nil, errNotJSON
	}
	opts := jsonpatch.NewApplyOptions()
	opts.SupportNegativeIndices = false
	for i, op := range ops {
		if err := checkOp(tree, op); err != nil {
			return nil, fmt.Errorf("operation %d (%s): %w", i, op.op, err)
		}
		if op.op == "test" {
			continue
		}
		wrapped := make([]byte, 0, len(cur)+len(wrapKey)+5)
		wrapped = append(wrapped, `{"`+wrapKey+`":`...)
		wrapped = append(wrapped, cur...)
		wrapped = append(wrapped, '}')
		out, err := op.single.ApplyWithOptions(wrapped, opts)
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s): %w", i, op.op, err)
		}
		var res map[string]json.RawMessage
		if err := json.Unmarshal(out, &res); err != nil {
			return nil, err
		}
		v, ok := res[wrapKey]
		if !ok || len(res) != 1 {
			return nil, errPatchRemovedDocument
		}
		cur = v
		if i < len(ops)-1 {
			if tree, err = decodeJSON(cur); err != nil {
				return nil, err
			}
		}
	}
	return append([]byte(nil), cur...), nil
}

// checkOp validates op's pointers against the current document and evaluates a test.
func checkOp(tree any, op patchOp) error {
	switch op.op {
	case "add":
		_, err := resolve(tree, op.path, true)
		return err
	case "remove":
		if len(op.path) == 0 {
			return errPatchRemovedDocument
		}
		_, err := resolve(tree, op.path, false)
		return err
	case "replace":
		_, err := resolve(tree, op.path, false)
		return err
	case "move", "copy":
		if _, err := resolve(tree, op.from, false); err != nil {
			return err
		}
		if op.op == "move" && len(op.path) > len(op.from) && isPrefix(op.from, op.path) {
			return errors.New("cannot move a value into itself")
		}
		_, err := resolve(tree, op.path, true)
		return err
	case "test":
		v, err := resolve(tree, op.path, false)
		if err != nil {
			return err
		}
		if !jsonEqual(v, op.value) {
			return errors.New("test failed")
		}
	}
	return nil
}

func isPrefix(prefix, tokens []string) bool {
	for i := range prefix {
		if prefix[i] != tokens[i] {
			return false
		}
	}
	return true
}
