package uring

import "time"

// Options configure New. The zero value is valid.
type Options struct {
	// Entries is the size of the submission ring; the kernel rounds it up to a power of two
	// and makes the completion ring twice as large. Default 256; at most 32768.
	Entries uint32

	// SQPoll starts a kernel thread that polls the submission ring (IORING_SETUP_SQPOLL), so
	// that submitting needs no io_uring_enter while the thread is awake. It costs a kernel
	// thread per Ring that spins for SQThreadIdle after the last submission.
	SQPoll bool

	// SQThreadIdle is how long the SQPoll thread spins without work before it sleeps (and
	// the next submission must wake it with io_uring_enter). Rounded down to milliseconds,
	// at least 1 ms; default 1 s. Ignored without SQPoll.
	SQThreadIdle time.Duration

	// forceErrno, when not zero, makes New fail as if io_uring_setup had returned this errno.
	// Tests use it to exercise the fallback path on kernels where io_uring works.
	forceErrno uintptr
}

// Write is one positioned write of a batch: its buffers, concatenated in order, go to the
// file at offset Off, through the batch's descriptor or the write's own (Fd).
type Write struct {
	// Bufs are the bytes to write. One non-empty buffer becomes IORING_OP_WRITE; several
	// become IORING_OP_WRITEV (at most 1024). Empty buffers are skipped, and a Write with no
	// bytes submits nothing.
	Bufs [][]byte
	// Off is the file offset of the first byte.
	Off int64
	// Fd, if not zero, is the descriptor the write goes to instead of the batch's, so that one
	// batch can mix descriptors: for instance a buffered and an O_DIRECT descriptor of the
	// same file. Zero means the batch's descriptor (so descriptor 0 can only be a batch's).
	// The batch's datasync is issued on the batch's descriptor: it covers writes through
	// another descriptor only when that one refers to the same file, since fdatasync(2)
	// flushes a file, not a descriptor.
	Fd int
}

// Stats are a Ring's counters since New.
type Stats struct {
	// Enters counts io_uring_enter system calls, including retries after EINTR.
	Enters uint64
	// Submitted counts submission queue entries handed to the kernel.
	Submitted uint64
	// Completed counts completion queue entries reaped.
	Completed uint64
}
