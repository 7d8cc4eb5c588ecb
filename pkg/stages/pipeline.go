package stages

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Options configure a Pipeline. Zero fields take the defaults named beside them.
type Options struct {
	// Shards is the number of shards, each an owner goroutine with its own ring (default 1).
	Shards int
	// RingSize is the capacity of each shard's ring, rounded up to a power of two (default 1024).
	RingSize int
	// BatchEntries closes a batch when it holds this many entries (default 1024).
	BatchEntries int
	// BatchBytes closes a batch when its entries reach this many bytes (default 16 MiB).
	BatchBytes int
	// FlushInterval closes a batch this long after its first entry (default 100ms).
	FlushInterval time.Duration
	// DisableCoalesce keeps every version of a key in a batch, in order.
	DisableCoalesce bool
	// Depth is the number of batches a shard may have between its batch and complete stages
	// (default 4). Together with RingSize it bounds the memory the pipeline holds.
	Depth int
	// Backend returns the backend of shard i. It is called once per shard by New.
	Backend func(shard int) Backend
	// OnDurable, if set, is called by a shard's complete stage for every batch that became
	// durable, before the flush barriers behind it are acknowledged. It must not block for long
	// and must not write to the pipeline.
	OnDurable func(b *Batch)
	// Logger receives a line per backend failure; the zero Logger is silent.
	Logger zerolog.Logger
}

// Retry pacing after a backend failure: the failed entries are retried after a backoff that
// doubles from retryMin to retryMax, or at once when a Flush asks.
const (
	retryMin = time.Millisecond
	retryMax = time.Second
	popMax   = 256
)

func (o *Options) setDefaults() error {
	switch {
	case o.Shards < 0, o.RingSize < 0, o.BatchEntries < 0, o.BatchBytes < 0, o.FlushInterval < 0, o.Depth < 0:
		return fmt.Errorf("stages: negative option in %+v", *o)
	case o.Backend == nil:
		return errors.New("stages: no Backend")
	}
	if o.Shards == 0 {
		o.Shards = 1
	}
	if o.RingSize == 0 {
		o.RingSize = 1024
	}
	if o.BatchEntries == 0 {
		o.BatchEntries = 1024
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 16 << 20
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.Depth == 0 {
		o.Depth = 4
	}
	return nil
}

// Pipeline carries writes from many producers to per-shard backends: each shard's owner
// goroutine drains the shard's ring into batches (batch stage), which pass through the coalesce,
// submit and complete stages, each its own goroutine connected to the next by a channel.
type Pipeline struct {
	opts   Options
	shards []*shard

	closeMu sync.Mutex // serializes Close
	closed  atomic.Bool
	wg      sync.WaitGroup
}

// New starts a pipeline: 4 goroutines per shard, stopped by Close.
func New(opts Options) (*Pipeline, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	p := &Pipeline{opts: opts}
	for i := range opts.Shards {
		sh := newShard(p, i, opts.Backend(i))
		p.shards = append(p.shards, sh)
	}
	for _, sh := range p.shards {
		p.wg.Add(4)
		go sh.runBatch()
		go sh.runCoalesce()
		go sh.runSubmit()
		go sh.runComplete()
	}
	return p, nil
}

// Shards returns the number of shards.
func (p *Pipeline) Shards() int { return len(p.shards) }

// ShardOf maps a key hash to a shard. Every version of a key must go to the same shard.
func (p *Pipeline) ShardOf(hash uint64) int { return int(hash % uint64(len(p.shards))) }

// TryEnqueue hands e to shard without blocking and reports whether the shard's ring took it.
// A caller that must keep the entries of one key in order calls it inside the key's critical
// section and, on false, leaves the section, calls WaitRoom and tries again.
func (p *Pipeline) TryEnqueue(shard int, e Entry) bool {
	return p.shards[shard].ring.TryPush(e)
}

// WaitRoom blocks until shard's ring has room or the pipeline is closed (ErrClosed). Room is
// not reserved: a TryEnqueue after it can still fail if other producers filled the ring again.
func (p *Pipeline) WaitRoom(shard int) error {
	sh := p.shards[shard]
	// A no-op item occupies the slot this producer waited for; the owner discards it. The
	// ring parks the producer while full, so waiting costs no CPU.
	if err := sh.ring.Push(Entry{ctl: control{nop: true}}); err != nil {
		return ErrClosed
	}
	return nil
}

// Enqueue hands e to shard, waiting for room while the ring is full.
func (p *Pipeline) Enqueue(shard int, e Entry) error {
	if err := p.shards[shard].ring.Push(e); err != nil {
		return ErrClosed
	}
	return nil
}

// Flush returns when every entry enqueued before the call has been written and made durable
// by its backend, or with the first backend error met on the way. Entries that failed stay in
// the pipeline and are retried; a later Flush succeeds once the backend heals.
func (p *Pipeline) Flush() error {
	if p.closed.Load() {
		return ErrClosed
	}
	return p.flush()
}

func (p *Pipeline) flush() error {
	bars := make([]*barrier, len(p.shards))
	for i, sh := range p.shards {
		bars[i] = &barrier{done: make(chan error, 1)}
		if err := sh.ring.Push(Entry{ctl: control{barrier: bars[i]}}); err != nil {
			bars[i].done <- ErrClosed
		}
	}
	var first error
	for _, b := range bars {
		if err := <-b.done; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close flushes, stops every goroutine of the pipeline and returns the flush's error. Entries
// that could not be made durable by then are dropped. Later calls return nil.
func (p *Pipeline) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed.Load() {
		return nil
	}
	err := p.flush()
	p.closed.Store(true)
	for _, sh := range p.shards {
		sh.ring.Close()
	}
	p.wg.Wait()
	for _, sh := range p.shards {
		sh.timer.Stop()
		sh.retryTimer.Stop()
		if ferr := <-sh.final; ferr != nil && err == nil {
			err = ferr
		}
	}
	return err
}
