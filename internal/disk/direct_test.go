package disk

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"
)

// addr returns the address of b's first byte.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// TestUsableDirect ensures EnableDirect's decision accepts exactly the alignments that let
// sector writes go direct: an offset alignment dividing 512 and a memory alignment dividing
// 4096, neither zero (the kernel reports zeros where direct I/O is unavailable).
func TestUsableDirect(t *testing.T) {
	tests := []struct {
		mem, off uint32
		want     bool
	}{
		{512, 512, true}, // ext4 and xfs on most devices
		{4, 512, true},   // devices with a small DMA alignment
		{1, 1, true},
		{4096, 512, false}, // a batch's later runs start at sector, not page, offsets
		{4096, 1, false},
		{0, 0, false}, // no direct I/O on this file (tmpfs, or a kernel that reports nothing)
		{512, 0, false},
		{0, 512, false},
		{512, 4096, false}, // 4Kn device: sector writes would be refused
		{512, 1024, false},
		{512, 384, false}, // does not divide 512
		{8192, 512, false},
		{3, 512, false}, // not a power of two
		{1536, 512, false},
	}
	for _, tt := range tests {
		if got := usableDirect(tt.mem, tt.off); got != tt.want {
			t.Errorf("usableDirect(mem %d, off %d) = %v, want %v", tt.mem, tt.off, got, tt.want)
		}
	}
}

// TestAlignedBuffer ensures the buffer has the asked length and capacity, starts at a multiple
// of the alignment whatever the (non-zero) length, and that bad arguments panic.
func TestAlignedBuffer(t *testing.T) {
	for _, align := range []int{1, 2, 512, 4096} {
		for _, n := range []int{0, 1, 100, 512, 4096, 65536, 1<<20 + 512} {
			b := AlignedBuffer(n, align)
			if len(b) != n || cap(b) != n {
				t.Errorf("AlignedBuffer(%d, %d): len %d cap %d, want %d and %d", n, align, len(b), cap(b), n, n)
			}
			if a := addr(b); n > 0 && a%uintptr(align) != 0 { // an empty slice has no first byte
				t.Errorf("AlignedBuffer(%d, %d) starts at %#x", n, align, a)
			}
			for i := range b { // writable throughout, and zeroed
				if b[i] != 0 {
					t.Fatalf("AlignedBuffer(%d, %d)[%d] = %d, want 0", n, align, i, b[i])
				}
				b[i] = 1
			}
		}
	}
	for _, bad := range []struct{ n, align int }{{10, 0}, {10, -4}, {10, 3}, {10, 1536}, {-1, 512}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AlignedBuffer(%d, %d) did not panic", bad.n, bad.align)
				}
			}()
			AlignedBuffer(bad.n, bad.align)
		}()
	}
}

// TestDirectFile_Eligible ensures a write is eligible for the O_DIRECT descriptor exactly when
// its offset and every non-empty buffer's length are multiples of the offset alignment, every
// non-empty buffer's address is a multiple of the memory alignment, and it has bytes.
func TestDirectFile_Eligible(t *testing.T) {
	d := &directFile{memAlign: 512, offAlign: 512, share: 4096}
	buf := AlignedBuffer(8192, 4096)
	tests := []struct {
		name string
		bufs [][]byte
		off  int64
		want bool
	}{
		{"one aligned buffer", [][]byte{buf[:4096]}, 8192, true},
		{"sector offset", [][]byte{buf[:512]}, 8192 + 512, true},
		{"aligned buffers", [][]byte{buf[:512], buf[1024:2048], buf[4096:]}, 1 << 20, true},
		{"empty buffers skipped", [][]byte{nil, buf[:512], buf[3:3]}, 1 << 20, true},
		{"offset off by 1", [][]byte{buf[:512]}, 8193, false},
		{"offset half a sector", [][]byte{buf[:512]}, 8192 + 256, false},
		{"address off by 1", [][]byte{buf[1:513]}, 8192, false},
		{"second address off", [][]byte{buf[:512], buf[600:1112]}, 8192, false},
		{"length not a sector", [][]byte{buf[:100]}, 8192, false},
		{"second length not a sector", [][]byte{buf[:512], buf[512:1000]}, 8192, false},
		{"no bytes", [][]byte{nil, {}}, 8192, false},
		{"no buffers", nil, 8192, false},
	}
	for _, tt := range tests {
		if got := d.eligible(tt.bufs, tt.off); got != tt.want {
			t.Errorf("%s: eligible = %v, want %v", tt.name, got, tt.want)
		}
	}
	loose := &directFile{memAlign: 4, offAlign: 1, share: 4096}
	if !loose.eligible([][]byte{buf[4:7]}, 3) || loose.eligible([][]byte{buf[2:7]}, 3) {
		t.Errorf("alignments (mem 4, off 1): a 4-aligned address must be eligible at any offset and length, a 2-aligned one not")
	}
}

// TestDirectFile_Route ensures a batch's eligible writes go direct unless they share a page
// with a buffered write of the batch, directly or through a chain of page-sharing writes,
// whatever the order of the writes in the batch.
func TestDirectFile_Route(t *testing.T) {
	d := &directFile{memAlign: 512, offAlign: 512, share: 4096}
	buf := AlignedBuffer(1<<16, 4096)
	ok := func(off int64, n int) Write { return Write{Bufs: [][]byte{buf[:n]}, Off: off} }
	bad := func(off int64, n int) Write { return Write{Bufs: [][]byte{buf[1 : 1+n]}, Off: off} } // misaligned address
	const p = 4096                                                                               // one page
	tests := []struct {
		name string
		ws   []Write
		want []bool
	}{
		{"all aligned", []Write{ok(0, p), ok(p, 512), ok(p+512, 512)}, []bool{true, true, true}},
		{"all misaligned", []Write{bad(0, 512), bad(8*p, 512)}, []bool{false, false}},
		{"mixed, separate pages", []Write{ok(0, p), bad(2*p, 512), ok(3*p, 2*p), bad(5*p+512, 1000)}, []bool{true, false, true, false}},
		{"buffered shares a page", []Write{ok(0, 1024), bad(1024, 512), ok(p, p)}, []bool{false, false, true}},
		{"shares the last page", []Write{ok(0, p+512), bad(p+512, 512)}, []bool{false, false}},
		{"chain through direct writes", []Write{ok(2*p+1024, 2*p), ok(0, 2*p+1024), bad(4*p+1024, 512), ok(10*p, p)}, []bool{false, false, false, true}},
		{"unsorted", []Write{ok(5*p, p), bad(3*p, 512), ok(3*p+512, 512), ok(0, p)}, []bool{true, false, false, true}},
		{"empty write ignored", []Write{ok(0, 512), {Off: 512}, ok(1024, 512)}, []bool{true, false, true}},
		{"empty buffer ignored", []Write{ok(0, 512), {Bufs: [][]byte{buf[1:1]}, Off: 512}}, []bool{true, false}},
		{"no writes", nil, []bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.route([]bool{true, true, true, true, true, true}, tt.ws)
			if !slices.Equal(got, tt.want) {
				t.Errorf("route = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDirectFile_Route_Share ensures the page-sharing rule follows the sharing unit: writes
// in one 16 KiB block count as sharing when the unit is 16 KiB, not when it is 4 KiB.
func TestDirectFile_Route_Share(t *testing.T) {
	buf := AlignedBuffer(4096, 4096)
	ws := []Write{{Bufs: [][]byte{buf}, Off: 0}, {Bufs: [][]byte{buf[1:513]}, Off: 8192}}
	for _, tt := range []struct {
		share int64
		want  []bool
	}{{4096, []bool{true, false}}, {16384, []bool{false, false}}} {
		t.Run(fmt.Sprintf("share=%d", tt.share), func(t *testing.T) {
			d := &directFile{memAlign: 512, offAlign: 512, share: tt.share}
			if got := d.route(nil, ws); !slices.Equal(got, tt.want) {
				t.Errorf("route = %v, want %v", got, tt.want)
			}
		})
	}
}
