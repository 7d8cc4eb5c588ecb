package stages

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Defaults taken by zero Options fields, and the bounds New accepts.
const (
	DefaultRingSize      = 1024
	DefaultBatchEntries  = 1024
	DefaultBatchBytes    = 16 << 20
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultDepth         = 4
	// MaxRingSize is the largest RingSize New accepts.
	MaxRingSize = 1 << 20
	// MaxShards is the largest number of shards New accepts.
	MaxShards = 1024
)

// DefaultShards returns the number of shards a zero Options.Shards takes: half the CPUs Go
// may use, at least one, so that the shards' stages leave room for the writers.
func DefaultShards() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Options configure a Pipeline. Zero fields take the defaults named beside them.
type Options struct {
	// Shards is the number of shards, each an owner goroutine with its own ring (default
	// DefaultShards, at most MaxShards).
	Shards int
	// RingSize is the capacity of each shard's ring, rounded up to a power of two (default
	// 1024, at most MaxRingSize).
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

// OptionError reports an Options field out of range.
type OptionError struct {
	Field string // the field's name
	Value any    // its value
	Why   string // the range it must be in
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("stages: invalid option %s = %v: %s", e.Field, e.Value, e.Why)
}

// WithDefaults validates o's tunables (every field but Backend, OnDurable and Logger) and
// returns a copy with each zero one set to its default. An out-of-range field gives an
// *OptionError naming it.
func (o Options) WithDefaults() (Options, error) {
	bad := func(field string, v any, why string) (Options, error) {
		return o, &OptionError{Field: field, Value: v, Why: why}
	}
	switch {
	case o.Shards < 0 || o.Shards > MaxShards:
		return bad("Shards", o.Shards, fmt.Sprintf("must be in [0, %d]", MaxShards))
	case o.RingSize < 0 || o.RingSize > MaxRingSize:
		return bad("RingSize", o.RingSize, fmt.Sprintf("must be in [0, %d]", MaxRingSize))
	case o.BatchEntries < 0:
		return bad("BatchEntries", o.BatchEntries, "must not be negative")
	case o.BatchBytes < 0:
		return bad("BatchBytes", o.BatchBytes, "must not be negative")
	case o.FlushInterval < 0:
		return bad("FlushInterval", o.FlushInterval, "must not be negative")
	case o.Depth < 0:
		return bad("Depth", o.Depth, "must not be negative")
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards()
	}
	if o.RingSize == 0 {
		o.RingSize = DefaultRingSize
	}
	if o.BatchEntries == 0 {
		o.BatchEntries = DefaultBatchEntries
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Depth == 0 {
		o.Depth = DefaultDepth
	}
	return o, nil
}

// Retry pacing after a backend failure: the failed entries are retried after a backoff that
// doubles from retryMin to retryMax, or at once when a Flush asks.
const (
	retryMin = time.Millisecond
	retryMax = time.Second
	popMax   = 256
)

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

// New starts a pipeline: 4 goroutines per shard, stopped by Close. It fails with an
// *OptionError for a field out of range, and when Backend is nil.
func New(opts Options) (*Pipeline, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Backend == nil {
		return nil, errors.New("stages: no Backend")
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
