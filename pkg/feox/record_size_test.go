package feox

import (
	"runtime"
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
		{"80", unsafe.Sizeof(recordWith[[80]byte]{})},
		{"112", unsafe.Sizeof(recordWith[[112]byte]{})},
		{"144", unsafe.Sizeof(recordWith[[144]byte]{})},
		{"176", unsafe.Sizeof(recordWith[[176]byte]{})},
		{"240", unsafe.Sizeof(recordWith[[240]byte]{})},
		{"304", unsafe.Sizeof(recordWith[[304]byte]{})},
		{"368", unsafe.Sizeof(recordWith[[368]byte]{})},
	} {
		if !classes[c.size] {
			t.Errorf("recordWith[[%s]byte] is %d bytes, not a size class (record is %d bytes)", c.name, c.size, unsafe.Sizeof(record{}))
		}
	}
}

// TestNewRecord_Sizes ensures newRecord takes, for each length of key and value, the smallest
// allocation its sizes offer: the heap bytes a record costs, measured over many records.
func TestNewRecord_Sizes(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{1, 192}, {48, 192}, {49, 224}, {116, 288}, {145, 320}, {200, 384},
		{300, 448}, {368, 512},
		{369, 144 + 384}, {560, 144 + 576}, // a record and a separate buffer
	} {
		key, value := make([]byte, 1), make([]byte, c.n-1)
		const count = 10_000 // heap statistics count whole spans: many records make that noise small
		keep := make([]*record, count)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i] = newRecord(key, value)
		}
		runtime.ReadMemStats(&after)
		// Size classes here are 16 bytes apart or more: anything within 8 of want is it.
		if got := int(after.TotalAlloc-before.TotalAlloc) / count; got < c.want-8 || got > c.want+8 {
			t.Errorf("a record of %d bytes of key and value takes %d heap bytes, want %d", c.n, got, c.want)
		}
		for _, r := range keep {
			if len(r.kv) != c.n || cap(r.kv) != c.n || r.klen != 1 || r.vlen != c.n-1 {
				t.Fatalf("record of %d bytes: kv len %d cap %d, klen %d, vlen %d", c.n, len(r.kv), cap(r.kv), r.klen, r.vlen)
			}
		}
	}
}
