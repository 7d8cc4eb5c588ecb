package stages

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/pkg/ring"
)

// shard is one owner goroutine's slice of the pipeline: its ring, its four stages and the
// channels between them.
type shard struct {
	p       *Pipeline
	id      int
	ring    *ring.MPSC[Entry]
	backend Backend

	free       chan *Batch // batches ready for reuse; Depth of them circulate
	toCoalesce chan *Batch
	toSubmit   chan *Batch
	toComplete chan *Batch
	final      chan error // the outcome of the last batch, formed when the ring is closed

	timer      *time.Timer // closes a batch FlushInterval after it opened
	retryTimer *time.Timer // wakes the owner to retry failed entries

	// pending holds entries of failed batches until the owner puts them into a new batch.
	mu       sync.Mutex
	pending  []Entry
	retryAt  time.Time
	backoff  time.Duration
	lastErr  error
	failGen  uint64 // failures seen by the complete stage
	batchSeq uint64 // owner only
	cur      *Batch // the open batch, nil if none; owner only
	// flushing counts the batches with flush barriers between the batch and complete
	// stages: the owner holds the next such batch back while one is (group commit).
	flushing atomic.Int32

	newest, oldest map[string]int // coalesce stage scratch

	counters
}

// counters are a shard's statistics; each is written by one stage goroutine and read by
// Stats.
type counters struct {
	accepted, batches, entries, maxBatch, coalesced, durable atomic.Int64
	errors, barriers, highWater                              atomic.Int64
	batchNs, coalesceNs, submitNs, completeNs                atomic.Int64
}

func newShard(p *Pipeline, id int, be Backend) *shard {
	o := &p.opts
	sh := &shard{
		p:          p,
		id:         id,
		ring:       ring.New[Entry](o.RingSize),
		backend:    be,
		free:       make(chan *Batch, o.Depth),
		toCoalesce: make(chan *Batch, o.Depth),
		toSubmit:   make(chan *Batch, o.Depth),
		toComplete: make(chan *Batch, o.Depth),
		final:      make(chan error, 1),
		newest:     make(map[string]int),
		oldest:     make(map[string]int),
	}
	for range o.Depth {
		sh.free <- &Batch{Shard: id, Entries: make([]Entry, 0, min(o.BatchEntries, 4096))}
	}
	sh.timer = time.AfterFunc(time.Hour, sh.wake)
	sh.timer.Stop()
	sh.retryTimer = time.AfterFunc(time.Hour, sh.wake)
	sh.retryTimer.Stop()
	return sh
}

// wake makes the owner look at its open batch again (a timer fired, or a flush became
// durable); a full ring needs no wake-up.
func (sh *shard) wake() { sh.ring.TryPush(Entry{ctl: control{tick: true}}) }

// runBatch is the shard's owner: it drains the ring into batches that close at BatchEntries,
// BatchBytes, FlushInterval or a flush barrier, whichever comes first.
func (sh *shard) runBatch() {
	defer sh.p.wg.Done()
	defer close(sh.toCoalesce)
	o := &sh.p.opts
	buf := make([]Entry, 0, popMax)
	for {
		if !sh.ring.Wait() {
			// Closed and drained: ship what is left behind a final barrier.
			sh.open(true)
			sh.cur.barriers = append(sh.cur.barriers, &barrier{done: sh.final})
			sh.ship()
			return
		}
		// The items waiting when the owner looks: never more than the ring holds.
		if n := int64(sh.ring.Len()); n > sh.highWater.Load() {
			sh.highWater.Store(n) // only this goroutine writes highWater
		}
		buf = sh.ring.PopBatch(buf[:0], popMax)
		for i := range buf {
			e := &buf[i]
			switch {
			case e.isWrite():
				sh.accepted.Add(1)
				sh.open(false)
				sh.cur.Entries = append(sh.cur.Entries, *e)
				sh.cur.Bytes += e.size()
				if len(sh.cur.Entries) >= o.BatchEntries || sh.cur.Bytes >= o.BatchBytes {
					sh.ship()
				}
			case e.ctl.barrier != nil:
				sh.open(true)
				sh.cur.barriers = append(sh.cur.barriers, e.ctl.barrier)
				sh.barriers.Add(1)
			case e.ctl.tick:
				if sh.cur == nil && sh.retryDue() {
					sh.open(true)
					sh.ship()
				}
			}
		}
		clear(buf) // drop references to values already copied into the batch
		// Group commit: a batch that carries flush barriers ships at once unless
		// flushBatches others are on their way to durability; then it gathers the flushes (and
		// writes) that arrive meanwhile and ships when one of those is durable, so that
		// concurrent flushes share syncs and a lone flush never waits. The complete stage wakes
		// the owner for it.
		if sh.cur != nil && (time.Since(sh.cur.opened) >= o.FlushInterval ||
			(len(sh.cur.barriers) > 0 && sh.flushing.Load() < flushBatches)) {
			sh.ship()
		}
		if len(buf) < popMax/8 {
			runtime.Gosched() // consumer pacing (package ring): let producers fill whole lines
		}
	}
}

// open starts a batch unless one is open. Failed entries waiting for a retry join it, all of
// them (coalescing then keeps one version per key, which bounds what a long outage can pile
// up); unless force is set (a flush or Close asks), the owner first waits out the retry
// backoff, and meanwhile the ring fills and producers wait. Owner only.
func (sh *shard) open(force bool) {
	if sh.cur != nil {
		return
	}
	cur := <-sh.free // all Depth batches in flight: wait, and let the ring fill (backpressure)
	if d := sh.retryWait(); d > 0 && !force {
		time.Sleep(d)
	}
	cur.reset()
	sh.batchSeq++
	cur.Seq = sh.batchSeq
	cur.opened = time.Now()
	sh.mu.Lock()
	cur.failGen = sh.failGen
	for i := range sh.pending {
		cur.Bytes += sh.pending[i].size()
	}
	cur.Entries = append(cur.Entries, sh.pending...)
	clear(sh.pending)
	sh.pending = sh.pending[:0]
	sh.mu.Unlock()
	sh.timer.Reset(sh.p.opts.FlushInterval)
	sh.cur = cur
}

// flushBatches is the number of batches carrying flushes that may be on their way to
// durability at once: two, so that one is written while the other syncs (a backend keeps two
// batches in flight), and the flushes that arrive meanwhile gather in the next.
const flushBatches = 2

// ship hands the open batch to the coalesce stage. Owner only.
func (sh *shard) ship() {
	if len(sh.cur.barriers) > 0 {
		sh.flushing.Add(1)
	}
	sh.timer.Stop()
	sh.batchNs.Add(int64(time.Since(sh.cur.opened)))
	sh.toCoalesce <- sh.cur
	sh.cur = nil
}

// retryDue reports whether failed entries wait and their backoff has passed.
func (sh *shard) retryDue() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return len(sh.pending) > 0 && !time.Now().Before(sh.retryAt)
}

// retryWait returns how long failed entries must still wait before a retry, 0 if none wait.
func (sh *shard) retryWait() time.Duration {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.pending) == 0 {
		return 0
	}
	return max(time.Until(sh.retryAt), 0)
}

// runCoalesce keeps only the newest version of each key of a batch.
func (sh *shard) runCoalesce() {
	defer sh.p.wg.Done()
	defer close(sh.toSubmit)
	for b := range sh.toCoalesce {
		t0 := time.Now()
		if !sh.p.opts.DisableCoalesce {
			sh.coalesced.Add(int64(coalesce(b, sh.newest, sh.oldest)))
		}
		sh.coalesceNs.Add(int64(time.Since(t0)))
		sh.toSubmit <- b
	}
}

// coalesce rewrites b.Entries to the newest version (largest Seq) of each key, in the order of
// their first appearance, and drops a key entirely when its newest version is a Delete and its
// oldest version in the batch created it (nothing of it reached disk). It returns the number of
// entries dropped. newest and oldest are scratch space; oldest gets only keys seen twice.
func coalesce(b *Batch, newest, oldest map[string]int) int {
	clear(newest)
	clear(oldest)
	for i := range b.Entries {
		e := &b.Entries[i]
		j, seen := newest[e.Key]
		if !seen {
			newest[e.Key] = i
			continue
		}
		if _, ok := oldest[e.Key]; !ok {
			oldest[e.Key] = j
		}
		if e.Seq > b.Entries[j].Seq {
			newest[e.Key] = i
		}
		if e.Seq < b.Entries[oldest[e.Key]].Seq {
			oldest[e.Key] = i
		}
	}
	if len(newest) == len(b.Entries) {
		return 0 // every key once: nothing to do
	}
	// Decide the create-then-delete drops before compacting: compaction overwrites entries
	// at lower indexes, so oldest's indexes are only valid until then. -1 marks a drop.
	for k, o := range oldest {
		if b.Entries[newest[k]].Kind == Delete && b.Entries[o].Fresh {
			oldest[k] = -1
		}
	}
	// Emit each key's newest version at the key's first appearance. Every read is at an index
	// at or after the one being written, so compacting in place is safe.
	out := b.Entries[:0]
	bytes := 0
	for i := range b.Entries {
		k := b.Entries[i].Key
		j, ok := newest[k]
		if !ok {
			continue // emitted already
		}
		delete(newest, k)
		e := b.Entries[j]
		if o, ok := oldest[k]; ok && o == -1 {
			b.Dropped = append(b.Dropped, e)
			continue
		}
		out = append(out, e)
		bytes += e.size()
	}
	dropped := len(b.Entries) - len(out)
	clear(b.Entries[len(out):])
	b.Entries = out
	b.Bytes = bytes
	return dropped
}

// runSubmit hands batches to the backend.
func (sh *shard) runSubmit() {
	defer sh.p.wg.Done()
	defer close(sh.toComplete)
	for b := range sh.toSubmit {
		t0 := time.Now()
		if b.settles() {
			b.err = sh.backend.Submit(b)
		}
		sh.submitNs.Add(int64(time.Since(t0)))
		sh.toComplete <- b
	}
}

// runComplete waits for each batch to become durable, reports it, answers the flush barriers
// behind it and recycles it. A failed batch's entries go back to the owner for a retry.
func (sh *shard) runComplete() {
	defer sh.p.wg.Done()
	for b := range sh.toComplete {
		t0 := time.Now()
		if b.err == nil && b.settles() {
			b.err = sh.backend.Complete(b)
		}
		var barErr error
		if b.err != nil {
			barErr = sh.fail(b)
		} else {
			if b.settles() {
				if len(b.Entries) > 0 {
					sh.batches.Add(1)
				}
				sh.entries.Add(int64(len(b.Entries)))
				if n := int64(len(b.Entries)); n > sh.maxBatch.Load() {
					sh.maxBatch.Store(n) // only this goroutine writes maxBatch
				}
				sh.durable.Add(int64(len(b.Entries)))
				if sh.p.opts.OnDurable != nil {
					sh.p.opts.OnDurable(b)
				}
				sh.healed()
			}
			sh.mu.Lock()
			if sh.failGen != b.failGen {
				// An earlier batch failed after this one opened: its entries are not covered.
				barErr = sh.lastErr
			}
			sh.mu.Unlock()
		}
		// The batch's flushes are done: the owner may ship the next batch of flushes, and it
		// knows before any of these callers can flush again, so a lone caller never waits.
		if len(b.barriers) > 0 && sh.flushing.Add(-1) < flushBatches {
			sh.wake() // a batch of flushes may be waiting for this one
		}
		for _, bar := range b.barriers {
			bar.done <- barErr
		}
		sh.completeNs.Add(int64(time.Since(t0)))
		sh.free <- b
	}
}

// fail records a failed batch: its entries wait in pending for a retry after a backoff.
func (sh *shard) fail(b *Batch) error {
	sh.errors.Add(1)
	sh.p.opts.Logger.Warn().Err(b.err).Int("shard", sh.id).Int("entries", len(b.Entries)).
		Msg("stages: batch failed; entries kept for retry")
	sh.mu.Lock()
	// The failed write may have reached the disk in part, so a retried version no longer
	// proves that nothing of its key is there: clear Fresh. Dropped deletes are retried as
	// real deletes for the same reason.
	for _, e := range b.Entries {
		e.Fresh, e.Retry = false, true
		sh.pending = append(sh.pending, e)
	}
	for _, e := range b.Dropped {
		e.Fresh, e.Retry = false, true
		sh.pending = append(sh.pending, e)
	}
	sh.backoff = min(max(2*sh.backoff, retryMin), retryMax)
	sh.retryAt = time.Now().Add(sh.backoff)
	sh.lastErr = b.err
	sh.failGen++
	backoff := sh.backoff
	sh.mu.Unlock()
	sh.retryTimer.Reset(backoff)
	return b.err
}

// healed resets the backoff after a successful batch and, if failed entries still wait,
// wakes the owner to retry them now.
func (sh *shard) healed() {
	sh.mu.Lock()
	sh.backoff = 0
	sh.retryAt = time.Time{}
	waiting := len(sh.pending) > 0
	sh.mu.Unlock()
	if waiting {
		sh.retryTimer.Reset(0)
	}
}
