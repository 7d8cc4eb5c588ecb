//go:build !linux

package disk

import "github.com/feoxdb/feox-go/internal/uring"

// UringWriter is not available on this platform: it fails with an error matching
// uring.ErrUnsupported.
func (f *File) UringWriter(entries uint32, sqpoll bool) (Writer, error) {
	return nil, uring.ErrUnsupported
}

// UringReader is not available on this platform: it fails with an error matching
// uring.ErrUnsupported.
func (f *File) UringReader(entries uint32) (Reader, error) {
	return nil, uring.ErrUnsupported
}
