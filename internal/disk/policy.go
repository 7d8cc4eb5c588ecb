package disk

import (
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// IO selects how a File's batches are written and its values read back.
type IO int

const (
	// IOAuto picks the writer measured faster for the batches at hand (docs/DECISIONS.md, 11):
	// io_uring where the kernel allows it and batches hold at least AutoUringBatch entries,
	// with batches under SmallBatchBytes going through pwrite beside it; pwrite otherwise. A
	// kernel that refuses io_uring is logged once and the writers use pwrite.
	IOAuto IO = iota
	// IOUring requires io_uring for writes and reads: NewWriters and NewReader fail with an
	// error wrapping errors.ErrUnsupported where it is not usable.
	IOUring
	// IOPwrite writes with pwrite and fdatasync, and reads with pread: the portable way.
	IOPwrite
)

const (
	// DefaultQueueDepth is the QueueDepth a zero WriterOptions.QueueDepth takes.
	DefaultQueueDepth = 256
	// MaxQueueDepth is the largest QueueDepth an io_uring takes.
	MaxQueueDepth = 32768
	// AutoUringBatch is the smallest batch size (WriterOptions.BatchEntries) for which IOAuto
	// picks io_uring: with fewer entries per batch pwrite was as fast or faster.
	AutoUringBatch = 256
	// SmallBatchBytes is the size below which IOAuto sends a batch through pwrite even where
	// the shard has an io_uring (typically a batch closed early by a flush after a few writes):
	// the hand-off to the kernel's worker thread costs such a batch more than it saves.
	SmallBatchBytes = 32 << 10
	// readRingEntries is the size of the io_uring that reads values back (one read at a time).
	readRingEntries = 8
)

// WriterOptions configure NewWriters.
type WriterOptions struct {
	// IO is the policy; see IOAuto, IOUring and IOPwrite.
	IO IO
	// QueueDepth is the number of submission queue entries of each io_uring (default
	// DefaultQueueDepth, at most MaxQueueDepth).
	QueueDepth int
	// SQPoll asks for a kernel thread per io_uring that polls its submission queue.
	SQPoll bool
	// BatchEntries is the number of entries that closes a batch of the pipeline the writers
	// serve: IOAuto uses io_uring only from AutoUringBatch.
	BatchEntries int
	// Log receives the line that says io_uring was refused.
	Log zerolog.Logger
	// Wrap, when set, wraps each shard's writer (fault injection, power-loss simulation in
	// tests). An error from it is treated like the failure to set the writer up (NewWriters
	// then closes w): one wrapping errors.ErrUnsupported refuses io_uring as a kernel without
	// it would.
	Wrap func(shard int, w Writer, f *File) (Writer, error)
}

// NewWriters returns the writers of n shards as o.IO asks. Where io_uring is refused, IOAuto
// logs it once and gives every shard a pwrite writer, and IOUring fails with an error wrapping
// errors.ErrUnsupported. On error, the writers made so far are closed.
func (f *File) NewWriters(n int, o WriterOptions) ([]Writer, error) {
	ws := make([]Writer, 0, n)
	fail := func(err error) ([]Writer, error) {
		for _, w := range ws {
			w.Close()
		}
		return nil, err
	}
	uring := o.IO == IOUring || (o.IO == IOAuto && o.BatchEntries >= AutoUringBatch)
	for i := range n {
		if uring {
			w, err := f.uringShard(i, o)
			if err == nil {
				ws = append(ws, w)
				continue
			}
			if o.IO == IOUring {
				if !errors.Is(err, errors.ErrUnsupported) {
					err = errors.Join(errors.ErrUnsupported, err)
				}
				return fail(fmt.Errorf("disk: io_uring required: %w", err))
			}
			o.Log.Warn().Err(err).Msg("feox: io_uring is not usable here; writing with pwrite")
			uring = false // the other shards do not try again
		}
		p := f.PwriteWriter()
		w, err := f.wrap(i, p, o)
		if err != nil {
			p.Close()
			return fail(err)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// uringShard returns shard i's io_uring writer, wrapped; under IOAuto, small batches go
// through pwrite beside it.
func (f *File) uringShard(i int, o WriterOptions) (Writer, error) {
	depth := o.QueueDepth
	if depth == 0 {
		depth = DefaultQueueDepth
	}
	u, err := f.UringWriter(uint32(depth), o.SQPoll)
	if err != nil {
		return nil, err
	}
	if o.IO == IOAuto {
		u = &splitWriter{large: u, small: f.PwriteWriter()}
	}
	w, err := f.wrap(i, u, o)
	if err != nil {
		u.Close()
		return nil, err
	}
	return w, nil
}

// wrap applies o.Wrap, if any.
func (f *File) wrap(i int, w Writer, o WriterOptions) (Writer, error) {
	if o.Wrap == nil {
		return w, nil
	}
	return o.Wrap(i, w, f)
}

// NewReader returns the Reader of values that left memory: through an io_uring of its own with
// IOUring (an error wrapping errors.ErrUnsupported where the kernel refuses it), pread
// otherwise; a single read gains nothing from a ring.
func (f *File) NewReader(io IO) (Reader, error) {
	if io != IOUring {
		return f.PreadReader(), nil
	}
	r, err := f.UringReader(readRingEntries)
	if err != nil {
		return nil, fmt.Errorf("disk: io_uring required: %w", errors.Join(errors.ErrUnsupported, err))
	}
	return r, nil
}

// splitWriter sends batches under SmallBatchBytes through small and the others through large.
// Each batch keeps its own sync, so consecutive batches may take either way.
type splitWriter struct {
	large, small Writer
}

func (s *splitWriter) Submit(ws []Write) (Pending, error) {
	n := 0
	for _, w := range ws {
		n += size(w.Bufs)
	}
	if n < SmallBatchBytes {
		return s.small.Submit(ws)
	}
	return s.large.Submit(ws)
}

func (s *splitWriter) Close() error { return errors.Join(s.large.Close(), s.small.Close()) }

// Name names the writer of the large batches, which carry most of the bytes.
func (s *splitWriter) Name() string { return s.large.Name() }
