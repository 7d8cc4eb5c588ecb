//go:build linux

package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// batchOf returns n writes of size bytes at consecutive offsets from off; every third has
// its bytes split over three buffers (one empty), so that both WRITE and WRITEV are used.
func batchOf(seed, n, size int, off int64) []Write {
	ws := make([]Write, n)
	for i := range ws {
		p := pattern(seed+i, size)
		ws[i] = Write{Bufs: [][]byte{p}, Off: off + int64(i*size)}
		if i%3 == 0 && size >= 3 {
			ws[i].Bufs = [][]byte{p[:size/3], nil, p[size/3:]}
		}
	}
	return ws
}

// checkWrites fails the test unless f holds the bytes of every write.
func checkWrites(t *testing.T, f *os.File, ws []Write) {
	t.Helper()
	for i, w := range ws {
		want := bytes.Join(w.Bufs, nil)
		if got := fileBytes(t, f, len(want), w.Off); !bytes.Equal(got, want) {
			t.Fatalf("write %d (offset %d) is not in the file", i, w.Off)
		}
	}
}

// TestRing_Batch_OneEnter ensures a batch of 256 writes and a datasync that fits the rings is
// submitted with one io_uring_enter by SubmitBatch, and submitted and awaited with one by
// WriteBatch.
func TestRing_Batch_OneEnter(t *testing.T) {
	r := newRing(t, Options{Entries: 512})
	f := tempFile(t, 0)
	ws := batchOf(0, 256, 512, 0)

	before := r.Stats()
	b, err := r.SubmitBatch(int(f.Fd()), ws, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Enters-before.Enters != 1 || st.Submitted-before.Submitted != 257 {
		t.Errorf("SubmitBatch: %d enters submitting %d entries, want 1 submitting 257",
			st.Enters-before.Enters, st.Submitted-before.Submitted)
	}
	if err := r.CompleteBatch(b); err != nil {
		t.Fatal(err)
	}
	checkWrites(t, f, ws)

	ws = batchOf(1000, 256, 512, 0)
	before = r.Stats()
	if err := r.WriteBatch(int(f.Fd()), ws, true); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Enters-before.Enters != 1 || st.Completed-before.Completed != 257 {
		t.Errorf("WriteBatch: %d enters reaping %d completions, want 1 reaping 257",
			st.Enters-before.Enters, st.Completed-before.Completed)
	}
	checkWrites(t, f, ws)
}

// TestRing_Batch_LargerThanRings ensures a batch several times the ring sizes is fully
// written, with or without a datasync, and split over few io_uring_enter calls: about one per
// submission ring's worth of entries, each also waiting for completion-ring room.
func TestRing_Batch_LargerThanRings(t *testing.T) {
	for _, sync := range []bool{false, true} {
		r := newRing(t, Options{Entries: 8})
		f := tempFile(t, 0)
		ws := batchOf(7, 100, 700, 3)
		before := r.Stats()
		if err := r.WriteBatch(int(f.Fd()), ws, sync); err != nil {
			t.Fatal(err)
		}
		checkWrites(t, f, ws)
		st := r.Stats()
		n := uint64(len(ws))
		if sync {
			n++
		}
		if st.Submitted-before.Submitted != n || st.Completed-before.Completed != n {
			t.Errorf("sync=%v: submitted %d, completed %d, want %d", sync, st.Submitted-before.Submitted, st.Completed-before.Completed, n)
		}
		t.Logf("sync=%v: %d entries in %d enters", sync, n, st.Enters-before.Enters)
		if enters, most := st.Enters-before.Enters, (n+7)/8+2; enters > most {
			t.Errorf("sync=%v: %d enters for %d entries on an 8-entry ring, want at most %d", sync, enters, n, most)
		}
	}
}

// TestRing_Batch_Pipelined ensures batches can be submitted before earlier ones are
// completed, and completed in any order, each reporting its own outcome.
func TestRing_Batch_Pipelined(t *testing.T) {
	r := newRing(t, Options{Entries: 16})
	f := tempFile(t, 0)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	w1, w2, w3 := batchOf(1, 10, 100, 0), batchOf(2, 10, 100, 1000), batchOf(3, 2, 100, 0)
	b1, err := r.SubmitBatch(int(f.Fd()), w1, false)
	if err != nil {
		t.Fatal(err)
	}
	b3, err := r.SubmitBatch(int(ro.Fd()), w3, false) // fails: read-only fd
	if err != nil {
		t.Fatal(err)
	}
	b2, err := r.SubmitBatch(int(f.Fd()), w2, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CompleteBatch(b2); err != nil {
		t.Errorf("batch 2: %v", err)
	}
	if err := r.CompleteBatch(b3); !errors.Is(err, unix.EBADF) {
		t.Errorf("batch 3: %v, want EBADF", err)
	}
	if err := r.CompleteBatch(b1); err != nil {
		t.Errorf("batch 1: %v", err)
	}
	checkWrites(t, f, w1)
	checkWrites(t, f, w2)
	if len(r.free) != len(r.batches) {
		t.Errorf("%d of %d batches returned to the free list", len(r.free), len(r.batches))
	}
}

// TestRing_Batch_Invalid ensures writes the kernel cannot take are refused before anything
// is submitted, and an empty batch submits nothing.
func TestRing_Batch_Invalid(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	f := tempFile(t, 0)
	tooMany := make([][]byte, 1025)
	for i := range tooMany {
		tooMany[i] = []byte{1}
	}
	for name, ws := range map[string][]Write{
		"negative_offset": {{Bufs: [][]byte{{1}}, Off: 0}, {Bufs: [][]byte{{1}}, Off: -1}},
		"too_many_bufs":   {{Bufs: tooMany}},
		"negative_fd":     {{Bufs: [][]byte{{1}}, Off: 0, Fd: -1}},
	} {
		if err := r.WriteBatch(int(f.Fd()), ws, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := r.WriteBatch(int(f.Fd()), []Write{{}, {Bufs: [][]byte{nil, {}}, Off: 5}}, false); err != nil {
		t.Errorf("batch of empty writes: %v", err)
	}
	if st := r.Stats(); st.Enters != 0 || st.Submitted != 0 {
		t.Errorf("stats %+v, want nothing submitted", st)
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Errorf("file size %d, want 0", st.Size())
	}
}

// TestRing_Batch_ShortWrite ensures a write the kernel completes short (here cut by
// RLIMIT_FSIZE) fails the batch with ErrShortWrite, and one starting past the limit with
// EFBIG. Go ignores the SIGXFSZ the kernel sends.
func TestRing_Batch_ShortWrite(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	f := tempFile(t, 0)
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := unix.Rlimit{Cur: 4096 + 100, Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	p := pattern(1, 512)
	err := r.WriteBatch(int(f.Fd()), []Write{{Bufs: [][]byte{p}, Off: 0}, {Bufs: [][]byte{p}, Off: 4096}}, false)
	if !errors.Is(err, ErrShortWrite) {
		t.Errorf("write across the limit: %v, want ErrShortWrite", err)
	}
	err = r.WriteBatch(int(f.Fd()), []Write{{Bufs: [][]byte{p[:1], p[1:]}, Off: 8192}}, true)
	if !errors.Is(err, unix.EFBIG) {
		t.Errorf("write past the limit: %v, want EFBIG", err)
	}
	if got := fileBytes(t, f, 100, 4096); !bytes.Equal(got, p[:100]) {
		t.Error("the short write did not write its first 100 bytes")
	}
}

// TestRing_ReadAt ensures ReadAt follows io.ReaderAt: full reads, io.EOF with the bytes
// before the end of the file, and refusal of negative offsets.
func TestRing_ReadAt(t *testing.T) {
	r := newRing(t, Options{Entries: 4})
	f := tempFile(t, 0)
	data := pattern(3, 10000)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		n    int
		off  int64
		want int
		err  error
	}{
		{"inside", 4096, 100, 4096, nil},
		{"whole", 10000, 0, 10000, nil},
		{"across_eof", 1000, 9500, 500, io.EOF},
		{"at_eof", 10, 10000, 0, io.EOF},
		{"past_eof", 10, 20000, 0, io.EOF},
		{"empty", 0, 50, 0, nil},
		{"negative", 10, -1, 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			buf := make([]byte, tt.n)
			n, err := r.ReadAt(int(f.Fd()), buf, tt.off)
			if n != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("ReadAt = %d, %v; want %d, %v", n, err, tt.want, tt.err)
			}
			if n > 0 && !bytes.Equal(buf[:n], data[tt.off:tt.off+int64(n)]) {
				t.Error("bytes differ from the file")
			}
		})
	}
	if _, err := r.ReadAt(-1, make([]byte, 1), 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("ReadAt on a bad fd: %v, want EBADF", err)
	}
}

// TestRing_SQPoll ensures a Ring with a kernel polling thread writes and reads correctly,
// including after the thread has gone idle and must be woken.
func TestRing_SQPoll(t *testing.T) {
	r := newRing(t, Options{Entries: 32, SQPoll: true, SQThreadIdle: time.Millisecond})
	if !r.sqpoll {
		t.Fatal("ring without SQPoll")
	}
	f := tempFile(t, 0)
	for round := range 4 {
		ws := batchOf(round*100, 50, 300, int64(round)*50*300) // larger than the ring
		if err := r.WriteBatch(int(f.Fd()), ws, round%2 == 0); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkWrites(t, f, ws)
		buf := make([]byte, 300)
		if _, err := r.ReadAt(int(f.Fd()), buf, ws[1].Off); err != nil || !bytes.Equal(buf, bytes.Join(ws[1].Bufs, nil)) {
			t.Fatalf("round %d: ReadAt: %v or wrong bytes", round, err)
		}
		time.Sleep(5 * time.Millisecond) // let the thread go idle, so the next round wakes it
	}
	if st := r.Stats(); st.Submitted != st.Completed {
		t.Errorf("stats %+v: submitted and completed differ", st)
	}
}

// TestRing_Batch_PerWriteFd ensures a Write with its own Fd goes to that descriptor and one
// without goes to the batch's, in one batch of single-buffer and vectored writes, whether
// written with WriteBatch or with SubmitBatch and CompleteBatch.
func TestRing_Batch_PerWriteFd(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			r := newRing(t, Options{Entries: 8})
			a, b := tempFile(t, 1<<16), tempFile(t, 1<<16)
			ws := batchOf(7, 6, 1024, 0)
			inB := map[int]bool{1: true, 3: true, 4: true}
			for i := range ws {
				switch {
				case inB[i]:
					ws[i].Fd = int(b.Fd())
				case i == 2:
					ws[i].Fd = int(a.Fd()) // naming the batch's descriptor is the same as naming none
				}
			}
			if split {
				bt, err := r.SubmitBatch(int(a.Fd()), ws, true)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.CompleteBatch(bt); err != nil {
					t.Fatal(err)
				}
			} else if err := r.WriteBatch(int(a.Fd()), ws, true); err != nil {
				t.Fatal(err)
			}
			zero := make([]byte, 1024)
			for i, w := range ws {
				want := bytes.Join(w.Bufs, nil)
				here, other := a, b
				if inB[i] {
					here, other = b, a
				}
				if got := fileBytes(t, here, len(want), w.Off); !bytes.Equal(got, want) {
					t.Errorf("write %d (fd %d) is not in its file", i, w.Fd)
				}
				if got := fileBytes(t, other, len(want), w.Off); !bytes.Equal(got, zero) {
					t.Errorf("write %d (fd %d) reached the other file", i, w.Fd)
				}
			}
		})
	}
}

// TestRing_Batch_WriteError ensures a failed write's error is a *WriteError naming the
// lowest-numbered failed write, its offset and size, that errors.Is sees the errno through it,
// and that its message keeps the form "uring: write of N bytes at offset O: cause".
func TestRing_Batch_WriteError(t *testing.T) {
	r := newRing(t, Options{Entries: 8})
	f := tempFile(t, 1<<16)
	ro, err := os.Open(f.Name()) // a read-only descriptor: writes through it fail with EBADF
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ws := batchOf(3, 5, 512, 0)
	ws[1].Fd, ws[3].Fd = int(ro.Fd()), int(ro.Fd())
	err = r.WriteBatch(int(f.Fd()), ws, true)
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("WriteBatch with writes to a read-only descriptor: %v, want a *WriteError", err)
	}
	if we.Index != 1 || we.Off != ws[1].Off || we.Len != 512 || !errors.Is(err, unix.EBADF) {
		t.Errorf("WriteError = %+v (%v), want index 1, offset %d, 512 bytes, EBADF", *we, err, ws[1].Off)
	}
	if want := fmt.Sprintf("uring: write of 512 bytes at offset %d: %v", ws[1].Off, unix.EBADF); err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	for _, i := range []int{0, 2, 4} {
		checkWrites(t, f, ws[i:i+1])
	}
}
