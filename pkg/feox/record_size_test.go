package feox

import (
	"runtime"
	"testing"
	"unsafe"
)

// sizeClass returns the size class an allocation of n bytes takes.
func sizeClass(n int) int { return int(heapSize(n)) }

// TestRecordAllocs_FillSizeClasses ensures each single allocation of a record and its value
// (newRecord) is exactly one of Go's malloc size classes, so that none of it is wasted, and that
// the sizes offered leave no class out: if a field of record or extra changes its size, the
// buffer sizes must follow.
func TestRecordAllocs_FillSizeClasses(t *testing.T) {
	for _, c := range []struct {
		name   string
		header int
		allocs []recordAlloc
	}{
		{"record", int(unsafe.Sizeof(record{})), recordAllocs[:]},
		{"record with extra", int(unsafe.Sizeof(recordXBare{})), recordXAllocs[:]},
	} {
		prev := c.header
		for _, a := range c.allocs {
			size := c.header + a.max
			if sizeClass(size) != size {
				t.Errorf("%s: a buffer of %d bytes makes %d, not a size class", c.name, a.max, size)
			}
			if next := sizeClass(prev + 1); next != size {
				t.Errorf("%s: the buffer of %d bytes (%d in all) skips the size class %d", c.name, a.max, size, next)
			}
			prev = size
		}
		if prev != 512 {
			t.Errorf("%s: the largest single allocation is %d bytes, want 512", c.name, prev)
		}
	}
}

// TestNewRecord_Sizes ensures newRecord takes, for each length of value, the smallest
// allocation its sizes offer, and that recordBytes, which MemoryUsage counts, says so: the heap
// bytes a record costs, measured over many records.
func TestNewRecord_Sizes(t *testing.T) {
	header, headerX := int(unsafe.Sizeof(record{})), int(unsafe.Sizeof(recordXBare{}))
	for _, withX := range []bool{false, true} {
		h := header
		if withX {
			h = headerX
		}
		for _, n := range []int{0, 1, 8, 9, 100, 116, 200, 384, 385, 472, 473, 560, 1000} {
			want := sizeClass(h) // no value buffer
			if h+n > 512 {
				want += sizeClass(n) // a record and a separate buffer
			} else if n > 0 {
				want = sizeClass(h + n) // one allocation
			}
			value := make([]byte, n)
			for i := range value {
				value[i] = byte(i)
			}
			const count = 10_000 // heap statistics count whole spans: many records make that noise small
			keep := make([]*record, count)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range keep {
				keep[i] = newRecord(value, withX)
			}
			runtime.ReadMemStats(&after)
			// Size classes here are 16 bytes apart or more: anything within 8 of want is it.
			if got := int(after.TotalAlloc-before.TotalAlloc) / count; got < want-8 || got > want+8 {
				t.Errorf("withX=%v: a record of a %d-byte value takes %d heap bytes, want %d", withX, n, got, want)
			}
			if got := recordBytes(n, withX); got != int64(want) {
				t.Errorf("withX=%v: recordBytes(%d) = %d, want %d", withX, n, got, want)
			}
			for _, r := range keep {
				if int(r.vlen) != n || string(r.value()) != string(value) || (r.x != nil) != withX {
					t.Fatalf("withX=%v, %d bytes: vlen %d, value %x, extra %v", withX, n, r.vlen, r.value(), r.x != nil)
				}
			}
		}
	}
}
