package disk

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/feoxdb/feox-go/internal/uring"
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
//
// With direct writes on (File.EnableDirect), each write of a batch is submitted on the
// O_DIRECT or the buffered descriptor as PwriteWriter would send it, and the fdatasync on the
// buffered one, which covers both (see File.Sync). If a direct write completes with EINVAL,
// direct writes are turned off and the batch fails; written again, it goes buffered, once no
// direct write of another batch is in flight.
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

// convert turns ws into the ring's writes, each on the descriptor its route picks. It
// returns the route (nil when every write goes buffered) and the number of direct writes,
// which it counts as in flight (startDirect) until the caller's endDirect.
func (u *uringWriter) convert(ws []Write) ([]uring.Write, []bool, int) {
	f := u.f
	f.awaitDirect()
	out := make([]uring.Write, len(ws))
	var route []bool
	direct := 0
	if d := f.activeDirect(); d != nil {
		route = d.route(make([]bool, 0, len(ws)), ws)
		for _, ok := range route {
			if ok {
				direct++
			}
		}
		if direct > 0 && !f.startDirect(direct) {
			route, direct = nil, 0 // fell back meanwhile: all buffered, after the direct writes
			f.awaitDirect()
		}
		for i := range ws {
			if route != nil && route[i] {
				out[i].Fd = d.fd
			}
		}
	}
	for i, w := range ws {
		out[i].Bufs, out[i].Off = w.Bufs, w.Off
	}
	f.directWrites.Add(uint64(direct))
	f.bufferedWrites.Add(uint64(len(ws) - direct))
	return out, route, direct
}

func (u *uringWriter) wrap(n int, err error) error {
	return fmt.Errorf("disk: io_uring batch of %d writes in %q: %w", n, u.f.path, errFull(err))
}

// settle returns the outcome of a batch of n writes given err, the ring's report. When the batch's
// lowest-numbered failed request is a direct write that failed with EINVAL, it turns direct
// writes off: the batch fails (the caller writes it again, and it then goes buffered). It is
// not redone here: other batches' direct writes may still be in flight, and a buffered write
// must wait for them (awaitDirect), which the goroutine that reaps them cannot do.
func (u *uringWriter) settle(n int, route []bool, err error) error {
	if err == nil {
		return nil
	}
	var we *uring.WriteError
	if route != nil && errors.As(err, &we) && we.Index < len(route) && route[we.Index] && isInvalid(we.Err) {
		u.f.fallBack()
	}
	return u.wrap(n, err)
}

// Submit submits ws and their sync on a free ring (waiting for one if both are busy).
func (u *uringWriter) Submit(ws []Write) (Pending, error) {
	r := <-u.free
	uws, route, direct := u.convert(ws)
	b, err := r.SubmitBatch(int(u.f.Fd()), uws, true)
	if err != nil {
		u.f.endDirect(direct)
		u.free <- r
		return nil, u.wrap(len(ws), err)
	}
	return &uringPending{u: u, r: r, b: b, n: len(ws), route: route, direct: direct}, nil
}

type uringPending struct {
	u      *uringWriter
	r      *uring.Ring
	b      *uring.Batch
	n      int    // writes in the batch
	route  []bool // which went direct (nil: none)
	direct int    // how many went direct: in flight until reaped
}

// Wait reaps the batch's completions, checks each, and gives the ring back.
func (p *uringPending) Wait() error {
	err := p.r.CompleteBatch(p.b)
	p.u.f.endDirect(p.direct)
	p.u.free <- p.r
	return p.u.settle(p.n, p.route, err)
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
