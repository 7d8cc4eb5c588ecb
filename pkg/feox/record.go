package feox

import (
	"sync/atomic"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/pkg/cache"
)

// recordOverhead is the fixed number of bytes charged to MemoryUsage for every key beside its
// key and value bytes: the record struct, the hash-map entry and bucket share, and the ordered
// index entry.
const recordOverhead = 128

// record is one version of a key. It is immutable once published in the hash index: every
// mutation publishes a new record, so a reader that loaded a record may use it without a lock.
type record struct {
	// kv holds the key's bytes followed by the value's, in one allocation so that a read
	// touches one cache line for both when they are small; never modified after publication.
	// The hash index's entry key points into it too.
	kv []byte
	// klen is the key's length in kv.
	klen int
	// ce is the version's cache entry (see ch), kept in the record so that a read's touch of
	// the entry hits memory it has just loaded and admission allocates nothing.
	ce cache.Handle[*record]
	// ts is the version's timestamp in nanoseconds; strictly increasing per key.
	ts uint64
	// seq orders every mutation within the key's clock shard (and so within the key), including
	// a recreation with a lower explicit timestamp after a delete.
	seq uint64
	// expiry is the wall-clock instant (Unix nanoseconds) at which the key expires; 0 = never.
	expiry int64
	// guardTs and guardSeq remember the newest delete that an explicit-timestamp write in flight
	// when it happened must beat: such a write whose start precedes guardSeq and whose timestamp is
	// not above guardTs fails with ErrOlderTimestamp. guardSeq 0 means no guard.
	guardTs  uint64
	guardSeq uint64
	// dead marks a tombstone: the key is absent. Tombstones exist only while explicit-timestamp
	// writers that started before the delete may still be in flight.
	dead bool
	// stub marks a version whose value is not in memory (persistent mode, evicted by the
	// cache): kv holds the key only, and the value is read back from disk (see values.go).
	stub bool
	// vlen is the value's length, kept for stubs too.
	vlen int
	// ch points to ce once the version is durable and resident; nil otherwise.
	ch atomic.Pointer[cache.Handle[*record]]
	// durable is set once the version is on disk (by the write pipeline's complete stage).
	durable atomic.Bool

	// prev is the record this version replaced in the hash index (persistent mode), until this
	// version is durable: the complete stage then drops the cached values of the versions it
	// replaced (see dropReplaced). Written before the version is enqueued; read and cleared
	// only by the complete stage of the key's shard.
	prev *record

	// pl is the version's place in the data file (persistent mode only; nil otherwise), made
	// when the version is, before it is published, and shared with the stub and resident
	// copies that later stand for the same version.
	pl *datafile.Place
}

// Place returns the version's place in the data file: a record is the Ref of its pipeline
// entry, and the data file finds the place through it.
func (r *record) Place() *datafile.Place { return r.pl }

// recordWith is a record followed by the buffer its kv points into: one allocation, so that a
// read finds the record, the key it compares and the value it returns on the same few cache
// lines. B is a byte array type.
type recordWith[B any] struct {
	record
	buf B
}

// newRecord returns an unpublished record whose kv holds key and then value. Small versions
// share one allocation with their record, in eight sizes chosen so that the record and its
// buffer fill one of Go's size classes (at most 64 bytes of a record's allocation go unused).
// Larger ones get a separate buffer: past 512 bytes an object with pointers carries an 8-byte
// header that pushes it into the next class, so one allocation would waste more than two.
func newRecord(key, value []byte) *record {
	n := len(key) + len(value)
	var r *record
	var kv []byte
	for _, a := range recordAllocs {
		if n <= a.max {
			r, kv = a.alloc(n)
			break
		}
	}
	if r == nil {
		r, kv = new(record), make([]byte, n)
	}
	copy(kv[copy(kv, key):], value)
	r.kv, r.klen, r.vlen = kv, len(key), len(value)
	return r
}

// recordAllocs are the single allocations of a record and its buffer, smallest first: max is
// the buffer's size.
var recordAllocs = [...]struct {
	max   int
	alloc func(n int) (*record, []byte)
}{
	{48, withBuffer[[48]byte]}, {80, withBuffer[[80]byte]}, {112, withBuffer[[112]byte]},
	{144, withBuffer[[144]byte]}, {176, withBuffer[[176]byte]}, {240, withBuffer[[240]byte]},
	{304, withBuffer[[304]byte]}, {368, withBuffer[[368]byte]},
}

// withBuffer allocates a record together with a buffer of type B, a byte array of at least n
// bytes, and returns the record and the buffer's first n bytes.
func withBuffer[B any](n int) (*record, []byte) {
	p := new(recordWith[B])
	return &p.record, unsafe.Slice((*byte)(unsafe.Pointer(&p.buf)), n)[:n:n]
}

// key returns the version's key. The string aliases kv, which is immutable.
func (r *record) key() string { return unsafe.String(unsafe.SliceData(r.kv), r.klen) }

// value returns the version's value; the caller must not modify it.
func (r *record) value() []byte { return r.kv[r.klen:] }

// liveAt reports whether r is a present, unexpired key at wall-clock instant now (Unix ns).
func (r *record) liveAt(now int64) bool {
	return !r.dead && (r.expiry == 0 || now < r.expiry)
}

// expired reports whether r is present but past its expiry at now.
func (r *record) expired(now int64) bool {
	return !r.dead && r.expiry != 0 && now >= r.expiry
}

// cost is the number of bytes r charges to MemoryUsage.
func (r *record) cost() int64 {
	if r == nil || r.dead {
		return 0
	}
	return int64(len(r.kv)) + recordOverhead
}
