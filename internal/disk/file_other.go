//go:build !linux

package disk

import (
	"errors"
	"os"
	"syscall"
)

// lockFile is a no-op where flock is not bound: a second Open is not detected there.
func lockFile(*os.File) error { return nil }

func nextData(_ *os.File, off, _ int64) (int64, error) { return off, nil }

// nextHole is size where holes cannot be found: the whole file is read.
func nextHole(_ *os.File, _, size int64) int64 { return size }

func allocate(f *os.File, _, size int64) error { return f.Truncate(size) }

func datasync(f *os.File) error { return f.Sync() }

// isInvalid is false: direct writes are never on here.
func isInvalid(error) bool { return false }

// openDirect reports direct writes unavailable: they are used on Linux only.
func openDirect(*os.File, string) (*directFile, error) { return nil, nil }

func writev(f *os.File, bufs [][]byte, off int64) error {
	for _, b := range bufs {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// punch is not available here: callers zero what they must instead.
func punch(*os.File, int64, int64) error { return errors.ErrUnsupported }

func allocated(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
