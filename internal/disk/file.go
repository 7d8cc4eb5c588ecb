// Package disk holds a store's data file: opening it under an exclusive lock, creating or
// validating its header, growing it, and vectored writes, data syncs and reads.
//
// The byte layout is defined by package format (and docs/FORMAT.md); this package moves those
// bytes to and from the file. A File is safe for concurrent use: writes and reads at distinct
// offsets may run in parallel, and Grow is serialized.
//
// # Direct writes
//
// Data writes may bypass the page cache. File.EnableDirect opens a second descriptor of the
// file with O_DIRECT where the kernel reports direct I/O alignments that sector writes can
// meet (Linux, statx STATX_DIOALIGN). Then a write (File.WriteAt, or a Write of a batch given
// to either Writer) whose offset, buffer lengths and buffer addresses are aligned goes through
// that descriptor, and any other through the buffered one. A direct write moves the bytes
// from the caller's buffer to the device without copying them into the page cache, so large
// batches cost less CPU and memory bandwidth, the cache keeps the pages readers want rather
// than freshly written records, and the data sync that follows has no dirty pages to write
// back. Whether that makes writes faster depends on the device and the buffers: a direct write
// needs a device segment per physically contiguous piece of its buffers, so a large write
// from ordinary heap memory (4 KiB pages) can be slower than a buffered one on a device that
// takes few segments per request (BenchmarkBatchWrite measures both ways).
// AlignedBuffer allocates buffers such writes can use. If the kernel still refuses a
// direct write (EINVAL), direct writes are turned off (File.Direct reports it); WriteAt and
// the pwrite writer redo the write through the buffered descriptor, the io_uring writer fails
// its batch, to be written again buffered. A buffered write after that waits until no direct
// write is in flight, so that the two never share a page at the same time. The header writes of a new store, reads, data syncs,
// Punch and SyncAll always use the buffered descriptor.
package disk

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
)

// Errors of Open and Grow. Check them with errors.Is.
var (
	// ErrLocked means another open File (in this or another process) holds the file's lock.
	ErrLocked = errors.New("disk: data file is locked by another store")
	// ErrNotStore means the file holds bytes but no valid header: it is not a data file, or
	// both header copies are damaged. It wraps format.ErrCorrupted.
	ErrNotStore = fmt.Errorf("%w: not a feox-go data file (no valid header)", format.ErrCorrupted)
	// ErrFull means the filesystem refused to grow the file.
	ErrFull = errors.New("disk: the filesystem refused to grow the data file")
)

// MinSize is the smallest size of a new data file.
const MinSize = 1 << 20

// File is an open, locked data file.
type File struct {
	f    *os.File
	path string
	hdr  format.Header

	growMu sync.Mutex
	size   atomic.Int64 // the file's size, a multiple of format.BlockSize

	directMu sync.Mutex // serializes EnableDirect and Close
	closed   bool       // Close has run; guarded by directMu
	// direct is the O_DIRECT descriptor, nil until EnableDirect succeeds; set once.
	direct    atomic.Pointer[directFile]
	directOff atomic.Bool // a direct write failed with EINVAL: direct writes are off
	// directInflight counts the direct writes started and not yet known to be complete (a
	// pwrite returned, an io_uring batch reaped). After a fallback, buffered writes wait for
	// it to reach zero (see awaitDirect).
	directInflight atomic.Int64
	// The counters of DirectStatus: atomic so that Direct may read them while writers add;
	// they order nothing else.
	directWrites, bufferedWrites atomic.Uint64
}

// RoundSize returns size rounded up to a whole number of blocks, at least MinSize.
func RoundSize(size int64) int64 {
	size = max(size, MinSize)
	return (size + format.BlockSize - 1) / format.BlockSize * format.BlockSize
}

// Open opens the data file at path, creating it with size newSize (rounded by RoundSize) if it
// does not exist, is empty, or holds only zero bytes. It takes an exclusive lock on the file
// (ErrLocked if another File holds it). A file with bytes but no valid header gives ErrNotStore,
// and a file from a newer or an earlier format version gives format.ErrNewerVersion or
// format.ErrOlderVersion (not ErrNotStore); in all these cases the file is left exactly as it
// was. Open does not create parent directories. created reports whether
// a new store was initialized.
func Open(path string, newSize int64) (f *File, created bool, err error) {
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("disk: cannot open data file %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			osf.Close()
		}
	}()
	st, err := osf.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("disk: cannot stat %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("disk: %q is not a regular file", path)
	}
	if err := lockFile(osf); err != nil {
		return nil, false, err
	}
	f = &File{f: osf, path: path}
	size := st.Size()
	blank, err := allZero(osf, size)
	if err != nil {
		return nil, false, fmt.Errorf("disk: cannot read %q: %w", path, err)
	}
	if blank {
		if err := f.create(RoundSize(max(newSize, size))); err != nil {
			return nil, false, err
		}
		return f, true, nil
	}
	if size < format.DataStart {
		return nil, false, fmt.Errorf("disk: %q: %w (%d bytes)", path, ErrNotStore, size)
	}
	buf := make([]byte, format.DataStart)
	if _, err := osf.ReadAt(buf, 0); err != nil {
		return nil, false, fmt.Errorf("disk: cannot read the header of %q: %w", path, err)
	}
	hdr, err := format.PickHeader(buf[:format.HeaderSize], buf[format.HeaderSize:])
	switch {
	case errors.Is(err, format.ErrNewerVersion), errors.Is(err, format.ErrOlderVersion):
		return nil, false, fmt.Errorf("disk: %q: %w", path, err)
	case err != nil:
		return nil, false, fmt.Errorf("disk: %q: %w: %w", path, ErrNotStore, err)
	}
	f.hdr = hdr
	f.size.Store(size / format.SectorSize * format.SectorSize)
	return f, false, nil
}

// create initializes a new store of the given size: both header copies with generation 1,
// synced, and the directory entry synced.
func (f *File) create(size int64) error {
	var salt [8]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return fmt.Errorf("disk: cannot draw a salt: %w", err)
	}
	hdr := format.Header{
		Version:    format.Version,
		Generation: 1,
		Salt:       binary.LittleEndian.Uint64(salt[:]),
		Created:    time.Now().UnixNano(),
	}
	if err := f.f.Truncate(size); err != nil {
		return fmt.Errorf("disk: cannot size %q to %d bytes: %w", f.path, size, errFull(err))
	}
	buf := format.AppendHeader(make([]byte, 0, format.DataStart), hdr)
	buf = format.AppendHeader(buf, hdr)
	if _, err := f.f.WriteAt(buf, 0); err != nil {
		return fmt.Errorf("disk: cannot write the header of %q: %w", f.path, errFull(err))
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("disk: cannot sync %q: %w", f.path, err)
	}
	syncDir(filepath.Dir(f.path))
	f.hdr = hdr
	f.size.Store(size)
	return nil
}

// errFull maps "no space" errors to ErrFull.
func errFull(err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// syncDir makes a new directory entry durable; failure only weakens that guarantee.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Header returns the file's header.
func (f *File) Header() format.Header { return f.hdr }

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Size returns the file's size in bytes.
func (f *File) Size() int64 { return f.size.Load() }

// Grow extends the file to at least size bytes (rounded up to a block). It returns an error
// wrapping ErrFull when the filesystem refuses. The new size becomes durable with the next Sync.
func (f *File) Grow(size int64) error {
	f.growMu.Lock()
	defer f.growMu.Unlock()
	size = RoundSize(size)
	if size <= f.size.Load() {
		return nil
	}
	if err := allocate(f.f, f.size.Load(), size); err != nil {
		return fmt.Errorf("disk: cannot grow %q to %d bytes: %w", f.path, size, errFull(err))
	}
	f.size.Store(size)
	return nil
}

// WriteAt writes bufs one after another starting at offset off. When direct writes are on
// (EnableDirect) and off, every buffer's length and every buffer's address meet their
// alignments, the write goes through the O_DIRECT descriptor; otherwise, or if the direct
// write fails with EINVAL, through the buffered one. WriteAt does not retain bufs.
func (f *File) WriteAt(bufs [][]byte, off int64) error {
	if d := f.activeDirect(); d != nil && d.eligible(bufs, off) {
		return f.writeDirect(d, bufs, off)
	}
	return f.writeBuffered(bufs, off)
}

// Sync makes every completed write durable (fdatasync where available). It syncs the buffered
// descriptor only, and that covers direct writes too: fdatasync(2) flushes the file (its
// inode's data and the metadata needed to reach it, such as extents a direct write turned
// from unwritten to written) and the device's write cache, whichever descriptor wrote them;
// EnableDirect checked that both descriptors refer to the same inode.
func (f *File) Sync() error {
	if err := datasync(f.f); err != nil {
		return fmt.Errorf("disk: sync %q: %w", f.path, errFull(err))
	}
	return nil
}

// Punch erases [off, off+n): the range reads as zeros afterwards and no longer takes space on
// disk; the file keeps its size. The erasure becomes durable with the next SyncAll. Where the
// filesystem cannot deallocate a range, Punch returns an error wrapping errors.ErrUnsupported.
func (f *File) Punch(off, n int64) error {
	if err := punch(f.f, off, n); err != nil {
		return fmt.Errorf("disk: erase %d bytes at %d in %q: %w", n, off, f.path, err)
	}
	return nil
}

// SyncAll makes every completed write and every change of the file's layout (Punch, Grow)
// durable (fsync).
func (f *File) SyncAll() error {
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("disk: sync %q: %w", f.path, errFull(err))
	}
	return nil
}

// ReadAt fills p from offset off. Reads always go through the buffered descriptor, also when
// direct writes are on: a direct write writes back and then drops the cached pages of the
// range it writes, so a buffered read afterwards finds the new bytes (on the device, or in
// pages cached after the write).
func (f *File) ReadAt(p []byte, off int64) error {
	if _, err := f.f.ReadAt(p, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("disk: read at %d in %q: %w", off, f.path, err)
	}
	return nil
}

// Allocated returns the bytes the filesystem has allocated to the file, as du reports them:
// holes (punched, or never written in a sparse file) do not count, space reserved by Grow
// does. Where the platform does not tell, it returns the file's size.
func (f *File) Allocated() (int64, error) { return allocated(f.f) }

// Fd returns the buffered file descriptor, for I/O backends that issue their own system
// calls.
func (f *File) Fd() uintptr { return f.f.Fd() }

// Close releases the lock and closes the file, and its O_DIRECT descriptor if it has one. It
// does not sync.
func (f *File) Close() error {
	f.directMu.Lock()
	f.closed = true
	d := f.direct.Load()
	f.directMu.Unlock()
	err := f.f.Close() // closing the descriptor that took the flock releases it
	if d != nil {
		err = errors.Join(err, d.f.Close())
	}
	return err
}

// allZero reports whether the first size bytes of f are all zero (an empty file counts).
func allZero(f *os.File, size int64) (bool, error) {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		next, err := nextData(f, off, size)
		if err != nil {
			return false, err
		}
		if next >= size {
			return true, nil
		}
		n := min(int64(len(buf)), size-next)
		if _, err := f.ReadAt(buf[:n], next); err != nil {
			return false, err
		}
		if !format.IsZeroed(buf[:n]) {
			return false, nil
		}
		off = next + n
	}
	return true, nil
}
