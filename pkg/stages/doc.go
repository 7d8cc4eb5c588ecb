// Package stages is the write pipeline: per-shard owner goroutines that drain lock-free MPSC
// rings into batches, and the stages that carry each batch to durable storage.
//
// Every shard runs four goroutines connected by channels, each stage with one input and one
// output. Producers push entries into the shard's ring; then:
//
//   - batch: the owner goroutine drains its ring into a batch that closes at BatchEntries
//     entries, BatchBytes bytes, FlushInterval after its first entry, or a flush barrier,
//     whichever comes first;
//   - coalesce: only the newest version (largest Seq) of each key survives; a key whose newest
//     version is a Delete and whose oldest version in the batch created it (Entry.Fresh) is
//     dropped entirely, since none of it reached disk. DisableCoalesce keeps every version;
//   - submit: hands the batch to the shard's Backend (write these entries, then sync);
//   - complete: waits for the batch to be durable, reports it through Options.OnDurable,
//     answers the flush barriers behind it and recycles the batch.
//
// A producer picks the shard from the key's hash, never from itself, so every version of a key
// passes through one ring. A producer that calls TryEnqueue inside the key's critical section
// (as the feox facade does) puts the versions of a key into the ring in the order they were
// made; coalescing keeps the newest by Seq either way.
//
// # Flush
//
// Flush pushes a barrier into every ring behind all entries enqueued before it. The barrier
// closes its batch and is answered when that batch is durable: with nil, or with the first
// backend error since the batch opened. A failed batch's entries are not dropped: they go back
// to the owner, which retries them all in its next batch (after a backoff from 1 ms doubling to
// 1 s; a Flush or Close takes them at once) until the backend heals. Close flushes, stops the
// goroutines and reports the outcome of the last batch; entries still failing then are dropped.
//
// # Memory bound
//
// Each shard has Depth batches in circulation (default 4); when all are between the batch and
// complete stages the owner stops draining, its ring fills, and producers wait (backpressure)
// instead of queueing without bound. While the owner waits for a free batch it may hold up to
// min(RingSize, 256) entries it already took from the ring, and the ring fills again behind
// them. So, while the backend keeps up or is merely slow, one shard holds at most
// RingSize + min(RingSize, 256) + (Depth+1) x BatchEntries accepted entries that are not yet
// durable (about 6,400 entries, 1 MB with 100-byte values, at the defaults), and their bytes are
// bounded by (Depth+1) x BatchBytes plus the ring's entries; the pipeline holds Shards times
// that. On a crash, those are the writes at risk.
//
// When the backend fails, the failed entries wait and join the next batch, which the owner forms
// only after a backoff (from 1 ms, doubling to 1 s): producers are throttled to about one batch
// per backoff, and coalescing keeps only the newest failed version of each key, so an outage
// holds at most one entry per key written during it on top of the bound above. With
// DisableCoalesce that last bound does not hold.
package stages
