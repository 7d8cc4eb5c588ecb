package disk

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/feoxdb/feox-go/pkg/uring"
)

// UringWriter returns a Writer that submits each batch to its own io_uring: every write and
// then an fdatasync ordered after them (IOSQE_IO_DRAIN) in as few io_uring_enter calls as the
// ring's size allows (one for up to entries-1 writes). It fails with an error matching
// uring.ErrUnsupported (and errors.ErrUnsupported) when the kernel refuses io_uring, so that
// the caller can fall back to PwriteWriter.
func (f *File) UringWriter(entries uint32, sqpoll bool) (Writer, error) {
	r, err := uring.New(uring.Options{Entries: entries, SQPoll: sqpoll})
	if err != nil {
		return nil, err
	}
	return &uringWriter{f: f, r: r, ws: nil}, nil
}

type uringWriter struct {
	f  *File
	r  *uring.Ring
	ws []uring.Write // scratch, reused across batches
}

func (u *uringWriter) WriteBatch(ws []Write) error {
	u.ws = u.ws[:0]
	for _, w := range ws {
		u.ws = append(u.ws, uring.Write{Bufs: w.Bufs, Off: w.Off})
	}
	err := u.r.WriteBatch(int(u.f.Fd()), u.ws, true)
	clear(u.ws) // drop references to the caller's buffers
	if err != nil {
		return fmt.Errorf("disk: io_uring batch of %d writes in %q: %w", len(ws), u.f.path, errFull(err))
	}
	return nil
}

func (u *uringWriter) Close() error { return u.r.Close() }

func (u *uringWriter) Name() string { return "uring" }

// UringReader returns a Reader that reads through an io_uring of its own (IORING_OP_READ),
// one request at a time: concurrent readers take turns on the ring. It fails like UringWriter
// where the kernel refuses io_uring.
func (f *File) UringReader(entries uint32) (Reader, error) {
	r, err := uring.New(uring.Options{Entries: entries})
	if err != nil {
		return nil, err
	}
	return &uringReader{f: f, r: r}, nil
}

type uringReader struct {
	f  *File
	mu sync.Mutex // a Ring is not safe for concurrent use
	r  *uring.Ring
}

func (u *uringReader) ReadAt(p []byte, off int64) error {
	u.mu.Lock()
	n, err := u.r.ReadAt(int(u.f.Fd()), p, off)
	u.mu.Unlock()
	if err == nil && n < len(p) {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("disk: io_uring read at %d in %q: %w", off, u.f.path, err)
	}
	return nil
}

func (u *uringReader) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.r.Close()
}
