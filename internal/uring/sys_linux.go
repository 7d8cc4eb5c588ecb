//go:build linux

package uring

// Kernel constants beyond the exported ones.
const (
	setupSQPoll = 1 << 1 // IORING_SETUP_SQPOLL

	featSingleMmap     = 1 << 0 // IORING_FEAT_SINGLE_MMAP (5.4)
	featNoDrop         = 1 << 1 // IORING_FEAT_NODROP (5.5)
	featSQPollNonfixed = 1 << 7 // IORING_FEAT_SQPOLL_NONFIXED (5.11)

	offSQRing = 0          // IORING_OFF_SQ_RING
	offCQRing = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs   = 0x10000000 // IORING_OFF_SQES

	sqNeedWakeup = 1 << 0 // IORING_SQ_NEED_WAKEUP

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS
	enterSQWakeup  = 1 << 1 // IORING_ENTER_SQ_WAKEUP
	enterSQWait    = 1 << 2 // IORING_ENTER_SQ_WAIT

	registerBuffers   = 0 // IORING_REGISTER_BUFFERS
	unregisterBuffers = 1 // IORING_UNREGISTER_BUFFERS
	registerFiles     = 2 // IORING_REGISTER_FILES
	unregisterFiles   = 3 // IORING_UNREGISTER_FILES
	registerProbe     = 8 // IORING_REGISTER_PROBE

	opSupported = 1 << 0 // IO_URING_OP_SUPPORTED

	maxIovecs     = 1024       // UIO_MAXIOV: the most buffers one vectored request may carry
	maxRW         = 0x7ffff000 // MAX_RW_COUNT: the most bytes one read or write transfers
	maxRegBuffers = 1 << 14    // IORING_MAX_REG_BUFFERS
)

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}

// probe is struct io_uring_probe followed by room for every opcode.
type probe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [256]probeOp
}
