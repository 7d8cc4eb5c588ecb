//go:build linux

package uring

import (
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// Buffers is a set of equal-size buffers in one anonymous memory mapping, outside the Go
// heap. Each buffer starts on a page boundary and its size is a whole number of pages, so the
// buffers meet the alignment O_DIRECT asks of memory (a sector or the device's DMA alignment)
// and can be registered with Ring.RegisterBuffers. The garbage collector neither moves nor
// frees them: they live until Close, whatever references remain.
//
// A Buffers is not safe for concurrent use, but distinct buffers may be used concurrently.
type Buffers struct {
	mem  []byte
	size int
	n    int
}

// NewBuffers maps n buffers of at least size bytes each; size is rounded up to a multiple of
// the page size. The memory starts zeroed.
func NewBuffers(n, size int) (*Buffers, error) {
	if n <= 0 || size <= 0 {
		return nil, fmt.Errorf("%w: %d buffers of %d bytes", ErrInvalid, n, size)
	}
	page := os.Getpagesize()
	if size > math.MaxInt-page {
		return nil, fmt.Errorf("%w: buffer size %d", ErrInvalid, size)
	}
	size = (size + page - 1) / page * page
	if n > math.MaxInt/size {
		return nil, fmt.Errorf("%w: %d buffers of %d bytes", ErrInvalid, n, size)
	}
	mem, err := unix.Mmap(-1, 0, n*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("uring: cannot map %d buffers of %d bytes: %w", n, size, err)
	}
	return &Buffers{mem: mem, size: size, n: n}, nil
}

// Len returns the number of buffers.
func (b *Buffers) Len() int { return b.n }

// Size returns the size of each buffer, a multiple of the page size.
func (b *Buffers) Size() int { return b.size }

// Buf returns buffer i, of length and capacity Size. Slicing it further keeps the memory
// outside the Go heap; the slice is valid until Close.
func (b *Buffers) Buf(i int) []byte {
	if b.mem == nil {
		panic("uring: Buf of closed Buffers")
	}
	return b.mem[i*b.size : (i+1)*b.size : (i+1)*b.size]
}

// Close unmaps the buffers. No request may be using them, and no slice of them may be used
// afterwards. Buffers registered with a Ring should be unregistered first; the kernel keeps
// registered pages pinned until then.
func (b *Buffers) Close() error {
	if b.mem == nil {
		return nil
	}
	err := unix.Munmap(b.mem)
	b.mem = nil
	if err != nil {
		return fmt.Errorf("uring: cannot unmap buffers: %w", err)
	}
	return nil
}
