//go:build !linux

package uring

import (
	"errors"
	"runtime"
	"syscall"
)

// Ring is one io_uring instance. io_uring exists only on Linux: elsewhere New always fails
// and no Ring can be made.
type Ring struct{}

// Batch is a group of writes submitted by SubmitBatch; see the Linux documentation.
type Batch struct{}

// Buffers is a set of page-aligned buffers outside the Go heap; on this platform NewBuffers
// always fails.
type Buffers struct{}

// errNotLinux is the cause New reports outside Linux.
var errNotLinux = errors.New("io_uring is Linux-only")

// New always fails outside Linux with a *SetupError matching ErrUnsupported.
func New(opts Options) (*Ring, error) {
	e := &SetupError{Op: "io_uring_setup", Err: errNotLinux, Hint: "GOOS=" + runtime.GOOS, unsupported: true}
	if opts.forceErrno != 0 {
		e.Err = syscall.Errno(opts.forceErrno)
	}
	return nil, e
}

// NewBuffers always fails outside Linux with ErrUnsupported.
func NewBuffers(n, size int) (*Buffers, error) { return nil, ErrUnsupported }

// Len returns 0.
func (b *Buffers) Len() int { return 0 }

// Size returns 0.
func (b *Buffers) Size() int { return 0 }

// Buf panics: there are no buffers.
func (b *Buffers) Buf(i int) []byte { panic("uring: no Buffers outside Linux") }

// Close returns nil.
func (b *Buffers) Close() error { return nil }

// Close returns ErrUnsupported.
func (r *Ring) Close() error { return ErrUnsupported }

// Stats returns zero counters.
func (r *Ring) Stats() Stats { return Stats{} }

// Supports returns false.
func (r *Ring) Supports(op Op) bool { return false }

// NextSQE returns ErrUnsupported.
func (r *Ring) NextSQE() (*SQE, error) { return nil, ErrUnsupported }

// Submit returns ErrUnsupported.
func (r *Ring) Submit() (int, error) { return 0, ErrUnsupported }

// Wait returns ErrUnsupported.
func (r *Ring) Wait(min int) error { return ErrUnsupported }

// Reap returns dst.
func (r *Ring) Reap(dst []CQE) []CQE { return dst }

// RegisterBuffers returns ErrUnsupported.
func (r *Ring) RegisterBuffers(b *Buffers) error { return ErrUnsupported }

// UnregisterBuffers returns ErrUnsupported.
func (r *Ring) UnregisterBuffers() error { return ErrUnsupported }

// RegisterFiles returns ErrUnsupported.
func (r *Ring) RegisterFiles(fds []int) error { return ErrUnsupported }

// UnregisterFiles returns ErrUnsupported.
func (r *Ring) UnregisterFiles() error { return ErrUnsupported }

// WriteBatch returns ErrUnsupported.
func (r *Ring) WriteBatch(fd int, writes []Write, datasync bool) error { return ErrUnsupported }

// SubmitBatch returns ErrUnsupported.
func (r *Ring) SubmitBatch(fd int, writes []Write, datasync bool) (*Batch, error) {
	return nil, ErrUnsupported
}

// CompleteBatch returns ErrUnsupported.
func (r *Ring) CompleteBatch(b *Batch) error { return ErrUnsupported }

// ReadAt returns ErrUnsupported.
func (r *Ring) ReadAt(fd int, buf []byte, off int64) (int, error) { return 0, ErrUnsupported }
