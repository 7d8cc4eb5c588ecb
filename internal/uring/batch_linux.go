//go:build linux

package uring

import (
	"fmt"
	"io"
	"math"
	"slices"
	"syscall"
)

// readID is the batch id in the user data of ReadAt's requests.
const readID = 1<<31 - 1

// Batch is a group of writes submitted by SubmitBatch and not yet completed by
// CompleteBatch. It belongs to the Ring that returned it and is recycled by CompleteBatch:
// the caller must not use it afterwards.
type Batch struct {
	id      uint32
	active  bool    // handed out by SubmitBatch, not yet passed to CompleteBatch
	orphan  bool    // its submission failed: free it once its last completion is reaped
	writes  []Write // the caller's writes, referenced (with their buffers) until completion
	ops     []batchOp
	iov     []Iovec // the iovec arrays of its WRITEV requests, owned by the batch
	pending int     // requests prepared whose completion is not reaped
	err     error   // the error of the lowest-numbered failed request
	errIdx  uint32
}

// batchOp describes the request made of one Write.
type batchOp struct {
	want int32 // bytes to write; 0 when the Write submits nothing
	iov  int32 // index of its first iovec in Batch.iov, or -1 for a single-buffer write
	n    int32 // number of iovecs, or the index of the single non-empty buffer
}

// WriteBatch writes every Write of writes to fd (or to the Write's own Fd) and, if datasync
// is set, then makes them durable as fdatasync(2) of fd would, and returns once all of it has
// completed. It is SubmitBatch
// followed by CompleteBatch, except that the submission and the wait share one
// io_uring_enter when the batch fits the rings.
//
// The writes run in no particular order relative to each other, so writes of one batch
// should not overlap. It is safe to modify writes and their buffers after WriteBatch returns.
func (r *Ring) WriteBatch(fd int, writes []Write, datasync bool) error {
	b, err := r.submitBatch(fd, writes, datasync, true)
	if err != nil {
		return err
	}
	return r.CompleteBatch(b)
}

// SubmitBatch turns writes into requests on fd (on its own Fd for a Write that has one) and
// submits them without waiting: one IORING_OP_WRITE per Write with one non-empty buffer and
// one IORING_OP_WRITEV per Write with several. With datasync, an fdatasync request on fd
// carrying FlagIODrain follows them, so it starts only after every request submitted before
// it has completed (this batch's writes and those of earlier batches still in flight);
// requests submitted after it wait for it in turn.
// A drain rather than a FlagIOLink chain is used because a chain runs its writes one after
// another and cannot span two submissions, while drained writes may run concurrently and a
// batch larger than the rings is split over several io_uring_enter calls.
//
// A batch that fits the rings is submitted with one io_uring_enter; a larger one with as few
// as the ring sizes allow, waiting for completions of earlier requests when the completion
// ring would otherwise overflow.
//
// writes and their buffers must not be modified until CompleteBatch returns; the Batch keeps
// them reachable meanwhile. The caller may submit further batches before completing this one.
func (r *Ring) SubmitBatch(fd int, writes []Write, datasync bool) (*Batch, error) {
	return r.submitBatch(fd, writes, datasync, false)
}

// CompleteBatch waits until every request of b has completed, reaping (and accounting) the
// completions of other requests on the way, and returns the batch's outcome: nil, or the
// error of its lowest-numbered failed request. A request that failed in the kernel yields an
// error wrapping its syscall.Errno (so errors.Is(err, syscall.EIO) works); a write that
// completed short yields one wrapping ErrShortWrite. A failed write's error is a *WriteError
// naming its index in the batch. Either way the batch's data must be considered not durable.
// b is recycled: the caller must not use it again.
//
// Close waits for submitted requests, so CompleteBatch still reports the real outcome of a
// batch submitted before Close; it returns ErrClosed only if Close could not wait.
func (r *Ring) CompleteBatch(b *Batch) error {
	if !b.active {
		panic("uring: CompleteBatch of a batch that is not pending")
	}
	for b.pending > 0 {
		if r.err != nil {
			return r.err // the batch stays referenced by the ring, with its buffers
		}
		r.drain()
		if b.pending == 0 {
			break
		}
		if err := r.flush(uint32(b.pending)); err != nil {
			return err
		}
	}
	err := b.err
	r.freeBatch(b)
	return err
}

// submitBatch implements SubmitBatch; with wait it also waits for the batch in the call that
// submits its last requests.
func (r *Ring) submitBatch(fd int, writes []Write, datasync, wait bool) (*Batch, error) {
	if r.err != nil {
		return nil, r.err
	}
	b := r.newBatch()
	if err := b.plan(writes); err != nil {
		r.freeBatch(b)
		return nil, err
	}
	b.writes = writes
	i, sync := 0, datasync
	for {
		for i < len(writes) && b.ops[i].want == 0 {
			i++
		}
		if i == len(writes) && !sync {
			break
		}
		s, ok := r.next()
		if !ok {
			if err := r.makeRoom(); err != nil {
				return nil, r.abandon(b, err)
			}
			continue
		}
		if i < len(writes) {
			b.prep(s, fd, i)
			i++
		} else {
			s.PrepFsync(fd, FsyncDatasync)
			s.flags = FlagIODrain
			s.userData = b.tag(uint32(len(writes)))
			sync = false
		}
		b.pending++
	}
	var err error
	if wait && b.pending > 0 {
		r.drain() // so that the completions counted by the wait are new ones
		err = r.flush(uint32(b.pending))
	} else {
		err = r.flush(0)
	}
	if err != nil {
		return nil, r.abandon(b, err)
	}
	return b, nil
}

// makeRoom lets next succeed again with as few io_uring_enter calls as possible. It submits
// the prepared entries, which frees a full submission ring, and when the completion ring has
// room for less than a full submission ring it waits in the same call for enough completions
// to make that room: waiting for just one would cost an enter per entry when completions
// trickle in one by one (as buffered writes to one file do from the kernel's workers).
func (r *Ring) makeRoom() error {
	r.drain()
	out := r.tail - r.head // requests prepared or in flight, each owed a completion slot
	var want uint32
	if free := r.cqEntries - out; free < r.sqEntries {
		want = min(r.sqEntries-free, out)
	}
	if r.sqpoll && want == 0 {
		// The submission ring is full and the poll thread has not consumed it yet: wait
		// until it has taken an entry.
		r.publish()
		for {
			_, err := r.enter(0, 0, enterSQWait|r.wakeFlag())
			if err == nil || !retryable(err) {
				return err
			}
		}
	}
	if err := r.flush(want); err != nil {
		return err
	}
	r.drain()
	return nil
}

// abandon handles a batch whose submission failed after some of its requests may have
// reached the kernel: the Ring keeps it, and its buffers, until those complete.
func (r *Ring) abandon(b *Batch, err error) error {
	b.active, b.orphan = false, true
	if b.pending == 0 {
		r.freeBatch(b)
	}
	return err
}

// newBatch takes a batch from the free list, or makes one.
func (r *Ring) newBatch() *Batch {
	var b *Batch
	if n := len(r.free); n > 0 {
		b = r.batches[r.free[n-1]]
		r.free = r.free[:n-1]
	} else {
		b = &Batch{id: uint32(len(r.batches))}
		r.batches = append(r.batches, b)
	}
	b.active = true
	return b
}

// freeBatch drops a completed batch's references and returns it to the free list.
func (r *Ring) freeBatch(b *Batch) {
	b.active, b.orphan = false, false
	b.writes = nil
	clear(b.iov)
	b.iov = b.iov[:0]
	b.ops = b.ops[:0]
	b.pending, b.err, b.errIdx = 0, nil, 0
	r.free = append(r.free, b.id)
}

// plan checks writes and lays out their requests, building every iovec array before any
// address of b.iov is taken, so that the array never moves once the kernel may read it.
func (b *Batch) plan(writes []Write) error {
	if b.id >= readID || uint64(len(writes)) >= 1<<31 {
		return fmt.Errorf("%w: too many batches or writes", ErrInvalid)
	}
	niov := 0
	b.ops = slices.Grow(b.ops[:0], len(writes))
	for i := range writes {
		w := &writes[i]
		if w.Off < 0 {
			return fmt.Errorf("%w: write %d at negative offset %d", ErrInvalid, i, w.Off)
		}
		if w.Fd < 0 || w.Fd > math.MaxInt32 {
			return fmt.Errorf("%w: write %d to descriptor %d", ErrInvalid, i, w.Fd)
		}
		total, bufs, single := 0, 0, 0
		for j, p := range w.Bufs {
			if len(p) > 0 {
				total += len(p)
				bufs++
				single = j
			}
		}
		switch {
		case bufs > maxIovecs:
			return fmt.Errorf("%w: write %d has %d buffers, at most %d", ErrInvalid, i, bufs, maxIovecs)
		case total > maxRW:
			return fmt.Errorf("%w: write %d has %d bytes, at most %d", ErrInvalid, i, total, maxRW)
		case bufs > 1:
			b.ops = append(b.ops, batchOp{want: int32(total), iov: int32(niov), n: int32(bufs)})
			niov += bufs
		default:
			b.ops = append(b.ops, batchOp{want: int32(total), iov: -1, n: int32(single)})
		}
	}
	b.iov = slices.Grow(b.iov[:0], niov)
	for i, op := range b.ops {
		if op.iov < 0 {
			continue
		}
		for _, p := range writes[i].Bufs {
			if len(p) > 0 {
				b.iov = append(b.iov, Iovec{Base: &p[0], Len: uint(len(p))})
			}
		}
	}
	return nil
}

// prep fills s with the request of write i, on the write's own descriptor if it has one and
// on the batch's fd otherwise.
func (b *Batch) prep(s *SQE, fd, i int) {
	w, op := &b.writes[i], b.ops[i]
	if w.Fd != 0 {
		fd = w.Fd
	}
	if op.iov < 0 {
		s.PrepWrite(fd, w.Bufs[op.n], w.Off)
	} else {
		s.PrepWritev(fd, b.iov[op.iov:op.iov+op.n], w.Off)
	}
	s.userData = b.tag(uint32(i))
}

// tag returns the user data of the batch's request number i (len(writes) for the datasync).
func (b *Batch) tag(i uint32) uint64 {
	return internalBit | uint64(b.id)<<32 | uint64(i)
}

// completeOp records the completion of request i of b.
func (r *Ring) completeOp(b *Batch, i uint32, res int32) {
	b.pending--
	var err error
	if int(i) == len(b.writes) {
		if res < 0 {
			err = fmt.Errorf("uring: fdatasync: %w", syscall.Errno(-res))
		}
	} else {
		w, want := &b.writes[i], b.ops[i].want
		switch {
		case res < 0:
			err = &WriteError{Index: int(i), Off: w.Off, Len: int(want), Err: syscall.Errno(-res)}
		case res < want:
			err = &WriteError{Index: int(i), Off: w.Off, Len: int(want), Err: fmt.Errorf("%w: %d bytes written", ErrShortWrite, res)}
		}
	}
	if err != nil && (b.err == nil || i < b.errIdx) {
		b.err, b.errIdx = err, i
	}
	if b.pending == 0 && b.orphan {
		r.freeBatch(b)
	}
}

// ReadAt reads len(buf) bytes of fd at offset off into buf with IORING_OP_READ and waits for
// them, like io.ReaderAt: it returns the number of bytes read and, when that is less than
// len(buf), an error, io.EOF at the end of the file. A short read before the end of the file
// is continued with another request. Completions of other requests are reaped and accounted
// while it waits. It is safe to use buf after ReadAt returns.
func (r *Ring) ReadAt(fd int, buf []byte, off int64) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if off < 0 {
		return 0, fmt.Errorf("%w: read at negative offset %d", ErrInvalid, off)
	}
	n := 0
	for n < len(buf) {
		s, ok := r.next()
		if !ok {
			if err := r.makeRoom(); err != nil {
				return n, err
			}
			continue
		}
		chunk := buf[n:min(len(buf), n+maxRW)]
		s.PrepRead(fd, chunk, off+int64(n))
		s.userData = internalBit | readID<<32
		r.readDone, r.readBuf = false, chunk
		for {
			r.drain()
			if r.readDone {
				break
			}
			if err := r.flush(1); err != nil {
				return n, err // the request may still be in flight: r.readBuf keeps buf reachable
			}
		}
		r.readBuf = nil
		switch res := r.readRes; {
		case res < 0:
			return n, fmt.Errorf("uring: read of %d bytes at offset %d: %w", len(chunk), off+int64(n), syscall.Errno(-res))
		case res == 0:
			return n, io.EOF
		default:
			n += int(res)
		}
	}
	return n, nil
}
