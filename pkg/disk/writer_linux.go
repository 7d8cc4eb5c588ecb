package disk

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/feoxdb/feox-go/pkg/uring"
)

// uringRings is how many io_uring instances a UringWriter keeps, so that one batch can be
// submitted while the previous one completes (each ring has a single owner at a time).
const uringRings = 2

// UringWriter returns a Writer that submits each batch to an io_uring: every write and then
// an fdatasync ordered after them (IOSQE_IO_DRAIN) in as few io_uring_enter calls as the
// ring's size allows (one for up to entries-1 writes). It keeps two rings, so that Submit of
// a batch and Wait of the previous one proceed at the same time. It fails with an error
// matching uring.ErrUnsupported (and errors.ErrUnsupported) when the kernel refuses io_uring,
// so that the caller can fall back to PwriteWriter.
func (f *File) UringWriter(entries uint32, sqpoll bool) (Writer, error) {
	u := &uringWriter{f: f, free: make(chan *uring.Ring, uringRings)}
	for range uringRings {
		r, err := uring.New(uring.Options{Entries: entries, SQPoll: sqpoll})
		if err != nil {
			u.Close()
			return nil, err
		}
		u.rings = append(u.rings, r)
		u.free <- r
	}
	return u, nil
}

type uringWriter struct {
	f     *File
	rings []*uring.Ring
	// free holds the rings no batch is using. Taking a ring from it hands its ownership to
	// one goroutine until the ring is put back (the channel orders the two).
	free chan *uring.Ring
}

func (u *uringWriter) convert(ws []Write) []uring.Write {
	out := make([]uring.Write, len(ws))
	for i, w := range ws {
		out[i] = uring.Write{Bufs: w.Bufs, Off: w.Off}
	}
	return out
}

func (u *uringWriter) wrap(n int, err error) error {
	return fmt.Errorf("disk: io_uring batch of %d writes in %q: %w", n, u.f.path, errFull(err))
}

func (u *uringWriter) WriteBatch(ws []Write) error {
	r := <-u.free
	defer func() { u.free <- r }()
	if err := r.WriteBatch(int(u.f.Fd()), u.convert(ws), true); err != nil {
		return u.wrap(len(ws), err)
	}
	return nil
}

// Submit submits ws and their sync on a free ring (waiting for one if both are busy).
func (u *uringWriter) Submit(ws []Write) (Pending, error) {
	r := <-u.free
	b, err := r.SubmitBatch(int(u.f.Fd()), u.convert(ws), true)
	if err != nil {
		u.free <- r
		return nil, u.wrap(len(ws), err)
	}
	return &uringPending{u: u, r: r, b: b, n: len(ws)}, nil
}

type uringPending struct {
	u *uringWriter
	r *uring.Ring
	b *uring.Batch
	n int
}

// Wait reaps the batch's completions, checks each, and gives the ring back.
func (p *uringPending) Wait() error {
	err := p.r.CompleteBatch(p.b)
	p.u.free <- p.r
	if err != nil {
		return p.u.wrap(p.n, err)
	}
	return nil
}

// Close closes the rings; no batch may be pending.
func (u *uringWriter) Close() error {
	var errs []error
	for _, r := range u.rings {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

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
