package uring

import (
	"errors"
	"strconv"
	"strings"
)

var (
	// ErrUnsupported reports that io_uring cannot be used here: the platform or kernel lacks
	// it, it is disabled or restricted (kernel.io_uring_disabled, seccomp), or its memory
	// cannot be locked. A caller that sees it should fall back to pwrite(2). Errors matching it
	// also match errors.ErrUnsupported.
	ErrUnsupported = errors.New("uring: io_uring unavailable")

	// ErrRingFull reports that no submission queue entry is free: the submission ring is full,
	// or as many requests as the completion ring holds are prepared or awaiting reaping.
	// Submit or reap completions, then retry.
	ErrRingFull = errors.New("uring: ring full")

	// ErrClosed reports a call on a closed Ring, or a batch that Close abandoned.
	ErrClosed = errors.New("uring: ring closed")

	// ErrShortWrite reports a write the kernel completed with fewer bytes than requested. The
	// package does not retry the remainder: a datasync of the same batch may already have run,
	// so the caller must rewrite and sync the batch (with pwrite, say) to make it durable.
	ErrShortWrite = errors.New("uring: short write")

	// ErrInvalid reports an argument the kernel cannot take: a Write with a negative offset,
	// more than 1024 buffers or more than 0x7ffff000 bytes, a negative read offset, or too
	// many buffers or files to register.
	ErrInvalid = errors.New("uring: invalid argument")

	// ErrWaitTooMany reports a Wait for more completions than requests are outstanding, which
	// would block forever.
	ErrWaitTooMany = errors.New("uring: waiting for more completions than requests outstanding")

	// ErrBroken reports a Ring whose io_uring_enter failed in a way it cannot recover from.
	// Every later call fails with it; Close the Ring and fall back to pwrite.
	ErrBroken = errors.New("uring: ring broken")
)

// SetupError reports a failure to create a Ring: the io_uring_setup call, one of the ring
// mappings, or the opcode probe. It wraps the underlying error, a syscall.Errno on Linux.
// When the failure means io_uring is not usable on this system (see ErrUnsupported),
// errors.Is(err, ErrUnsupported) and errors.Is(err, errors.ErrUnsupported) are true.
type SetupError struct {
	// Op names the step that failed: "io_uring_setup", "mmap" or "probe".
	Op string
	// Err is the step's error.
	Err error
	// Hint, if not empty, says what commonly causes Err at this step.
	Hint string

	unsupported bool
}

// Error returns a message naming the failed step, its error and any hint.
func (e *SetupError) Error() string {
	var b strings.Builder
	b.WriteString("uring: cannot set up io_uring: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the step's error.
func (e *SetupError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnsupported or errors.ErrUnsupported and the failure means
// io_uring is unusable here.
func (e *SetupError) Is(target error) bool {
	return e.unsupported && (target == ErrUnsupported || target == errors.ErrUnsupported)
}

// WriteError reports the failure of one write of a batch, as WriteBatch and CompleteBatch
// return it for the lowest-numbered failed request. Err is the kernel's syscall.Errno, or an
// error wrapping ErrShortWrite; errors.Is sees through to it, and errors.As finds the
// WriteError, so that a caller can tell which write failed.
type WriteError struct {
	// Index is the write's position in the batch's writes.
	Index int
	// Off is the write's file offset.
	Off int64
	// Len is the number of bytes the write asked for.
	Len int
	// Err is the cause.
	Err error
}

// Error returns a message naming the write's size and offset and the cause.
func (e *WriteError) Error() string {
	return "uring: write of " + strconv.Itoa(e.Len) + " bytes at offset " +
		strconv.FormatInt(e.Off, 10) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }
