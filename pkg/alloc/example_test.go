package alloc_test

import (
	"fmt"

	"github.com/feoxdb/feox-go/pkg/alloc"
)

// Recovery rebuilds the free space of an existing file: the whole file becomes free, then the
// header and every live record found by the scan are reserved.
func Example_recovery() {
	a := alloc.New()
	_ = a.Grow(1024)                                // the file holds 1024 sectors
	_ = a.Reserve(alloc.Extent{Off: 0, Len: 16})    // header
	_ = a.Reserve(alloc.Extent{Off: 100, Len: 8})   // a live record
	_ = a.Reserve(alloc.Extent{Off: 1000, Len: 24}) // the last live record
	a.Walk(func(e alloc.Extent) bool {
		fmt.Println(e)
		return true
	})
	fmt.Println("free:", a.FreeUnits(), "largest:", a.Largest())
	// Output:
	// [16,100)
	// [108,1000)
	// free: 976 largest: 892
}

// Best fit takes the smallest free extent that can hold the request, and Free merges the
// released extent with its free neighbours.
func ExampleAllocator_Alloc() {
	a := alloc.New()
	_ = a.Grow(4000)
	_ = a.Reserve(alloc.Extent{Off: 0, Len: 4000})
	_ = a.Free(alloc.Extent{Off: 1000, Len: 100})
	_ = a.Free(alloc.Extent{Off: 2000, Len: 50})
	_ = a.Free(alloc.Extent{Off: 3000, Len: 75})

	e, _ := a.Alloc(45)
	fmt.Println("allocated", e)
	_ = a.Free(e)
	fmt.Println("extents after free:", a.Extents())
	// Output:
	// allocated [2000,2045)
	// extents after free: 3
}

// A batch whose total fits one free extent is placed there as consecutive extents, so it can be
// written with one sequential write.
func ExampleAllocator_AllocRun() {
	a := alloc.New()
	_ = a.Grow(100)
	_ = a.Reserve(alloc.Extent{Off: 0, Len: 16})

	batch, err := a.AllocRun([]uint64{1, 3, 2}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(batch)
	// Output:
	// [[16,17) [17,20) [20,22)]
}
