package jsonpatch

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestPatch_Apply checks documents of every JSON type, the strict pointer rules, and that a
// failed operation leaves an error naming it (the conformance suite runs through the store's
// JSONPatch in pkg/feox).
func TestPatch_Apply(t *testing.T) {
	tests := []struct {
		doc, patch, want string // want "" means the patch must fail
	}{
		{`{"a":1}`, `[{"op":"add","path":"/b","value":2}]`, `{"a":1,"b":2}`},
		{`{"a":[1,2]}`, `[{"op":"add","path":"/a/-","value":3}]`, `{"a":[1,2,3]}`},
		{`{"a":[1,2]}`, `[{"op":"remove","path":"/a/0"}]`, `{"a":[2]}`},
		{`5`, `[{"op":"replace","path":"","value":"x"}]`, `"x"`},
		{`"s"`, `[{"op":"test","path":"","value":"s"}]`, `"s"`},
		{`{"a":{"b":1}}`, `[{"op":"move","from":"/a/b","path":"/c"}]`, `{"a":{},"c":1}`},
		{`{"a":1}`, `[{"op":"copy","from":"/a","path":"/b"}]`, `{"a":1,"b":1}`},
		{`{"a":[1,2]}`, `[{"op":"add","path":"/a/01","value":3}]`, ""}, // leading zero
		{`{"a":[1]}`, `[{"op":"remove","path":"/a/-"}]`, ""},           // "-" only for add
		{`{"a":1}`, `[{"op":"test","path":"/a","value":2}]`, ""},
		{`{"a":1}`, `[{"op":"remove","path":""}]`, ""}, // the whole document
		{`{"a":{}}`, `[{"op":"move","from":"/a","path":"/a/b"}]`, ""},
		{`{"a":1}`, `[{"op":"frob","path":"/a"}]`, ""},
		{`{"a":1}`, `{"op":"add"}`, ""},
		{`not json`, `[{"op":"test","path":"","value":1}]`, ""},
	}
	for _, tc := range tests {
		p, err := Compile([]byte(tc.patch))
		var got []byte
		if err == nil {
			got, err = p.Apply([]byte(tc.doc))
		}
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s on %s = %s, want an error", tc.patch, tc.doc, got)
		case tc.want != "" && err != nil:
			t.Errorf("%s on %s: %v", tc.patch, tc.doc, err)
		case tc.want != "" && !jsonSame(t, got, tc.want):
			t.Errorf("%s on %s = %s, want %s", tc.patch, tc.doc, got, tc.want)
		}
	}
	if _, err := (Patch{}).Apply([]byte("[")); !errors.Is(err, errNotJSON) {
		t.Errorf("Apply to a document that is not JSON: %v, want errNotJSON", err)
	}
}

// jsonSame reports whether a and b are the same JSON value.
func jsonSame(t *testing.T, a []byte, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("result %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return jsonEqual(x, y)
}

// FuzzPatch compiles and applies arbitrary patches to arbitrary documents: never a panic, and
// whatever is returned is valid JSON.
func FuzzPatch(f *testing.F) {
	f.Add([]byte(`{"a":[1,2]}`), []byte(`[{"op":"add","path":"/a/-","value":3}]`))
	f.Add([]byte(`1`), []byte(`[{"op":"replace","path":"","value":{"x":[]}}]`))
	f.Add([]byte(`{"a":{"b":1}}`), []byte(`[{"op":"move","from":"/a/b","path":"/a/c"},{"op":"test","path":"/a/c","value":1}]`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		p, err := Compile(patch)
		if err != nil {
			return
		}
		out, err := p.Apply(doc)
		if err == nil && !json.Valid(out) {
			t.Fatalf("%s on %s gave %s, not JSON", patch, doc, out)
		}
	})
}
