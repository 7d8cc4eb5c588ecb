package uring

import (
	"testing"
	"unsafe"
)

// TestABI_Layout ensures the Go mirrors of struct io_uring_sqe, struct io_uring_cqe and
// struct iovec have the kernel's sizes and field offsets (include/uapi/linux/io_uring.h).
func TestABI_Layout(t *testing.T) {
	var s SQE
	var c CQE
	f := func(name string, got, want uintptr) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	f("sizeof(io_uring_sqe)", unsafe.Sizeof(s), 64)
	f("sqe.opcode", unsafe.Offsetof(s.opcode), 0)
	f("sqe.flags", unsafe.Offsetof(s.flags), 1)
	f("sqe.ioprio", unsafe.Offsetof(s.ioprio), 2)
	f("sqe.fd", unsafe.Offsetof(s.fd), 4)
	f("sqe.off", unsafe.Offsetof(s.off), 8)
	f("sqe.addr", unsafe.Offsetof(s.addr), 16)
	f("sqe.len", unsafe.Offsetof(s.len), 24)
	f("sqe.rw_flags", unsafe.Offsetof(s.opFlags), 28)
	f("sqe.user_data", unsafe.Offsetof(s.userData), 32)
	f("sqe.buf_index", unsafe.Offsetof(s.bufIndex), 40)
	f("sqe.personality", unsafe.Offsetof(s.personality), 42)
	f("sqe.file_index", unsafe.Offsetof(s.fileIndex), 44)
	f("sqe.addr3", unsafe.Offsetof(s.addr3), 48)
	f("sizeof(io_uring_cqe)", unsafe.Sizeof(c), 16)
	f("cqe.res", unsafe.Offsetof(c.Res), 8)
	f("cqe.flags", unsafe.Offsetof(c.Flags), 12)
	f("sizeof(iovec)", unsafe.Sizeof(Iovec{}), 2*unsafe.Sizeof(uintptr(0)))
}

// TestOp_String ensures opcodes print their kernel names.
func TestOp_String(t *testing.T) {
	for op, want := range map[Op]string{
		OpNop: "nop", OpReadv: "readv", OpWritev: "writev", OpFsync: "fsync",
		OpReadFixed: "read_fixed", OpWriteFixed: "write_fixed", OpRead: "read", OpWrite: "write",
		Op(7): "op(7)", Op(255): "op(255)", Op(40): "op(40)",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", uint8(op), got, want)
		}
	}
}

// TestSQE_Prep ensures the Prep methods fill the fields the kernel reads and leave the flags
// and user data alone.
func TestSQE_Prep(t *testing.T) {
	buf := make([]byte, 100)
	iov := []Iovec{{Base: &buf[0], Len: 10}, {Base: &buf[10], Len: 20}}
	addr := uint64(uintptr(unsafe.Pointer(&buf[0])))
	tests := []struct {
		name string
		prep func(s *SQE)
		want SQE
	}{
		{"nop", func(s *SQE) { s.PrepNop() }, SQE{opcode: OpNop, fd: -1}},
		{"write", func(s *SQE) { s.PrepWrite(3, buf, 4096) }, SQE{opcode: OpWrite, fd: 3, addr: addr, len: 100, off: 4096}},
		{"writev", func(s *SQE) { s.PrepWritev(4, iov, 7) }, SQE{opcode: OpWritev, fd: 4, addr: uint64(uintptr(unsafe.Pointer(&iov[0]))), len: 2, off: 7}},
		{"write_fixed", func(s *SQE) { s.PrepWriteFixed(5, buf[:50], 9, 3) }, SQE{opcode: OpWriteFixed, fd: 5, addr: addr, len: 50, off: 9, bufIndex: 3}},
		{"read", func(s *SQE) { s.PrepRead(6, buf, 1) }, SQE{opcode: OpRead, fd: 6, addr: addr, len: 100, off: 1}},
		{"read_fixed", func(s *SQE) { s.PrepReadFixed(7, buf, 2, 1) }, SQE{opcode: OpReadFixed, fd: 7, addr: addr, len: 100, off: 2, bufIndex: 1}},
		{"fsync", func(s *SQE) { s.PrepFsync(8, 0) }, SQE{opcode: OpFsync, fd: 8}},
		{"fdatasync", func(s *SQE) { s.PrepFsync(9, FsyncDatasync) }, SQE{opcode: OpFsync, fd: 9, opFlags: 1}},
	}
	for _, tt := range tests {
		t.Run("op="+tt.name, func(t *testing.T) {
			s := SQE{ioprio: 9, personality: 9, addr3: 9} // stale fields of a reused slot
			s.SetUserData(42)
			s.SetFlags(FlagIOLink)
			tt.prep(&s)
			want := tt.want
			want.userData, want.flags = 42, FlagIOLink
			if s != want {
				t.Errorf("got %+v, want %+v", s, want)
			}
		})
	}
}

// TestSQE_SetUserData_Reserved ensures user data with the top bit, which the Ring keeps for
// its own requests, is refused.
func TestSQE_SetUserData_Reserved(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("SetUserData(1<<63) did not panic")
		}
	}()
	var s SQE
	s.SetUserData(1 << 63)
}
