package feox_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/pkg/feox"
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

// TestDirectIO writes values of one to many sectors with Pipeline.DirectIO, overwrites and
// deletes some, and checks them after a reopen without it. Where the filesystem allows direct
// I/O it also checks that the store reports it and that every batch write went the direct
// way: the batch buffers are aligned, so none should fall back to the page cache.
func TestDirectIO(t *testing.T) {
	dir := t.TempDir()
	want := directSupported(t, dir)
	path := filepath.Join(dir, "data.feox")
	opts := feox.Options{Path: path, Pipeline: feox.PipelineOptions{DirectIO: true, BatchEntries: 256}}
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Stats().DirectIO; got != want {
		t.Fatalf("Stats.DirectIO = %v, the filesystem allows direct I/O: %v", got, want)
	}
	model := faultModel{}
	sizes := []int{0, 1, 100, 480, 511, 512, 4000, 70 << 10}
	for round := range 3 {
		for i := range 3000 {
			k := fmt.Sprintf("key-%05d", i)
			switch {
			case round > 0 && i%7 == 0:
				if err := st.Delete([]byte(k)); err != nil && !errors.Is(err, feox.ErrNotFound) {
					t.Fatal(err)
				}
				delete(model, k)
			default:
				v := bytes.Repeat([]byte{byte(round*31 + i)}, sizes[(i+round)%len(sizes)])
				if _, err := st.Insert([]byte(k), v); err != nil {
					t.Fatal(err)
				}
				model[k] = string(v)
			}
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	ds := st.DirectStatus()
	t.Logf("direct I/O allowed: %v; %d direct and %d buffered writes", want, ds.DirectWrites, ds.BufferedWrites)
	if want && (ds.DirectWrites == 0 || ds.FellBack || ds.BufferedWrites != 0) {
		t.Errorf("direct I/O on, but %d direct and %d buffered writes (fell back: %v)", ds.DirectWrites, ds.BufferedWrites, ds.FellBack)
	}
	if !want && ds.DirectWrites != 0 {
		t.Errorf("direct I/O unavailable, yet %d direct writes", ds.DirectWrites)
	}
	opts.Pipeline.DirectIO, opts.Pipeline.IO = false, feox.IOPwrite // read back through the other way
	st = reopenStore(t, st, opts)
	defer st.Close()
	if st.Stats().DirectIO {
		t.Error("Stats.DirectIO after a reopen without it")
	}
	checkModel(t, st, model, "after a reopen")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
