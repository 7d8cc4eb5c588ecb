package disk

// Write is one write of a batch: Bufs written one after another from file offset Off.
type Write struct {
	Bufs [][]byte
	Off  int64
}

// Writer writes a shard's batches to a File, each made durable by one data sync. Submit
// starts a batch: its writes, then the sync; the returned Pending's Wait blocks until they are
// done. Submit is called from one goroutine, in batch order, and Wait from one goroutine
// (possibly another) in the same order, so that a shard writes its next batch while the
// previous one syncs. The writes' buffers must stay untouched until Wait returns.
type Writer interface {
	// Submit starts the writes of ws (in any order; they must not overlap) and their data
	// sync; the writes may be complete when it returns, the sync is not. On error, any part of
	// ws may have been written and there is nothing to wait for.
	Submit(ws []Write) (Pending, error)
	// Close releases the writer's resources; the File stays open. No batch may be pending.
	Close() error
	// Name names the mechanism, for logs and reports: "uring" or "pwrite".
	Name() string
}

// Pending is a batch a Writer has started; Wait blocks until it is durable and reports its
// outcome. Wait is called once.
type Pending interface {
	Wait() error
}

// Done returns a Pending whose Wait reports err at once: the outcome of a batch that a Writer
// completed within Submit.
func Done(err error) Pending { return donePending{err} }

type donePending struct{ err error }

func (d donePending) Wait() error { return d.err }

// WriteBatch writes ws with w and waits until they are durable: Submit, then Wait.
func WriteBatch(w Writer, ws []Write) error {
	p, err := w.Submit(ws)
	if err != nil {
		return err
	}
	return p.Wait()
}

// PwriteWriter returns the portable Writer: one positioned (vectored) write system call per
// write, then fdatasync. It is the fallback when io_uring is not available. With direct
// writes on (File.EnableDirect), each write goes through the O_DIRECT or the buffered
// descriptor as File.WriteAt would send it, except that a direct-eligible write sharing a page
// with a buffered write of the same batch goes buffered too.
func (f *File) PwriteWriter() Writer { return &pwriteWriter{f: f} }

type pwriteWriter struct {
	f     *File
	route []bool // which writes of the current batch go direct; reused by every Submit
}

// write writes every write of ws, each through the descriptor its route picks.
func (p *pwriteWriter) write(ws []Write) error {
	d := p.f.activeDirect()
	if d != nil {
		p.route = d.route(p.route, ws)
	}
	for i, w := range ws {
		var err error
		// A fallback earlier in the batch turns direct writes off for the rest of it.
		if d != nil && p.route[i] && p.f.activeDirect() != nil {
			err = p.f.writeDirect(d, w.Bufs, w.Off)
		} else {
			err = p.f.writeBuffered(w.Bufs, w.Off)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Submit writes ws with pwrite at once and starts the data sync on its own goroutine, so that
// the sync overlaps whatever the caller does until it waits (the next batch's writes, the
// previous batch's bookkeeping); the returned Pending's Wait reports the sync's outcome.
func (p *pwriteWriter) Submit(ws []Write) (Pending, error) {
	if err := p.write(ws); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- p.f.Sync() }()
	return pwritePending(done), nil
}

// pwritePending is the outcome of a sync running since Submit.
type pwritePending chan error

// Wait returns when the sync started by Submit has returned: every write completed before
// Submit returned, this batch's included, is then durable.
func (p pwritePending) Wait() error { return <-p }

func (*pwriteWriter) Close() error { return nil }

func (*pwriteWriter) Name() string { return "pwrite" }

// Reader reads from a File. Unlike a Writer it is safe for concurrent use.
type Reader interface {
	// ReadAt fills p from offset off, like File.ReadAt.
	ReadAt(p []byte, off int64) error
	// Close releases the reader's resources; the File stays open.
	Close() error
}

// PreadReader returns the portable Reader: File.ReadAt (pread).
func (f *File) PreadReader() Reader { return preadReader{f} }

type preadReader struct{ f *File }

func (p preadReader) ReadAt(b []byte, off int64) error { return p.f.ReadAt(b, off) }

func (preadReader) Close() error { return nil }
