//go:build linux

package uring

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RegisterBuffers registers every buffer of b with the kernel (IORING_REGISTER_BUFFERS), so
// that PrepWriteFixed and PrepReadFixed can use buffer number i of b as index i without the
// kernel mapping the pages on each request. The kernel pins the pages and, without
// CAP_IPC_LOCK, charges them to RLIMIT_MEMLOCK. A Ring holds one set at a time; b must stay
// open until UnregisterBuffers or Close.
func (r *Ring) RegisterBuffers(b *Buffers) error {
	if r.err != nil {
		return r.err
	}
	if b.Len() > maxRegBuffers {
		return fmt.Errorf("%w: %d buffers, at most %d can be registered", ErrInvalid, b.Len(), maxRegBuffers)
	}
	iov := make([]Iovec, b.Len())
	for i := range iov {
		p := b.Buf(i)
		iov[i] = Iovec{Base: unsafe.SliceData(p), Len: uint(len(p))}
	}
	err := r.register(registerBuffers, unsafe.Pointer(unsafe.SliceData(iov)), uint32(len(iov)))
	runtime.KeepAlive(iov)
	if err != nil {
		return fmt.Errorf("uring: cannot register %d buffers: %w", len(iov), err)
	}
	return nil
}

// UnregisterBuffers releases the buffers registered with RegisterBuffers. No fixed request
// may be in flight.
func (r *Ring) UnregisterBuffers() error {
	if r.err != nil {
		return r.err
	}
	if err := r.register(unregisterBuffers, nil, 0); err != nil {
		return fmt.Errorf("uring: cannot unregister buffers: %w", err)
	}
	return nil
}

// RegisterFiles registers fds with the kernel (IORING_REGISTER_FILES), so that an entry
// with FlagFixedFile can name fds[i] by index i and spare the kernel a file table lookup per
// request. The kernel takes its own references: closing an fd afterwards does not affect the
// registered file. A Ring holds one set at a time.
func (r *Ring) RegisterFiles(fds []int) error {
	if r.err != nil {
		return r.err
	}
	if len(fds) == 0 {
		return fmt.Errorf("%w: no files to register", ErrInvalid)
	}
	table := make([]int32, len(fds))
	for i, fd := range fds {
		table[i] = int32(fd)
	}
	err := r.register(registerFiles, unsafe.Pointer(unsafe.SliceData(table)), uint32(len(table)))
	runtime.KeepAlive(table)
	if err != nil {
		return fmt.Errorf("uring: cannot register %d files: %w", len(fds), err)
	}
	return nil
}

// UnregisterFiles releases the files registered with RegisterFiles.
func (r *Ring) UnregisterFiles() error {
	if r.err != nil {
		return r.err
	}
	if err := r.register(unregisterFiles, nil, 0); err != nil {
		return fmt.Errorf("uring: cannot unregister files: %w", err)
	}
	return nil
}

// probeOps asks the kernel which opcodes it supports (IORING_REGISTER_PROBE, Linux 5.6) and
// records them for Supports.
func (r *Ring) probeOps() error {
	p := new(probe) // zeroed, as the kernel requires
	if err := r.register(registerProbe, unsafe.Pointer(p), uint32(len(p.ops))); err != nil {
		return &SetupError{Op: "probe", Err: err, Hint: "kernels before 5.6 have no opcode probe", unsupported: true}
	}
	for i := 0; i < int(p.opsLen) && i < len(p.ops); i++ {
		if op := p.ops[i]; op.flags&opSupported != 0 {
			r.ops[op.op/64] |= 1 << (op.op % 64)
		}
	}
	return nil
}

// register calls io_uring_register, retrying on EINTR. It returns a unix.Errno on failure.
// arg must point to memory the caller keeps reachable for the duration of the call.
func (r *Ring) register(opcode uint32, arg unsafe.Pointer, n uint32) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uintptr(opcode), uintptr(arg), uintptr(n), 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errno
	}
}
