package datafile

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
)

// TestOpen_FileSize ensures a new file is at least Config.FileSize (rounded up to 4 KiB, at
// least 1 MiB) and at most 1 MiB + 64 KiB more, as the public contract states, and sparse.
func TestOpen_FileSize(t *testing.T) {
	for _, size := range []int64{0, 1, 4096, 1<<20 - 100, 1 << 20, 1<<20 + 1, 3<<20 - 100, 3 << 20, 64<<20 + 4097, 1 << 30} {
		floor := max((size+4095)/4096*4096, 1<<20)
		st := openTestStore(t, storeOptions{path: filepath.Join(t.TempDir(), "size.feox"), fileSize: max(size, 1)})
		got := st.f.Stats().Size
		if got < floor || got > floor+1<<20+64<<10 {
			t.Errorf("FileSize %d: file of %d bytes, want [%d, %d]", size, got, floor, floor+1<<20+64<<10)
		}
		if a := st.f.Stats().Allocated; a >= 1<<20 {
			t.Errorf("FileSize %d: a new file takes %d bytes on disk, want it sparse", size, a)
		}
		if (got-format.DataStart)%segBytes != 0 {
			t.Errorf("FileSize %d: file of %d bytes is not the header and whole segments", size, got)
		}
		if err := st.close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpen_Expect ensures Open announces to the Rebuilder, before the scan, the records the
// file's frames hold: every version written, older copies included.
func TestOpen_Expect(t *testing.T) {
	st := openTestStore(t, storeOptions{path: filepath.Join(t.TempDir(), "expect.feox"), fileSize: 8 << 20})
	for round, n := range []int{100, 50} {
		for i := range n {
			st.put(fmt.Sprintf("k%03d", i), []byte(fmt.Sprint(round)))
		}
		st.flush()
	}
	// The few bytes of garbage are far below what makes a segment worth cleaning
	// (cleanMinGarbage): no move adds a copy before the reopen.
	st = st.reopen()
	if st.expected != 150 {
		t.Errorf("Open announced %d records, want 150 (100 keys, then 50 of them again)", st.expected)
	}
}
