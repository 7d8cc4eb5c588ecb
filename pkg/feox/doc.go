// Package feox is an embedded key-value store: a lock-free in-memory hash index that every read
// goes to directly, an ordered index for range scans, and (in persistent mode) write-behind
// persistence through per-shard pipelines.
//
// # Reads and writes
//
// Every key has a cell, holding its bytes and its newest immutable record (value, timestamp,
// expiry), which a lock-free hash index and an ordered index share. A read loads the record
// without taking any lock. A write publishes a new record inside the hash index's per-key
// critical section, so writes of one key are atomic and ordered while
// writes of different keys proceed in parallel; no operation takes a store-wide lock. The
// creation or deletion of a key is logged for the ordered index behind Range and Scan inside the
// same critical section, and the log is applied before any Range or Scan that starts later
// looks; an update of an existing key does not touch the ordered index.
//
// The store never retains the slices passed to it: the caller may reuse them as soon as a call
// returns. Slices returned by Get and Range belong to the caller. The slice passed to a View
// callback and the slices yielded by Scan must not be modified or kept.
//
// # Timestamps
//
// Every version of a key carries a timestamp in nanoseconds since the Unix epoch:
//
//   - An automatic timestamp is the wall clock, raised where needed so that it is strictly
//     greater than the key's current timestamp, even if the wall clock stalls or steps back.
//     Each key has its own clock: a timestamp given to one key never moves another's.
//   - An explicit timestamp (InsertWithTimestamp, DeleteWithTimestamp; 0 means automatic) must
//     be strictly greater than the key's current timestamp, else the call fails with
//     ErrOlderTimestamp; equal timestamps are rejected. A successful explicit timestamp raises
//     the key's clock, so later automatic writes of the key beat it; a failed write never moves
//     it. A key written with the largest timestamp (math.MaxUint64) accepts no later write until
//     it is deleted.
//   - A delete leaves no lasting tombstone: a write that starts after Delete returned succeeds
//     with any timestamp. But an explicit-timestamp write already in flight when a delete with
//     a newer timestamp overtook it fails with ErrOlderTimestamp rather than bring the key back.
//
// # Expiry
//
// InsertWithTTL and UpdateTTL give a key an expiry, an absolute wall-clock instant. From that
// instant the key is invisible to every read (Get, View, Size, Contains, Range, Scan, TTL) and
// every conditional write treats it as absent (InsertIfAbsent creates it, CompareAndSwap,
// JSONPatch, Delete, UpdateTTL and Persist report it absent, Increment restarts from delta).
// A background sweep, every TTLSweepInterval, removes expired keys in expiry order with bounded
// work per run; Len and MemoryUsage follow when the sweep has run. Insert, InsertWithTimestamp
// and CompareAndSwap clear an expiry; Increment and JSONPatch keep it.
//
// # Memory
//
// MemoryUsage counts key bytes, the bytes of the values held in memory and a fixed overhead per
// key. In memory-only mode a write that would take it past Options.MaxMemory fails with
// ErrOutOfMemory and changes nothing; concurrent writers can never jointly pass the limit. In
// persistent mode values never make a write fail: a value stays in memory until it is on disk,
// then a CLOCK cache keeps the recently read values within MaxMemory and lets the others go, to
// be read back from the file when asked for (Options.DisableCache keeps none); only the keys,
// with their fixed overhead, are held to MaxMemory, and a new key past it fails with
// ErrOutOfMemory.
//
// # Persistence
//
// With Options.Path set the store keeps its data in that file. Open creates the file (of
// Options.FileSize, at least 1 MiB) or recovers from it every record that was flushed, and on
// Linux locks it, so that a second Open of the file fails with ErrLocked. The file grows when it
// is full and never shrinks.
//
// Writes are write-behind: a write returns as soon as the in-memory indexes hold it. Each key
// belongs to one of Pipeline.Shards shards, whose owner goroutine drains the shard's ring of
// writes into batches (closed at Pipeline.BatchEntries entries, Pipeline.BatchBytes bytes or
// Pipeline.FlushInterval after the first write), keeps only the newest version of each key in
// a batch (unless Pipeline.DisableCoalesce), writes the batch with pwrite (or io_uring, with
// Pipeline.IO set to IOUring) and makes it durable with one data sync. When the disk falls
// behind, writers wait for room in the ring rather than queue without bound.
//
// Flush is the durability point: it blocks until every write accepted before the call is on
// disk and synced, and returns the first error the disk reported on the way. Failed writes stay
// in the pipeline and are retried, and a later Flush succeeds once the disk recovers. Close
// flushes too and returns the flush's error (writes still failing then are lost). A crash can
// lose the writes that no successful Flush covered, and nothing that one covered. Every record
// and every frame header (a frame holds the records of one batch in one segment) carries a
// CRC-32C checksum: a frame torn by a crash is skipped whole at Open and counted in
// Stats.CorruptRecords, and a value that fails verification is never returned.
//
// # Errors
//
// Errors are package-level values for errors.Is. When several apply, ErrClosed comes first,
// then ErrInvalidKey, then ErrInvalidValue, then the rest. A failed operation changes nothing.
//
// # Examples and further reading
//
// The examples below show each feature at work: Example (open, Insert, Get), Example_persistence
// (a data file, Flush, Close and a reopen), ExampleStore_View (a read without a copy),
// ExampleStore_InsertWithTimestamp (last writer wins), ExampleStore_InsertWithTTL (expiry),
// ExampleStore_Range and ExampleStore_Scan (ordered ranges), ExampleStore_CompareAndSwap,
// ExampleStore_Increment (counters), ExampleStore_JSONPatch and ExampleStore_Stats.
//
// The repository's documentation goes further (paths from the repository root):
// docs/ARCHITECTURE.md follows a read and a write through the indexes, the pipeline and the
// data file; docs/DURABILITY.md states what survives a crash and names the tests that show it;
// docs/FORMAT.md describes the data file byte by byte; docs/TUNING.md explains the options and
// how to choose them.
package feox
