package datafile

import (
	"testing"

	"github.com/feoxdb/feox-go/pkg/alloc"
)

// TestAddRuns_Pad checks the zeros that pad a batch's writes to a page under O_DIRECT: each run
// up to the next multiple of pad sectors, never past its segment's end, and never over another
// run of the same batch.
func TestAddRuns_Pad(t *testing.T) {
	s0 := segStart(0)
	tests := []struct {
		name string
		exts []alloc.Extent
		pad  uint64
		want []uint64 // pad sectors after each run
	}{
		{"no padding asked", []alloc.Extent{{Off: s0, Len: 3}}, 1, []uint64{0}},
		{"one run", []alloc.Extent{{Off: s0, Len: 3}}, 8, []uint64{5}},
		{"already on a page", []alloc.Extent{{Off: s0 + 8, Len: 8}}, 8, []uint64{0}},
		{"adjacent extents make one run", []alloc.Extent{{Off: s0, Len: 1}, {Off: s0 + 1, Len: 2}}, 8, []uint64{5}},
		{"run ends at its segment's end", []alloc.Extent{{Off: s0 + segSectors - 3, Len: 3}}, 8, []uint64{0}},
		{"a sealed segment's tail, then the next segment", []alloc.Extent{{Off: s0 + segSectors - 20, Len: 3},
			{Off: segStart(5), Len: 2}}, 8, []uint64{1, 6}},
		{"a large record interrupts the head's run", []alloc.Extent{{Off: s0 + 8, Len: 2},
			{Off: segStart(7), Len: segSectors + 1}, {Off: s0 + 10, Len: 3}}, 8, []uint64{0, 7, 3}},
		{"a later run starts inside the padding", []alloc.Extent{{Off: s0, Len: 2},
			{Off: segStart(3), Len: 1}, {Off: s0 + 5, Len: 1}}, 8, []uint64{0, 7, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := uint64(0)
			for _, e := range tt.exts {
				n += e.Len
			}
			buf := make([]byte, n*sectorSize)
			ws := addRuns(nil, buf, tt.exts, tt.pad)
			if len(ws) != len(tt.want) {
				t.Fatalf("%d runs, want %d", len(ws), len(tt.want))
			}
			for i, w := range ws {
				got := uint64(0)
				if len(w.Bufs) == 2 {
					got = uint64(len(w.Bufs[1])) / sectorSize
					for _, b := range w.Bufs[1] {
						if b != 0 {
							t.Fatalf("run %d: padding holds a non-zero byte", i)
						}
					}
				}
				if got != tt.want[i] {
					t.Errorf("run %d at sector %d: %d sectors of padding, want %d", i, w.Off/sectorSize, got, tt.want[i])
				}
			}
		})
	}
}
