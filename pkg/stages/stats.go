package stages

import "time"

// Stats are a pipeline's counters, summed over its shards.
type Stats struct {
	// Accepted counts entries the batch stages took from the rings; Buffered is the number of
	// those not yet durable (nor dropped by coalescing): in batches or waiting for a retry.
	// Entries still in the rings are counted by neither.
	Accepted, Buffered int64
	// Batches counts durable non-empty batches; Entries the entries they held (after
	// coalescing); MaxBatch the largest of them.
	Batches, Entries, MaxBatch int64
	// Coalesced counts entries dropped by coalescing.
	Coalesced int64
	// Durable counts entries made durable.
	Durable int64
	// Errors counts failed batches (their entries are retried).
	Errors int64
	// Barriers counts flush barriers.
	Barriers int64
	// BackpressureWaits counts the times a producer waited for room in a full ring.
	BackpressureWaits int64
	// RingHighWater is the largest number of items seen waiting in one shard's ring.
	RingHighWater int64
	// BatchTime, CoalesceTime, SubmitTime and CompleteTime are the time spent in each stage:
	// batches open, coalescing, submitting, and waiting for completion.
	BatchTime, CoalesceTime, SubmitTime, CompleteTime time.Duration
}

// MeanBatch returns the mean number of entries per durable batch.
func (s Stats) MeanBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.Entries) / float64(s.Batches)
}

// Stats returns the pipeline's counters. It works after Close too.
func (p *Pipeline) Stats() Stats {
	var s Stats
	for _, sh := range p.shards {
		s.Accepted += sh.accepted.Load()
		s.Batches += sh.batches.Load()
		s.Entries += sh.entries.Load()
		s.MaxBatch = max(s.MaxBatch, sh.maxBatch.Load())
		s.Coalesced += sh.coalesced.Load()
		s.Durable += sh.durable.Load()
		s.Errors += sh.errors.Load()
		s.Barriers += sh.barriers.Load()
		s.BackpressureWaits += sh.ring.Stats().Waits
		s.RingHighWater = max(s.RingHighWater, sh.highWater.Load())
		s.BatchTime += time.Duration(sh.batchNs.Load())
		s.CoalesceTime += time.Duration(sh.coalesceNs.Load())
		s.SubmitTime += time.Duration(sh.submitNs.Load())
		s.CompleteTime += time.Duration(sh.completeNs.Load())
	}
	s.Buffered += s.Accepted - s.Durable - s.Coalesced
	return s
}
