package feox_test

import (
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// fuzzMaxInput bounds the operations of one fuzz input (each takes a few bytes).
const fuzzMaxInput = 1024

// FuzzStoreOps decodes its input into a sequence of operations of every kind on a few keys,
// runs them on a fresh store from one goroutine and checks every result against the
// sequential model of TestStore_Model. Each operation takes its choices from the next input
// bytes: key, operation, value, then the operation's own parameters.
func FuzzStoreOps(f *testing.F) {
	// One seed per operation kind (the second byte selects it), on varying keys and values.
	for op := range 19 {
		f.Add([]byte{byte(op), byte(op), byte(op * 3), 1, 2, 3, 4, 5})
	}
	// Sequences that build state and then probe it.
	f.Add([]byte{
		0, 0, 12, // Insert counter(0)
		0, 13, 0, 0, // Increment +1
		0, 13, 0, 5, // Increment by MaxInt64: overflow
		0, 12, 0, 1, 0, // CompareAndSwap from the current value to "a"
		0, 5, 0, // Get
		0, 18, 3, // Range with limit 4
	})
	f.Add([]byte{
		1, 3, 1, 1, 5, // InsertWithTimestamp(ts 6)
		1, 3, 2, 1, 1, 1, // InsertWithTimestamp(ts 4): older
		1, 11, 0, 1, 1, 6, // DeleteWithTimestamp(ts 9)
		1, 3, 3, 1, 0, // InsertWithTimestamp(ts 1) after the delete
		1, 16, 0, // TTL
	})
	f.Add([]byte{
		2, 2, 5, 2, // InsertWithTTL short
		2, 9, 0, // Contains after the expiry
		2, 13, 0, 0, // Increment restarts
		3, 2, 6, 3, // InsertWithTTL 1h
		3, 14, 0, 2, // UpdateTTL short
		3, 15, 0, // Persist of the expired key
		3, 17, 0, 1, // JSONPatch of the expired key
	})
	f.Add([]byte{
		4, 0, 5, // Insert {"a":1}
		4, 17, 0, 1, // JSONPatch add /a
		4, 17, 0, 0, // JSONPatch replace root
		4, 17, 0, 2, // JSONPatch test 5 (fails)
		5, 0, 7, // Insert [1,2]
		5, 17, 0, 3, // JSONPatch remove /0
		5, 17, 0, 4, // malformed patch
		5, 7, 0, // View
		5, 8, 0, // Size
	})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i * 7)
	}
	f.Add(all)

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxInput {
			data = data[:fuzzMaxInput]
		}
		s, err := openIO(feox.Options{TTLSweepInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := &byteChooser{data: data}
		r := newModelRunner(s, newModel(), "f/", c, 100*time.Microsecond, 100*time.Microsecond)
		for !c.done() {
			if err := r.step(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
