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
// to the owner, which retries them (after a backoff from 1 ms doubling to 1 s, or at once when
// a Flush asks) until the backend heals. Close flushes, stops the goroutines and reports the
// outcome of the last batch; entries still failing then are dropped.
//
// # Memory bound
//
// Each shard has Depth batches in circulation (default 4); when all are between the batch and
// complete stages the owner stops draining, its ring fills, and producers wait (backpressure)
// instead of queueing without bound. Entries of failed batches re-enter batches before any new
// entry. So one shard holds at most RingSize + 2 x Depth x BatchEntries accepted entries that
// are not yet durable, and at most about 2 x Depth x BatchBytes plus RingSize entries' bytes;
// the whole pipeline holds Shards times that. With the defaults (1024 slots, 4 batches of 1024
// entries or 16 MiB) and 100-byte values that is about 9,200 entries (1.4 MB) per shard; with
// large values the bytes bound (about 128 MiB per shard plus the ring) dominates. On a crash
// those are the writes at risk; a write older than FlushInterval plus the time of one batch's
// I/O per batch ahead of it is already durable.
package stages
