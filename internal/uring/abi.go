package uring

import "unsafe"

// This file mirrors the parts of the kernel's io_uring ABI (include/uapi/linux/io_uring.h)
// that the package uses. The layouts are checked by TestABI_Layout.

// Op is an io_uring opcode (enum io_uring_op).
type Op uint8

// The opcodes the package prepares. Their numbers are the kernel's.
const (
	OpNop        Op = 0  // IORING_OP_NOP: completes with 0.
	OpReadv      Op = 1  // IORING_OP_READV: preadv.
	OpWritev     Op = 2  // IORING_OP_WRITEV: pwritev.
	OpFsync      Op = 3  // IORING_OP_FSYNC: fsync, or fdatasync with FsyncDatasync.
	OpReadFixed  Op = 4  // IORING_OP_READ_FIXED: pread into a registered buffer.
	OpWriteFixed Op = 5  // IORING_OP_WRITE_FIXED: pwrite from a registered buffer.
	OpRead       Op = 22 // IORING_OP_READ: pread (Linux 5.6).
	OpWrite      Op = 23 // IORING_OP_WRITE: pwrite (Linux 5.6).
)

// String returns the opcode's lowercase name, such as "write_fixed", or "op(N)" for an opcode
// the package does not prepare.
func (op Op) String() string {
	switch op {
	case OpNop:
		return "nop"
	case OpReadv:
		return "readv"
	case OpWritev:
		return "writev"
	case OpFsync:
		return "fsync"
	case OpReadFixed:
		return "read_fixed"
	case OpWriteFixed:
		return "write_fixed"
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	}
	return "op(" + itoa(uint64(op)) + ")"
}

// itoa formats v in decimal; it keeps the ABI file free of fmt.
func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// SQEFlags are the IOSQE_* flags of a submission queue entry.
type SQEFlags uint8

// The submission flags the package supports.
const (
	// FlagFixedFile makes the entry's fd an index into the files registered with
	// RegisterFiles (IOSQE_FIXED_FILE).
	FlagFixedFile SQEFlags = 1 << 0
	// FlagIODrain starts the entry only after every entry submitted before it has completed,
	// and starts later entries only after it has completed (IOSQE_IO_DRAIN).
	FlagIODrain SQEFlags = 1 << 1
	// FlagIOLink starts the next entry of the same submission only after this one completed
	// successfully; a failure or a short read or write cancels the rest of the chain with
	// -ECANCELED (IOSQE_IO_LINK). A chain ends at the first entry without the flag and never
	// spans two submissions.
	FlagIOLink SQEFlags = 1 << 2
)

// FsyncFlags are the flags of an OpFsync entry.
type FsyncFlags uint32

// FsyncDatasync makes OpFsync behave as fdatasync(2) rather than fsync(2)
// (IORING_FSYNC_DATASYNC).
const FsyncDatasync FsyncFlags = 1 << 0

// SQE is one submission queue entry (struct io_uring_sqe, 64 bytes). An *SQE returned by
// Ring.NextSQE points into memory shared with the kernel: it must be filled in before the
// Ring's next call of any method other than NextSQE, and not touched afterwards.
type SQE struct {
	opcode      Op
	flags       SQEFlags
	ioprio      uint16
	fd          int32
	off         uint64 // file offset (or addr2)
	addr        uint64 // buffer or iovec array address
	len         uint32 // byte count, or iovec count for vectored operations
	opFlags     uint32 // rw_flags, fsync_flags, ...
	userData    uint64
	bufIndex    uint16 // registered buffer index for the fixed operations
	personality uint16
	fileIndex   int32
	addr3       uint64
	_           uint64
}

// CQE is one completion queue entry (struct io_uring_cqe, 16 bytes).
type CQE struct {
	// UserData is the value the request's SQE carried (SQE.SetUserData).
	UserData uint64
	// Res is the request's result: a byte count or zero on success, a negated errno on failure.
	Res int32
	// Flags are IORING_CQE_F_* flags; none are set for the operations of this package.
	Flags uint32
}

// Iovec is one buffer of a vectored request (struct iovec). The Base pointer keeps the buffer
// alive for as long as the Iovec is reachable.
type Iovec struct {
	Base *byte
	Len  uint
}

// PrepNop makes s a no-op request, which completes with result 0.
func (s *SQE) PrepNop() {
	s.setRW(OpNop, -1, 0, 0, 0)
}

// PrepWrite makes s write buf to fd at offset off (IORING_OP_WRITE). buf must stay unmodified
// and reachable until the request's completion is reaped; it is moved to the heap if it would
// otherwise live on a goroutine stack.
func (s *SQE) PrepWrite(fd int, buf []byte, off int64) {
	s.setRW(OpWrite, fd, addrOf(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf)), uint64(off))
}

// PrepWritev makes s write the buffers of iov, in order, to fd at offset off
// (IORING_OP_WRITEV). iov and the buffers it points to must stay unmodified and reachable until
// the request's completion is reaped.
func (s *SQE) PrepWritev(fd int, iov []Iovec, off int64) {
	s.setRW(OpWritev, fd, addrOf(uintptr(unsafe.Pointer(unsafe.SliceData(iov)))), uint32(len(iov)), uint64(off))
}

// PrepWriteFixed makes s write buf to fd at offset off (IORING_OP_WRITE_FIXED). buf must lie
// entirely within buffer number index of the Buffers registered with RegisterBuffers.
func (s *SQE) PrepWriteFixed(fd int, buf []byte, off int64, index uint16) {
	s.setRW(OpWriteFixed, fd, addrOf(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf)), uint64(off))
	s.bufIndex = index
}

// PrepRead makes s read up to len(buf) bytes of fd at offset off into buf (IORING_OP_READ).
// buf must stay reachable, and must not be read or written by Go code, until the request's
// completion is reaped; it is moved to the heap if it would otherwise live on a goroutine stack.
func (s *SQE) PrepRead(fd int, buf []byte, off int64) {
	s.setRW(OpRead, fd, addrOf(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf)), uint64(off))
}

// PrepReadFixed makes s read up to len(buf) bytes of fd at offset off into buf
// (IORING_OP_READ_FIXED). buf must lie entirely within buffer number index of the Buffers
// registered with RegisterBuffers.
func (s *SQE) PrepReadFixed(fd int, buf []byte, off int64, index uint16) {
	s.setRW(OpReadFixed, fd, addrOf(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), uint32(len(buf)), uint64(off))
	s.bufIndex = index
}

// PrepFsync makes s flush fd to stable storage (IORING_OP_FSYNC): like fsync(2), or like
// fdatasync(2) with FsyncDatasync. It orders nothing by itself: add FlagIODrain (or link it
// behind the writes with FlagIOLink) to make it cover writes submitted before it.
func (s *SQE) PrepFsync(fd int, flags FsyncFlags) {
	s.setRW(OpFsync, fd, 0, 0, 0)
	s.opFlags = uint32(flags)
}

// SetUserData sets the value the request's completion carries back in CQE.UserData. Values
// with the top bit set are reserved for the Ring's own requests; SetUserData panics on them.
func (s *SQE) SetUserData(v uint64) {
	if v&internalBit != 0 {
		panic("uring: user data with the top bit set is reserved")
	}
	s.userData = v
}

// SetFlags sets the entry's IOSQE_* flags, replacing earlier ones.
func (s *SQE) SetFlags(f SQEFlags) {
	s.flags = f
}

// setRW fills the fields shared by the read, write and sync operations. It leaves the flags
// and the user data alone, so they may be set before or after a Prep method.
func (s *SQE) setRW(op Op, fd int, addr uint64, n uint32, off uint64) {
	s.opcode = op
	s.ioprio = 0
	s.fd = int32(fd)
	s.off = off
	s.addr = addr
	s.len = n
	s.opFlags = 0
	s.bufIndex = 0
	s.personality = 0
	s.fileIndex = 0
	s.addr3 = 0
}

// addrOf returns p as a kernel address. The go:uintptrescapes directive makes the compiler
// move whatever p points to onto the heap, so callers can never hand the kernel an address on
// a goroutine stack, which moves when the stack grows or shrinks.
//
//go:uintptrescapes
//go:noinline
func addrOf(p uintptr) uint64 {
	return uint64(p)
}

// internalBit marks the user data of the Ring's own requests (batches and ReadAt).
const internalBit = 1 << 63
