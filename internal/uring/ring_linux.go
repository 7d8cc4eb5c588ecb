//go:build linux

package uring

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: a submission ring, a completion ring and the file
// descriptor that owns them.
//
// A Ring is not safe for concurrent use. It is meant to be owned by one goroutine (a shard's
// write pipeline); another goroutine may take it over only through a happens-before edge such
// as a channel send. The goroutine need not be locked to its OS thread.
type Ring struct {
	fd       int
	features uint32
	sqpoll   bool

	sqMem, cqMem, sqeMem []byte // the mappings; cqMem is nil when one mapping holds both rings

	sqHead    *atomic.Uint32 // entries consumed by the kernel; written by the kernel
	sqTail    *atomic.Uint32 // entries published to the kernel; written by us
	sqFlags   *atomic.Uint32 // IORING_SQ_* flags; written by the kernel
	sqMask    uint32
	sqEntries uint32
	sqes      []SQE

	cqHead    *atomic.Uint32 // entries reaped; written by us
	cqTail    *atomic.Uint32 // entries posted; written by the kernel
	cqMask    uint32
	cqEntries uint32
	cqes      []CQE

	tail      uint32 // entries prepared: the SQ tail we will publish
	published uint32 // the SQ tail last published
	head      uint32 // entries reaped: the CQ head we publish

	userOut int   // entries prepared through NextSQE whose completion is not in stash yet
	stash   []CQE // reaped completions of NextSQE requests, not yet returned by Reap

	ops [4]uint64 // bit op is set when the kernel supports opcode op

	batches []*Batch // by id
	free    []uint32 // ids of batches not in use

	readDone bool   // the completion of ReadAt's current request has been reaped
	readRes  int32  // and this was its result
	readBuf  []byte // the buffer of ReadAt's request in flight, kept reachable until it completes

	stats Stats
	err   error // set once the Ring is broken or closed; every later call returns it
}

// Close waits for every submitted request to complete, then releases the ring. Entries
// prepared with NextSQE but never submitted are dropped without running. Completions Close
// reaps stay in the batches they belong to, so a batch submitted before Close still reports
// its real outcome from CompleteBatch; completions of NextSQE requests are discarded.
//
// Waiting is what makes Close safe with requests in flight: the kernel never touches a buffer
// after Close returns, so the buffers may be reused or freed. File reads and writes always
// complete, so the wait is bounded by the device. After Close every method returns ErrClosed.
func (r *Ring) Close() error {
	if r.err == ErrClosed {
		return ErrClosed
	}
	var werr error
	for {
		r.drain()
		n := r.inKernel()
		if n == 0 {
			break
		}
		if err := r.await(n); err != nil {
			werr = err
			break
		}
	}
	r.stash = nil
	r.err = ErrClosed
	return errors.Join(werr, r.release())
}

// Stats returns the Ring's counters.
func (r *Ring) Stats() Stats {
	return r.stats
}

// Supports reports whether the kernel supports op, as reported by IORING_REGISTER_PROBE
// when the Ring was created.
func (r *Ring) Supports(op Op) bool {
	return r.ops[op/64]&(1<<(op%64)) != 0
}

// NextSQE returns a free submission queue entry, zeroed, for the caller to fill with a Prep
// method and then submit with Submit or Wait. It returns ErrRingFull when the submission ring
// is full or when as many requests as the completion ring holds are prepared or awaiting
// reaping; NextSQE never overwrites an entry the kernel has not consumed, and the completion
// ring never overflows.
//
// Every request prepared through NextSQE produces one CQE, returned by Reap. The buffers it
// refers to must stay reachable and unmodified (unread, for reads) until then.
func (r *Ring) NextSQE() (*SQE, error) {
	if r.err != nil {
		return nil, r.err
	}
	s, ok := r.next()
	if !ok {
		return nil, ErrRingFull
	}
	r.userOut++
	return s, nil
}

// next takes the next submission entry, zeroed, or reports false when none may be taken.
func (r *Ring) next() (*SQE, bool) {
	// Acquire (SQ head): the kernel's reads of the entries below head happen before we reuse their slots; atomic.Load is sequentially consistent, so it acquires.
	if r.tail-r.sqHead.Load() >= r.sqEntries || r.tail-r.head >= r.cqEntries {
		return nil, false
	}
	s := &r.sqes[r.tail&r.sqMask]
	*s = SQE{}
	r.tail++
	return s, true
}

// Submit hands every prepared entry to the kernel with one io_uring_enter (more only when the
// kernel takes fewer, or asks to retry with EAGAIN or EBUSY) and returns how many it handed
// over. With SQPoll it enters the kernel only to wake a sleeping poll thread.
func (r *Ring) Submit() (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := r.tail - r.published
	if err := r.flush(0); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Wait submits every prepared entry and blocks until at least min completions of NextSQE
// requests are ready for Reap, doing both in one io_uring_enter when it can. It returns
// ErrWaitTooMany when fewer than min such requests are outstanding.
func (r *Ring) Wait(min int) error {
	if r.err != nil {
		return r.err
	}
	if min > len(r.stash)+r.userOut {
		return ErrWaitTooMany
	}
	for {
		r.drain()
		need := min - len(r.stash)
		if need <= 0 {
			return r.flush(0)
		}
		if err := r.flush(uint32(need)); err != nil {
			return err
		}
	}
}

// Reap appends the completions of NextSQE requests that are ready to dst and returns it. It
// never blocks or enters the kernel. Completions of batches and ReadAt are consumed by those.
func (r *Ring) Reap(dst []CQE) []CQE {
	if r.err == ErrClosed {
		return dst
	}
	r.drain()
	dst = append(dst, r.stash...)
	r.stash = r.stash[:0]
	return dst
}

// publish makes the prepared entries visible to the kernel.
func (r *Ring) publish() {
	if r.published == r.tail {
		return
	}
	if r.sqpoll {
		r.stats.Submitted += uint64(r.tail - r.published)
	}
	// Release (SQ tail): our writes of the entries below tail happen before the kernel sees the new tail; atomic.Store is sequentially consistent, so it releases.
	r.sqTail.Store(r.tail)
	r.published = r.tail
}

// inKernel returns the number of requests the kernel holds: handed over (for SQPoll,
// published) and not yet reaped. Each produces exactly one completion.
func (r *Ring) inKernel() uint32 {
	if r.sqpoll {
		return r.published - r.head
	}
	// Acquire (SQ head): see next; here it only bounds how many completions may be awaited.
	return r.sqHead.Load() - r.head
}

// flush publishes and submits every prepared entry and, when minComplete > 0, waits in the
// same io_uring_enter until minComplete completions are posted. The wait may end early (on a
// signal); callers reap and re-check what they wait for.
func (r *Ring) flush(minComplete uint32) error {
	r.publish()
	retries := 0
	for {
		var toSubmit, flags uint32
		if r.sqpoll {
			flags = r.wakeFlag()
		} else {
			// Acquire (SQ head): see next.
			toSubmit = r.tail - r.sqHead.Load()
		}
		if minComplete > 0 {
			flags |= enterGetEvents
		}
		if toSubmit == 0 && flags == 0 {
			return nil
		}
		n, err := r.enter(toSubmit, minComplete, flags)
		switch {
		case err == nil && uint32(n) >= toSubmit:
			return nil // everything submitted; the kernel also ran the wait, if one was asked
		case err == nil && n > 0:
			continue // the kernel took part of the entries and skipped the wait: go on
		case err == nil:
			err = unix.EAGAIN // nothing taken and no error: treat as a request to retry
		case !retryable(err):
			return err
		}
		if err := r.backoff(&retries, err); err != nil {
			return err
		}
	}
}

// await blocks until n completions are posted or the wait is cut short, submitting nothing.
func (r *Ring) await(n uint32) error {
	retries := 0
	for {
		_, err := r.enter(0, n, enterGetEvents|r.wakeFlag())
		if err == nil || !retryable(err) {
			return err
		}
		if err := r.backoff(&retries, err); err != nil {
			return err
		}
	}
}

// wakeFlag returns IORING_ENTER_SQ_WAKEUP when the SQPoll thread sleeps, else 0.
func (r *Ring) wakeFlag() uint32 {
	if !r.sqpoll {
		return 0
	}
	// Full barrier (SQ flags): the thread sets NEED_WAKEUP and then re-reads the tail, so our tail store must be ordered before this load; sequentially consistent atomics order a store before a later load, which release/acquire alone would not.
	if r.sqFlags.Load()&sqNeedWakeup != 0 {
		return enterSQWakeup
	}
	return 0
}

// retryable reports whether an io_uring_enter error is the kernel asking to retry later.
func retryable(err error) bool {
	return errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EBUSY)
}

// maxRetries bounds the retries of an EAGAIN or EBUSY that no completion can relieve.
const maxRetries = 64

// backoff handles an EAGAIN or EBUSY from io_uring_enter, which means the kernel is short of
// request memory or has completions it cannot post. With requests in the kernel it waits for
// one and reaps, which frees both; otherwise it yields and lets the caller retry, at most
// maxRetries times before the Ring is declared broken.
func (r *Ring) backoff(retries *int, cause error) error {
	r.drain()
	if n := r.inKernel(); n > 0 {
		_, err := r.enter(0, 1, enterGetEvents|r.wakeFlag())
		if err != nil && !retryable(err) {
			return err
		}
		r.drain()
		return nil
	}
	if *retries++; *retries > maxRetries {
		r.err = fmt.Errorf("%w: io_uring_enter: %w", ErrBroken, cause)
		return r.err
	}
	runtime.Gosched()
	return nil
}

// enter calls io_uring_enter, retrying when a signal interrupts it before it submitted
// anything (the kernel reports a submission count in preference to an interrupted wait).
// EAGAIN and EBUSY are returned for the caller to handle; other errors break the Ring.
//
// It uses unix.Syscall rather than RawSyscall even for pure submissions: a submission may
// copy a whole batch into the page cache inline, and the scheduler must be able to hand off
// the P meanwhile.
func (r *Ring) enter(toSubmit, minComplete, flags uint32) (int, error) {
	for {
		r.stats.Enters++
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
		switch errno {
		case 0:
			if !r.sqpoll {
				r.stats.Submitted += uint64(n)
			}
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN, unix.EBUSY:
			return 0, errno
		}
		r.err = fmt.Errorf("%w: io_uring_enter: %w", ErrBroken, errno)
		return 0, r.err
	}
}

// drain reaps every posted completion, handing batch and ReadAt completions to their owners
// and stashing the others for Reap.
func (r *Ring) drain() {
	if r.cqes == nil {
		return
	}
	for {
		// Acquire (CQ tail): the kernel's writes of the entries below tail happen before we read them; atomic.Load is sequentially consistent, so it acquires.
		tail := r.cqTail.Load()
		if tail == r.head {
			return
		}
		r.stats.Completed += uint64(tail - r.head)
		for ; r.head != tail; r.head++ {
			r.dispatch(r.cqes[r.head&r.cqMask])
		}
		// Release (CQ head): our reads of the reaped entries happen before the kernel may reuse their slots; atomic.Store is sequentially consistent, so it releases.
		r.cqHead.Store(r.head)
	}
}

// dispatch hands one completion to its owner.
func (r *Ring) dispatch(c CQE) {
	if c.UserData&internalBit == 0 {
		r.stash = append(r.stash, c)
		r.userOut--
		return
	}
	id := uint32(c.UserData>>32) &^ (1 << 31)
	if id == readID {
		r.readDone, r.readRes = true, c.Res
		return
	}
	r.completeOp(r.batches[id], uint32(c.UserData), c.Res)
}
