package datafile

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/disk"
)

// directSupported reports whether files in dir can take O_DIRECT writes of sectors, asking
// package disk directly on a scratch file.
func directSupported(t *testing.T, dir string) bool {
	t.Helper()
	f, _, err := disk.Open(filepath.Join(dir, "probe.feox"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	on, err := f.EnableDirect()
	if err != nil {
		t.Fatal(err)
	}
	return on
}

// TestFile_DirectIO writes values from empty to 70 KiB with O_DIRECT asked for, overwrites
// and deletes some, and checks them after a reopen without it. Where the filesystem allows
// direct I/O it also checks that the file reports it and that every batch write went the
// direct way: the batch buffers are aligned, so none should fall back to the page cache.
func TestFile_DirectIO(t *testing.T) {
	dir := t.TempDir()
	want := directSupported(t, dir)
	opts := storeOptions{path: filepath.Join(dir, "data.feox"), fileSize: 1 << 30, direct: true,
		batchEntries: 256, shards: 2}
	st := openTestStore(t, opts)
	if got := st.f.Stats().DirectIO; got != want {
		t.Fatalf("Stats.DirectIO = %v, the filesystem allows direct I/O: %v", got, want)
	}
	model := map[string][]byte{}
	sizes := []int{0, 1, 100, 480, 511, 512, 4000, 70 << 10}
	for round := range 3 {
		for i := range 3000 {
			k := fmt.Sprintf("key-%05d", i)
			switch {
			case round > 0 && i%7 == 0:
				if err := st.del(k); err != nil && !errors.Is(err, errNotFound) {
					t.Fatal(err)
				}
				delete(model, k)
			default:
				v := bytes.Repeat([]byte{byte(round*31 + i)}, sizes[(i+round)%len(sizes)])
				st.put(k, v)
				model[k] = v
			}
		}
		st.flush()
	}
	ds := st.f.file.Direct()
	t.Logf("direct I/O allowed: %v; %d direct and %d buffered writes", want, ds.DirectWrites, ds.BufferedWrites)
	if want && (ds.DirectWrites == 0 || ds.FellBack || ds.BufferedWrites != 0) {
		t.Errorf("direct I/O on, but %d direct and %d buffered writes (fell back: %v)", ds.DirectWrites, ds.BufferedWrites, ds.FellBack)
	}
	if !want && ds.DirectWrites != 0 {
		t.Errorf("direct I/O unavailable, yet %d direct writes", ds.DirectWrites)
	}
	st.opts.direct, st.opts.io = false, disk.IOPwrite // read back through the other way
	st = st.reopen()
	if st.f.Stats().DirectIO {
		t.Error("Stats.DirectIO after a reopen without it")
	}
	checkModel(t, st, model, "after a reopen")
}

// checkModel checks that st holds exactly the keys and values of model.
func checkModel(t *testing.T, st *testStore, model map[string][]byte, when string) {
	t.Helper()
	for k, v := range model {
		got, err := st.get(k)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("%s: get(%s) = %.32q, %v; want %.32q", when, k, got, err, v)
		}
	}
	if n := st.len(); n != len(model) {
		t.Fatalf("%s: %d keys, want %d", when, n, len(model))
	}
}
