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
// file at offset Off.
type Write struct {
	// Bufs are the bytes to write. One non-empty buffer becomes IORING_OP_WRITE; several
	// become IORING_OP_WRITEV (at most 1024). Empty buffers are skipped, and a Write with no
	// bytes submits nothing.
	Bufs [][]byte
	// Off is the file offset of the first byte.
	Off int64
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
