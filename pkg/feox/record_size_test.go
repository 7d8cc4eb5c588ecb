package feox

import (
	"testing"
	"unsafe"
)

// TestRecordWith_FillsSizeClasses ensures each size of a small version's single allocation
// (newRecord) is exactly one of Go's malloc size classes, so that none of it is wasted: if a
// field of record changes its size, the buffer sizes must follow.
func TestRecordWith_FillsSizeClasses(t *testing.T) {
	// Go's size classes in this range (runtime/sizeclasses.go).
	classes := map[uintptr]bool{176: true, 192: true, 208: true, 224: true, 240: true, 256: true,
		288: true, 320: true, 352: true, 384: true, 416: true, 448: true, 480: true, 512: true,
		576: true, 640: true, 704: true, 768: true}
	for _, c := range []struct {
		name string
		size uintptr
	}{
		{"48", unsafe.Sizeof(recordWith[[48]byte]{})},
		{"112", unsafe.Sizeof(recordWith[[112]byte]{})},
		{"240", unsafe.Sizeof(recordWith[[240]byte]{})},
		{"560", unsafe.Sizeof(recordWith[[560]byte]{})},
	} {
		if !classes[c.size] {
			t.Errorf("recordWith[[%s]byte] is %d bytes, not a size class (record is %d bytes)", c.name, c.size, unsafe.Sizeof(record{}))
		}
	}
}
