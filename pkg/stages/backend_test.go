package stages

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// errInjected is the error the recording backend returns for a batch it was told to fail.
var errInjected = errors.New("test backend: injected failure")

// failPoint says which backend call an injected failure hits.
type failPoint int

const (
	failAtSubmit failPoint = iota
	failAtComplete
)

func (f failPoint) String() string {
	if f == failAtSubmit {
		return "submit"
	}
	return "complete"
}

// batchRec is a copy of a batch as the backend saw it.
type batchRec struct {
	Seq     uint64
	Bytes   int
	Entries []Entry
}

// recBackend is one shard's test backend. It records every batch it is asked to write
// (submitted) and every batch it made durable (durable), in call order, and checks the
// Backend contract on the way. It can be made slow (a delay per Complete, a gate that lets
// batches into Submit one token at a time, or a hold function Submit calls first) and can
// fail batches (the next N, or all of them until healed).
type recBackend struct {
	shard int

	mu        sync.Mutex
	cond      sync.Cond // signalled when the gate opens or gets tokens
	submitted []batchRec
	durable   []batchRec
	failed    []batchRec
	bySeq     map[string][]uint64 // durable versions of each key, in durable order
	inflight  []uint64            // Seq of batches submitted and not completed yet
	lastSeq   uint64              // Seq of the last batch submitted
	problems  []string            // contract violations seen

	gated   bool // Submit waits for a token while gated
	tokens  int
	atGate  int // Submit calls waiting at the gate
	failAt  failPoint
	failN   int  // fail this many more batches
	failing bool // fail every batch until healed
	delay   time.Duration
	hold    func() // if set, Submit calls it before anything else

	durableN atomic.Int64 // entries made durable, counted before Complete returns
}

// record copies what the backend needs from b: the pipeline recycles batches.
func record(b *Batch) batchRec {
	return batchRec{Seq: b.Seq, Bytes: b.Bytes, Entries: append([]Entry(nil), b.Entries...)}
}

func (r *recBackend) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("shard %d: ", r.shard)+fmt.Sprintf(format, args...))
}

// takeFailure reports whether the current batch must fail at point at, consuming one of
// the next-N failures. The caller holds mu.
func (r *recBackend) takeFailure(at failPoint) bool {
	if r.failAt != at {
		return false
	}
	if r.failing {
		return true
	}
	if r.failN > 0 {
		r.failN--
		return true
	}
	return false
}

// Submit records b, waits at the gate, and fails if told to.
func (r *recBackend) Submit(b *Batch) error {
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		hold()
	}
	rec := record(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case len(b.Entries) == 0 && len(b.Dropped) == 0:
		r.problem("empty batch %d submitted", b.Seq)
	case b.Shard != r.shard:
		r.problem("batch %d of shard %d submitted", b.Seq, b.Shard)
	case b.Seq <= r.lastSeq:
		r.problem("batch %d submitted after batch %d", b.Seq, r.lastSeq)
	}
	bytes := 0
	for i := range b.Entries {
		bytes += b.Entries[i].size()
		if !b.Entries[i].isWrite() {
			r.problem("control item in batch %d", b.Seq)
		}
	}
	if bytes != b.Bytes {
		r.problem("batch %d: Bytes = %d, entries add up to %d", b.Seq, b.Bytes, bytes)
	}
	r.lastSeq = b.Seq
	r.submitted = append(r.submitted, rec)
	r.atGate++
	for r.gated && r.tokens == 0 {
		r.cond.Wait()
	}
	r.atGate--
	if r.gated {
		r.tokens--
	}
	if r.takeFailure(failAtSubmit) {
		r.failed = append(r.failed, rec)
		return fmt.Errorf("cannot write batch %d: %w", b.Seq, errInjected)
	}
	r.inflight = append(r.inflight, b.Seq)
	return nil
}

// Complete sleeps for the delay, checks the batch order and makes b durable unless told to
// fail.
func (r *recBackend) Complete(b *Batch) error {
	r.mu.Lock()
	d := r.delay
	r.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	rec := record(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inflight) == 0 || r.inflight[0] != b.Seq {
		r.problem("Complete(batch %d), want the oldest submitted batch of %v", b.Seq, r.inflight)
	} else {
		r.inflight = r.inflight[1:]
	}
	if r.takeFailure(failAtComplete) {
		r.failed = append(r.failed, rec)
		return fmt.Errorf("cannot sync batch %d: %w", b.Seq, errInjected)
	}
	r.durable = append(r.durable, rec)
	if r.bySeq == nil {
		r.bySeq = make(map[string][]uint64)
	}
	for _, e := range rec.Entries {
		r.bySeq[e.Key] = append(r.bySeq[e.Key], e.Seq)
	}
	r.durableN.Add(int64(len(rec.Entries))) // before the pipeline may reuse the batch
	return nil
}

// seqsOf returns the durable versions of key, in durable order.
func (r *recBackend) seqsOf(key string) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.bySeq[key]...)
}

// batches returns copies of the submitted, durable and failed records.
func (r *recBackend) batches() (submitted, durable, failed []batchRec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]batchRec(nil), r.submitted...), append([]batchRec(nil), r.durable...),
		append([]batchRec(nil), r.failed...)
}

// waiting returns the number of Submit calls waiting at the gate.
func (r *recBackend) waiting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.atGate
}

// recorder holds the recording backends of every shard of a pipeline.
type recorder struct {
	be []*recBackend
}

func newRecorder(shards int) *recorder {
	r := &recorder{}
	for i := range shards {
		b := &recBackend{shard: i}
		b.cond.L = &b.mu
		r.be = append(r.be, b)
	}
	return r
}

// backend is the Options.Backend of a pipeline using r.
func (r *recorder) backend(shard int) Backend { return r.be[shard] }

// each runs f on every shard's backend with its lock held.
func (r *recorder) each(f func(b *recBackend)) {
	for _, b := range r.be {
		b.mu.Lock()
		f(b)
		b.cond.Broadcast()
		b.mu.Unlock()
	}
}

// closeGate makes every Submit wait for a token.
func (r *recorder) closeGate() { r.each(func(b *recBackend) { b.gated = true }) }

// openGate lets every batch through.
func (r *recorder) openGate() { r.each(func(b *recBackend) { b.gated, b.tokens = false, 0 }) }

// setFailing makes every batch fail at point at until heal.
func (r *recorder) setFailing(at failPoint) {
	r.each(func(b *recBackend) { b.failAt, b.failing = at, true })
}

// failNext makes the next n batches of every shard fail at point at.
func (r *recorder) failNext(at failPoint, n int) {
	r.each(func(b *recBackend) { b.failAt, b.failN = at, n })
}

// heal stops all failures.
func (r *recorder) heal() { r.each(func(b *recBackend) { b.failing, b.failN = false, 0 }) }

// durableN is the number of entries made durable over all shards.
func (r *recorder) durableN() int64 {
	var n int64
	for _, b := range r.be {
		n += b.durableN.Load()
	}
	return n
}

// durableSeqs returns every durable version of every key, in durable order, and checks that
// each key was written by its own shard only.
func (r *recorder) durableSeqs(t *testing.T, p *Pipeline) map[string][]uint64 {
	t.Helper()
	out := make(map[string][]uint64)
	for i, b := range r.be {
		_, durable, _ := b.batches()
		for _, rec := range durable {
			for _, e := range rec.Entries {
				if s := shardOf(p, e.Key); s != i {
					t.Errorf("key %q (shard %d) written by shard %d", e.Key, s, i)
				}
				out[e.Key] = append(out[e.Key], e.Seq)
			}
		}
	}
	return out
}

// check reports every contract violation the backends saw, and any batch submitted but
// never completed once the pipeline is closed.
func (r *recorder) check(t *testing.T, closed bool) {
	t.Helper()
	for _, b := range r.be {
		b.mu.Lock()
		for _, p := range b.problems {
			t.Error(p)
		}
		if closed && len(b.inflight) > 0 {
			t.Errorf("shard %d: batches %v submitted and never completed", b.shard, b.inflight)
		}
		b.mu.Unlock()
	}
}

// newPipeline starts a pipeline on rec's backends; the test's cleanup opens the gates, heals
// the backends and closes the pipeline.
func newPipeline(t *testing.T, rec *recorder, opts Options) *Pipeline {
	t.Helper()
	opts.Backend = rec.backend
	if opts.Shards == 0 {
		opts.Shards = len(rec.be)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		rec.openGate()
		rec.heal()
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// shardOf returns the shard of key.
func shardOf(p *Pipeline, key string) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return p.ShardOf(h.Sum64())
}

// keyOn returns the i-th key of prefix that lands on shard.
func keyOn(p *Pipeline, shard int, prefix string, i int) string {
	for j := 0; ; j++ {
		k := fmt.Sprintf("%s-%d-%d", prefix, i, j)
		if shardOf(p, k) == shard {
			return k
		}
	}
}

// waitFor polls cond until it holds; it fails the test if that takes unreasonably long.
// The deadline only guards against hangs: no result depends on how long anything took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// testValue is the value of the tests' Put entries.
const testValue = "value-of-forty-bytes-0123456789abcdefghi"

// shardCounts returns the shard counts every concurrent test runs with.
func shardCounts() []int { return []int{1, 2, 8} }
