// Package feox is an embedded key-value store: a lock-free in-memory hash index that every read
// goes to directly, an ordered index for range scans, and (in persistent mode) write-behind
// persistence through per-shard pipelines.
//
// # Reads and writes
//
// Every key maps to an immutable record (value, timestamp, expiry) in a concurrent hash map.
// A read loads the record without taking any lock. A write publishes a new record inside the
// hash map's per-bucket critical section, so writes of one key are atomic and ordered while
// writes of different keys proceed in parallel; no operation takes a store-wide lock. The
// ordered index behind Range and Scan changes only when a key is created or deleted, inside the
// same critical section; an update of an existing key does not touch it.
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
// MemoryUsage counts key bytes, value bytes and a fixed overhead per key. In memory-only mode a
// write that would take it past Options.MaxMemory fails with ErrOutOfMemory and changes
// nothing; concurrent writers can never jointly pass the limit.
//
// # Errors
//
// Errors are package-level values for errors.Is. When several apply, ErrClosed comes first,
// then ErrInvalidKey, then ErrInvalidValue, then the rest. A failed operation changes nothing.
package feox
