package cache_test

import (
	"fmt"

	"github.com/feoxdb/feox-go/pkg/cache"
)

// version stands for an owner's immutable record version: the cache handle lives beside
// the resident value it accounts for.
type version struct {
	name  string
	value []byte // nil once evicted: the owner would read it back from disk
	h     *cache.Handle[*version]
}

// Example shows the owner's side of the contract: admit a value once it is durable, touch
// on reads, remove the handle of a superseded version, and evict from outside the read path
// while NeedsEvict holds.
func Example() {
	c := cache.New[*version](cache.Config{HighWatermark: 10, LowWatermark: 6})
	admit := func(name, value string) *version {
		v := &version{name: name, value: []byte(value)}
		v.h = c.Admit(v, int64(len(v.value)))
		return v
	}
	a, b, d := admit("a", "aaa"), admit("b", "bbb"), admit("d", "ddd")
	c.Touch(a.h) // a read of a: it gets a second chance

	// An update of b: the new version gets a new handle, the old one is removed.
	b2 := admit("b", "BBB")
	c.Remove(b.h)
	admit("e", "eee")
	fmt.Println("resident:", c.Resident(), "needs eviction:", c.NeedsEvict())

	for c.NeedsEvict() {
		c.Evict(func(v *version) bool {
			fmt.Println("evict", v.name)
			v.value = nil
			return true
		})
	}
	fmt.Println("resident:", c.Resident(), "entries:", c.Len())
	fmt.Printf("a=%q b=%q d=%q\n", a.value, b2.value, d.value)
	// Output:
	// resident: 12 needs eviction: true
	// evict d
	// evict b
	// resident: 6 entries: 2
	// a="aaa" b="" d=""
}
