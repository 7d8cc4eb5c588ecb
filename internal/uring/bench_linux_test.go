//go:build linux

package uring

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWriteBatch compares WriteBatch with the pwrite path it replaces: N writes of size
// bytes at scattered offsets (every other slot of a preallocated file, so that no two can be
// coalesced), optionally followed by fdatasync. impl=uring is one WriteBatch on a ring of 256
// entries (the default queue depth); impl=pwrite is N unix.Pwrite calls and unix.Fdatasync.
// ns/op is per batch.
func BenchmarkWriteBatch(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, size := range []int{512, 4096} {
			for _, n := range []int{1, 16, 64, 256, 1024} {
				for _, impl := range []string{"uring", "pwrite"} {
					name := fmt.Sprintf("sync=%v/size=%d/writes=%d/impl=%s", sync, size, n, impl)
					b.Run(name, func(b *testing.B) { benchWrites(b, impl, sync, size, n) })
				}
			}
		}
	}
}

func benchWrites(b *testing.B, impl string, sync bool, size, n int) {
	f := tempFile(b, int64(2*n*size))
	fd := int(f.Fd())
	// Allocate the blocks up front, so that the runs measure overwrites, not file growth.
	if err := unix.Fallocate(fd, 0, 0, int64(2*n*size)); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fsync(fd); err != nil {
		b.Fatal(err)
	}
	bufs, err := NewBuffers(n, size)
	if err != nil {
		b.Fatal(err)
	}
	defer bufs.Close()
	writes := make([]Write, n)
	for i := range writes {
		p := bufs.Buf(i)[:size]
		copy(p, pattern(i, size))
		writes[i] = Write{Bufs: [][]byte{p}, Off: int64(2 * i * size)}
	}
	var r *Ring
	if impl == "uring" {
		r = newRing(b, Options{Entries: defaultEntries})
	}
	b.ReportAllocs()
	b.SetBytes(int64(n * size))
	b.ResetTimer()
	for b.Loop() {
		if impl == "uring" {
			if err := r.WriteBatch(fd, writes, sync); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for _, w := range writes {
			if _, err := unix.Pwrite(fd, w.Bufs[0], w.Off); err != nil {
				b.Fatal(err)
			}
		}
		if sync {
			if err := unix.Fdatasync(fd); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if r != nil {
		st := r.Stats()
		b.ReportMetric(float64(st.Enters)/float64(b.N), "enters/op")
	}
}
