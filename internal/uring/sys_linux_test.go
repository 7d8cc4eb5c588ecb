//go:build linux

package uring

import (
	"testing"
	"unsafe"
)

// TestABI_SetupLayout ensures the Go mirrors of struct io_uring_params, its ring offsets and
// struct io_uring_probe have the kernel's sizes and field offsets.
func TestABI_SetupLayout(t *testing.T) {
	var p params
	var pr probe
	f := func(name string, got, want uintptr) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	f("sizeof(io_sqring_offsets)", unsafe.Sizeof(sqringOffsets{}), 40)
	f("sizeof(io_cqring_offsets)", unsafe.Sizeof(cqringOffsets{}), 40)
	f("sqring_offsets.user_addr", unsafe.Offsetof(p.sqOff.userAddr), 32)
	f("sizeof(io_uring_params)", unsafe.Sizeof(p), 120)
	f("params.features", unsafe.Offsetof(p.features), 20)
	f("params.sq_off", unsafe.Offsetof(p.sqOff), 40)
	f("params.cq_off", unsafe.Offsetof(p.cqOff), 80)
	f("sizeof(io_uring_probe_op)", unsafe.Sizeof(probeOp{}), 8)
	f("probe.ops", unsafe.Offsetof(pr.ops), 16)
}
