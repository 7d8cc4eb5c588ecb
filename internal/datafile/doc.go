// Package datafile holds a persistent store's data file as a log of segments: where each
// batch's records go, when a version's record counts as live, the deletion records kept on
// disk, the cleaner that reclaims garbage, the recovery of the records at Open, and the reads of
// values back from the file. Package disk moves the bytes; package format defines them
// (docs/FORMAT.md).
//
// # Writing
//
// A File gives each pipeline shard a Backend (stages.Backend). Submit appends the batch's
// records at the head segment, whichever keys they update, so that a batch is one sequential
// write, and starts its data sync; Complete waits for the sync and settles the batch: each
// version's Place records where the version now lives, counts it as live in its segment, and
// releases the version it replaced, whose bytes become garbage. The store gives every version
// it hands the pipeline a Place (NewPlace), linked to the place of the version it replaces, and
// carries it in the entry's Ref (Placed).
//
// # Cleaning
//
// A replaced or deleted version is not erased where it lies. The cleaner, one goroutine per
// File, moves the live records out of segments that hold garbage (through the pipeline, as
// ordinary writes of the key's shard), then erases the whole segment and returns it to the free
// list. A deletion record stays on disk while a segment not yet erased may hold an older copy of
// its key (its ghosts), so that the key cannot come back at the next Open.
//
// # Open
//
// Open scans the file and hands every record to the store's Rebuilder: per key, the record
// with the largest sequence number wins, and the others stay where they lie as garbage. The
// Index the store gives in Config tells the cleaner and the writers which versions are
// current.
//
// # Concurrency
//
// One mutex per File guards the segment table, the free segments, the head, the kept deletion
// records and the counted, superseded and ghosts fields of every Place; the location of a
// Place is atomic, so readers load it without the lock. A shard's submit goroutine takes the
// mutex once per batch to place its records, its complete goroutine once per batch to settle
// them, and the cleaner a few times per round.
package datafile
