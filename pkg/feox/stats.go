package feox

import (
	"math/rand/v2"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/feoxdb/feox-go/internal/hist"
)

// latencySampleMask makes one operation in 64 measure its latency, so the clock reads and the
// shared histogram stay off the common path.
const latencySampleMask = 63

// Stats is a snapshot of a store's counters. Counters count since Open; after Close they keep
// their last values.
type Stats struct {
	// Keys is the number of present keys (as Len).
	Keys int64
	// MemoryBytes is MemoryUsage: keys, values and index entries.
	MemoryBytes int64
	// Gets counts Get and View calls on a valid key of an open store; GetMisses those that found
	// nothing.
	Gets, GetMisses int64
	// Inserts counts calls that created a key; Updates calls that replaced the value of a
	// present key (Insert, InsertWithTTL, InsertWithTimestamp, CompareAndSwap, Increment,
	// JSONPatch); Deletes successful deletes; Ranges Range and Scan calls.
	Inserts, Updates, Deletes, Ranges int64
	// Expired counts keys removed because their expiry passed.
	Expired int64
	// TTLKeys is the number of keys tracked for expiry; Sweeps counts sweep rounds.
	TTLKeys, Sweeps int64

	// CacheHits and CacheMisses count reads served from memory and from disk; CacheEvictions
	// counts values dropped from memory; CacheBytes is the memory held by cached values.
	// In a memory-only store every read is a hit and nothing is evicted.
	CacheHits, CacheMisses, CacheEvictions, CacheBytes int64

	// Write pipeline counters (0 in memory-only mode): entries accepted, versions dropped by
	// coalescing, versions made durable, failed batches, batches, data syncs and the times a
	// writer waited for room in a full ring.
	WritesBuffered, WritesCoalesced, WritesDurable, WriteErrors int64
	Batches, Syncs, BackpressureWaits                           int64

	// Disk counters (0 in memory-only mode): the data file's apparent size, the bytes of live
	// records in it, bytes written and read, and the torn frames (each holding the records of
	// one batch in one segment) skipped whole at Open.
	DiskBytes, DiskLiveBytes, BytesWritten, BytesRead, CorruptRecords int64

	// Log-structured space (0 in memory-only mode): the bytes of the data file's free segments;
	// the bytes of garbage (replaced and deleted records) in its written segments, and
	// Fragmentation, garbage / (live + garbage); the segments the cleaner erased and the
	// records it moved to do so. See docs/FORMAT.md.
	DiskFreeBytes, DiskGarbageBytes, SegmentsCleaned, RecordsMoved int64
	Fragmentation                                                  float64

	// DiskAllocatedBytes is what the data file takes on disk, as du reports it (erased
	// segments are holes; a new file is sparse, and the file grows by reserving space); 0 in
	// memory-only mode. DiskBytesPerKey is DiskAllocatedBytes over Keys, and
	// SpaceAmplification DiskAllocatedBytes over DiskLiveBytes (0 when either is 0).
	DiskAllocatedBytes                  int64
	DiskBytesPerKey, SpaceAmplification float64

	// DirectIO reports that batches go to the data file with O_DIRECT (Pipeline.DirectIO was
	// asked for and the filesystem allows it); false in memory-only mode.
	DirectIO bool

	// Pipeline detail (0 in memory-only mode): the mean and largest number of entries per batch,
	// the largest number of items seen waiting in one ring, flush barriers, and the time spent
	// in each stage (batches open, coalescing, submitting, waiting for completion), summed
	// over shards.
	BatchMean                                         float64
	BatchMax, RingHighWater, Barriers                 int64
	BatchTime, CoalesceTime, SubmitTime, CompleteTime time.Duration

	// Sampled latency quantiles of Get (and View) and of the Insert family.
	GetP50, GetP99, InsertP50, InsertP99 time.Duration
}

// counters are the store's striped operation counters and sampled latency histograms.
type counters struct {
	gets, getMisses, inserts, updates, deletes, ranges, expired, sweeps *xsync.Counter
	// diskReads counts reads of values from the data file; evictions, values the cache
	// dropped from memory.
	diskReads, evictions *xsync.Counter

	getLat, insertLat hist.Histogram
}

func (c *counters) init() {
	for _, p := range []**xsync.Counter{&c.gets, &c.getMisses, &c.inserts, &c.updates,
		&c.deletes, &c.ranges, &c.expired, &c.sweeps, &c.diskReads, &c.evictions} {
		*p = xsync.NewCounter()
	}
}

// sampleStart returns the start time of an operation chosen for latency sampling, or the zero
// time when this one is not sampled.
func sampleStart() time.Time {
	if rand.Uint32()&latencySampleMask != 0 {
		return time.Time{}
	}
	return time.Now()
}

// sampleEnd records the latency of a sampled operation into h.
func sampleEnd(h *hist.Histogram, start time.Time) {
	if !start.IsZero() {
		h.Record(time.Since(start))
	}
}

// Stats returns a snapshot of the store's counters. It works after Close too.
func (s *Store) Stats() Stats {
	c := &s.stats
	gets := c.gets.Value()
	misses := c.getMisses.Value()
	st := Stats{
		Keys:        max(s.keys.Value(), 0),
		MemoryBytes: s.mem.Load(),
		Gets:        gets,
		GetMisses:   misses,
		Inserts:     c.inserts.Value(),
		Updates:     c.updates.Value(),
		Deletes:     c.deletes.Value(),
		Ranges:      c.ranges.Value(),
		Expired:     c.expired.Value(),
		TTLKeys:     int64(s.ttl.len()),
		Sweeps:      c.sweeps.Value(),
		CacheHits:   gets - misses,
		GetP50:      c.getLat.Quantile(0.50),
		GetP99:      c.getLat.Quantile(0.99),
		InsertP50:   c.insertLat.Quantile(0.50),
		InsertP99:   c.insertLat.Quantile(0.99),
	}
	if s.df != nil {
		d := s.df.Stats()
		st.DiskBytes, st.DiskLiveBytes = d.Size, d.Live
		st.BytesWritten, st.BytesRead, st.CorruptRecords = d.Written, d.Read, d.Corrupt
		st.DiskFreeBytes, st.DiskGarbageBytes = d.Free, d.Garbage
		st.DirectIO = d.DirectIO
		if total := st.DiskLiveBytes + st.DiskGarbageBytes; total > 0 {
			st.Fragmentation = float64(st.DiskGarbageBytes) / float64(total)
		}
		st.DiskAllocatedBytes = d.Allocated
		if st.Keys > 0 {
			st.DiskBytesPerKey = float64(d.Allocated) / float64(st.Keys)
		}
		if d.Live > 0 {
			st.SpaceAmplification = float64(d.Allocated) / float64(d.Live)
		}
		st.SegmentsCleaned, st.RecordsMoved = d.Cleaned, d.Moved
		st.CacheMisses = c.diskReads.Value()
		st.CacheHits = max(gets-misses-st.CacheMisses, 0)
		st.CacheEvictions = c.evictions.Value()
		st.CacheBytes = s.cache.Resident()
	}
	if s.pipe != nil {
		p := s.pipe.Stats()
		st.WritesBuffered = p.Accepted
		st.WritesCoalesced = p.Coalesced
		st.WritesDurable = p.Durable
		st.WriteErrors = p.Errors
		st.Batches = p.Batches
		st.Syncs = p.Batches
		if s.df != nil {
			st.Syncs = s.df.Stats().Syncs
		}
		st.BackpressureWaits = p.BackpressureWaits
		st.BatchMean = p.MeanBatch()
		st.BatchMax = p.MaxBatch
		st.RingHighWater = p.RingHighWater
		st.Barriers = p.Barriers
		st.BatchTime, st.CoalesceTime = p.BatchTime, p.CoalesceTime
		st.SubmitTime, st.CompleteTime = p.SubmitTime, p.CompleteTime
	}
	return st
}
