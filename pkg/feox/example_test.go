package feox_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Example opens a memory-only store, writes and reads a key, and closes the store.
func Example() {
	st, err := feox.Open(feox.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()

	created, err := st.Insert([]byte("user:1"), []byte("Ada"))
	fmt.Println(created, err)
	created, err = st.Insert([]byte("user:1"), []byte("Ada Lovelace"))
	fmt.Println(created, err)

	v, err := st.Get([]byte("user:1"))
	fmt.Printf("%s %v\n", v, err)

	_, err = st.Get([]byte("user:2"))
	fmt.Println(errors.Is(err, feox.ErrNotFound))
	// Output:
	// true <nil>
	// false <nil>
	// Ada Lovelace <nil>
	// true
}

// ExampleStore_InsertWithTTL gives a key an expiry, reads the time left, and removes the
// expiry again.
func ExampleStore_InsertWithTTL() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()

	st.InsertWithTTL([]byte("login"), []byte("token"), time.Minute)
	left, _ := st.TTL([]byte("login"))
	fmt.Println(left > 0 && left <= time.Minute)

	st.Persist([]byte("login"))
	left, _ = st.TTL([]byte("login"))
	fmt.Println(left == feox.NoExpiry)

	// A key whose expiry has passed is absent for every operation.
	st.InsertWithTTL([]byte("flash"), []byte("gone soon"), time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	fmt.Println(st.Contains([]byte("flash")))
	// Output:
	// true
	// true
	// false
}

// ExampleStore_Range lists the keys of an inclusive range with their values.
func ExampleStore_Range() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	for _, k := range []string{"fruit:apple", "fruit:banana", "fruit:cherry", "veg:leek"} {
		st.Insert([]byte(k), []byte(fmt.Sprint(len(k))))
	}

	kvs, _ := st.Range([]byte("fruit:"), []byte("fruit:\xff"), 10)
	for _, kv := range kvs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Output:
	// fruit:apple=11
	// fruit:banana=12
	// fruit:cherry=12
}

// ExampleStore_Scan streams a range with a range-over-func loop; nil bounds mean from the
// first key and through the last.
func ExampleStore_Scan() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	for _, k := range []string{"b", "a", "c"} {
		st.Insert([]byte(k), []byte("value of "+k))
	}

	for k, v := range st.Scan(nil, []byte("b")) {
		// k and v are valid until the next step; copy them to keep them.
		fmt.Printf("%s: %s\n", k, v)
	}
	// Output:
	// a: value of a
	// b: value of b
}

// ExampleStore_CompareAndSwap updates a key only if it still holds the value read before.
func ExampleStore_CompareAndSwap() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	st.Insert([]byte("state"), []byte("idle"))

	ok, _ := st.CompareAndSwap([]byte("state"), []byte("idle"), []byte("running"))
	fmt.Println(ok)
	ok, _ = st.CompareAndSwap([]byte("state"), []byte("idle"), []byte("stopped"))
	fmt.Println(ok)
	v, _ := st.Get([]byte("state"))
	fmt.Println(string(v))
	// Output:
	// true
	// false
	// running
}

// ExampleStore_Increment counts with an 8-byte little-endian counter.
func ExampleStore_Increment() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()

	n, _ := st.Increment([]byte("visits"), 1) // an absent key starts at delta
	fmt.Println(n)
	n, _ = st.Increment([]byte("visits"), 41)
	fmt.Println(n)

	st.Insert([]byte("name"), []byte("feox"))
	_, err := st.Increment([]byte("name"), 1)
	fmt.Println(errors.Is(err, feox.ErrNotCounter))
	// Output:
	// 1
	// 42
	// true
}

// ExampleStore_JSONPatch edits a JSON document in place with an RFC 6902 patch.
func ExampleStore_JSONPatch() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	st.Insert([]byte("doc"), []byte(`{"name":"feox","tags":["kv"]}`))

	err := st.JSONPatch([]byte("doc"), []byte(`[
		{"op": "add", "path": "/tags/-", "value": "embedded"},
		{"op": "replace", "path": "/name", "value": "feox-go"}
	]`))
	fmt.Println(err)
	v, _ := st.Get([]byte("doc"))
	fmt.Println(string(v))

	// A failed test operation leaves the document unchanged.
	err = st.JSONPatch([]byte("doc"), []byte(`[{"op": "test", "path": "/name", "value": "other"}]`))
	fmt.Println(errors.Is(err, feox.ErrJSONPatch))
	// Output:
	// <nil>
	// {"name":"feox-go","tags":["kv","embedded"]}
	// true
}

// ExampleStore_Stats reads the operation counters.
func ExampleStore_Stats() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	st.Insert([]byte("a"), []byte("1"))
	st.Insert([]byte("a"), []byte("2"))
	st.Get([]byte("a"))
	st.Get([]byte("b"))
	st.Delete([]byte("a"))

	s := st.Stats()
	fmt.Println("inserts", s.Inserts, "updates", s.Updates, "deletes", s.Deletes)
	fmt.Println("gets", s.Gets, "misses", s.GetMisses, "keys", s.Keys)
	// Output:
	// inserts 1 updates 1 deletes 1
	// gets 2 misses 1 keys 0
}
