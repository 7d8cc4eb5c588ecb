package feox

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// IOMode selects how the write pipeline reaches the disk.
type IOMode int

const (
	// IOAuto picks the backend measured faster for the store's batches (see docs/DECISIONS.md,
	// 11): io_uring where the kernel allows it and Pipeline.BatchEntries is at least 256, pwrite
	// otherwise. A kernel that refuses io_uring is logged once, and the store uses pwrite.
	IOAuto IOMode = iota
	// IOUring requires io_uring: Open fails with an error wrapping errors.ErrUnsupported where it
	// is not usable.
	IOUring
	// IOPwrite uses pwrite and fdatasync, the portable backend.
	IOPwrite
)

// String returns the mode's name as used in flags: "auto", "uring" or "pwrite".
func (m IOMode) String() string {
	switch m {
	case IOAuto:
		return "auto"
	case IOUring:
		return "uring"
	case IOPwrite:
		return "pwrite"
	}
	return fmt.Sprintf("IOMode(%d)", int(m))
}

// Defaults taken by zero Options fields, and the bounds Open accepts. The pipeline's and the
// I/O's are those of the packages that implement them.
const (
	DefaultFileSize         = 1 << 30
	DefaultMaxMemory        = 4 << 30
	DefaultTTLSweepInterval = time.Second
	DefaultRingSize         = stages.DefaultRingSize      // 1024
	DefaultBatchEntries     = stages.DefaultBatchEntries  // 1024
	DefaultBatchBytes       = stages.DefaultBatchBytes    // 16 MiB
	DefaultFlushInterval    = stages.DefaultFlushInterval // 100ms
	DefaultQueueDepth       = disk.DefaultQueueDepth      // 256
	DefaultMaxGarbage       = datafile.DefaultMaxGarbage  // 0.25
	// MaxRingSize is the largest RingSize Open accepts (1 << 20).
	MaxRingSize = stages.MaxRingSize
	// MaxShards is the largest Shards Open accepts (1024).
	MaxShards = stages.MaxShards
	// MaxQueueDepth is the largest QueueDepth Open accepts: the io_uring limit, 32768.
	MaxQueueDepth = disk.MaxQueueDepth
)

// Options configure a Store. The zero value is valid: a memory-only store with every default.
// A zero field takes its default; a negative size or count is an error naming the field.
type Options struct {
	// Path is the data file; "" means memory-only.
	Path string
	// FileSize is the initial size of a new data file (default 1 GiB): the file has at least
	// FileSize bytes (rounded up to 4 KiB, at least 1 MiB) and at most 1 MiB + 64 KiB more,
	// since its data area is whole 1 MiB segments. The file grows when full.
	FileSize int64
	// MaxMemory bounds the memory held by keys, values and index (default 4 GiB), as
	// MemoryUsage counts it: the live heap of the store's data, not the garbage collector's
	// headroom above it (docs/TUNING.md). A memory-only store refuses writes past it with
	// ErrOutOfMemory; a persistent one evicts durable values past it and refuses new keys once
	// the keys alone would pass it.
	MaxMemory int64
	// DisableCache keeps no values in memory after they are on disk (persistent mode).
	DisableCache bool
	// TTLSweepInterval is how often a background sweep removes expired keys (default 1s);
	// negative disables the sweep. Expired keys are invisible to reads either way.
	TTLSweepInterval time.Duration
	// MaxGarbage is the fraction of the data file's written space that may hold garbage
	// (replaced and deleted records) before the cleaner moves live records to reclaim it
	// (default 0.25, at most 1). It trades write cost for space: the file takes about
	// 1/(1-MaxGarbage) times its live bytes on disk, and a lower value makes the cleaner
	// rewrite more live records per byte it reclaims. 1 turns the bound off: the cleaner then
	// moves records only when free segments run short (segments that hold only garbage are
	// erased whatever the value). Persistent mode only.
	MaxGarbage float64
	// Pipeline configures the write pipeline's stages.
	Pipeline PipelineOptions
	// Logger receives structured logs of open, recovery, flush errors and close; nil is silent.
	Logger *zerolog.Logger
}

// PipelineOptions configure the write pipeline: per-shard owner goroutines, each with its own
// ring, batch and I/O.
type PipelineOptions struct {
	// Shards is the number of owner goroutines (default max(1, GOMAXPROCS/2)).
	Shards int
	// RingSize is the number of slots of each shard's ring, rounded up to a power of two
	// (default 1024, at most MaxRingSize).
	RingSize int
	// BatchEntries is the number of entries that closes a batch (default 1024).
	BatchEntries int
	// BatchBytes is the number of bytes that closes a batch (default 16 MiB).
	BatchBytes int
	// FlushInterval is the longest time a write waits in a batch (default 100ms).
	FlushInterval time.Duration
	// DisableCoalesce keeps every version of a key in a batch instead of only the newest.
	DisableCoalesce bool
	// IO selects the I/O backend (default IOAuto).
	IO IOMode
	// QueueDepth is the number of io_uring submission queue entries per shard (default 256).
	QueueDepth int
	// SQPoll asks for a kernel thread per shard that polls the io_uring submission queue, so
	// that submitting a batch needs no system call while the thread is awake (off by
	// default: the thread costs a CPU while it spins).
	SQPoll bool
	// DirectIO writes batches with O_DIRECT where the data file's filesystem reports direct
	// I/O alignments that suit 512-byte sectors (statx STATX_DIOALIGN, Linux), bypassing the
	// page cache; each batch is then padded with zeros to a 4 KiB boundary so that its write
	// covers whole blocks. Elsewhere writes stay buffered and the store logs it once. Off by
	// default: faster for loads here, but new records then miss the page cache, which serves
	// reads of values that left memory (docs/DECISIONS.md, 11). Stats.DirectIO reports
	// whether it is in effect.
	DirectIO bool
}

// withDefaults validates o and returns a copy with every zero field set to its default.
func (o Options) withDefaults() (Options, error) {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: %s = %v: %s", ErrInvalidOption, field, v, why)
	}
	p := &o.Pipeline
	switch {
	case o.FileSize < 0:
		return o, bad("FileSize", o.FileSize, "must not be negative")
	case o.MaxMemory < 0:
		return o, bad("MaxMemory", o.MaxMemory, "must not be negative")
	case !(o.MaxGarbage >= 0 && o.MaxGarbage <= 1):
		return o, bad("MaxGarbage", o.MaxGarbage, "must be in [0, 1]")
	case p.IO < IOAuto || p.IO > IOPwrite:
		return o, bad("Pipeline.IO", p.IO, "unknown mode")
	case p.QueueDepth < 0 || p.QueueDepth > MaxQueueDepth:
		return o, bad("Pipeline.QueueDepth", p.QueueDepth, fmt.Sprintf("must be in [0, %d]", MaxQueueDepth))
	}
	so, err := p.stages().WithDefaults()
	var oe *stages.OptionError
	if errors.As(err, &oe) {
		return o, bad("Pipeline."+oe.Field, oe.Value, oe.Why)
	}
	p.Shards, p.RingSize, p.BatchEntries = so.Shards, so.RingSize, so.BatchEntries
	p.BatchBytes, p.FlushInterval = so.BatchBytes, so.FlushInterval
	if o.FileSize == 0 {
		o.FileSize = DefaultFileSize
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.TTLSweepInterval == 0 {
		o.TTLSweepInterval = DefaultTTLSweepInterval
	}
	if o.MaxGarbage == 0 {
		o.MaxGarbage = DefaultMaxGarbage
	}
	if p.QueueDepth == 0 {
		p.QueueDepth = DefaultQueueDepth
	}
	return o, nil
}

// stages returns the pipeline's options for p.
func (p *PipelineOptions) stages() stages.Options {
	return stages.Options{Shards: p.Shards, RingSize: p.RingSize, BatchEntries: p.BatchEntries,
		BatchBytes: p.BatchBytes, FlushInterval: p.FlushInterval, DisableCoalesce: p.DisableCoalesce}
}

// disk returns the I/O policy of m.
func (m IOMode) disk() disk.IO {
	switch m {
	case IOUring:
		return disk.IOUring
	case IOPwrite:
		return disk.IOPwrite
	}
	return disk.IOAuto
}
