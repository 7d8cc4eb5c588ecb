package feox_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Example_persistence keeps the data in a file. Writes reach the file in the background;
// Flush returns once every write accepted before it is on disk and synced, and a store opened
// again on the file finds them.
func Example_persistence() {
	dir, err := os.MkdirTemp("", "feox-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.feox")

	// A small first file (the default FileSize is 1 GiB): the file grows when it is full.
	st, err := feox.Open(feox.Options{Path: path, FileSize: 1 << 20})
	if err != nil {
		panic(err)
	}
	st.Insert([]byte("user:1"), []byte("Ada"))
	st.Insert([]byte("user:2"), []byte("Grace"))
	st.Delete([]byte("user:2"))
	// The writes returned as soon as memory held them; Flush waits for the disk.
	fmt.Println("flush:", st.Flush())
	fmt.Println("close:", st.Close()) // Close flushes too

	st, err = feox.Open(feox.Options{Path: path})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	v, err := st.Get([]byte("user:1"))
	fmt.Printf("%s %v\n", v, err)
	_, err = st.Get([]byte("user:2"))
	fmt.Println(errors.Is(err, feox.ErrNotFound))
	fmt.Println("keys:", st.Len())
	// Output:
	// flush: <nil>
	// close: <nil>
	// Ada <nil>
	// true
	// keys: 1
}

// ExampleStore_View reads a value in place, without copying it. The slice is valid only
// inside the function: copy it to keep it.
func ExampleStore_View() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	st.Insert([]byte("greeting"), []byte("hello, world"))

	var n int
	err := st.View([]byte("greeting"), func(v []byte) error {
		n = bytes.Count(v, []byte("o"))
		return nil
	})
	fmt.Println(n, err)

	// The function's error comes back as it is.
	errStop := errors.New("stop")
	err = st.View([]byte("greeting"), func([]byte) error { return errStop })
	fmt.Println(err == errStop)

	err = st.View([]byte("missing"), func([]byte) error { return nil })
	fmt.Println(errors.Is(err, feox.ErrNotFound))
	// Output:
	// 2 <nil>
	// true
	// true
}

// ExampleStore_InsertWithTimestamp resolves conflicting writes by timestamp, the last writer
// winning: a write whose timestamp is not newer than the key's current one is refused.
func ExampleStore_InsertWithTimestamp() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	key := []byte("config")

	_, err := st.InsertWithTimestamp(key, []byte("v2"), 200)
	fmt.Println(err)
	_, err = st.InsertWithTimestamp(key, []byte("v1"), 100) // a write that arrives late
	fmt.Println(errors.Is(err, feox.ErrOlderTimestamp))
	v, _ := st.Get(key)
	fmt.Println(string(v))
	// Output:
	// <nil>
	// true
	// v2
}

// ExampleStore_InsertWithTTL gives a key an expiry, reads the time left, and removes the
// expiry again; a key whose expiry has passed is absent.
func ExampleStore_InsertWithTTL() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()

	st.InsertWithTTL([]byte("session"), []byte("token"), time.Minute)
	left, _ := st.TTL([]byte("session"))
	fmt.Println(left.Round(time.Minute)) // a little less than a minute

	st.Persist([]byte("session"))
	left, _ = st.TTL([]byte("session"))
	fmt.Println(left == feox.NoExpiry)

	// From its expiry on, a key is absent for every operation.
	st.InsertWithTTL([]byte("flash"), []byte("gone soon"), time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	_, err := st.Get([]byte("flash"))
	fmt.Println(errors.Is(err, feox.ErrNotFound), st.Contains([]byte("flash")))
	// Output:
	// 1m0s
	// true
	// true false
}

// ExampleStore_Range lists the keys of an inclusive range with their values, here the keys
// that start with "fruit:".
func ExampleStore_Range() {
	st, _ := feox.Open(feox.Options{})
	defer st.Close()
	for k, v := range map[string]string{
		"fruit:apple": "red", "fruit:banana": "yellow", "fruit:cherry": "dark red", "veg:leek": "green",
	} {
		st.Insert([]byte(k), []byte(v))
	}

	// The end bound takes in every "fruit:" key but those longer ones that start "fruit:\xff".
	kvs, _ := st.Range([]byte("fruit:"), []byte("fruit:\xff"), 10)
	for _, kv := range kvs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Output:
	// fruit:apple=red
	// fruit:banana=yellow
	// fruit:cherry=dark red
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

	// The value is the counter as 8 bytes, little-endian.
	v, _ := st.Get([]byte("visits"))
	fmt.Println(len(v), binary.LittleEndian.Uint64(v))

	st.Insert([]byte("name"), []byte("feox"))
	_, err := st.Increment([]byte("name"), 1)
	fmt.Println(errors.Is(err, feox.ErrNotCounter))
	// Output:
	// 1
	// 42
	// 8 42
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
