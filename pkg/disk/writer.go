package disk

// Write is one write of a batch: Bufs written one after another from file offset Off.
type Write struct {
	Bufs [][]byte
	Off  int64
}

// Writer writes batches to a File and makes each durable. A Writer belongs to one goroutine at
// a time; a File may have several (one per shard).
type Writer interface {
	// WriteBatch writes every write of ws (in any order; they must not overlap) and then
	// makes them durable with one data sync. On error, any part of ws may have been written.
	WriteBatch(ws []Write) error
	// Close releases the writer's resources; the File stays open.
	Close() error
	// Name names the mechanism: "uring" or "pwrite".
	Name() string
}

// PwriteWriter returns the portable Writer: one positioned (vectored) write system call per
// write, then fdatasync. It is the fallback when io_uring is not available.
func (f *File) PwriteWriter() Writer { return pwriteWriter{f} }

type pwriteWriter struct{ f *File }

func (p pwriteWriter) WriteBatch(ws []Write) error {
	for _, w := range ws {
		if err := p.f.WriteAt(w.Bufs, w.Off); err != nil {
			return err
		}
	}
	return p.f.Sync()
}

func (pwriteWriter) Close() error { return nil }

func (pwriteWriter) Name() string { return "pwrite" }

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
