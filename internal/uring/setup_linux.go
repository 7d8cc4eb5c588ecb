//go:build linux

package uring

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Setting a Ring up: io_uring_setup, the mmaps of its rings, the opcode probe; and releasing it.

// defaultEntries is the submission ring size when Options.Entries is zero.
const defaultEntries = 256

// defaultSQThreadIdle is the SQPoll idle time when Options.SQThreadIdle is zero.
const defaultSQThreadIdle = time.Second

// New creates a Ring. On failure it returns a *SetupError; errors.Is(err, ErrUnsupported)
// tells whether the failure means io_uring is not usable on this system, in which case the
// caller should fall back to pwrite. New requires Linux 5.6 or later (for the opcode probe
// and IORING_OP_READ/WRITE).
func New(opts Options) (*Ring, error) {
	entries := opts.Entries
	if entries == 0 {
		entries = defaultEntries
	}
	var p params
	if opts.SQPoll {
		idle := opts.SQThreadIdle
		if idle <= 0 {
			idle = defaultSQThreadIdle
		}
		p.flags |= setupSQPoll
		p.sqThreadIdle = uint32(max(idle/time.Millisecond, 1)) // 0 would mean the kernel's default
	}
	if opts.forceErrno != 0 {
		return nil, setupError("io_uring_setup", unix.Errno(opts.forceErrno))
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, setupError("io_uring_setup", errno)
	}
	r := &Ring{fd: int(fd), features: p.features, sqpoll: opts.SQPoll}
	if err := r.mapRings(&p); err != nil {
		r.release()
		return nil, err
	}
	if err := r.probeOps(); err != nil {
		r.release()
		return nil, err
	}
	for _, op := range []Op{OpRead, OpWrite, OpWritev, OpFsync} {
		if !r.Supports(op) {
			r.release()
			return nil, &SetupError{Op: "probe", Err: unix.EOPNOTSUPP, Hint: "kernel lacks IORING_OP_" + strings.ToUpper(op.String()), unsupported: true}
		}
	}
	if opts.SQPoll && p.features&featSQPollNonfixed == 0 {
		r.release()
		return nil, &SetupError{Op: "io_uring_setup", Err: unix.EOPNOTSUPP, Hint: "SQPoll needs Linux 5.11 to use unregistered files", unsupported: true}
	}
	return r, nil
}

// setupError wraps the errno of a failed setup step and classifies it: the errnos by which
// the kernel says io_uring is missing, disabled, restricted or short of lockable memory mean
// "unsupported", so that the caller falls back to pwrite. Others (EMFILE, ENFILE, EFAULT)
// are ordinary resource or programming errors.
func setupError(op string, errno unix.Errno) *SetupError {
	e := &SetupError{Op: op, Err: errno, unsupported: true}
	switch errno {
	case unix.ENOSYS:
		e.Hint = "kernel built without io_uring, or a seccomp filter blocks it"
	case unix.EPERM, unix.EACCES:
		e.Hint = "io_uring is disabled by kernel.io_uring_disabled or a seccomp or LSM policy"
	case unix.EINVAL:
		e.Hint = "kernel rejects the entry count or a setup flag"
	case unix.ENOMEM:
		e.Hint = "ring memory exceeds RLIMIT_MEMLOCK (kernels before 5.12) or memory is short"
	case unix.EOPNOTSUPP:
		e.Hint = "kernel lacks a needed io_uring feature"
	default:
		e.unsupported = false
	}
	return e
}

// mapRings maps the two rings and the SQE array and locates the ring fields in them.
func (r *Ring) mapRings(p *params) error {
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_POPULATE
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(CQE{}))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return mmapError(err)
	}
	cq := r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return mmapError(err)
		}
		cq = r.cqMem
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(SQE{})), prot, flags); err != nil {
		return mmapError(err)
	}

	sq := unsafe.Pointer(unsafe.SliceData(r.sqMem))
	r.sqHead = (*atomic.Uint32)(unsafe.Add(sq, p.sqOff.head))
	r.sqTail = (*atomic.Uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.sqFlags = (*atomic.Uint32)(unsafe.Add(sq, p.sqOff.flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.sqOff.ringEntries))
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(unsafe.SliceData(r.sqeMem))), r.sqEntries)
	// Slot i of the SQE array always holds entry i, so publishing the tail is all a submission
	// needs. The release store of the first tail publishes these writes too.
	array := unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), r.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}

	c := unsafe.Pointer(unsafe.SliceData(cq))
	r.cqHead = (*atomic.Uint32)(unsafe.Add(c, p.cqOff.head))
	r.cqTail = (*atomic.Uint32)(unsafe.Add(c, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(c, p.cqOff.ringMask))
	r.cqEntries = *(*uint32)(unsafe.Add(c, p.cqOff.ringEntries))
	r.cqes = unsafe.Slice((*CQE)(unsafe.Add(c, p.cqOff.cqes)), r.cqEntries)
	return nil
}

// mmapError wraps a failed ring mapping.
func mmapError(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return &SetupError{Op: "mmap", Err: err}
	}
	return setupError("mmap", errno)
}

// release unmaps the rings and closes the ring descriptor. Unmapping is safe while requests
// are in flight: the kernel keeps its own reference to the ring memory until the ring is
// torn down.
func (r *Ring) release() error {
	var errs []error
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	r.sqes, r.cqes = nil, nil
	errs = append(errs, unix.Close(r.fd))
	return errors.Join(errs...)
}
