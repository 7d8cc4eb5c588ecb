package disk

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"time"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/format"
)

// directFile is a File's second descriptor, opened with O_DIRECT, with the alignments its
// writes need. It does not change once EnableDirect has published it.
type directFile struct {
	f        *os.File
	fd       int // f's descriptor, for io_uring requests
	memAlign int // buffer addresses must be multiples of it (statx dio_mem_align)
	offAlign int // file offsets and buffer lengths must be multiples of it (dio_offset_align)
	// share is the unit of page cache a direct write must not share with a buffered write of
	// the same batch: the larger of the page size and statx's preferred I/O size (stx_blksize,
	// at least the filesystem's block size on the filesystems measured; a larger unit only
	// sends more writes buffered).
	share int64
}

// DirectStatus describes a File's O_DIRECT writes; see File.EnableDirect.
type DirectStatus struct {
	// On reports that writes meeting the alignments below go through the O_DIRECT descriptor.
	On bool
	// MemAlign is the alignment of buffer addresses a direct write needs (allocate buffers
	// with AlignedBuffer(n, MemAlign)); 0 when direct writes were never enabled.
	MemAlign int
	// OffAlign is the alignment of file offsets and buffer lengths a direct write needs; it
	// divides format.SectorSize. 0 when direct writes were never enabled.
	OffAlign int
	// FellBack reports that a direct write failed with EINVAL: direct writes are off for the
	// rest of the File's life (the write was redone buffered, or its io_uring batch failed).
	FellBack bool
	// DirectWrites counts the writes (one WriteAt call, or one Write of a batch) sent through
	// the O_DIRECT descriptor, including any that then fell back.
	DirectWrites uint64
	// BufferedWrites counts the writes sent through the buffered descriptor, fallbacks
	// included.
	BufferedWrites uint64
}

// usableDirect reports whether the O_DIRECT alignments a filesystem reports for a file (statx
// dio_mem_align and dio_offset_align; zero when it reports none) let this package write
// directly: every offset and length it writes is a multiple of format.SectorSize, so the
// offset alignment must divide that. So must the memory alignment: a batch encoded into one
// aligned buffer is written as several runs, each starting a whole number of sectors into the
// buffer, and with a coarser memory alignment some runs of a batch would go direct and others
// buffered, the mix that can leave stale bytes in the page cache.
func usableDirect(memAlign, offAlign uint32) bool {
	return offAlign != 0 && offAlign <= format.SectorSize && format.SectorSize%offAlign == 0 &&
		memAlign != 0 && memAlign <= format.SectorSize && format.SectorSize%memAlign == 0
}

// EnableDirect turns on O_DIRECT writes where the file allows them and reports whether it
// did. On Linux it asks the kernel (statx STATX_DIOALIGN) for the file's direct I/O
// alignments; when the kernel reports them and they suit sector writes (an offset alignment
// dividing format.SectorSize, a memory alignment dividing format.SectorSize), it opens the file's path a
// second time with O_WRONLY|O_DIRECT, checks that the new descriptor refers to the same file
// (device and inode), and keeps it. Otherwise it returns false and writes stay buffered; it
// never writes to the file to find out. Elsewhere it always returns false, nil. An error
// means an unexpected failure of a query or of the open; writes stay buffered then too, and
// the File remains fully usable. Calling it again after it succeeded does nothing.
//
// From then on WriteAt and both writers send a write through the O_DIRECT descriptor when
// its offset, the length of each of its buffers and the address of each buffer are multiples
// of the alignments (see Direct and AlignedBuffer), and through the buffered descriptor
// otherwise. A direct write bypasses the page cache: the bytes go from the caller's buffer to
// the device, with no copy and no dirty pages left for the next Sync to write back. If a
// direct write fails with EINVAL, direct writes are turned off for good
// (DirectStatus.FellBack): WriteAt and the pwrite writer redo the write through the buffered
// descriptor, and the io_uring writer fails the batch, which goes buffered when written again.
// Buffered writes after that wait for the direct writes still in flight. Sync, SyncAll, Punch and reads keep
// using the buffered descriptor (see Sync and ReadAt for why that is enough).
//
// The kernel keeps the page cache coherent for a direct write: it writes back and drops the
// cached pages of the written range. It cannot do so for a page that a buffered write
// dirties while a direct write to the same page is in flight: the page may then keep stale
// bytes. Within one batch the writers prevent that (a direct write sharing a page with a
// buffered write of its batch goes buffered too); across batches in flight at the same time,
// or WriteAt calls on several goroutines, the caller should not mix the two in one page,
// which is easiest by making every write eligible: buffers from AlignedBuffer.
func (f *File) EnableDirect() (bool, error) {
	f.directMu.Lock()
	defer f.directMu.Unlock()
	if f.closed {
		return false, fmt.Errorf("disk: cannot enable direct writes to %q: %w", f.path, os.ErrClosed)
	}
	if f.direct.Load() != nil {
		return !f.directOff.Load(), nil
	}
	d, err := openDirect(f.f, f.path)
	if err != nil {
		return false, fmt.Errorf("disk: cannot enable direct writes to %q: %w", f.path, err)
	}
	if d == nil {
		return false, nil
	}
	f.direct.Store(d) // publishes a fully built directFile to the writers' Loads
	return true, nil
}

// Direct reports whether direct writes are on, the alignments they need, whether one fell
// back, and how many writes took each way.
func (f *File) Direct() DirectStatus {
	st := DirectStatus{
		FellBack:       f.directOff.Load(),
		DirectWrites:   f.directWrites.Load(),
		BufferedWrites: f.bufferedWrites.Load(),
	}
	if d := f.direct.Load(); d != nil {
		st.On = !st.FellBack
		st.MemAlign, st.OffAlign = d.memAlign, d.offAlign
	}
	return st
}

// activeDirect returns the O_DIRECT descriptor if direct writes are on, or nil.
func (f *File) activeDirect() *directFile {
	d := f.direct.Load() // pairs with the Store in EnableDirect
	if d == nil || f.directOff.Load() {
		return nil
	}
	return d
}

// fallBack turns direct writes off after one failed with EINVAL. The descriptor stays open
// until Close, since writes on other goroutines may be using it.
func (f *File) fallBack() {
	f.directOff.Store(true) // seq-cst: ordered against the Add of startDirect (see there)
}

// startDirect counts n direct writes as in flight and reports whether they may go direct.
// It returns false, counting nothing, once direct writes fell back. The count is raised
// before the flag is read, and fallBack sets the flag before awaitDirect reads the count:
// with sequentially consistent atomics, either the writes see the flag and go buffered, or
// a buffered write after the fallback sees them counted and waits for them.
func (f *File) startDirect(n int) bool {
	f.directInflight.Add(int64(n))
	if f.directOff.Load() {
		f.directInflight.Add(-int64(n))
		return false
	}
	return true
}

// endDirect records that n direct writes counted by startDirect are complete.
func (f *File) endDirect(n int) { f.directInflight.Add(-int64(n)) }

// awaitDirect makes a buffered write after a fallback wait until no direct write is in
// flight. A buffered write dirtying a page while a direct write to another part of that page
// is in flight can leave the page cache with the direct write's old bytes, which writeback
// would then put back on disk. Before any fallback the caller keeps the two apart (the store
// makes every write eligible), so there is nothing to wait for. The wait is a short poll: a
// fallback happens at most once per File, and the writes it waits for are already in the
// kernel.
func (f *File) awaitDirect() {
	if !f.directOff.Load() {
		return
	}
	for f.directInflight.Load() > 0 {
		time.Sleep(50 * time.Microsecond)
	}
}

// writeDirect writes bufs at off through d. A failure with EINVAL turns direct writes off and
// is redone through the buffered descriptor, once every other direct write in flight is done.
func (f *File) writeDirect(d *directFile, bufs [][]byte, off int64) error {
	if !f.startDirect(1) {
		return f.writeBuffered(bufs, off) // fell back since the caller routed the write
	}
	f.directWrites.Add(1)
	err := writev(d.f, bufs, off)
	f.endDirect(1)
	switch {
	case err == nil:
		return nil
	case isInvalid(err):
		f.fallBack()
		return f.writeBuffered(bufs, off)
	}
	return fmt.Errorf("disk: direct write at %d in %q: %w", off, f.path, errFull(err))
}

// writeBuffered writes bufs at off through the buffered descriptor.
func (f *File) writeBuffered(bufs [][]byte, off int64) error {
	f.awaitDirect()
	f.bufferedWrites.Add(1)
	if err := writev(f.f, bufs, off); err != nil {
		return fmt.Errorf("disk: write at %d in %q: %w", off, f.path, errFull(err))
	}
	return nil
}

// eligible reports whether a write of bufs at off meets d's alignments: off and every
// buffer's length are multiples of offAlign, every buffer's address is a multiple of
// memAlign, and the write has bytes. Empty buffers are skipped, as the writes skip them.
func (d *directFile) eligible(bufs [][]byte, off int64) bool {
	if off%int64(d.offAlign) != 0 {
		return false
	}
	n := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(b)%d.offAlign != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%uintptr(d.memAlign) != 0 {
			return false
		}
		n += len(b)
	}
	return n > 0
}

// route appends to dst, for each write of ws, whether it goes through d, and returns dst. A
// write goes direct when it is eligible and shares no page (d.share) with a write of ws that
// goes buffered: writes of a batch may run at the same time, and a buffered write dirtying a
// page while a direct write to it is in flight would keep stale bytes in the page cache.
func (d *directFile) route(dst []bool, ws []Write) []bool {
	dst = dst[:0]
	direct, buffered := false, false
	for _, w := range ws {
		ok := d.eligible(w.Bufs, w.Off)
		dst = append(dst, ok)
		if ok {
			direct = true
		} else if size(w.Bufs) > 0 {
			buffered = true
		}
	}
	if direct && buffered {
		d.separate(dst, ws)
	}
	return dst
}

// separate clears dst[i] for every direct write that shares a page with a buffered one,
// directly or through a chain of writes each sharing a page with the next: it groups the
// writes with bytes into runs of page-sharing writes, in file order, and sends a run that
// holds a buffered write buffered as a whole.
func (d *directFile) separate(dst []bool, ws []Write) {
	order := make([]int, 0, len(ws))
	for i, w := range ws {
		if size(w.Bufs) > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ws[a].Off, ws[b].Off) })
	for start := 0; start < len(order); {
		end, last, mixed := start, int64(-1), false
		for ; end < len(order); end++ {
			w := ws[order[end]]
			first := w.Off / d.share
			if end > start && first > last {
				break
			}
			last = max(last, (w.Off+int64(size(w.Bufs))-1)/d.share)
			mixed = mixed || !dst[order[end]]
		}
		if mixed {
			for _, i := range order[start:end] {
				dst[i] = false
			}
		}
		start = end
	}
}

// size returns the number of bytes in bufs.
func size(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// AlignedBuffer returns a slice of n bytes (and capacity n) whose first byte's address is a
// multiple of align, a power of two; buf[:0] appends in place up to n bytes. (A slice of no
// bytes has no first byte: for n = 0 the address means nothing.) It allocates
// n+align-1 bytes on the Go heap and returns the aligned part. Go's garbage collector never
// moves heap objects, so the address stays aligned for the slice's life; only a goroutine
// stack moves, and AlignedBuffer is never inlined so that its allocation cannot end up on the
// caller's stack. Buffers for direct writes take align = DirectStatus.MemAlign; their lengths
// must also be multiples of DirectStatus.OffAlign for the writes to go direct. It panics if
// n < 0 or align is not a power of two.
//
//go:noinline
func AlignedBuffer(n, align int) []byte {
	if n < 0 || align <= 0 || align&(align-1) != 0 {
		panic(fmt.Sprintf("disk: AlignedBuffer(%d, %d): want n >= 0 and a power-of-two alignment", n, align))
	}
	buf := make([]byte, n+align-1)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & uintptr(align-1))
	return buf[skip : skip+n : skip+n]
}
