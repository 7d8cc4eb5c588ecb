package disk

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
	"golang.org/x/sys/unix"
)

// writerKinds names the two writers, each with how to make it.
var writerKinds = []struct {
	name string
	make func(t testing.TB, f *File) Writer
}{
	{"pwrite", func(t testing.TB, f *File) Writer { return f.PwriteWriter() }},
	{"uring", func(t testing.TB, f *File) Writer {
		w, err := f.UringWriter(16, false)
		if err != nil {
			t.Fatalf("UringWriter: %v", err)
		}
		return w
	}},
}

// mixedBatch returns a batch of aligned and misaligned writes from base, seeded by seed, and
// which of them go direct: aligned ones in pages of their own, a misaligned address, an
// aligned write sharing a page with it (buffered too), a misaligned length, and an aligned
// vectored write.
func mixedBatch(base int64, seed byte) ([]Write, []bool) {
	mis := AlignedBuffer(512+8, 4096)[8:]
	copy(mis, pattern(512, seed+1))
	ws := []Write{
		{Bufs: [][]byte{alignedPattern(64<<10, seed)}, Off: base},
		{Bufs: [][]byte{mis}, Off: base + 128<<10},
		{Bufs: [][]byte{alignedPattern(4096, seed+2)}, Off: base + 256<<10},
		{Bufs: [][]byte{alignedPattern(512, seed+3)}, Off: base + 128<<10 + 1024},
		{Bufs: [][]byte{alignedPattern(1000, seed+4)}, Off: base + 300<<10},
		{Bufs: [][]byte{alignedPattern(512, seed+5), alignedPattern(8192, seed+6), alignedPattern(1536, seed+7)}, Off: base + 400<<10},
	}
	return ws, []bool{true, false, true, false, false, true}
}

// checkBatch fails the test unless f reads back every write of ws.
func checkBatch(t *testing.T, f *File, ws []Write, what string) {
	t.Helper()
	for i, w := range ws {
		checkRead(t, f, bytes.Join(w.Bufs, nil), w.Off, fmt.Sprintf("%s, write %d", what, i))
	}
}

// TestWriter_Direct ensures both writers send a mixed batch's aligned writes through the
// O_DIRECT descriptor and the others (including an aligned write sharing a page with a
// misaligned one) through the buffered one, as the counters and the page cache (the kernel
// drops the pages a direct write covers) show; that a second
// batch over the same, now cached, ranges reads back new bytes; and that both batches' bytes
// are in the file after a reopen.
func TestWriter_Direct(t *testing.T) {
	for _, kind := range writerKinds {
		t.Run("io="+kind.name, func(t *testing.T) {
			f := openDirectNew(t, 4<<20)
			w := kind.make(t, f)
			defer w.Close()
			var all [][]Write
			for round, base := range []int64{1 << 20, 1 << 20, 2 << 20} {
				ws, route := mixedBatch(base, byte(10*round))
				direct := 0
				for _, d := range route {
					if d {
						direct++
					}
				}
				before := f.Direct()
				if err := WriteBatch(w, ws); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for i, w := range ws {
					checkCached(t, f, w.Off, size(w.Bufs), route[i], fmt.Sprintf("round %d, write %d", round, i))
				}
				after := f.Direct()
				gotD, gotB := after.DirectWrites-before.DirectWrites, after.BufferedWrites-before.BufferedWrites
				if gotD != uint64(direct) || gotB != uint64(len(ws)-direct) {
					t.Errorf("round %d: %d direct and %d buffered writes, want %d and %d", round, gotD, gotB, direct, len(ws)-direct)
				}
				checkBatch(t, f, ws, fmt.Sprintf("round %d", round))
				if round == 1 {
					all = all[:0] // round 1 overwrote round 0
				}
				all = append(all, ws)
			}
			if st := f.Direct(); !st.On || st.FellBack {
				t.Errorf("Direct() = %+v, want on", st)
			}
			w.Close()
			g := reopenFile(t, f)
			for _, ws := range all {
				checkBatch(t, g, ws, "after reopen")
			}
		})
	}
}

// TestWriter_DirectFallback ensures a batch whose direct write the kernel refuses with EINVAL
// still succeeds with both writers: the refused write is redone buffered (with the io_uring
// writer, the whole batch is), direct writes turn off, the batch reads back and is in the file
// after a reopen, and the next batch goes buffered.
func TestWriter_DirectFallback(t *testing.T) {
	for _, kind := range writerKinds {
		t.Run("io="+kind.name, func(t *testing.T) {
			f := openDirectNew(t, 1<<20)
			w := kind.make(t, f)
			defer w.Close()
			loosenDirect(f)
			ws := []Write{
				{Bufs: [][]byte{alignedPattern(8192, 1)}, Off: format.DataStart},
				{Bufs: [][]byte{pattern(1000, 2)}, Off: format.DataStart + 16384 + 100}, // refused by O_DIRECT
				{Bufs: [][]byte{alignedPattern(4096, 3)}, Off: format.DataStart + 32768},
			}
			// pwrite redoes the refused write and sends the last one buffered. io_uring
			// submitted all three direct and fails the batch, which the caller writes
			// again: buffered, all three.
			err := WriteBatch(w, ws)
			wantD, wantB := uint64(2), uint64(2)
			if kind.name == "uring" {
				if !errors.Is(err, unix.EINVAL) {
					t.Fatalf("io_uring batch with a refused direct write: %v, want EINVAL", err)
				}
				err = WriteBatch(w, ws)
				wantD, wantB = 3, 3
			}
			if err != nil {
				t.Fatalf("batch with a refused direct write: %v, want it written buffered", err)
			}
			st := f.Direct()
			if st.On || !st.FellBack || st.DirectWrites != wantD || st.BufferedWrites != wantB {
				t.Errorf("Direct() = %+v, want off and fallen back after %d direct and %d buffered writes", st, wantD, wantB)
			}
			checkBatch(t, f, ws, "after the fallback")
			next := []Write{{Bufs: [][]byte{alignedPattern(4096, 4)}, Off: format.DataStart + 65536}}
			if err := WriteBatch(w, next); err != nil {
				t.Fatal(err)
			}
			if got := f.Direct(); got.DirectWrites != st.DirectWrites || got.BufferedWrites != st.BufferedWrites+1 {
				t.Errorf("Direct() = %+v, want the next batch buffered", got)
			}
			w.Close()
			g := reopenFile(t, f)
			checkBatch(t, g, append(ws, next...), "after reopen")
		})
	}
}

// BenchmarkBatchWrite measures sequential batches of one write each, every batch followed by
// its data sync, through both writers with and without direct writes, into new space (space
// reserved by Grow and never written, as a store's new records take: each write also turns
// unwritten extents into written ones, up to 256 MiB and then around again) or into reused
// space (written once before the timer starts, as records the cleaner's space takes).
func BenchmarkBatchWrite(b *testing.B) {
	for _, kind := range writerKinds {
		for _, direct := range []bool{false, true} {
			for _, size := range []int{64 << 10, 512 << 10, 2 << 20} {
				for _, reused := range []bool{false, true} {
					space := map[bool]string{false: "new", true: "reused"}[reused]
					name := fmt.Sprintf("io=%s/direct=%v/size=%s/space=%s", kind.name, direct, sizeName(size), space)
					b.Run(name, func(b *testing.B) { benchBatchWrite(b, kind.make, direct, size, reused) })
				}
			}
		}
	}
}

// sizeName writes size in KiB or MiB.
func sizeName(size int) string {
	if size >= 1<<20 && size%(1<<20) == 0 {
		return fmt.Sprintf("%dMiB", size>>20)
	}
	return fmt.Sprintf("%dKiB", size>>10)
}

func benchBatchWrite(b *testing.B, mk func(testing.TB, *File) Writer, direct bool, size int, reused bool) {
	f, _, err := Open(filepath.Join(b.TempDir(), "data.feox"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if direct {
		enableDirect(b, f)
	}
	slots := max(1, min(b.N, (256<<20)/size))
	if err := f.Grow(format.DataStart + int64(slots*size)); err != nil {
		b.Fatal(err)
	}
	w := mk(b, f)
	defer w.Close()
	buf := alignedPattern(size, 1)
	ws := []Write{{Bufs: [][]byte{buf}}}
	if reused {
		for i := range slots {
			if err := f.WriteAt(ws[0].Bufs, format.DataStart+int64(i*size)); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	before := f.Direct().DirectWrites
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ws[0].Off = format.DataStart + int64(i%slots*size)
		if err := WriteBatch(w, ws); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := f.Direct().DirectWrites - before; direct && n != uint64(b.N) {
		b.Fatalf("%d of %d batches written direct", n, b.N)
	}
}
