package feox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// patchTestsDir holds the public RFC 6902 conformance cases (json-patch/json-patch-tests). The
// shared folder sits beside the repository, so the path is relative to this package.
const patchTestsDir = "../../../shared/testdata/json-patch-tests"

// patchCase is one case of the conformance suite.
type patchCase struct {
	Comment  string          `json:"comment"`
	Doc      json.RawMessage `json:"doc"`
	Patch    json.RawMessage `json:"patch"`
	Expected json.RawMessage `json:"expected"`
	Error    string          `json:"error"`
	Disabled bool            `json:"disabled"`
}

// sameJSON reports whether a and b are the same JSON value (object member order, number
// spelling and whitespace aside).
func sameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		tb.Fatalf("not JSON: %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		tb.Fatalf("not JSON: %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestStore_JSONPatch_Conformance runs the public RFC 6902 conformance cases through JSONPatch:
// a case with an expected document must give it; a case with an error must fail with an error
// wrapping ErrJSONPatch and leave the value unchanged. Only cases marked disabled are skipped.
func TestStore_JSONPatch_Conformance(t *testing.T) {
	for _, file := range []string{"tests.json", "spec_tests.json"} {
		data, err := os.ReadFile(filepath.Join(patchTestsDir, file))
		if err != nil {
			t.Fatalf("the JSON Patch conformance suite must sit beside the repository: %v", err)
		}
		var cases []patchCase
		if err := json.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s holds no cases", file)
		}
		t.Run(file, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			for i, c := range cases {
				name := fmt.Sprintf("%03d", i)
				t.Run(name, func(t *testing.T) {
					if c.Disabled {
						t.Skipf("disabled in the suite: %s", c.Comment)
					}
					key := []byte(file + "/" + name)
					if _, err := s.Insert(key, c.Doc); err != nil {
						t.Fatal(err)
					}
					err := s.JSONPatch(key, c.Patch)
					got, gerr := s.Get(key)
					if gerr != nil {
						t.Fatalf("Get after JSONPatch: %v", gerr)
					}
					desc := fmt.Sprintf("case %q\ndoc   %s\npatch %s", c.Comment, c.Doc, c.Patch)
					if c.Error != "" {
						if !errors.Is(err, feox.ErrJSONPatch) {
							t.Errorf("%s\ngot %v and value %s; want an error wrapping ErrJSONPatch (%s)", desc, err, got, c.Error)
						} else if !bytes.Equal(got, c.Doc) {
							t.Errorf("%s\na failed patch changed the value to %s", desc, got)
						}
						return
					}
					if err != nil {
						t.Fatalf("%s\nJSONPatch: %v", desc, err)
					}
					if c.Expected != nil && !sameJSON(t, got, c.Expected) {
						t.Errorf("%s\ngot      %s\nexpected %s", desc, got, c.Expected)
					}
				})
			}
		})
	}
}

// TestStore_JSONPatch ensures JSONPatch on top-level scalars and arrays, its errors, that a
// failed patch leaves the value unchanged, and that it keeps the expiry.
func TestStore_JSONPatch(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		patch   string
		want    string // JSON expected after success
		wantErr error
	}{
		{"replace a top-level number", `5`, `[{"op":"replace","path":"","value":7}]`, `7`, nil},
		{"replace a top-level string with an object", `"s"`, `[{"op":"replace","path":"","value":{"a":[1]}}]`, `{"a":[1]}`, nil},
		{"replace top-level null", `null`, `[{"op":"replace","path":"","value":false}]`, `false`, nil},
		{"test a top-level scalar", `true`, `[{"op":"test","path":"","value":true},{"op":"replace","path":"","value":1}]`, `1`, nil},
		{"failed test of a top-level scalar", `true`, `[{"op":"test","path":"","value":false}]`, ``, feox.ErrJSONPatch},
		{"append to a top-level array", `[1,2]`, `[{"op":"add","path":"/-","value":3}]`, `[1,2,3]`, nil},
		{"add a member", `{"a":1}`, `[{"op":"add","path":"/b","value":{"c":2}}]`, `{"a":1,"b":{"c":2}}`, nil},
		{"whitespace around the document", " \t{\"a\" : 1}\n", `[{"op":"remove","path":"/a"}]`, `{}`, nil},
		{"copy and move", `{"a":{"x":1},"b":[]}`, `[{"op":"copy","from":"/a/x","path":"/b/0"},{"op":"move","from":"/a","path":"/c"}]`, `{"b":[1],"c":{"x":1}}`, nil},
		{"empty patch", `{"a":1}`, `[]`, `{"a":1}`, nil},
		{"escaped pointer", `{"a/b":1,"m~n":2}`, `[{"op":"replace","path":"/a~1b","value":3},{"op":"remove","path":"/m~0n"}]`, `{"a/b":3}`, nil},
		{"value not JSON", `not json`, `[{"op":"replace","path":"","value":1}]`, ``, feox.ErrJSONPatch},
		{"value with a trailing bracket, empty patch", `0 ]`, `[]`, ``, feox.ErrJSONPatch},
		{"empty value", ``, `[{"op":"replace","path":"","value":1}]`, ``, feox.ErrJSONPatch},
		{"binary counter value", string(counter(3)), `[{"op":"replace","path":"","value":1}]`, ``, feox.ErrJSONPatch},
		{"patch not JSON", `{"a":1}`, `[{"op":`, ``, feox.ErrJSONPatch},
		{"patch not an array", `{"a":1}`, `{"op":"remove","path":"/a"}`, ``, feox.ErrJSONPatch},
		{"unknown operation", `{"a":1}`, `[{"op":"frobnicate","path":"/a"}]`, ``, feox.ErrJSONPatch},
		{"missing path", `{"a":1}`, `[{"op":"remove"}]`, ``, feox.ErrJSONPatch},
		{"path not a pointer", `{"a":1}`, `[{"op":"remove","path":"a"}]`, ``, feox.ErrJSONPatch},
		{"remove a missing member", `{"a":1}`, `[{"op":"remove","path":"/b"}]`, ``, feox.ErrJSONPatch},
		{"add into a scalar", `5`, `[{"op":"add","path":"/a","value":1}]`, ``, feox.ErrJSONPatch},
		{"second operation fails", `{"a":1}`, `[{"op":"replace","path":"/a","value":2},{"op":"test","path":"/a","value":3}]`, ``, feox.ErrJSONPatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, feox.Options{})
			k := []byte("k")
			mustInsert(t, s, "k", tt.value)
			err := s.JSONPatch(k, []byte(tt.patch))
			got, gerr := s.Get(k)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("JSONPatch = %v, want %v", err, tt.wantErr)
				}
				if string(got) != tt.value {
					t.Fatalf("a failed patch changed the value from %q to %q", tt.value, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("JSONPatch: %v", err)
			}
			if !sameJSON(t, got, []byte(tt.want)) {
				t.Fatalf("value = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("absent key", func(t *testing.T) {
		s := openStore(t, feox.Options{})
		if err := s.JSONPatch([]byte("k"), []byte(`[{"op":"add","path":"","value":1}]`)); !errors.Is(err, feox.ErrNotFound) {
			t.Errorf("JSONPatch(absent) = %v, want ErrNotFound", err)
		}
		wantAbsent(t, s, "k")
	})
	t.Run("keeps the expiry", func(t *testing.T) {
		s := openStore(t, feox.Options{})
		k := []byte("k")
		mustInsertTTL(t, s, "k", `{"n":1}`, time.Hour)
		if err := s.JSONPatch(k, []byte(`[{"op":"replace","path":"/n","value":2}]`)); err != nil {
			t.Fatal(err)
		}
		if d, err := s.TTL(k); err != nil || d <= 0 || d > time.Hour {
			t.Errorf("TTL after JSONPatch = %v, %v; want in (0, 1h]", d, err)
		}
		mustInsert(t, s, "k", `{"n":1}`)
		if err := s.JSONPatch(k, []byte(`[{"op":"replace","path":"/n","value":2}]`)); err != nil {
			t.Fatal(err)
		}
		if d, err := s.TTL(k); err != nil || d != feox.NoExpiry {
			t.Errorf("TTL after JSONPatch of a key without expiry = %v, %v; want NoExpiry", d, err)
		}
	})
}
