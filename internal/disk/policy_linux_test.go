package disk

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/format"
)

// refuseUring is a Wrap that refuses io_uring as a kernel without it would, and counts the
// writers it saw.
type refuseUring struct{ offered, refused int }

func (r *refuseUring) wrap(_ int, w Writer, _ *File) (Writer, error) {
	r.offered++
	if w.Name() == "pwrite" {
		return w, nil
	}
	r.refused++
	return nil, fmt.Errorf("io_uring refused (test): %w", errors.ErrUnsupported)
}

// TestFile_NewWriters ensures the I/O policy: IOAuto picks io_uring only for batches of
// AutoUringBatch entries or more, IOUring always, IOPwrite never; where io_uring is refused,
// IOAuto gives every shard pwrite after one attempt and logs it once, and IOUring fails with an
// error matching errors.ErrUnsupported. Every writer it returns writes a batch that reads back.
func TestFile_NewWriters(t *testing.T) {
	const shards = 3
	tests := []struct {
		name    string
		io      IO
		batch   int
		refuse  bool
		want    string // the writers' name; "" means NewWriters fails with errors.ErrUnsupported
		offered int    // writers the refusing Wrap sees
		logs    int    // lines logged
	}{
		{"auto", IOAuto, 1024, false, "uring", 0, 0},
		{"auto small batches", IOAuto, AutoUringBatch - 1, false, "pwrite", 0, 0},
		{"auto batches of AutoUringBatch", IOAuto, AutoUringBatch, false, "uring", 0, 0},
		{"uring", IOUring, 16, false, "uring", 0, 0},
		{"pwrite", IOPwrite, 1024, false, "pwrite", 0, 0},
		{"auto refused", IOAuto, 1024, true, "pwrite", 1 + shards, 1},
		{"uring refused", IOUring, 1024, true, "", 1, 0},
		{"pwrite refused", IOPwrite, 1024, true, "pwrite", shards, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := openNew(t, 1<<20)
			var log bytes.Buffer
			o := WriterOptions{IO: tc.io, BatchEntries: tc.batch, QueueDepth: 16, Log: zerolog.New(&log)}
			r := &refuseUring{}
			if tc.refuse {
				o.Wrap = r.wrap
			}
			ws, err := f.NewWriters(shards, o)
			if tc.want == "" {
				if !errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("NewWriters = %v, want an error matching errors.ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != shards {
				t.Fatalf("%d writers, want %d", len(ws), shards)
			}
			for i, w := range ws {
				if w.Name() != tc.want {
					t.Errorf("writer %d is %q, want %q", i, w.Name(), tc.want)
				}
				b := []Write{{Bufs: [][]byte{pattern(3*format.SectorSize, byte(i+1))}, Off: format.DataStart + int64(i)*64<<10}}
				if err := WriteBatch(w, b); err != nil {
					t.Fatalf("writer %d: %v", i, err)
				}
				checkBatch(t, f, b, fmt.Sprintf("writer %d", i))
				if err := w.Close(); err != nil {
					t.Errorf("writer %d: Close: %v", i, err)
				}
			}
			if r.offered != tc.offered {
				t.Errorf("Wrap saw %d writers, want %d", r.offered, tc.offered)
			}
			if n := bytes.Count(log.Bytes(), []byte("\n")); n != tc.logs {
				t.Errorf("%d lines logged, want %d: %s", n, tc.logs, log.String())
			}
		})
	}
}

// countWriter is a Writer that counts the batches it is given and writes nothing.
type countWriter struct {
	name    string
	batches int
}

func (c *countWriter) Submit([]Write) (Pending, error) {
	c.batches++
	return Done(nil), nil
}

func (c *countWriter) Close() error { return nil }

func (c *countWriter) Name() string { return c.name }

// TestSplitWriter ensures IOAuto's split: a batch under SmallBatchBytes goes to the small
// writer, one of SmallBatchBytes or more to the large one, counting every buffer of every write.
func TestSplitWriter(t *testing.T) {
	large, small := &countWriter{name: "uring"}, &countWriter{name: "pwrite"}
	w := &splitWriter{large: large, small: small}
	bufs := func(sizes ...int) [][]byte {
		var bs [][]byte
		for _, n := range sizes {
			bs = append(bs, make([]byte, n))
		}
		return bs
	}
	tests := []struct {
		ws    []Write
		large bool
	}{
		{[]Write{{Bufs: bufs(512)}}, false},
		{[]Write{{Bufs: bufs(SmallBatchBytes - 1)}}, false},
		{[]Write{{Bufs: bufs(SmallBatchBytes)}}, true},
		{[]Write{{Bufs: bufs(SmallBatchBytes/2, SmallBatchBytes/2)}}, true},
		{[]Write{{Bufs: bufs(SmallBatchBytes / 2)}, {Bufs: bufs(SmallBatchBytes / 2)}}, true},
		{nil, false},
	}
	for i, tc := range tests {
		l, s := large.batches, small.batches
		if err := WriteBatch(w, tc.ws); err != nil {
			t.Fatal(err)
		}
		toLarge, toSmall := large.batches-l, small.batches-s
		if wantLarge := map[bool]int{true: 1}[tc.large]; toLarge != wantLarge || toSmall != 1-wantLarge {
			t.Errorf("batch %d: %d to the large writer and %d to the small one, want the large one: %v",
				i, toLarge, toSmall, tc.large)
		}
	}
	if w.Name() != "uring" {
		t.Errorf("Name = %q, want the large writer's", w.Name())
	}
}

// TestFile_NewReader ensures IOUring reads through io_uring and the other modes through pread,
// and that both read what was written.
func TestFile_NewReader(t *testing.T) {
	f := openNew(t, 1<<20)
	want := pattern(4096, 7)
	if err := f.WriteAt([][]byte{want}, format.DataStart); err != nil {
		t.Fatal(err)
	}
	for _, io := range []IO{IOAuto, IOUring, IOPwrite} {
		r, err := f.NewReader(io)
		if err != nil {
			t.Fatalf("NewReader(%d): %v", io, err)
		}
		_, uring := r.(*uringReader)
		if uring != (io == IOUring) {
			t.Errorf("NewReader(%d) reads through io_uring: %v", io, uring)
		}
		got := make([]byte, len(want))
		if err := r.ReadAt(got, format.DataStart); err != nil || !bytes.Equal(got, want) {
			t.Errorf("NewReader(%d): read %v, bytes match %v", io, err, bytes.Equal(got, want))
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}
