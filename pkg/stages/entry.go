package stages

import (
	"errors"
	"time"
)

// ErrClosed is returned by a Pipeline after Close.
var ErrClosed = errors.New("stages: pipeline closed")

// Kind says what an Entry does to its key.
type Kind uint8

const (
	// Put writes a version of the key.
	Put Kind = iota
	// Delete removes the key.
	Delete
)

// Entry is one write travelling through a shard's pipeline. The pipeline neither copies nor
// modifies Key and Value: the caller must not modify them after handing the entry over.
type Entry struct {
	// Key is the key written.
	Key string
	// Value is the version's value (Put only).
	Value []byte
	// TS is the version's timestamp.
	TS uint64
	// Seq orders the versions of one key: a larger Seq is newer.
	Seq uint64
	// Expiry is the version's expiry in Unix nanoseconds, 0 for none.
	Expiry int64
	// Kind is Put or Delete.
	Kind Kind
	// Fresh says the version created the key from absence: no earlier version of the key is
	// live on disk once every earlier entry of the key is. Coalescing uses it to drop a
	// create-then-delete sequence entirely.
	Fresh bool
	// Ref is the caller's handle on the version, handed back in completed batches.
	Ref any
	// Retry marks an entry that went back to its shard after its batch failed: a newer version
	// of the key may have been written since, and the backend may then skip it.
	Retry bool

	ctl control
}

// control marks the pipeline's own ring items.
type control struct {
	barrier *barrier
	tick    bool // a timer wake-up of the shard owner
	nop     bool // a slot taken by a producer waiting for room; carries nothing
}

func (e *Entry) isWrite() bool { return e.ctl == (control{}) }

// size is the number of bytes an entry counts towards BatchBytes.
func (e *Entry) size() int { return len(e.Key) + len(e.Value) + entryOverhead }

// entryOverhead is the fixed share of an entry in BatchBytes: what it costs beside its key and
// value (the entry itself in the batch, its record's header on disk).
const entryOverhead = 48

// barrier is a flush request travelling behind every write accepted before it.
type barrier struct {
	done chan error
}

// Batch is a group of entries of one shard written and made durable together.
type Batch struct {
	// Shard is the index of the shard that formed the batch.
	Shard int
	// Entries are the entries to write: after coalescing, the newest version of each key (or
	// every version, in order, with coalescing disabled).
	Entries []Entry
	// Bytes is the sum of the entries' sizes as counted against BatchBytes.
	Bytes int
	// Seq numbers the shard's batches from 1, in the order they were formed.
	Seq uint64
	// Dropped lists the Delete entries that coalescing dropped together with the key's whole
	// history in the batch (a key created and deleted within it): nothing of them is written,
	// and OnDurable receives them here so the caller can settle them.
	Dropped []Entry

	opened   time.Time
	failGen  uint64 // the shard's failure count when the batch opened
	barriers []*barrier
	err      error
}

// settles reports whether the batch has entries to write or dropped entries to settle.
func (b *Batch) settles() bool { return len(b.Entries) > 0 || len(b.Dropped) > 0 }

func (b *Batch) reset() {
	clear(b.Entries)
	b.Entries = b.Entries[:0]
	b.Bytes = 0
	clear(b.Dropped)
	b.Dropped = b.Dropped[:0]
	clear(b.barriers)
	b.barriers = b.barriers[:0]
	b.err = nil
}

// Backend writes batches and makes them durable. Each shard has its own Backend; the shard's
// submit goroutine calls Submit and its complete goroutine calls Complete, each in batch order,
// so one Backend sees at most those two goroutines. Every batch with entries to write or
// dropped entries to settle goes through both; a batch that carries only flush barriers does
// not.
type Backend interface {
	// Submit starts writing every entry of b followed by a data sync. It may do the whole job
	// before returning (a synchronous backend) or only queue it.
	Submit(b *Batch) error
	// Complete waits until the batch passed to Submit is durable and returns its outcome. It is
	// called for batches in the order they were submitted and only when Submit succeeded.
	Complete(b *Batch) error
}
