package disk

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// lockWait is how long lockFile keeps trying a lock that is held. A process killed while it
// had io_uring requests in flight keeps its file (and flock) referenced until the kernel has
// torn its rings down, asynchronously and usually within milliseconds; a restart right after
// the kill should not fail for that.
const lockWait = time.Second

// lockFile takes an exclusive flock, without blocking on it for more than lockWait. flock
// locks belong to the open file description, so a second Open of the same inode, in this
// process or another, conflicts.
func lockFile(f *os.File) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			if time.Now().After(deadline) {
				return ErrLocked
			}
			time.Sleep(5 * time.Millisecond)
		default:
			return err
		}
	}
}

// nextData returns the offset of the first byte at or after off that may hold data (skipping
// holes of a sparse file), or size if there is none.
func nextData(f *os.File, off, size int64) (int64, error) {
	n, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO):
		return size, nil
	case err != nil:
		return off, nil // SEEK_DATA unsupported: read everything
	}
	return n, nil
}

// nextHole returns the offset of the first hole at or after off (a region that holds no
// data: never written, or reserved by fallocate and never written), or size if there is none
// or the filesystem cannot tell.
func nextHole(f *os.File, off, size int64) int64 {
	n, err := unix.Seek(int(f.Fd()), off, unix.SEEK_HOLE)
	if err != nil || n > size {
		return size
	}
	return n
}

// allocate extends f from old to size bytes, reserving the blocks where the filesystem can so
// that later writes do not fail for want of space.
func allocate(f *os.File, old, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, old, size-old)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.ENOSPC) {
		return err
	}
	return f.Truncate(size) // fallocate unsupported here: a sparse extension
}

func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// writev writes bufs at off with pwritev, continuing after short writes. It leaves the
// caller's slice as it was (a short write continues on a copy), so that a failed write can be
// redone with the same bufs.
func writev(f *os.File, bufs [][]byte, off int64) error {
	fd := int(f.Fd())
	owned := false // bufs is writev's own copy, which it may change
	for len(bufs) > 0 {
		if len(bufs[0]) == 0 {
			bufs = bufs[1:]
			continue
		}
		n, err := unix.Pwritev(fd, bufs[:min(len(bufs), 1024)], off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("pwritev wrote nothing")
		}
		off += int64(n)
		for n > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
			} else {
				if !owned {
					bufs, owned = slices.Clone(bufs), true
				}
				bufs[0] = bufs[0][n:]
				n = 0
			}
		}
	}
	return nil
}

func isNoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) || errors.Is(err, unix.EFBIG)
}

// punch deallocates [off, off+n): the range reads as zeros afterwards and the file keeps its
// size. It returns an error wrapping errors.ErrUnsupported where the filesystem cannot.
func punch(f *os.File, off, n int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return errors.Join(errors.ErrUnsupported, err)
		default:
			return err
		}
	}
}

// isInvalid reports whether err is EINVAL, which is how a direct write that does not meet the
// file's alignment fails.
func isInvalid(err error) bool { return errors.Is(err, unix.EINVAL) }

// openDirect opens a second descriptor of main's file, with O_DIRECT, if the kernel reports
// direct I/O alignments for it that usableDirect accepts. It returns nil, nil when direct
// writes are not available: statx or STATX_DIOALIGN unknown to the kernel, no or unsuitable
// alignments, O_DIRECT refused, or path no longer naming main's file (renamed or replaced
// since Open). It never writes.
func openDirect(main *os.File, path string) (*directFile, error) {
	var stx unix.Statx_t
	var err error
	for {
		err = unix.Statx(int(main.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &stx)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP):
		return nil, nil // no statx, or none that takes these flags: alignments unknown
	case err != nil:
		return nil, fmt.Errorf("statx: %w", err)
	}
	// A kernel or filesystem that does not know STATX_DIOALIGN leaves it out of the mask;
	// one that cannot do direct I/O on this file reports zero alignments.
	if stx.Mask&unix.STATX_DIOALIGN == 0 || !usableDirect(stx.Dio_mem_align, stx.Dio_offset_align) {
		return nil, nil
	}
	df, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, os.ErrNotExist):
		return nil, nil // O_DIRECT refused, or the path is gone
	case err != nil:
		return nil, err
	}
	same, err := sameFile(main, df)
	if err != nil || !same {
		df.Close()
		return nil, err
	}
	return &directFile{
		f:        df,
		fd:       int(df.Fd()),
		memAlign: int(stx.Dio_mem_align),
		offAlign: int(stx.Dio_offset_align),
		share:    max(int64(os.Getpagesize()), int64(stx.Blksize)),
	}, nil
}

// sameFile reports whether a and b are descriptors of the same file (device and inode).
func sameFile(a, b *os.File) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		return false, fmt.Errorf("fstat: %w", err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		return false, fmt.Errorf("fstat: %w", err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

func allocated(f *os.File) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Blocks * 512, nil // st_blocks counts 512-byte units whatever the block size
}
