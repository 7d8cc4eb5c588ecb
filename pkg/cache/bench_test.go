package cache

import (
	"fmt"
	"testing"
)

// BenchmarkTouch measures Touch from parallel readers on a few hot handles or on many, next
// to an unconditional store of the reference bit, the variant Touch avoids: with the bit
// already set, Touch only loads, so the handle's cache line stays shared between cores.
func BenchmarkTouch(b *testing.B) {
	for _, impl := range []string{"load-store", "store"} {
		for _, n := range []int{1, 16, 1024} {
			b.Run(fmt.Sprintf("impl=%s/handles=%d", impl, n), func(b *testing.B) {
				c := New[int](Config{HighWatermark: 1 << 40})
				hs := admitN(c, 0, n, 1)
				touch := c.Touch
				if impl == "store" {
					touch = func(h *Handle[int]) { h.ref.Store(1) }
				}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						touch(hs[i%n])
						i++
					}
				})
			})
		}
	}
}

// BenchmarkAdmitEvict measures the write side at steady state: each operation admits a
// value into a full cache, and evicts when NeedsEvict says so (an eighth of the entries at
// a time, with the default low watermark). touched is the share of entries touched between
// admissions, which the hand must pass over.
func BenchmarkAdmitEvict(b *testing.B) {
	const entries = 1 << 16
	for _, touched := range []int{0, 50} {
		b.Run(fmt.Sprintf("entries=64K/touched=%dpct", touched), func(b *testing.B) {
			c := New[int](Config{HighWatermark: entries})
			hs := admitN(c, 0, entries, 1)
			evict := func(int) bool { return true }
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h := c.Admit(i, 1)
				if i%100 < touched {
					c.Touch(h)
				}
				hs[i%entries] = h
				if c.NeedsEvict() {
					c.Evict(evict)
				}
				i++
			}
		})
	}
}

// BenchmarkUpdate measures what an update of a resident value costs the cache: Admit the
// new version's value, Remove the old one. Nothing is evicted; the ring fills with
// tombstones and is compacted when full. In parallel mode, parallelism × GOMAXPROCS
// writers contend for the mutex Admit takes.
func BenchmarkUpdate(b *testing.B) {
	const keys = 1 << 14
	b.Run("keys=16K/mode=serial", func(b *testing.B) {
		c := New[int](Config{HighWatermark: 1 << 40})
		hs := admitN(c, 0, keys, 1)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % keys
			old := hs[k]
			hs[k] = c.Admit(i, 1)
			c.Remove(old)
			i++
		}
	})
	for _, p := range []int{1, 4} {
		b.Run(fmt.Sprintf("keys=16K/mode=parallel/parallelism=%d", p), func(b *testing.B) {
			c := New[int](Config{HighWatermark: 1 << 40})
			b.ReportAllocs()
			b.SetParallelism(p)
			b.RunParallel(func(pb *testing.PB) {
				hs := admitN(c, 0, keys/16, 1) // each writer owns its keys
				i := 0
				for pb.Next() {
					k := i % len(hs)
					old := hs[k]
					hs[k] = c.Admit(i, 1)
					c.Remove(old)
					i++
				}
			})
		})
	}
}
