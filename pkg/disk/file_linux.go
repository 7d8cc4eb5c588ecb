package disk

import (
	"errors"
	"os"
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

// writev writes bufs at off with pwritev, continuing after short writes.
func writev(f *os.File, bufs [][]byte, off int64) error {
	fd := int(f.Fd())
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
