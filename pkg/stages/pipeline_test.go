package stages

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writerKey is key k of writer w. Every key has one writer, which gives it increasing Seqs.
func writerKey(w, k int) string { return fmt.Sprintf("w%02d-k%02d", w, k) }

// checkVersions checks the durable versions of every key against last, the newest Seq
// enqueued for it: they must be increasing and end at last, and with every version kept
// they must be exactly 1..last.
func checkVersions(t *testing.T, got map[string][]uint64, last map[string]uint64, everyVersion bool) {
	t.Helper()
	for key, n := range last {
		seqs := got[key]
		switch {
		case len(seqs) == 0:
			t.Errorf("key %q: no durable version, want up to Seq %d", key, n)
		case !increasing(seqs):
			t.Errorf("key %q: durable Seqs %v are not increasing", key, seqs)
		case seqs[len(seqs)-1] != n:
			t.Errorf("key %q: newest durable Seq = %d, want %d", key, seqs[len(seqs)-1], n)
		case everyVersion && len(seqs) != int(n):
			t.Errorf("key %q: %d durable versions %v, want every one of 1..%d exactly once", key, len(seqs), seqs, n)
		}
	}
	for key := range got {
		if _, ok := last[key]; !ok {
			t.Errorf("key %q durable but never enqueued", key)
		}
	}
}

// increasing reports whether seqs is strictly increasing.
func increasing(seqs []uint64) bool {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return false
		}
	}
	return true
}

// waitForBuffered waits for Stats.Buffered to reach want. Buffered may lag for a moment:
// a timer's wake-up item can sit in a ring until the owner pops it.
func waitForBuffered(t *testing.T, p *Pipeline, want int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("Stats.Buffered to be %d", want), func() bool { return p.Stats().Buffered == want })
}

// checkSettled checks the counters of a pipeline with nothing in flight and no failures.
func checkSettled(t *testing.T, p *Pipeline, accepted int64, everyVersion bool) {
	t.Helper()
	st := p.Stats()
	if st.Accepted != accepted || st.Durable+st.Coalesced != accepted {
		t.Errorf("Stats: Accepted = %d, Durable = %d, Coalesced = %d; want %d accepted, all durable or coalesced",
			st.Accepted, st.Durable, st.Coalesced, accepted)
	}
	waitForBuffered(t, p, 0)
	if everyVersion && st.Coalesced != 0 {
		t.Errorf("Stats: Coalesced = %d with DisableCoalesce", st.Coalesced)
	}
	if st.Errors != 0 || st.Entries != st.Durable {
		t.Errorf("Stats: Errors = %d, Entries = %d, Durable = %d", st.Errors, st.Entries, st.Durable)
	}
}

// TestPipeline_Enqueue_PerKeyOrder ensures that the versions of a key reach the backend in
// increasing Seq order, that nothing is lost across shards (every version exactly once with
// DisableCoalesce, the newest version of every key with coalescing) and that Stats adds up.
func TestPipeline_Enqueue_PerKeyOrder(t *testing.T) {
	const writers, keys, versions = 16, 4, 300
	for _, shards := range shardCounts() {
		for _, disable := range []bool{false, true} {
			t.Run(fmt.Sprintf("shards=%d/coalesce=%t", shards, !disable), func(t *testing.T) {
				rec := newRecorder(shards)
				p := newPipeline(t, rec, Options{RingSize: 16, BatchEntries: 32, DisableCoalesce: disable})
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						for v := range uint64(versions) {
							for k := range keys {
								key := writerKey(w, k)
								e := Entry{Key: key, Value: []byte(testValue), Seq: v + 1}
								if err := p.Enqueue(shardOf(p, key), e); err != nil {
									t.Errorf("Enqueue: %v", err)
									return
								}
							}
						}
					})
				}
				wg.Wait()
				if err := p.Flush(); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				last := make(map[string]uint64)
				for w := range writers {
					for k := range keys {
						last[writerKey(w, k)] = versions
					}
				}
				checkVersions(t, rec.durableSeqs(t, p), last, disable)
				checkSettled(t, p, writers*keys*versions, disable)
				rec.check(t, false)
			})
		}
	}
}

// flushWriters runs writers that each enqueue a few versions of their own keys, call Flush,
// and check with seqsOf that every version they enqueued before the call is durable: the
// newest one, and with everyVersion all of them.
func flushWriters(t *testing.T, p *Pipeline, everyVersion bool, seqsOf func(key string) []uint64) {
	t.Helper()
	const writers, rounds, keys = 8, 40, 3
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			last := make([]uint64, keys)
			for range rounds {
				for range 1 + rng.IntN(6) {
					k := rng.IntN(keys)
					last[k]++
					key := writerKey(w, k)
					if err := p.Enqueue(shardOf(p, key), Entry{Key: key, Value: []byte(testValue), Seq: last[k]}); err != nil {
						t.Errorf("Enqueue: %v", err)
						return
					}
				}
				if err := p.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
					return
				}
				for k, n := range last {
					if n == 0 {
						continue
					}
					seqs := seqsOf(writerKey(w, k))
					if len(seqs) == 0 || seqs[len(seqs)-1] != n || everyVersion && len(seqs) != int(n) {
						t.Errorf("after Flush, key %q has durable Seqs %v, want up to %d", writerKey(w, k), seqs, n)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestPipeline_Flush_CoversPriorWrites ensures that once Flush returns, every entry enqueued
// before the call is in the backend's durable record, with concurrent writers and flushes.
// Batches close only at BatchEntries or a barrier, so without the barrier nothing would be
// durable.
func TestPipeline_Flush_CoversPriorWrites(t *testing.T) {
	for _, shards := range shardCounts() {
		for _, disable := range []bool{false, true} {
			t.Run(fmt.Sprintf("shards=%d/coalesce=%t", shards, !disable), func(t *testing.T) {
				rec := newRecorder(shards)
				p := newPipeline(t, rec, Options{FlushInterval: time.Hour, DisableCoalesce: disable})
				flushWriters(t, p, disable, func(key string) []uint64 { return rec.be[shardOf(p, key)].seqsOf(key) })
				rec.check(t, false)
			})
		}
	}
}

// durableLog records the batches passed to OnDurable.
type durableLog struct {
	mu      sync.Mutex
	bySeq   map[string][]uint64
	batches [][]batchRec // per shard
	dropped []Entry
}

func (l *durableLog) onDurable(b *Batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range b.Entries {
		l.bySeq[e.Key] = append(l.bySeq[e.Key], e.Seq)
	}
	l.dropped = append(l.dropped, b.Dropped...)
	l.batches[b.Shard] = append(l.batches[b.Shard], record(b))
}

func (l *durableLog) seqsOf(key string) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.bySeq[key])
}

// TestPipeline_OnDurable ensures OnDurable sees every durable batch, in each shard's order,
// before the flush barriers behind it are answered.
func TestPipeline_OnDurable(t *testing.T) {
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rec := newRecorder(shards)
			dlog := &durableLog{bySeq: make(map[string][]uint64), batches: make([][]batchRec, shards)}
			p := newPipeline(t, rec, Options{
				BatchEntries: 16, FlushInterval: time.Hour, DisableCoalesce: true, OnDurable: dlog.onDurable,
			})
			flushWriters(t, p, true, dlog.seqsOf)
			if err := p.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for i, b := range rec.be {
				_, durable, _ := b.batches()
				got := dlog.batches[i]
				if !slices.EqualFunc(got, durable, func(x, y batchRec) bool {
					return x.Seq == y.Seq && sameEntries(x.Entries, y.Entries)
				}) {
					t.Errorf("shard %d: OnDurable saw %d batches, the backend made %d durable, or they differ", i, len(got), len(durable))
				}
				if len(durable) == 0 {
					t.Errorf("shard %d: no durable batch", i)
				}
			}
			rec.check(t, true)
		})
	}
}

// TestPipeline_OnDurable_Dropped ensures the Delete of a key created and deleted within one
// batch, which coalescing drops, reaches OnDurable through Batch.Dropped exactly once, also
// when the batch holds nothing else. When the batch failed once first, the retry must write
// the Delete instead: the failed write may have put the creation on disk.
func TestPipeline_OnDurable_Dropped(t *testing.T) {
	tests := []struct {
		name  string
		other bool // another key shares the batch
		fails int  // the backend fails this many batches first
	}{
		{"alone", false, 0},
		{"with another key", true, 0},
		{"with another key after a failure", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(1)
			dlog := &durableLog{bySeq: make(map[string][]uint64), batches: make([][]batchRec, 1)}
			// Only the Flush barrier closes the batch: all entries share it.
			p := newPipeline(t, rec, Options{FlushInterval: time.Hour, OnDurable: dlog.onDurable})
			rec.failNext(failAtSubmit, tt.fails)
			entries := []Entry{put("k", 1, true), del("k", 2)}
			if tt.other {
				entries = append(entries, put("j", 1, false))
			}
			for _, e := range entries {
				if err := p.Enqueue(0, e); err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
			}
			flushUntilHealed(t, p)
			dlog.mu.Lock()
			got := slices.Clone(dlog.dropped)
			dlog.mu.Unlock()
			wantDropped, wantSeqs := []Entry{del("k", 2)}, []uint64(nil)
			if tt.fails > 0 {
				wantDropped, wantSeqs = nil, []uint64{2}
			}
			if !sameEntries(got, wantDropped) {
				t.Errorf("OnDurable got Dropped %s, want %s", show(got), show(wantDropped))
			}
			if seqs := rec.be[0].seqsOf("k"); !slices.Equal(seqs, wantSeqs) {
				t.Errorf("key k written with Seqs %v, want %v", seqs, wantSeqs)
			}
			if tt.other {
				if seqs := dlog.seqsOf("j"); !slices.Equal(seqs, []uint64{1}) {
					t.Errorf("OnDurable got key j with Seqs %v, want [1]", seqs)
				}
			}
		})
	}
}

// TestPipeline_Close_Drains ensures that every entry accepted before Close is durable when
// Close returns, even with writers racing Close; that the pipeline then refuses work with
// ErrClosed; that a second Close is harmless; and that no goroutine is left behind.
func TestPipeline_Close_Drains(t *testing.T) {
	const writers, keys = 8, 4
	for _, shards := range shardCounts() {
		for _, disable := range []bool{false, true} {
			t.Run(fmt.Sprintf("shards=%d/coalesce=%t", shards, !disable), func(t *testing.T) {
				base := runtime.NumGoroutine()
				rec := newRecorder(shards)
				// Only BatchEntries and barriers close batches: Close must ship the open ones.
				p, err := New(Options{
					Shards: shards, RingSize: 64, FlushInterval: time.Hour, DisableCoalesce: disable, Backend: rec.backend,
				})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				var accepted atomic.Int64
				lasts := make([]map[string]uint64, writers)
				var wg sync.WaitGroup
				for w := range writers {
					last := make(map[string]uint64)
					lasts[w] = last
					wg.Go(func() {
						for v := uint64(1); ; v++ {
							for k := range keys {
								key := writerKey(w, k)
								err := p.Enqueue(shardOf(p, key), Entry{Key: key, Value: []byte(testValue), Seq: v})
								if err != nil {
									if !errors.Is(err, ErrClosed) {
										t.Errorf("Enqueue = %v, want ErrClosed", err)
									}
									return
								}
								last[key] = v
								accepted.Add(1)
							}
						}
					})
				}
				waitFor(t, "writes to be accepted", func() bool { return accepted.Load() >= 20000 })
				if err := p.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				wg.Wait()
				all := make(map[string]uint64)
				for _, last := range lasts {
					for k, v := range last {
						all[k] = v
					}
				}
				checkVersions(t, rec.durableSeqs(t, p), all, disable)
				checkSettled(t, p, accepted.Load(), disable)
				rec.check(t, true)

				if err := p.Enqueue(0, Entry{Key: "late"}); !errors.Is(err, ErrClosed) {
					t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
				}
				if p.TryEnqueue(0, Entry{Key: "late"}) {
					t.Error("TryEnqueue after Close = true, want false")
				}
				if err := p.WaitRoom(0); !errors.Is(err, ErrClosed) {
					t.Errorf("WaitRoom after Close = %v, want ErrClosed", err)
				}
				if err := p.Flush(); !errors.Is(err, ErrClosed) {
					t.Errorf("Flush after Close = %v, want ErrClosed", err)
				}
				if err := p.Close(); err != nil {
					t.Errorf("second Close = %v, want nil", err)
				}
				waitFor(t, "the pipeline's goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
			})
		}
	}
}

// TestPipeline_Close_Idle ensures a pipeline that never saw a write closes cleanly, leaves
// no goroutine and never calls its backend.
func TestPipeline_Close_Idle(t *testing.T) {
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			base := runtime.NumGoroutine()
			rec := newRecorder(shards)
			p, err := New(Options{Shards: shards, Backend: rec.backend})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := p.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			for i, b := range rec.be {
				if s, _, _ := b.batches(); len(s) != 0 {
					t.Errorf("shard %d: %d batches submitted, want none", i, len(s))
				}
			}
			rec.check(t, true)
			waitFor(t, "the pipeline's goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
		})
	}
}

// TestNew_Options ensures New rejects negative options and a missing Backend, and applies
// the documented defaults.
func TestNew_Options(t *testing.T) {
	be := func(int) Backend { return newRecorder(1).be[0] }
	for _, o := range []Options{
		{}, {Shards: -1, Backend: be}, {RingSize: -1, Backend: be}, {BatchEntries: -1, Backend: be},
		{BatchBytes: -1, Backend: be}, {FlushInterval: -1, Backend: be}, {Depth: -1, Backend: be},
	} {
		if p, err := New(o); err == nil {
			p.Close()
			t.Errorf("New(%+v) succeeded, want an error", o)
		}
	}
	p, err := New(Options{Backend: be})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer p.Close()
	want := Options{Shards: 1, RingSize: 1024, BatchEntries: 1024, BatchBytes: 16 << 20, FlushInterval: 100 * time.Millisecond, Depth: 4}
	got := p.opts
	if got.Shards != want.Shards || got.RingSize != want.RingSize || got.BatchEntries != want.BatchEntries ||
		got.BatchBytes != want.BatchBytes || got.FlushInterval != want.FlushInterval || got.Depth != want.Depth {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if p.Shards() != 1 || p.shards[0].ring.Cap() != 1024 {
		t.Errorf("Shards() = %d, ring capacity %d; want 1, 1024", p.Shards(), p.shards[0].ring.Cap())
	}
}

// failureWriters enqueues perWriter new versions of each writer's key and returns the
// first error.
func failureWriters(p *Pipeline, writers, perWriter int, last map[string]uint64) error {
	var wg sync.WaitGroup
	errs := make([]error, writers)
	lasts := make([]uint64, writers)
	for w := range writers {
		lasts[w] = last[writerKey(w, 0)]
		wg.Go(func() {
			key := writerKey(w, 0)
			for range perWriter {
				lasts[w]++
				if err := p.Enqueue(shardOf(p, key), Entry{Key: key, Value: []byte(testValue), Seq: lasts[w]}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range writers {
		last[writerKey(w, 0)] = lasts[w]
	}
	return errors.Join(errs...)
}

// flushUntilHealed calls Flush until it succeeds, accepting only injected failures on the
// way; batches that failed before the heal may still fail a few flushes.
func flushUntilHealed(t *testing.T, p *Pipeline) {
	t.Helper()
	for i := 0; ; i++ {
		err := p.Flush()
		if err == nil {
			return
		}
		if !errors.Is(err, errInjected) || i == 50 {
			t.Fatalf("Flush after heal (try %d): %v", i, err)
		}
	}
}

// checkRetries checks that every durable entry was durable once, and that the backend saw
// no entry more often than once plus its failed attempts.
func checkRetries(t *testing.T, rec *recorder) {
	t.Helper()
	for i, b := range rec.be {
		submitted, durable, failed := b.batches()
		count := func(recs []batchRec) int {
			n := 0
			for _, r := range recs {
				n += len(r.Entries)
			}
			return n
		}
		if s, d, f := count(submitted), count(durable), count(failed); s != d+f {
			t.Errorf("shard %d: %d entries submitted, %d durable, %d failed", i, s, d, f)
		}
		// An entry carries Retry exactly when an earlier batch holding it failed.
		type version struct {
			key string
			seq uint64
		}
		failedBefore := map[version]bool{}
		for _, r := range failed {
			for _, e := range r.Entries {
				failedBefore[version{e.Key, e.Seq}] = true
			}
		}
		for _, r := range durable {
			for _, e := range r.Entries {
				if want := failedBefore[version{e.Key, e.Seq}]; e.Retry != want {
					t.Errorf("shard %d: %s seq %d durable with Retry = %v, want %v", i, e.Key, e.Seq, e.Retry, want)
				}
			}
		}
	}
}

// TestPipeline_BackendFailure_Recovers ensures a failing backend's error reaches Flush and
// Stats, and that once the backend heals a later Flush succeeds with every entry durable
// exactly once.
func TestPipeline_BackendFailure_Recovers(t *testing.T) {
	const writers, healthy, failing = 6, 5, 8
	for _, at := range []failPoint{failAtSubmit, failAtComplete} {
		for _, shards := range shardCounts() {
			t.Run(fmt.Sprintf("fail=%v/shards=%d", at, shards), func(t *testing.T) {
				rec := newRecorder(shards)
				p := newPipeline(t, rec, Options{BatchEntries: 64, FlushInterval: time.Hour, DisableCoalesce: true})
				last := make(map[string]uint64)
				if err := failureWriters(p, writers, healthy, last); err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
				if err := p.Flush(); err != nil {
					t.Fatalf("Flush before the failure: %v", err)
				}

				rec.setFailing(at)
				if err := failureWriters(p, writers, failing, last); err != nil {
					t.Fatalf("Enqueue while failing: %v", err)
				}
				if err := p.Flush(); !errors.Is(err, errInjected) {
					t.Fatalf("Flush while failing = %v, want the backend's error", err)
				}
				if st := p.Stats(); st.Errors == 0 || st.Buffered == 0 {
					t.Errorf("Stats while failing: Errors = %d, Buffered = %d; want both > 0", st.Errors, st.Buffered)
				}

				rec.heal()
				flushUntilHealed(t, p)
				checkVersions(t, rec.durableSeqs(t, p), last, true)
				checkRetries(t, rec)
				if st := p.Stats(); st.Durable != st.Accepted || st.Errors == 0 {
					t.Errorf("Stats after heal: Durable = %d, Accepted = %d, Errors = %d", st.Durable, st.Accepted, st.Errors)
				}
				waitForBuffered(t, p, 0)
				rec.check(t, false)
			})
		}
	}
}

// TestPipeline_BackendFailure_NextN ensures a backend failing its next few batches costs
// exactly those failures, and every entry becomes durable exactly once.
func TestPipeline_BackendFailure_NextN(t *testing.T) {
	for _, at := range []failPoint{failAtSubmit, failAtComplete} {
		t.Run(fmt.Sprintf("fail=%v", at), func(t *testing.T) {
			const fails = 3
			rec := newRecorder(1)
			// The 12 entries share one batch, closed by the first Flush; it fails three times.
			p := newPipeline(t, rec, Options{BatchEntries: 16, FlushInterval: time.Hour, DisableCoalesce: true})
			rec.failNext(at, fails)
			last := make(map[string]uint64)
			if err := failureWriters(p, 1, 12, last); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			flushUntilHealed(t, p)
			checkVersions(t, rec.durableSeqs(t, p), last, true)
			checkRetries(t, rec)
			if st := p.Stats(); st.Errors != fails || st.Durable != 12 {
				t.Errorf("Stats: Errors = %d, Durable = %d; want %d, 12", st.Errors, st.Durable, fails)
			}
			waitForBuffered(t, p, 0)
			rec.check(t, false)
		})
	}
}

// flushGuarded calls Flush and fails the test if it has not returned after a long while:
// Flush must answer even when the backend keeps failing. The deadline only turns a hang
// into a failure; the Flush left behind returns once the test's cleanup heals the backend.
func flushGuarded(t *testing.T, p *Pipeline) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Flush() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Flush has not returned after 10s with a failing backend (Stats %+v)", p.Stats())
		return nil
	}
}

// TestPipeline_Flush_ReturnsWhileFailing ensures Flush reports a backend that keeps failing
// instead of waiting for it to heal, when a new write arrives while failed entries wait for
// their retry.
func TestPipeline_Flush_ReturnsWhileFailing(t *testing.T) {
	rec := newRecorder(1)
	// Depth 1: the owner can open a batch only once the previous one has failed, so failed
	// entries are always waiting when it takes the next write.
	p := newPipeline(t, rec, Options{Depth: 1, BatchEntries: 1, FlushInterval: time.Hour, DisableCoalesce: true})
	rec.setFailing(failAtSubmit)
	for i := range 2 {
		key := writerKey(0, i)
		if err := p.Enqueue(0, Entry{Key: key, Value: []byte(testValue), Seq: 1}); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if err := flushGuarded(t, p); !errors.Is(err, errInjected) {
			t.Fatalf("Flush %d while failing = %v, want the backend's error", i+1, err)
		}
	}
}

// TestPipeline_Flush_AfterHealCoversEveryFailedEntry ensures that a Flush returning nil
// after the backend healed means every entry that failed earlier is durable, and that Close
// with a healthy backend drops nothing, when the failed entries fill several batches.
func TestPipeline_Flush_AfterHealCoversEveryFailedEntry(t *testing.T) {
	const entries = 8
	rec := newRecorder(1)
	rec.closeGate()
	p := newPipeline(t, rec, Options{Depth: entries, BatchEntries: 1, FlushInterval: time.Hour, DisableCoalesce: true})
	rec.setFailing(failAtSubmit)
	last := make(map[string]uint64)
	if err := failureWriters(p, 1, entries, last); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// Every entry is in its own batch, formed while the backend is gated; then all of them fail.
	waitFor(t, "every entry to be batched", func() bool { return p.Stats().Accepted == entries })
	rec.openGate()
	waitFor(t, "every batch to fail", func() bool { return p.Stats().Errors >= entries })
	rec.heal()
	flushUntilHealed(t, p)
	if n := rec.durableN(); n != entries {
		t.Errorf("Flush returned nil with %d of %d entries durable (Stats %+v)", n, entries, p.Stats())
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := rec.durableN(); n != entries {
		t.Errorf("Close returned nil with %d of %d entries durable (Stats %+v)", n, entries, p.Stats())
	}
	checkVersions(t, rec.durableSeqs(t, p), last, true)
}

// TestPipeline_Close_FailingBackend ensures Close returns the backend's error instead of
// hanging when the backend never heals, and leaves no goroutine behind.
func TestPipeline_Close_FailingBackend(t *testing.T) {
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			base := runtime.NumGoroutine()
			rec := newRecorder(shards)
			p, err := New(Options{Shards: shards, DisableCoalesce: true, Backend: rec.backend})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			rec.setFailing(failAtComplete)
			if err := failureWriters(p, 4, 10, make(map[string]uint64)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if err := p.Close(); !errors.Is(err, errInjected) {
				t.Errorf("Close = %v, want the backend's error", err)
			}
			if st := p.Stats(); st.Errors == 0 || st.Durable != 0 {
				t.Errorf("Stats: Errors = %d, Durable = %d; want > 0, 0", st.Errors, st.Durable)
			}
			rec.check(t, true)
			waitFor(t, "the pipeline's goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
		})
	}
}

// TestPipeline_Backpressure ensures producers block in Enqueue while the backend is gated
// and the tiny ring is full, that Stats counts their waits and the ring's high water within its
// size, and that they finish with every entry durable once the gate opens.
func TestPipeline_Backpressure(t *testing.T) {
	const producers, perProducer = 8, 64 // each more than all shards together can hold
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rec := newRecorder(shards)
			rec.closeGate()
			p := newPipeline(t, rec, Options{RingSize: 2, Depth: 1, BatchEntries: 1, DisableCoalesce: true})
			var accepted atomic.Int64
			done := make([]chan struct{}, producers)
			last := make(map[string]uint64)
			for w := range producers {
				done[w] = make(chan struct{})
				keys := make([]string, shards) // one key on every shard
				for s := range shards {
					keys[s] = keyOn(p, s, fmt.Sprintf("w%d", w), 0)
					last[keys[s]] = perProducer / uint64(shards)
				}
				go func() {
					defer close(done[w])
					for v := range perProducer / shards {
						for s, key := range keys {
							if err := p.Enqueue(s, Entry{Key: key, Value: []byte(testValue), Seq: uint64(v + 1)}); err != nil {
								t.Errorf("Enqueue: %v", err)
								return
							}
							accepted.Add(1)
						}
					}
				}()
			}
			waitFor(t, "a producer to wait for room", func() bool { return p.Stats().BackpressureWaits > 0 })
			waitFor(t, "a batch to reach the gate", func() bool {
				return slices.ContainsFunc(rec.be, func(b *recBackend) bool { return b.waiting() > 0 })
			})
			for w, d := range done {
				select {
				case <-d:
					t.Errorf("producer %d finished while the backend was gated", w)
				default:
				}
			}
			if n, all := accepted.Load(), int64(producers*perProducer); n >= all {
				t.Errorf("%d of %d entries accepted while the backend was gated", n, all)
			}
			if n := rec.durableN(); n != 0 {
				t.Errorf("%d entries durable while the backend was gated", n)
			}
			rec.openGate()
			for _, d := range done {
				<-d
			}
			if err := p.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			checkVersions(t, rec.durableSeqs(t, p), last, true)
			st := p.Stats()
			if st.MaxBatch != 1 {
				t.Errorf("Stats: MaxBatch = %d, want 1 (BatchEntries 1)", st.MaxBatch)
			}
			// The ring filled up while the backend was gated: the owner saw it full, and never
			// more than it holds.
			if st.RingHighWater < 1 || st.RingHighWater > 2 {
				t.Errorf("Stats: RingHighWater = %d, want 1 or 2 (RingSize 2)", st.RingHighWater)
			}
			rec.check(t, false)
		})
	}
}

// TestPipeline_MemoryBound ensures a shard never holds more accepted, not yet durable entries
// than the bound documented in doc.go (RingSize + 2 x Depth x BatchEntries) while its backend
// lets one batch through only once the shard's ring is full again, which keeps the shard as
// full as it can be. Producers count what Enqueue accepted, the backend counts what it made
// durable, and every producer checks the difference after each Enqueue.
func TestPipeline_MemoryBound(t *testing.T) {
	const producers, perProducer = 3, 150
	for _, c := range []struct{ ring, depth, batch int }{{2, 1, 1}, {8, 2, 2}, {16, 4, 8}} {
		for _, shards := range shardCounts() {
			t.Run(fmt.Sprintf("ring=%d/depth=%d/batch=%d/shards=%d", c.ring, c.depth, c.batch, shards), func(t *testing.T) {
				bound := int64(c.ring + min(c.ring, 256) + (c.depth+1)*c.batch)
				rec := newRecorder(shards)
				p := newPipeline(t, rec, Options{
					RingSize: c.ring, Depth: c.depth, BatchEntries: c.batch, FlushInterval: time.Hour, DisableCoalesce: true,
				})
				accepted := make([]atomic.Int64, shards)
				finished := make([]atomic.Int64, shards)
				worst := make([]atomic.Int64, shards)
				for s, b := range rec.be {
					r := p.shards[s].ring
					b.mu.Lock()
					b.hold = func() {
						for r.Len() < r.Cap() && finished[s].Load() < producers {
							time.Sleep(20 * time.Microsecond)
						}
					}
					b.mu.Unlock()
				}
				var wg sync.WaitGroup
				for s := range shards {
					for w := range producers {
						key := keyOn(p, s, fmt.Sprintf("p%d", w), 0)
						wg.Go(func() {
							defer finished[s].Add(1)
							for v := range perProducer {
								if err := p.Enqueue(s, Entry{Key: key, Value: []byte(testValue), Seq: uint64(v + 1)}); err != nil {
									t.Errorf("Enqueue: %v", err)
									return
								}
								// accepted is counted after Enqueue returns and durableN is read after
								// it, so the difference never exceeds what the shard really holds.
								n := accepted[s].Add(1) - rec.be[s].durableN.Load()
								for m := worst[s].Load(); n > m && !worst[s].CompareAndSwap(m, n); m = worst[s].Load() {
								}
							}
						})
					}
				}
				wg.Wait()
				if err := p.Flush(); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				for s := range shards {
					if w := worst[s].Load(); w > bound {
						t.Errorf("shard %d held %d accepted entries not yet durable, documented bound %d", s, w, bound)
					}
				}
				if n := rec.durableN(); n != int64(shards*producers*perProducer) {
					t.Errorf("%d entries durable, want %d", n, shards*producers*perProducer)
				}
				rec.check(t, false)
			})
		}
	}
}

// TestPipeline_TryEnqueue_WaitRoom ensures producers that use TryEnqueue and, when the ring
// is full, WaitRoom, get every version of their keys written in order.
func TestPipeline_TryEnqueue_WaitRoom(t *testing.T) {
	const producers, keys, versions = 8, 2, 150
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rec := newRecorder(shards)
			rec.closeGate() // the rings fill up at once, so producers have to wait for room
			p := newPipeline(t, rec, Options{RingSize: 4, Depth: 1, BatchEntries: 2, DisableCoalesce: true})
			var waits atomic.Int64
			var wg sync.WaitGroup
			for w := range producers {
				wg.Go(func() {
					for v := range uint64(versions) {
						for k := range keys {
							key := writerKey(w, k)
							s := shardOf(p, key)
							for !p.TryEnqueue(s, Entry{Key: key, Value: []byte(testValue), Seq: v + 1}) {
								waits.Add(1)
								if err := p.WaitRoom(s); err != nil {
									t.Errorf("WaitRoom: %v", err)
									return
								}
							}
						}
					}
				})
			}
			waitFor(t, "a producer to wait for room", func() bool { return waits.Load() > 0 })
			rec.openGate()
			wg.Wait()
			if err := p.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			last := make(map[string]uint64)
			for w := range producers {
				for k := range keys {
					last[writerKey(w, k)] = versions
				}
			}
			checkVersions(t, rec.durableSeqs(t, p), last, true)
			checkSettled(t, p, producers*keys*versions, true)
			rec.check(t, false)
		})
	}
}

// TestPipeline_BatchEntries ensures a batch closes when it holds BatchEntries entries: with
// only the final barrier as another reason to close, every batch but each shard's last holds
// exactly BatchEntries entries.
func TestPipeline_BatchEntries(t *testing.T) {
	const writers, perWriter, batch = 4, 50, 8
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rec := newRecorder(shards)
			p := newPipeline(t, rec, Options{BatchEntries: batch, FlushInterval: time.Hour})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter { // distinct keys: coalescing changes nothing
						key := writerKey(w, i)
						if err := p.Enqueue(shardOf(p, key), Entry{Key: key, Value: []byte(testValue), Seq: 1}); err != nil {
							t.Errorf("Enqueue: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := p.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			total := 0
			for i, b := range rec.be {
				_, durable, _ := b.batches()
				for j, r := range durable {
					total += len(r.Entries)
					if n := len(r.Entries); n > batch || n < batch && j < len(durable)-1 {
						t.Errorf("shard %d batch %d of %d holds %d entries, BatchEntries %d", i, j+1, len(durable), n, batch)
					}
				}
			}
			if total != writers*perWriter {
				t.Errorf("%d entries durable, want %d", total, writers*perWriter)
			}
			if st := p.Stats(); st.MaxBatch != batch {
				t.Errorf("Stats: MaxBatch = %d, want %d", st.MaxBatch, batch)
			}
			rec.check(t, false)
		})
	}
}

// TestPipeline_BatchBytes ensures a batch closes at the first entry that brings it to
// BatchBytes: every batch but the last reaches BatchBytes, and would not without its last
// entry.
func TestPipeline_BatchBytes(t *testing.T) {
	tests := []struct {
		name       string
		batchBytes int
		sizes      []int // value sizes, cycled
	}{
		{"equal entries", 3 * (len("k-000") + 10 + entryOverhead), []int{10}},
		{"equal entries, limit mid-entry", 3*(len("k-000")+10+entryOverhead) - 1, []int{10}},
		{"mixed entries", 1000, []int{10, 300, 0, 700, 50}},
		{"entry larger than the limit", 100, []int{10, 500, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(1)
			p := newPipeline(t, rec, Options{BatchBytes: tt.batchBytes, FlushInterval: time.Hour})
			const n = 60
			for i := range n {
				e := Entry{Key: fmt.Sprintf("k-%03d", i), Value: make([]byte, tt.sizes[i%len(tt.sizes)]), Seq: 1}
				if err := p.Enqueue(0, e); err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
			}
			if err := p.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			_, durable, _ := rec.be[0].batches()
			total := 0
			for j, r := range durable {
				total += len(r.Entries)
				lastSize := r.Entries[len(r.Entries)-1].size()
				if j < len(durable)-1 && r.Bytes < tt.batchBytes || r.Bytes-lastSize >= tt.batchBytes {
					t.Errorf("batch %d of %d: %d bytes (last entry %d), BatchBytes %d", j+1, len(durable), r.Bytes, lastSize, tt.batchBytes)
				}
			}
			if total != n {
				t.Errorf("%d entries durable, want %d", total, n)
			}
			rec.check(t, false)
		})
	}
}

// TestPipeline_FlushInterval ensures a lone entry becomes durable without a Flush once
// FlushInterval has passed.
func TestPipeline_FlushInterval(t *testing.T) {
	for _, shards := range shardCounts() {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rec := newRecorder(shards)
			p := newPipeline(t, rec, Options{FlushInterval: 2 * time.Millisecond})
			key := writerKey(0, 0)
			if err := p.Enqueue(shardOf(p, key), Entry{Key: key, Value: []byte(testValue), Seq: 1}); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			// The backend records the batch inside Complete; the pipeline counts it just after
			// Complete returns: wait for both.
			waitFor(t, "the entry to become durable", func() bool { return rec.durableN() == 1 && p.Stats().Durable == 1 })
			if st := p.Stats(); st.Barriers != 0 || st.Durable != 1 {
				t.Errorf("Stats: Barriers = %d, Durable = %d; want 0, 1", st.Barriers, st.Durable)
			}
			rec.check(t, false)
		})
	}
}

// modelState is the state of a key after replaying writes: its value, or absent.
type modelState struct {
	live  bool
	value string
}

// TestPipeline_Random_MatchesModel runs the same random puts and deletes (with Fresh set as
// a facade would) through pipelines of every configuration, replays what each backend made
// durable, and checks the result is the state the writers produced.
func TestPipeline_Random_MatchesModel(t *testing.T) {
	const writers, keys, ops = 8, 6, 600
	configs := []Options{
		{RingSize: 8, BatchEntries: 4},
		{RingSize: 8, BatchEntries: 4, DisableCoalesce: true},
		{RingSize: 64, BatchEntries: 1024, FlushInterval: time.Millisecond},
		{RingSize: 2, Depth: 1, BatchEntries: 1},
	}
	for _, shards := range shardCounts() {
		for ci, cfg := range configs {
			t.Run(fmt.Sprintf("shards=%d/config=%d", shards, ci), func(t *testing.T) {
				rec := newRecorder(shards)
				p := newPipeline(t, rec, cfg)
				want := make(map[string]modelState)
				var mu sync.Mutex
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(w), 99)) // the same ops in every configuration
						state := make(map[string]modelState)
						seq := make(map[string]uint64)
						for i := range ops {
							key := writerKey(w, rng.IntN(keys))
							seq[key]++
							e := Entry{Key: key, Seq: seq[key]}
							if st := state[key]; st.live && rng.IntN(3) == 0 {
								e.Kind = Delete
								state[key] = modelState{}
							} else {
								e.Value = fmt.Appendf(nil, "%s@%d", key, i)
								e.Fresh = !st.live
								state[key] = modelState{live: true, value: string(e.Value)}
							}
							if err := p.Enqueue(shardOf(p, key), e); err != nil {
								t.Errorf("Enqueue: %v", err)
								return
							}
						}
						mu.Lock()
						for k, st := range state {
							want[k] = st
						}
						mu.Unlock()
					})
				}
				wg.Wait()
				if err := p.Flush(); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				got := make(map[string]modelState)
				for _, b := range rec.be {
					_, durable, _ := b.batches()
					for _, r := range durable {
						for _, e := range r.Entries {
							if e.Kind == Delete {
								got[e.Key] = modelState{}
							} else {
								got[e.Key] = modelState{live: true, value: string(e.Value)}
							}
						}
					}
				}
				for k, st := range want {
					if got[k] != st {
						t.Errorf("key %q replays to %+v, want %+v", k, got[k], st)
					}
				}
				for k, st := range got {
					if _, ok := want[k]; !ok && st.live {
						t.Errorf("key %q replays to %+v but was never written", k, st)
					}
				}
				checkSettled(t, p, writers*ops, cfg.DisableCoalesce)
				rec.check(t, false)
			})
		}
	}
}

// TestPipeline_Stats_Buffered ensures Stats.Buffered is the number of entries accepted and
// not yet durable: the entry in a gated batch, an entry the owner popped from the ring but
// could not batch yet, and no control item (a WaitRoom placeholder) in the ring.
func TestPipeline_Stats_Buffered(t *testing.T) {
	rec := newRecorder(1)
	rec.closeGate()
	p := newPipeline(t, rec, Options{RingSize: 4, Depth: 1, BatchEntries: 1, FlushInterval: time.Hour})
	for i := range 2 {
		if err := p.Enqueue(0, Entry{Key: writerKey(0, i), Value: []byte(testValue), Seq: 1}); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if i == 0 {
			waitFor(t, "the first batch to reach the gate", func() bool { return rec.be[0].waiting() == 1 })
		}
	}
	// The owner pops the second entry and waits for the one batch of Depth 1 to come back.
	waitFor(t, "the owner to pop the second entry", func() bool { return p.shards[0].ring.Len() == 0 })
	if got := p.Stats().Buffered; got != 2 {
		t.Errorf("Buffered = %d with one entry at the gate and one popped, want 2", got)
	}
	for range 2 {
		if err := p.WaitRoom(0); err != nil {
			t.Fatalf("WaitRoom: %v", err)
		}
	}
	if got := p.Stats().Buffered; got != 2 {
		t.Errorf("Buffered = %d after two WaitRoom calls added no entry, want 2", got)
	}
	rec.openGate()
	if err := p.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	waitForBuffered(t, p, 0)
}

// TestPipeline_Flush_GroupCommit ensures concurrent flushes share batches: while two batches
// carrying flushes are held at the backend (one written while the other syncs), the writes
// and flushes that arrive meanwhile wait in one batch, which ships once one of the first two is
// durable; every Flush returns once its writes are durable. A lone flush ships at once (the
// batch stage's timer is an hour here).
func TestPipeline_Flush_GroupCommit(t *testing.T) {
	const flushers = 16
	rec := newRecorder(1)
	p := newPipeline(t, rec, Options{FlushInterval: time.Hour})
	if err := p.Enqueue(0, Entry{Key: "lone", Value: []byte(testValue), Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(); err != nil {
		t.Fatalf("lone Flush: %v", err)
	}
	rec.closeGate()
	held := make(chan error, flushBatches)
	for i := range flushBatches {
		if err := p.Enqueue(0, Entry{Key: fmt.Sprintf("held%d", i), Value: []byte(testValue), Seq: 1}); err != nil {
			t.Fatal(err)
		}
		go func() { held <- p.Flush() }()
		// Each held flush ships at once, in a batch of its own.
		waitFor(t, "the held flush's batch to ship", func() bool { return p.shards[0].flushing.Load() == int32(i+1) })
	}
	errs := make(chan error, flushers)
	for i := range flushers {
		go func() {
			if err := p.Enqueue(0, Entry{Key: fmt.Sprintf("k%02d", i), Value: []byte(testValue), Seq: 1}); err != nil {
				errs <- err
				return
			}
			errs <- p.Flush()
		}()
	}
	waitFor(t, "every flush to reach the batch stage", func() bool { return p.Stats().Barriers == flushers+1+flushBatches })
	rec.openGate()
	for range flushBatches {
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	for range flushers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	submitted, durable, _ := rec.be[0].batches()
	if want := 2 + flushBatches; len(submitted) != want || len(durable) != want {
		t.Fatalf("%d batches submitted and %d durable for a lone flush, %d held and %d concurrent ones; want %d and %d",
			len(submitted), len(durable), flushBatches, flushers, want, want)
	}
	if n := len(durable[len(durable)-1].Entries); n != flushers {
		t.Errorf("the concurrent flushes' batch holds %d entries, want %d", n, flushers)
	}
	rec.check(t, false)
}
