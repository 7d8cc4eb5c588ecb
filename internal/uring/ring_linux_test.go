//go:build linux

package uring

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newRing creates a Ring closed at the end of the test. A system without io_uring fails the
// test: the package has nothing to test there.
func newRing(t testing.TB, o Options) *Ring {
	t.Helper()
	r, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// tempFile creates a read-write file of size bytes in a test directory.
func tempFile(t testing.TB, size int64) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "data"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return f
}

// pattern returns n bytes that depend on seed and on their position.
func pattern(seed, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(seed*131 + i*7 + i>>8)
	}
	return p
}

// fileBytes returns n bytes of f at off, read with pread.
func fileBytes(t testing.TB, f *os.File, n int, off int64) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := f.ReadAt(p, off); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return p
}

// run submits the entry prep fills and returns its completion, checking that it is the
// only one and carries the user data set.
func run(t *testing.T, r *Ring, prep func(s *SQE)) CQE {
	t.Helper()
	s, err := r.NextSQE()
	if err != nil {
		t.Fatal(err)
	}
	prep(s)
	s.SetUserData(0x5eed)
	if err := r.Wait(1); err != nil {
		t.Fatal(err)
	}
	got := r.Reap(nil)
	if len(got) != 1 || got[0].UserData != 0x5eed {
		t.Fatalf("reaped %+v, want one completion with user data 0x5eed", got)
	}
	return got[0]
}

// TestRing_Opcodes ensures every prepared opcode does its I/O on a real file: writes are read
// back with pread, reads return what pwrite put there.
func TestRing_Opcodes(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	f := tempFile(t, 0)
	fd := int(f.Fd())
	fixed, err := NewBuffers(2, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer fixed.Close()
	if err := r.RegisterBuffers(fixed); err != nil {
		t.Fatal(err)
	}
	a, b, c := pattern(1, 1000), pattern(2, 333), pattern(3, 4097)
	iov := []Iovec{{Base: &a[0], Len: uint(len(a))}, {Base: &b[0], Len: uint(len(b))}, {Base: &c[0], Len: uint(len(c))}}
	abc := bytes.Join([][]byte{a, b, c}, nil)
	copy(fixed.Buf(0), c)
	if _, err := f.WriteAt(b, 50000); err != nil {
		t.Fatal(err)
	}
	rbuf := make([]byte, len(b))

	tests := []struct {
		name  string
		prep  func(s *SQE)
		res   int32
		check func(t *testing.T)
	}{
		{"nop", func(s *SQE) { s.PrepNop() }, 0, nil},
		{"write", func(s *SQE) { s.PrepWrite(fd, a, 100) }, 1000, func(t *testing.T) {
			if got := fileBytes(t, f, len(a), 100); !bytes.Equal(got, a) {
				t.Error("file differs from the written bytes")
			}
		}},
		{"writev", func(s *SQE) { s.PrepWritev(fd, iov, 10000) }, int32(len(abc)), func(t *testing.T) {
			if got := fileBytes(t, f, len(abc), 10000); !bytes.Equal(got, abc) {
				t.Error("file differs from the concatenated buffers")
			}
		}},
		{"write_fixed", func(s *SQE) { s.PrepWriteFixed(fd, fixed.Buf(0)[:len(c)], 20000, 0) }, int32(len(c)), func(t *testing.T) {
			if got := fileBytes(t, f, len(c), 20000); !bytes.Equal(got, c) {
				t.Error("file differs from the fixed buffer")
			}
		}},
		{"fsync", func(s *SQE) { s.PrepFsync(fd, 0) }, 0, nil},
		{"fdatasync", func(s *SQE) { s.PrepFsync(fd, FsyncDatasync) }, 0, nil},
		{"read", func(s *SQE) { s.PrepRead(fd, rbuf, 50000) }, int32(len(b)), func(t *testing.T) {
			if !bytes.Equal(rbuf, b) {
				t.Error("read bytes differ from the file")
			}
		}},
		{"read_fixed", func(s *SQE) { s.PrepReadFixed(fd, fixed.Buf(1)[100:100+len(a)], 100, 1) }, int32(len(a)), func(t *testing.T) {
			if !bytes.Equal(fixed.Buf(1)[100:100+len(a)], a) {
				t.Error("fixed buffer differs from the file")
			}
		}},
	}
	for _, tt := range tests {
		t.Run("op="+tt.name, func(t *testing.T) {
			if c := run(t, r, tt.prep); c.Res != tt.res {
				t.Fatalf("result %d, want %d", c.Res, tt.res)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

// TestRing_FixedFile ensures FlagFixedFile makes the fd an index into the registered files.
func TestRing_FixedFile(t *testing.T) {
	r := newRing(t, Options{Entries: 4})
	other, f := tempFile(t, 0), tempFile(t, 0)
	if err := r.RegisterFiles([]int{int(other.Fd()), int(f.Fd())}); err != nil {
		t.Fatal(err)
	}
	data := pattern(4, 512)
	c := run(t, r, func(s *SQE) {
		s.PrepWrite(1, data, 4096)
		s.SetFlags(FlagFixedFile)
	})
	if c.Res != 512 || !bytes.Equal(fileBytes(t, f, 512, 4096), data) {
		t.Errorf("result %d; the registered file does not hold the data", c.Res)
	}
	if err := r.UnregisterFiles(); err != nil {
		t.Fatal(err)
	}
	if c := run(t, r, func(s *SQE) { s.PrepWrite(1, data, 0); s.SetFlags(FlagFixedFile) }); c.Res != -int32(unix.EBADF) {
		t.Errorf("fixed write after UnregisterFiles: result %d, want -EBADF", c.Res)
	}
}

// TestRing_RegisteredBuffers_Unregistered ensures a fixed request fails once the buffers are
// unregistered, and that registering while a set is registered is refused.
func TestRing_RegisteredBuffers_Unregistered(t *testing.T) {
	r := newRing(t, Options{Entries: 4})
	f := tempFile(t, 0)
	bufs, err := NewBuffers(1, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer bufs.Close()
	if err := r.RegisterBuffers(bufs); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterBuffers(bufs); !errors.Is(err, unix.EBUSY) {
		t.Errorf("second RegisterBuffers: %v, want EBUSY", err)
	}
	if err := r.UnregisterBuffers(); err != nil {
		t.Fatal(err)
	}
	if c := run(t, r, func(s *SQE) { s.PrepWriteFixed(int(f.Fd()), bufs.Buf(0), 0, 0) }); c.Res >= 0 {
		t.Errorf("fixed write without registered buffers: result %d, want an error", c.Res)
	}
}

// TestRing_Probe ensures Supports reflects the kernel's probe: the opcodes this package uses
// are there and an opcode number past the kernel's last one is not.
func TestRing_Probe(t *testing.T) {
	r := newRing(t, Options{Entries: 2})
	for _, op := range []Op{OpNop, OpReadv, OpWritev, OpFsync, OpReadFixed, OpWriteFixed, OpRead, OpWrite} {
		if !r.Supports(op) {
			t.Errorf("Supports(%v) = false", op)
		}
	}
	if r.Supports(Op(255)) {
		t.Error("Supports(op(255)) = true")
	}
}

// TestRing_ErrorCompletions ensures failed and short requests complete with the kernel's
// result: -EBADF for a write to a read-only descriptor, a short count for a read across the
// end of the file and 0 past it.
func TestRing_ErrorCompletions(t *testing.T) {
	r := newRing(t, Options{Entries: 4})
	f := tempFile(t, 1000)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	buf := make([]byte, 512)
	tests := []struct {
		name string
		prep func(s *SQE)
		res  int32
	}{
		{"write_readonly", func(s *SQE) { s.PrepWrite(int(ro.Fd()), buf, 0) }, -int32(unix.EBADF)},
		{"read_across_eof", func(s *SQE) { s.PrepRead(int(f.Fd()), buf, 900) }, 100},
		{"read_past_eof", func(s *SQE) { s.PrepRead(int(f.Fd()), buf, 5000) }, 0},
		{"bad_fd", func(s *SQE) { s.PrepRead(-1, buf, 0) }, -int32(unix.EBADF)},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			if c := run(t, r, tt.prep); c.Res != tt.res {
				t.Errorf("result %d, want %d", c.Res, tt.res)
			}
		})
	}
	err = r.WriteBatch(int(ro.Fd()), []Write{{Bufs: [][]byte{buf}, Off: 0}}, true)
	if !errors.Is(err, unix.EBADF) {
		t.Errorf("WriteBatch on a read-only fd: %v, want EBADF", err)
	}
}

// TestRing_LinkAndDrain ensures FlagIOLink cancels the rest of a chain after a failure and
// FlagIODrain holds later requests until a drained one completes.
func TestRing_LinkAndDrain(t *testing.T) {
	r := newRing(t, Options{Entries: 16})
	f := tempFile(t, 0)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	data := pattern(5, 512)
	prep := func(ud uint64, flags SQEFlags, fill func(s *SQE)) {
		t.Helper()
		s, err := r.NextSQE()
		if err != nil {
			t.Fatal(err)
		}
		fill(s)
		s.SetUserData(ud)
		s.SetFlags(flags)
	}
	results := func(n int) map[uint64]int32 {
		t.Helper()
		if err := r.Wait(n); err != nil {
			t.Fatal(err)
		}
		m := map[uint64]int32{}
		for _, c := range r.Reap(nil) {
			m[c.UserData] = c.Res
		}
		return m
	}

	prep(1, FlagIOLink, func(s *SQE) { s.PrepWrite(int(ro.Fd()), data, 0) })
	prep(2, 0, func(s *SQE) { s.PrepWrite(int(f.Fd()), data, 0) })
	if m := results(2); m[1] != -int32(unix.EBADF) || m[2] != -int32(unix.ECANCELED) {
		t.Errorf("failed chain: results %v, want 1:-EBADF 2:-ECANCELED", m)
	}
	prep(3, FlagIOLink, func(s *SQE) { s.PrepWrite(int(f.Fd()), data, 0) })
	prep(4, 0, func(s *SQE) { s.PrepFsync(int(f.Fd()), FsyncDatasync) })
	if m := results(2); m[3] != 512 || m[4] != 0 {
		t.Errorf("good chain: results %v, want 3:512 4:0", m)
	}

	// The fsync runs in a kernel worker while a nop completes inline, so without the drain
	// the nop would complete first.
	for i := range 8 {
		prep(uint64(10+i), 0, func(s *SQE) { s.PrepWrite(int(f.Fd()), data, int64(i)*512) })
	}
	prep(20, FlagIODrain, func(s *SQE) { s.PrepFsync(int(f.Fd()), FsyncDatasync) })
	prep(21, 0, func(s *SQE) { s.PrepNop() })
	if err := r.Wait(10); err != nil {
		t.Fatal(err)
	}
	order := map[uint64]int{}
	for i, c := range r.Reap(nil) {
		order[c.UserData] = i
		if c.Res < 0 {
			t.Errorf("request %d failed: %d", c.UserData, c.Res)
		}
	}
	for i := range 8 {
		if order[uint64(10+i)] > order[20] {
			t.Errorf("write %d completed after the drained fsync", i)
		}
	}
	if order[21] < order[20] {
		t.Error("the nop after the drained fsync completed before it")
	}
}

// TestRing_Wait_OneEnter ensures Wait submits prepared entries and waits for them in a
// single io_uring_enter, and Submit hands entries over in one.
func TestRing_Wait_OneEnter(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	for i := range 5 {
		s, err := r.NextSQE()
		if err != nil {
			t.Fatal(err)
		}
		s.PrepNop()
		s.SetUserData(uint64(i))
		if i == 2 {
			if n, err := r.Submit(); n != 3 || err != nil {
				t.Fatalf("Submit = %d, %v; want 3", n, err)
			}
		}
	}
	if err := r.Wait(5); err != nil {
		t.Fatal(err)
	}
	got := r.Reap(make([]CQE, 0, 8))
	seen := map[uint64]bool{}
	for _, c := range got {
		seen[c.UserData] = c.Res == 0
	}
	if len(got) != 5 || len(seen) != 5 {
		t.Errorf("reaped %+v, want the 5 nops", got)
	}
	if st := r.Stats(); st.Enters != 2 || st.Submitted != 5 || st.Completed != 5 {
		t.Errorf("stats %+v, want 2 enters (Submit, Wait), 5 submitted, 5 completed", st)
	}
}

// TestRing_Full ensures NextSQE reports ErrRingFull rather than overwriting when the
// submission ring is full, and when as many requests as the completion ring holds await
// reaping.
func TestRing_Full(t *testing.T) {
	r := newRing(t, Options{Entries: 4})
	prepN := func(n int) {
		t.Helper()
		for i := range n {
			s, err := r.NextSQE()
			if err != nil {
				t.Fatalf("NextSQE %d: %v", i, err)
			}
			s.PrepNop()
			s.SetUserData(uint64(i))
		}
	}
	prepN(4)
	if _, err := r.NextSQE(); !errors.Is(err, ErrRingFull) {
		t.Fatalf("fifth NextSQE: %v, want ErrRingFull", err)
	}
	if n, err := r.Submit(); n != 4 || err != nil {
		t.Fatalf("Submit = %d, %v; want 4", n, err)
	}
	prepN(4) // the submission ring has room again; the completion ring (8) is now spoken for
	if _, err := r.NextSQE(); !errors.Is(err, ErrRingFull) {
		t.Fatalf("NextSQE with 8 outstanding: %v, want ErrRingFull", err)
	}
	if err := r.Wait(8); err != nil {
		t.Fatal(err)
	}
	if got := r.Reap(nil); len(got) != 8 {
		t.Fatalf("reaped %d, want 8", len(got))
	}
	if _, err := r.NextSQE(); err != nil {
		t.Fatalf("NextSQE after reaping: %v", err)
	}
	if err := r.Wait(2); !errors.Is(err, ErrWaitTooMany) {
		t.Errorf("Wait(2) with 1 outstanding: %v, want ErrWaitTooMany", err)
	}
	if err := r.Wait(1); err != nil || len(r.Reap(nil)) != 1 {
		t.Errorf("Wait(1): %v", err)
	}
	if got := r.Reap(nil); len(got) != 0 {
		t.Errorf("Reap with nothing outstanding returned %v", got)
	}
}

// TestRing_Close_InFlight ensures Close with requests in flight waits for them: the data of a
// submitted batch reaches the file and CompleteBatch still reports its outcome, a prepared but
// unsubmitted entry never runs, and the closed Ring refuses further use.
func TestRing_Close_InFlight(t *testing.T) {
	r, err := New(Options{Entries: 128})
	if err != nil {
		t.Fatal(err)
	}
	f := tempFile(t, 0)
	fd := int(f.Fd())
	writes := make([]Write, 64)
	for i := range writes {
		writes[i] = Write{Bufs: [][]byte{pattern(i, 4096)}, Off: int64(i) * 4096}
	}
	b, err := r.SubmitBatch(fd, writes, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.NextSQE()
	if err != nil {
		t.Fatal(err)
	}
	s.PrepWrite(fd, pattern(99, 4096), 64*4096) // prepared, never submitted
	s, err = r.NextSQE()
	if err != nil {
		t.Fatal(err)
	}
	s.PrepNop()
	if _, err := r.Submit(); err != nil { // submits both: Close drops nothing here
		t.Fatal(err)
	}
	s, err = r.NextSQE()
	if err != nil {
		t.Fatal(err)
	}
	s.PrepWrite(fd, pattern(98, 4096), 70*4096) // prepared after the Submit: dropped by Close

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.CompleteBatch(b); err != nil {
		t.Errorf("CompleteBatch after Close: %v, want the batch's nil outcome", err)
	}
	for i := range writes {
		if got := fileBytes(t, f, 4096, int64(i)*4096); !bytes.Equal(got, writes[i].Bufs[0]) {
			t.Fatalf("write %d did not reach the file", i)
		}
	}
	if st, _ := f.Stat(); st.Size() != 65*4096 {
		t.Errorf("file size %d, want %d: the dropped entry ran or a submitted one did not", st.Size(), 65*4096)
	}
	if _, err := r.NextSQE(); !errors.Is(err, ErrClosed) {
		t.Errorf("NextSQE after Close: %v", err)
	}
	if err := r.WriteBatch(fd, writes, false); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteBatch after Close: %v", err)
	}
	if _, err := r.ReadAt(fd, make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAt after Close: %v", err)
	}
	if got := r.Reap(nil); len(got) != 0 {
		t.Errorf("Reap after Close: %v", got)
	}
	if err := r.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestBuffers ensures buffers are page-aligned, sized in whole pages, zeroed and distinct,
// and that bad sizes are refused.
func TestBuffers(t *testing.T) {
	page := os.Getpagesize()
	b, err := NewBuffers(3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 3 || b.Size() != page {
		t.Errorf("Len, Size = %d, %d; want 3, %d", b.Len(), b.Size(), page)
	}
	for i := range b.Len() {
		p := b.Buf(i)
		if len(p) != page || cap(p) != page || uintptrOf(p)%uintptr(page) != 0 {
			t.Errorf("buffer %d: len %d cap %d at %#x, want a page-aligned page", i, len(p), cap(p), uintptrOf(p))
		}
		if !bytes.Equal(p, make([]byte, page)) {
			t.Errorf("buffer %d is not zeroed", i)
		}
		copy(p, pattern(i, page))
	}
	for i := range b.Len() {
		if !bytes.Equal(b.Buf(i), pattern(i, page)) {
			t.Errorf("buffer %d was overwritten by a neighbour", i)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, bad := range [][2]int{{0, 1}, {1, 0}, {-1, 10}, {math.MaxInt / 1024, 1 << 20}} {
		if _, err := NewBuffers(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewBuffers(%d, %d): %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

// uintptrOf returns the address of p's first byte.
func uintptrOf(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }

// TestBuffers_ODirect ensures Buffers meet O_DIRECT's alignment: a batch written from them
// and read back into them through a file opened with O_DIRECT round-trips.
func TestBuffers_ODirect(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "direct"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatalf("open with O_DIRECT: %v", err)
	}
	defer f.Close()
	bufs, err := NewBuffers(4, 8192)
	if err != nil {
		t.Fatal(err)
	}
	defer bufs.Close()
	writes := make([]Write, 2)
	for i := range writes {
		copy(bufs.Buf(i), pattern(i, bufs.Size()))
		writes[i] = Write{Bufs: [][]byte{bufs.Buf(i)[:4096], bufs.Buf(i)[4096:]}, Off: int64(i) * 3 * 8192}
	}
	if err := r.WriteBatch(int(f.Fd()), writes, true); err != nil {
		t.Fatal(err)
	}
	for i := range writes {
		dst := bufs.Buf(2 + i)
		if n, err := r.ReadAt(int(f.Fd()), dst, writes[i].Off); n != len(dst) || err != nil {
			t.Fatalf("ReadAt = %d, %v", n, err)
		}
		if !bytes.Equal(dst, bufs.Buf(i)) {
			t.Errorf("write %d did not round-trip", i)
		}
	}
}
