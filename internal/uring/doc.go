// Package uring is a small io_uring binding for the write path of feox-go, built directly on
// the system calls of golang.org/x/sys/unix (no cgo). It sits at the end of the data path:
// the pipeline's submit stage hands it batches of positioned writes, and it turns each batch
// into submission queue entries, submits them with as few io_uring_enter calls as the rings
// allow, and reports the outcome of every request.
//
// # Two levels
//
// The batch level is what the I/O backend uses. WriteBatch writes a batch and, optionally,
// makes it durable, in one call. SubmitBatch and CompleteBatch split the same work so that the
// caller can submit the next batch before reaping the previous one. ReadAt reads values back.
//
// The entry level exposes the rings: NextSQE returns a free entry, the SQE Prep methods fill
// it (WRITE, WRITEV, WRITE_FIXED, READ, READ_FIXED, FSYNC, NOP) along with SetUserData and
// SetFlags (IOSQE_IO_LINK, IOSQE_IO_DRAIN, IOSQE_FIXED_FILE), Submit hands the prepared entries
// to the kernel, Wait submits and blocks for completions in one call, and Reap collects them
// without blocking. RegisterBuffers, RegisterFiles and Supports (the opcode probe) complete
// it. Both levels can be mixed on one Ring: every completion is routed to the batch, ReadAt
// call or Reap caller it belongs to, using the top bit of the user data, which is reserved.
//
// # Setup and the fallback rule
//
// New calls io_uring_setup, maps the submission ring, the completion ring (one mapping for
// both when the kernel offers IORING_FEAT_SINGLE_MMAP) and the entry array, and probes the
// supported opcodes. Any failure is a *SetupError naming the step and wrapping the errno.
// When the errno says io_uring is missing, disabled or restricted (ENOSYS, EPERM, EACCES,
// EINVAL, ENOMEM, EOPNOTSUPP: no kernel support, kernel.io_uring_disabled, seccomp, a memlock
// limit, a kernel before 5.6), errors.Is(err, ErrUnsupported) holds, and the caller must fall
// back to pwrite(2) and fdatasync(2). Outside Linux, New always fails that way.
//
// # Ordering of the datasync
//
// A batch with datasync ends with an fdatasync request flagged IOSQE_IO_DRAIN: the kernel
// starts it only after every earlier request has completed, and holds later ones until it
// has. The alternative, an IOSQE_IO_LINK chain, runs the writes strictly one after another and
// cannot span two io_uring_enter calls, so it would serialize the batch and break for batches
// larger than the submission ring. The drain also covers the writes of earlier batches still
// in flight, which is what a caller pipelining batches wants from a sync.
//
// # Descriptors and O_DIRECT
//
// A batch's writes go to the descriptor passed with it, except those that name their own in
// Write.Fd, so that one submission can mix descriptors. Package disk uses this to send the
// writes whose offset, lengths and buffer addresses meet the file's O_DIRECT alignment through
// a second descriptor of the data file opened with O_DIRECT, and the others through the
// buffered one: a direct write moves the bytes from the caller's buffer to the device without
// copying them into the page cache, and leaves no dirty pages for the batch's datasync to
// write back, so the sync waits for less. This package opens no files and imposes no
// alignment: a misaligned O_DIRECT write completes with EINVAL like any failed request. The
// datasync is issued on the batch's descriptor; since fdatasync(2) flushes a file, not a
// descriptor, it covers the writes through every descriptor of that same file.
//
// # Results and errors
//
// Every completion of a batch is checked. A negative result becomes an error wrapping the
// syscall.Errno (errors.Is(err, syscall.ENOSPC) works); a write that completed with fewer
// bytes than asked becomes one wrapping ErrShortWrite. A failed write's error is a
// *WriteError, which names the write's index in the batch. The remainder is not retried: the
// datasync may already have run, so the caller must treat the batch as not durable and redo
// it, with pwrite for instance. CompleteBatch reports the error of the lowest-numbered failed
// request. An io_uring_enter failure other than EINTR (retried), EAGAIN and EBUSY (retried
// after reaping a completion) breaks the Ring: every later call returns an error wrapping
// ErrBroken.
//
// # Memory ordering
//
// The rings are shared with the kernel. The protocol needs a release store when publishing
// the SQ tail and the CQ head and an acquire load when reading the SQ head and the CQ tail;
// with SQPoll it also needs a full barrier between publishing the SQ tail and reading the SQ
// flags for IORING_SQ_NEED_WAKEUP. The package uses sync/atomic for all of these. Go's atomics
// are sequentially consistent, which includes acquire and release and orders a store before a
// later load, so each access is correct as written; each carries a one-line note of what it
// needs. Plain loads and stores are used only for ring fields that never change after setup.
//
// # Buffer lifetime
//
// The kernel reads and writes buffers by address, after the call that submitted them has
// returned. Such a buffer must stay reachable (the garbage collector must not free it) and at
// the same address until the request's completion is reaped. Go's collector does not move
// heap objects, but goroutine stacks move when they grow or shrink, so a stack buffer must
// never reach the kernel: every Prep method passes the address through a function with
// the uintptrescapes compiler directive, which makes the compiler allocate the buffer on the
// heap.
// Reachability is the caller's duty at the entry level. At the batch level the Batch holds the caller's
// writes until CompleteBatch, and builds the iovec arrays of WRITEV requests in memory it
// owns, so the arrays stay put and reachable too; ReadAt holds its buffer until its read
// completes. Buffers provides page-aligned memory outside the Go heap, which the collector
// never frees or moves, suitable for O_DIRECT and for RegisterBuffers.
//
// Close waits for every submitted request to complete before unmapping the rings, so no
// buffer is touched by the kernel once Close has returned.
//
// # Crash semantics
//
// A nil error from WriteBatch or CompleteBatch with datasync means the batch's bytes, and
// those of every write completed before it, reached stable storage as fdatasync(2) defines
// it: they survive a crash or power loss, provided the device honours cache flushes. Without
// datasync they are in the page cache only, which survives a process crash but not power loss.
// A batch that failed may have been written in part.
//
// # Concurrency
//
// A Ring is not safe for concurrent use: it is owned by one goroutine, such as a shard's
// pipeline owner. The goroutine need not be locked to an OS thread (the package does not use
// IORING_SETUP_SINGLE_ISSUER, which would require it).
//
// # Kernel requirements
//
// Linux 5.6 or later (the opcode probe, IORING_OP_READ and IORING_OP_WRITE); SQPoll needs
// 5.11 (IORING_FEAT_SQPOLL_NONFIXED). Before 5.12 the ring memory is charged to
// RLIMIT_MEMLOCK. Buffered writes on ext4 are executed by the kernel's io-wq worker threads
// (the submission call cannot complete them without blocking), so a lone write costs a few
// microseconds more than pwrite; the gain comes from batching many writes per system call.
package uring
