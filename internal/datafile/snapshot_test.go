package datafile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFile_SnapshotAfterFlush copies the data file right after a flush, while the store keeps
// running, and checks that the copy recovers exactly the store's contents at that moment.
// Nothing writes between the flush and the copy: not this test, and not the cleaner, which is
// paused (it moves and erases records in the background, so a copy taken during one of its
// rounds is not a snapshot; docs/DURABILITY.md).
func TestFile_SnapshotAfterFlush(t *testing.T) {
	const keys = 200
	for trial := range 5 {
		r := rand.New(rand.NewPCG(uint64(1000+trial), 7))
		dir := t.TempDir()
		st := openTestStore(t, storeOptions{path: filepath.Join(dir, "live.feox"), batchEntries: 64,
			flushInterval: 2 * time.Millisecond, shards: 2})
		for i := range 3000 {
			k := fmt.Sprintf("key-%03d", r.IntN(keys))
			if r.IntN(4) == 0 {
				if err := st.del(k); err != nil && !errors.Is(err, errNotFound) {
					t.Fatal(err)
				}
			} else {
				st.put(k, bytes.Repeat([]byte{byte(i)}, r.IntN(1500)))
			}
			if (i+1)%500 != 0 {
				continue
			}
			resume := st.f.pauseCleaner()
			st.flush()
			snap, err := os.ReadFile(st.opts.path)
			resume()
			if err != nil {
				t.Fatal(err)
			}
			cp := filepath.Join(dir, fmt.Sprintf("copy-%d.feox", i))
			if err := os.WriteFile(cp, snap, 0o644); err != nil {
				t.Fatal(err)
			}
			rec := openTestStore(t, storeOptions{path: cp})
			for k := range keys {
				key := fmt.Sprintf("key-%03d", k)
				v1, e1 := st.get(key)
				v2, e2 := rec.get(key)
				if !bytes.Equal(v1, v2) || (e1 == nil) != (e2 == nil) {
					t.Fatalf("trial %d op %d: %s: store %.16q %v, recovered copy %.16q %v", trial, i, key, v1, e1, v2, e2)
				}
			}
			if rec.len() != st.len() {
				t.Fatalf("trial %d op %d: %d keys in the store, %d in the copy", trial, i, st.len(), rec.len())
			}
			if err := rec.close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
