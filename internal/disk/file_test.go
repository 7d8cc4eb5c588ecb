package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
)

// openNew creates a data file of size bytes in a fresh directory and closes it when the test
// ends.
func openNew(t *testing.T, size int64) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.feox")
	f, created, err := Open(path, size)
	if err != nil {
		t.Fatalf("Open(%q, %d): %v", path, size, err)
	}
	if !created {
		t.Fatalf("Open(%q, %d) of a new path: created = false", path, size)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fileBytes returns the contents of the file at path.
func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNewStore checks that the file at path is a new store of the given size: both header
// copies equal, decoding to generation 1 with the salt and creation time of want.
func checkNewStore(t *testing.T, path string, size int64, want format.Header) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != size {
		t.Errorf("file size = %d, want %d", st.Size(), size)
	}
	hb := make([]byte, format.DataStart)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := io.ReadFull(fh, hb); err != nil {
		t.Fatalf("reading the header copies: %v", err)
	}
	a, b := hb[:format.HeaderSize], hb[format.HeaderSize:]
	if !bytes.Equal(a, b) {
		t.Errorf("header copies A and B differ in a new store")
	}
	for name, c := range map[string][]byte{"A": a, "B": b} {
		h, err := format.DecodeHeader(c)
		if err != nil {
			t.Errorf("header copy %s: %v", name, err)
			continue
		}
		if h != want {
			t.Errorf("header copy %s = %+v, want %+v", name, h, want)
		}
	}
	if want.Version != format.Version || want.Generation != 1 {
		t.Errorf("new store header = %+v, want version %d and generation 1", want, format.Version)
	}
}

// TestOpen_Create ensures Open creates a missing file as a new store: both header copies at
// generation 1, a non-zero salt, and the size rounded up to a block, at least MinSize.
func TestOpen_Create(t *testing.T) {
	tests := []struct {
		newSize, want int64
	}{
		{0, MinSize},
		{-5, MinSize},
		{1, MinSize},
		{MinSize - 1, MinSize},
		{MinSize, MinSize},
		{MinSize + 1, MinSize + format.BlockSize},
		{3<<20 + 100, 3<<20 + format.BlockSize},
		{5 << 20, 5 << 20},
	}
	salts := make(map[uint64]bool)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size=%d", tt.newSize), func(t *testing.T) {
			f := openNew(t, tt.newSize)
			h := f.Header()
			if f.Size() != tt.want {
				t.Errorf("Size() = %d, want %d", f.Size(), tt.want)
			}
			if h.Salt == 0 {
				t.Errorf("salt is 0")
			}
			if h.Created <= 0 {
				t.Errorf("creation time %d is not set", h.Created)
			}
			salts[h.Salt] = true
			checkNewStore(t, f.Path(), tt.want, h)
		})
	}
	if len(salts) != len(tests) {
		t.Errorf("%d stores got %d distinct salts", len(tests), len(salts))
	}
}

// TestRoundSize ensures sizes are rounded up to a block and to at least MinSize.
func TestRoundSize(t *testing.T) {
	tests := []struct{ in, want int64 }{
		{-1, MinSize}, {0, MinSize}, {MinSize, MinSize}, {MinSize + 1, MinSize + 4096},
		{MinSize + 4095, MinSize + 4096}, {MinSize + 4096, MinSize + 4096}, {1 << 30, 1 << 30},
	}
	for _, tt := range tests {
		if got := RoundSize(tt.in); got != tt.want {
			t.Errorf("RoundSize(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestOpen_BadPath ensures Open fails, creating nothing, when the parent directory is missing
// or the path is a directory.
func TestOpen_BadPath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir", "data.feox")
	if f, _, err := Open(missing, 0); err == nil {
		f.Close()
		t.Errorf("Open(%q) with a missing parent directory succeeded", missing)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the missing parent directory (stat: %v)", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if f, _, err := Open(sub, 0); err == nil {
		f.Close()
		t.Errorf("Open(%q) of a directory succeeded", sub)
	}
	if st, err := os.Stat(sub); err != nil || !st.IsDir() {
		t.Errorf("the directory was changed by Open: %v", err)
	}
}

// TestOpen_ZeroFile ensures an existing file holding only zero bytes (empty, written zeros or a
// sparse hole) is initialized as a new store, keeping its size when that is larger.
func TestOpen_ZeroFile(t *testing.T) {
	tests := []struct {
		name    string
		make    func(f *os.File) error
		newSize int64
		want    int64
	}{
		{"empty", func(*os.File) error { return nil }, 0, MinSize},
		{"empty larger newSize", func(*os.File) error { return nil }, 2 << 20, 2 << 20},
		{"short zeros", func(f *os.File) error { _, err := f.Write(make([]byte, 100)); return err }, 0, MinSize},
		{"written zeros", func(f *os.File) error { _, err := f.Write(make([]byte, 3<<20)); return err }, 0, 3 << 20},
		{"written zeros unaligned", func(f *os.File) error { _, err := f.Write(make([]byte, 3<<20+7)); return err }, 0, 3<<20 + 4096},
		{"sparse", func(f *os.File) error { return f.Truncate(6 << 20) }, 1 << 20, 6 << 20},
		{"sparse below newSize", func(f *os.File) error { return f.Truncate(1 << 20) }, 4 << 20, 4 << 20},
		{"sparse with zero extent", func(f *os.File) error {
			if err := f.Truncate(8 << 20); err != nil {
				return err
			}
			_, err := f.WriteAt(make([]byte, 64<<10), 5<<20)
			return err
		}, 0, 8 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.feox")
			fh, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.make(fh); err != nil {
				t.Fatal(err)
			}
			fh.Close()
			f, created, err := Open(path, tt.newSize)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			if !created {
				t.Errorf("created = false for an all-zero file")
			}
			if f.Size() != tt.want {
				t.Errorf("Size() = %d, want %d", f.Size(), tt.want)
			}
			checkNewStore(t, path, tt.want, f.Header())
		})
	}
}

// TestOpen_NotStore ensures a file holding non-zero bytes but no valid header gives ErrNotStore
// (which is also format.ErrCorrupted) and is left exactly as it was.
func TestOpen_NotStore(t *testing.T) {
	validCopy := format.AppendHeader(nil, format.Header{Version: format.Version, Generation: 3, Salt: 9, Created: 1})
	tests := []struct {
		name    string
		content func() []byte
	}{
		{"text", func() []byte { return []byte("hello, world\n") }},
		{"one byte", func() []byte { return []byte{1} }},
		{"garbage block", func() []byte { return bytes.Repeat([]byte{0xa5}, 3*format.BlockSize) }},
		{"one byte set at the end", func() []byte {
			b := make([]byte, 2<<20)
			b[len(b)-1] = 1
			return b
		}},
		{"one byte set in the data area", func() []byte {
			b := make([]byte, 1<<20)
			b[format.DataStart+12345] = 0x80
			return b
		}},
		{"both copies damaged", func() []byte {
			b := make([]byte, 1<<20)
			copy(b, validCopy)
			copy(b[format.HeaderSize:], validCopy)
			b[40] ^= 1
			b[format.HeaderSize+40] ^= 1
			return b
		}},
		{"valid copy too short", func() []byte { return validCopy[:format.HeaderSize] }},
		{"valid copy truncated", func() []byte { return append(validCopy[:format.HeaderSize:format.HeaderSize], make([]byte, 100)...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.feox")
			content := tt.content()
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			f, created, err := Open(path, 4<<20)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded (created = %v), want ErrNotStore", created)
			}
			if !errors.Is(err, ErrNotStore) || !errors.Is(err, format.ErrCorrupted) {
				t.Errorf("Open: %v, want ErrNotStore wrapping format.ErrCorrupted", err)
			}
			if !bytes.Equal(fileBytes(t, path), content) {
				t.Errorf("Open changed the file")
			}
		})
	}
}

// TestOpen_OtherVersion ensures a file with a header copy from a newer or an earlier format
// version gives format.ErrNewerVersion or format.ErrOlderVersion (not ErrNotStore), the newer
// version first, and is left exactly as it was.
func TestOpen_OtherVersion(t *testing.T) {
	at := func(version uint32, gen uint64) []byte {
		return format.AppendHeader(nil, format.Header{Version: version, Generation: gen, Salt: 7, Created: 1})
	}
	newer, older, valid := at(format.Version+1, 5), at(1, 5), at(format.Version, 4)
	damaged := bytes.Clone(valid)
	damaged[40] ^= 1
	tests := []struct {
		name string
		a, b []byte
		want error
	}{
		{"both copies newer", newer, newer, format.ErrNewerVersion},
		{"copy A newer", newer, valid, format.ErrNewerVersion},
		{"copy B newer", valid, newer, format.ErrNewerVersion},
		{"both copies older", older, at(1, 6), format.ErrOlderVersion},
		{"copy A older", older, valid, format.ErrOlderVersion},
		{"copy B older", valid, older, format.ErrOlderVersion},
		{"older, other copy damaged", older, damaged, format.ErrOlderVersion},
		{"older, other copy zero", make([]byte, format.HeaderSize), older, format.ErrOlderVersion},
		{"older and newer", older, newer, format.ErrNewerVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.feox")
			content := make([]byte, 1<<20)
			copy(content, tt.a)
			copy(content[format.HeaderSize:], tt.b)
			content[format.DataStart+100] = 0x5a
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			f, _, err := Open(path, 0)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want %v", tt.want)
			}
			if !errors.Is(err, tt.want) || errors.Is(err, ErrNotStore) || errors.Is(err, format.ErrCorrupted) {
				t.Errorf("Open: %v, want %v and neither ErrNotStore nor format.ErrCorrupted", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Open error %q does not name the file", err)
			}
			if !bytes.Equal(fileBytes(t, path), content) {
				t.Errorf("Open changed the file")
			}
		})
	}
}

// TestOpen_Reopen ensures reopening a store returns the header it was created with and its
// size, without initializing it again, and that the newer header copy governs.
func TestOpen_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.feox")
	f, created, err := Open(path, 2<<20)
	if err != nil || !created {
		t.Fatalf("Open: created = %v, err = %v", created, err)
	}
	hdr := f.Header()
	if err := f.WriteAt([][]byte{[]byte("payload")}, format.DataStart); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileBytes(t, path)

	f, created, err = Open(path, 8<<20)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if created {
		t.Errorf("reopen: created = true")
	}
	if f.Header() != hdr {
		t.Errorf("reopen: header = %+v, want %+v", f.Header(), hdr)
	}
	if f.Size() != 2<<20 {
		t.Errorf("reopen: Size() = %d, want %d (newSize only applies to new files)", f.Size(), 2<<20)
	}
	f.Close()
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Errorf("reopening changed the file")
	}

	// A later header write: generation 2 goes to copy B. The newer copy must win, and must keep
	// winning when the older copy A is torn.
	next := hdr
	next.Generation = 2
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt(format.AppendHeader(nil, next), format.HeaderCopyOffset(2)); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	for _, tearA := range []bool{false, true} {
		if tearA {
			fh, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fh.WriteAt([]byte{0xff}, 30); err != nil {
				t.Fatal(err)
			}
			fh.Close()
		}
		f, created, err = Open(path, 0)
		if err != nil {
			t.Fatalf("reopen (copy A torn: %v): %v", tearA, err)
		}
		if created || f.Header() != next {
			t.Errorf("reopen (copy A torn: %v): created = %v, header = %+v, want %+v", tearA, created, f.Header(), next)
		}
		f.Close()
	}
}

// TestFile_Grow ensures Grow extends the file to a whole number of blocks, ignores sizes at or
// below the current one, and that the new area reads as zeros, also after a reopen.
func TestFile_Grow(t *testing.T) {
	f := openNew(t, 1<<20)
	tests := []struct{ grow, want int64 }{
		{0, 1 << 20},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 1<<20 + format.BlockSize},
		{1<<20 + 100, 1<<20 + format.BlockSize},
		{3 << 20, 3 << 20},
		{2 << 20, 3 << 20},
		{3<<20 + 4095, 3<<20 + 4096},
	}
	for _, tt := range tests {
		old := f.Size()
		if err := f.Grow(tt.grow); err != nil {
			t.Fatalf("Grow(%d): %v", tt.grow, err)
		}
		if f.Size() != tt.want {
			t.Errorf("Grow(%d) from %d: Size() = %d, want %d", tt.grow, old, f.Size(), tt.want)
		}
		st, err := os.Stat(f.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != tt.want {
			t.Errorf("Grow(%d) from %d: file size = %d, want %d", tt.grow, old, st.Size(), tt.want)
		}
		if tt.want > old {
			buf := make([]byte, tt.want-old)
			if err := f.ReadAt(buf, old); err != nil {
				t.Fatalf("reading the grown area: %v", err)
			}
			if !format.IsZeroed(buf) {
				t.Errorf("Grow(%d): the new area [%d, %d) is not zero", tt.grow, old, tt.want)
			}
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	hdr, size := f.Header(), f.Size()
	f.Close()
	g, created, err := Open(f.Path(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if created || g.Header() != hdr || g.Size() != size {
		t.Errorf("after Grow and reopen: created = %v, header = %+v, size = %d; want false, %+v, %d", created, g.Header(), g.Size(), hdr, size)
	}
}

// pattern returns n bytes of a position-dependent pattern seeded by seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ byte(i>>9) ^ seed
	}
	return b
}

// TestFile_WriteAtReadAt ensures a vectored write lays its buffers out back to back, whatever
// their number and sizes, and ReadAt returns the same bytes.
func TestFile_WriteAtReadAt(t *testing.T) {
	f := openNew(t, 4<<20)
	split := func(sizes ...int) [][]byte {
		bufs := make([][]byte, len(sizes))
		for i, n := range sizes {
			bufs[i] = pattern(n, byte(i+1))
		}
		return bufs
	}
	many := make([]int, 3000) // more buffers than one pwritev call takes
	for i := range many {
		many[i] = 1 + i%13
	}
	tests := []struct {
		name string
		off  int64
		bufs [][]byte
	}{
		{"one sector", format.DataStart, split(512)},
		{"sectors", format.DataStart + 512, split(512, 1024, 512)},
		{"unaligned sizes", format.DataStart + 8192, split(1, 100, 0, 4095, 3)},
		{"empty buffers only", format.DataStart + 20000, split(0, 0)},
		{"no buffers", format.DataStart + 20000, nil},
		{"many buffers", 1 << 20, split(many...)},
		{"large buffer", 2 << 20, split(1<<20 + 512)},
		{"up to the end", 4<<20 - 1000, split(600, 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bytes.Join(tt.bufs, nil)
			if err := f.WriteAt(tt.bufs, tt.off); err != nil {
				t.Fatalf("WriteAt: %v", err)
			}
			got := make([]byte, len(want))
			if err := f.ReadAt(got, tt.off); err != nil {
				t.Fatalf("ReadAt: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ReadAt after WriteAt differs (%d bytes at %d)", len(want), tt.off)
			}
			// The bytes must be in the file itself, not only in this File's view.
			if disk := fileBytes(t, f.Path())[tt.off : tt.off+int64(len(want))]; !bytes.Equal(disk, want) {
				t.Errorf("file contents differ from the written buffers")
			}
		})
	}
	if err := f.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if f.Size() != 4<<20 {
		t.Errorf("Size() = %d after writes inside the file, want %d", f.Size(), 4<<20)
	}
}

// TestFile_ReadAtPastEnd ensures reads that run past the end of the file fail.
func TestFile_ReadAtPastEnd(t *testing.T) {
	f := openNew(t, 1<<20)
	tests := []struct {
		off int64
		n   int
	}{
		{f.Size() - 10, 20},
		{f.Size(), 1},
		{f.Size() + 4096, 512},
	}
	for _, tt := range tests {
		err := f.ReadAt(make([]byte, tt.n), tt.off)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadAt(%d bytes at %d) in a file of %d: %v, want io.ErrUnexpectedEOF", tt.n, tt.off, f.Size(), err)
		}
	}
	if err := f.ReadAt(make([]byte, 10), f.Size()-10); err != nil {
		t.Errorf("ReadAt of the last 10 bytes: %v", err)
	}
}

// TestFile_Closed ensures I/O on a closed File fails rather than touching another descriptor.
func TestFile_Closed(t *testing.T) {
	f := openNew(t, 1<<20)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.ReadAt(make([]byte, 10), 0); err == nil {
		t.Errorf("ReadAt on a closed File succeeded")
	}
	if err := f.WriteAt([][]byte{[]byte("x")}, format.DataStart); err == nil {
		t.Errorf("WriteAt on a closed File succeeded")
	}
	if err := f.Sync(); err == nil {
		t.Errorf("Sync on a closed File succeeded")
	}
}

// TestFile_Concurrent ensures writers and readers at distinct offsets and concurrent Grow calls
// may run in parallel (run under -race) and each region ends up as its writer left it.
func TestFile_Concurrent(t *testing.T) {
	f := openNew(t, 1<<20)
	const workers, rounds, region = 4, 50, 8192
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(format.DataStart + w*region)
			got := make([]byte, region)
			for r := range rounds {
				want := pattern(region, byte(w*rounds+r))
				if err := f.WriteAt([][]byte{want[:100], want[100:]}, off); err != nil {
					t.Errorf("worker %d: WriteAt: %v", w, err)
					return
				}
				if !readsBack(t, f, got, want, off, fmt.Sprintf("worker %d round %d", w, r)) {
					return
				}
				if err := f.Grow(int64(1<<20 + (w*rounds+r)*format.BlockSize)); err != nil {
					t.Errorf("worker %d: Grow: %v", w, err)
					return
				}
				_ = f.Size()
			}
		}()
	}
	wg.Wait()
	if want := int64(1<<20 + (workers*rounds-1)*format.BlockSize); f.Size() != want {
		t.Errorf("Size() = %d after concurrent Grow calls, want %d", f.Size(), want)
	}
}

// readsBack reads len(got) bytes at off into got and reports whether they equal want, failing
// the test (without stopping it, so that it can run on any goroutine) when they do not.
func readsBack(t *testing.T, f *File, got, want []byte, off int64, who string) bool {
	t.Helper()
	if err := f.ReadAt(got, off); err != nil {
		t.Errorf("%s: ReadAt: %v", who, err)
		return false
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: read back other bytes", who)
		return false
	}
	return true
}
