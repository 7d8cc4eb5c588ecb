package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/feoxdb/feox-go/internal/format"
)

// statxDirect returns the direct I/O alignments statx reports for the file at path (zeros
// where it reports none) and whether EnableDirect should accept them.
func statxDirect(t testing.TB, path string) (mem, off uint32, usable bool) {
	t.Helper()
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_DIOALIGN, &stx); err != nil {
		t.Fatalf("statx %q: %v", path, err)
	}
	if stx.Mask&unix.STATX_DIOALIGN == 0 {
		return 0, 0, false
	}
	return stx.Dio_mem_align, stx.Dio_offset_align, usableDirect(stx.Dio_mem_align, stx.Dio_offset_align)
}

// enableDirect turns on direct writes to f, failing the test if EnableDirect's answer differs
// from what statx says of the file. Where the test directory's filesystem offers no usable
// direct I/O there is nothing direct to test, and the test is skipped with the reason.
func enableDirect(t testing.TB, f *File) {
	t.Helper()
	on, err := f.EnableDirect()
	if err != nil {
		t.Fatalf("EnableDirect: %v", err)
	}
	mem, off, usable := statxDirect(t, f.Path())
	if on != usable {
		t.Fatalf("EnableDirect = %v, but statx reports alignments mem %d, offset %d", on, mem, off)
	}
	if !on {
		t.Skipf("the filesystem of %q offers no usable O_DIRECT alignment (mem %d, offset %d)", f.Path(), mem, off)
	}
}

// openDirectNew creates a data file of size bytes with direct writes on, closed at the end of
// the test.
func openDirectNew(t testing.TB, size int64) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.feox")
	f, _, err := Open(path, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	enableDirect(t, f)
	return f
}

// alignedPattern returns n bytes of pattern(n, seed) in a page-aligned buffer.
func alignedPattern(n int, seed byte) []byte {
	b := AlignedBuffer(n, 4096)
	copy(b, pattern(n, seed))
	return b
}

// checkRead fails the test unless f reads back want at off.
func checkRead(t *testing.T, f *File, want []byte, off int64, what string) {
	t.Helper()
	got := make([]byte, len(want))
	if err := f.ReadAt(got, off); err != nil {
		t.Fatalf("%s: ReadAt(%d bytes at %d): %v", what, len(want), off, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes at %d read back differently", what, len(want), off)
	}
}

// cachedPages returns how many of the pages holding [off, off+n) of f are in the page cache,
// and how many pages that range touches.
func cachedPages(t *testing.T, f *File, off int64, n int) (cached, pages int) {
	t.Helper()
	ps := int64(os.Getpagesize())
	start := off / ps * ps
	length := int(off + int64(n) - start)
	m, err := unix.Mmap(int(f.Fd()), start, length, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (length+int(ps)-1)/int(ps))
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	for _, v := range vec {
		cached += int(v & 1)
	}
	return cached, len(vec)
}

// checkCached fails the test unless the pages of [off, off+n) of f are all out of the page
// cache after a direct write (the kernel drops them) or all in it after a buffered one.
func checkCached(t *testing.T, f *File, off int64, n int, direct bool, what string) {
	t.Helper()
	cached, pages := cachedPages(t, f, off, n)
	if direct && cached != 0 {
		t.Errorf("%s: %d of %d pages in the page cache after a direct write, want none", what, cached, pages)
	}
	if !direct && cached != pages {
		t.Errorf("%s: %d of %d pages in the page cache after a buffered write, want all", what, cached, pages)
	}
}

// TestFile_EnableDirect ensures EnableDirect opens a second descriptor of the same inode with
// O_DIRECT and close-on-exec, reports the alignments statx gives, and that a second call
// keeps it.
func TestFile_EnableDirect(t *testing.T) {
	f := openDirectNew(t, 1<<20)
	mem, off, _ := statxDirect(t, f.Path())
	st := f.Direct()
	if !st.On || st.FellBack || st.MemAlign != int(mem) || st.OffAlign != int(off) {
		t.Errorf("Direct() = %+v, want on with alignments mem %d, offset %d", st, mem, off)
	}
	d := f.direct.Load()
	fl, err := unix.FcntlInt(uintptr(d.fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_DIRECT == 0 || fl&unix.O_ACCMODE != unix.O_WRONLY {
		t.Errorf("direct descriptor flags %#x, want O_DIRECT|O_WRONLY", fl)
	}
	if fd, err := unix.FcntlInt(uintptr(d.fd), unix.F_GETFD, 0); err != nil || fd&unix.FD_CLOEXEC == 0 {
		t.Errorf("direct descriptor lacks close-on-exec (%#x, %v)", fd, err)
	}
	if same, err := sameFile(f.f, d.f); err != nil || !same {
		t.Errorf("direct descriptor is not the data file's inode (%v)", err)
	}
	if on, err := f.EnableDirect(); !on || err != nil || f.direct.Load() != d {
		t.Errorf("second EnableDirect = %v, %v (same descriptor: %v), want true, nil and the same descriptor", on, err, f.direct.Load() == d)
	}
}

// TestFile_EnableDirect_Unavailable ensures EnableDirect returns false, nil and leaves writes
// buffered where it cannot use the file: its path now names another file or none, or the
// filesystem (tmpfs) reports no direct I/O alignment; and that it fails on a closed File.
func TestFile_EnableDirect_Unavailable(t *testing.T) {
	tests := []struct {
		name  string
		dir   func(t *testing.T) string
		after func(t *testing.T, path string) // what happens to the path after Open
	}{
		{"path replaced", func(t *testing.T) string { return t.TempDir() }, func(t *testing.T, path string) {
			other := path + ".new"
			if err := os.WriteFile(other, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"path removed", func(t *testing.T) string { return t.TempDir() }, func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"tmpfs", func(t *testing.T) string {
			dir, err := os.MkdirTemp("/dev/shm", "disk-test-")
			if err != nil {
				t.Skipf("no tmpfs at /dev/shm: %v", err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			var fs unix.Statfs_t
			if err := unix.Statfs(dir, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
				t.Skipf("/dev/shm is not a tmpfs (%v)", err)
			}
			return dir
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tt.dir(t), "data.feox")
			f, _, err := Open(path, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := false
			if tt.after != nil {
				tt.after(t, path)
			} else if mem, off, usable := statxDirect(t, path); usable {
				// A kernel whose tmpfs reports alignments: EnableDirect must then take them.
				t.Logf("tmpfs reports O_DIRECT alignments mem %d, offset %d", mem, off)
				want = true
			}
			on, err := f.EnableDirect()
			if on != want || err != nil {
				t.Fatalf("EnableDirect = %v, %v, want %v, nil", on, err, want)
			}
			if st := f.Direct(); st.On != want || (!want && (st.MemAlign != 0 || f.direct.Load() != nil)) {
				t.Errorf("Direct() = %+v after EnableDirect = %v", st, on)
			}
			buf := alignedPattern(4096, 9)
			if err := f.WriteAt([][]byte{buf}, format.DataStart); err != nil {
				t.Fatal(err)
			}
			checkRead(t, f, buf, format.DataStart, "after the write")
			if st := f.Direct(); !want && (st.DirectWrites != 0 || st.BufferedWrites != 1) {
				t.Errorf("Direct() = %+v, want the aligned write buffered", st)
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		f := openNew(t, 1<<20)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if on, err := f.EnableDirect(); on || !errors.Is(err, os.ErrClosed) {
			t.Errorf("EnableDirect on a closed File = %v, %v, want false, os.ErrClosed", on, err)
		}
		if f.direct.Load() != nil {
			t.Errorf("EnableDirect on a closed File opened a descriptor")
		}
	})
}

// TestFile_WriteAt_Direct ensures WriteAt sends aligned writes through the O_DIRECT descriptor
// (the counters say so, and the kernel has dropped the range's cached pages) and misaligned
// ones (offset, buffer address, buffer length) through the buffered one (its pages are
// cached), that both read back through ReadAt even when the range was cached by an earlier
// read, and that they are in the file after a reopen.
func TestFile_WriteAt_Direct(t *testing.T) {
	f := openDirectNew(t, 4<<20)
	const base = 1 << 20
	tests := []struct {
		name   string
		bufs   [][]byte
		off    int64
		direct bool
	}{
		{"one sector", [][]byte{alignedPattern(512, 1)}, base, true},
		{"sector offset", [][]byte{alignedPattern(4096, 2)}, base + 8192 + 512, true},
		{"large", [][]byte{alignedPattern(256<<10, 3)}, base + 64<<10, true},
		{"aligned buffers", [][]byte{alignedPattern(512, 4), alignedPattern(8192, 5), alignedPattern(1024, 6)}, base + 512<<10, true},
		{"misaligned offset", [][]byte{alignedPattern(4096, 7)}, base + 1<<20 + 100, false},
		{"misaligned address", [][]byte{alignedPattern(4096+8, 8)[8:]}, base + 1<<20 + 16384, false},
		{"misaligned length", [][]byte{alignedPattern(1000, 9)}, base + 1<<20 + 32768, false},
		{"one misaligned buffer", [][]byte{alignedPattern(512, 10), alignedPattern(100, 11)}, base + 1<<20 + 65536, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bytes.Join(tt.bufs, nil)
			// Cache the range first: a direct write must not leave its old bytes readable.
			if err := f.ReadAt(make([]byte, len(want)), tt.off); err != nil {
				t.Fatal(err)
			}
			before := f.Direct()
			if err := f.WriteAt(tt.bufs, tt.off); err != nil {
				t.Fatalf("WriteAt: %v", err)
			}
			after := f.Direct()
			direct, buffered := after.DirectWrites-before.DirectWrites, after.BufferedWrites-before.BufferedWrites
			if wantD := tt.direct; (direct == 1) != wantD || direct+buffered != 1 {
				t.Errorf("%d direct and %d buffered writes, want direct = %v", direct, buffered, wantD)
			}
			checkCached(t, f, tt.off, len(want), tt.direct, "after WriteAt")
			checkRead(t, f, want, tt.off, "after WriteAt")
			if got := fileBytes(t, f.Path())[tt.off : tt.off+int64(len(want))]; !bytes.Equal(got, want) {
				t.Errorf("the file read through another descriptor differs")
			}
		})
	}
	if st := f.Direct(); !st.On || st.FellBack {
		t.Errorf("Direct() = %+v after the writes, want on", st)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	g := reopenFile(t, f)
	for _, tt := range tests {
		checkRead(t, g, bytes.Join(tt.bufs, nil), tt.off, tt.name+" after reopen")
	}
}

// loosenDirect replaces f's direct alignments by 1, looser than any the kernel takes, so that
// a write at an offset that is not a multiple of the real offset alignment goes to the
// O_DIRECT descriptor and the kernel refuses it with EINVAL: the honest way to reach the
// fallback path.
func loosenDirect(f *File) {
	d := *f.direct.Load()
	d.memAlign, d.offAlign = 1, 1
	f.direct.Store(&d)
}

// TestFile_WriteAt_DirectFallback ensures a direct write the kernel refuses with EINVAL is
// redone through the buffered descriptor and lands, that direct writes are then off for good
// (reported by Direct and EnableDirect), and that later aligned writes go buffered.
func TestFile_WriteAt_DirectFallback(t *testing.T) {
	f := openDirectNew(t, 1<<20)
	loosenDirect(f)
	ok := alignedPattern(4096, 1)
	if err := f.WriteAt([][]byte{ok}, format.DataStart); err != nil {
		t.Fatal(err)
	}
	if st := f.Direct(); st.DirectWrites != 1 || st.FellBack {
		t.Fatalf("Direct() = %+v after an aligned write, want one direct write", st)
	}
	odd := pattern(1000, 2)
	if err := f.WriteAt([][]byte{odd}, format.DataStart+8192+100); err != nil {
		t.Fatalf("WriteAt refused by O_DIRECT: %v, want it redone buffered", err)
	}
	if st := f.Direct(); st.On || !st.FellBack || st.DirectWrites != 2 || st.BufferedWrites != 1 {
		t.Errorf("Direct() = %+v after the refused write, want off, fell back, 2 direct and 1 buffered", st)
	}
	later := alignedPattern(4096, 3)
	if err := f.WriteAt([][]byte{later}, format.DataStart+16384); err != nil {
		t.Fatal(err)
	}
	if st := f.Direct(); st.DirectWrites != 2 || st.BufferedWrites != 2 {
		t.Errorf("Direct() = %+v, want the aligned write after the fallback buffered", st)
	}
	if on, err := f.EnableDirect(); on || err != nil {
		t.Errorf("EnableDirect after a fallback = %v, %v, want false, nil", on, err)
	}
	checkRead(t, f, ok, format.DataStart, "direct write")
	checkRead(t, f, odd, format.DataStart+8192+100, "fallen-back write")
	checkRead(t, f, later, format.DataStart+16384, "write after the fallback")
}

// TestFile_Direct_Concurrent ensures direct and buffered writes and reads at distinct offsets
// may run on several goroutines while direct writes fall back (run under -race), and that
// every region ends up as its writer left it.
func TestFile_Direct_Concurrent(t *testing.T) {
	f := openDirectNew(t, 4<<20)
	const workers, rounds, region = 4, 40, 16384
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			off := int64(1<<20 + w*region)
			pw := f.PwriteWriter()
			got := make([]byte, region)
			for r := range rounds {
				want := alignedPattern(region, byte(w*rounds+r))
				var err error
				switch r % 3 {
				case 0:
					err = f.WriteAt([][]byte{want}, off)
				case 1: // misaligned address in the middle: buffered
					cp := AlignedBuffer(region+1, 4096)[1:]
					copy(cp, want)
					err = f.WriteAt([][]byte{want[:4096], cp[4096:]}, off)
				case 2:
					err = WriteBatch(pw, []Write{{Bufs: [][]byte{want[:8192]}, Off: off}, {Bufs: [][]byte{want[8192:]}, Off: off + 8192}})
				}
				if err != nil {
					t.Errorf("worker %d round %d: %v", w, r, err)
					return
				}
				if !readsBack(t, f, got, want, off, fmt.Sprintf("worker %d round %d", w, r)) {
					return
				}
				if w == 0 && r == rounds/2 {
					f.fallBack()
				}
				_ = f.Direct()
			}
		})
	}
	wg.Wait()
	if st := f.Direct(); st.On || !st.FellBack || st.DirectWrites == 0 {
		t.Errorf("Direct() = %+v, want direct writes made and then off", st)
	}
}

// openFds counts this process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestFile_Close_NoDescriptorLeak ensures Close closes the O_DIRECT descriptor as well as the
// buffered one, and that an EnableDirect that gives up (the path names another file) closes
// the descriptor it opened: the process holds as many descriptors after a few such lives of
// a File as before.
func TestFile_Close_NoDescriptorLeak(t *testing.T) {
	dir := t.TempDir()
	// os.File closes an unreachable descriptor when the garbage collector finds it, which
	// would hide a leak: the collector is off during the test, and the Files stay referenced.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var files []*File
	life := func(i int, replace bool) {
		path := filepath.Join(dir, fmt.Sprintf("data%d.feox", i))
		f, _, err := Open(path, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		if replace {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		on, err := f.EnableDirect()
		if err != nil || on == replace {
			t.Fatalf("EnableDirect = %v, %v (path replaced: %v)", on, err, replace)
		}
		w, err := f.UringWriter(8, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteBatch(w, []Write{{Bufs: [][]byte{alignedPattern(8192, byte(i))}, Off: format.DataStart}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, usable := statxDirect(t, probe); !usable {
		t.Skipf("the filesystem of %q offers no usable O_DIRECT alignment", dir)
	}
	life(0, false) // the first use may open descriptors the runtime keeps (the poller's)
	before := openFds(t)
	for i := 1; i <= 3; i++ {
		life(i, i == 2)
	}
	if after := openFds(t); after != before {
		t.Errorf("%d descriptors open after closing the Files, %d before", after, before)
	}
	runtime.KeepAlive(files)
}

// TestFile_Fallback_WaitsForDirectInFlight ensures that after a fallback a buffered write waits
// until no direct write is in flight, for every writer, and that a write routed direct after
// the fallback goes buffered instead.
func TestFile_Fallback_WaitsForDirectInFlight(t *testing.T) {
	for _, kind := range writerKinds {
		t.Run("io="+kind.name, func(t *testing.T) {
			f := openDirectNew(t, 1<<20)
			w := kind.make(t, f)
			defer w.Close()
			if !f.startDirect(1) { // a direct write of some other batch, still in the kernel
				t.Fatal("startDirect refused before any fallback")
			}
			f.fallBack()
			if f.startDirect(1) {
				t.Fatal("startDirect accepted a write after the fallback")
			}
			ws := []Write{{Bufs: [][]byte{alignedPattern(4096, 7)}, Off: format.DataStart}}
			done := make(chan error, 1)
			go func() { done <- WriteBatch(w, ws) }()
			select {
			case err := <-done:
				t.Fatalf("buffered batch finished (%v) while a direct write was in flight", err)
			case <-time.After(50 * time.Millisecond):
			}
			f.endDirect(1)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkBatch(t, f, ws, "after the wait")
			if st := f.Direct(); st.DirectWrites != 0 || st.BufferedWrites != 1 {
				t.Errorf("Direct() = %+v, want the one write buffered", st)
			}
		})
	}
}

// reopenFile closes f and opens its path again; the new File is closed when the test ends.
func reopenFile(t *testing.T, f *File) *File {
	t.Helper()
	path := f.Path()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, _, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}
