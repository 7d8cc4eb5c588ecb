package feox

import (
	"sync/atomic"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/internal/index"
	"github.com/feoxdb/feox-go/pkg/cache"
)

// cell is a key's slot in both indexes: its key's bytes and its newest record.
type cell = index.Cell[record]

// record is one version of a key: its value and what orders it. It is immutable once published
// in its key's cell: every mutation publishes a new record, so a reader that loaded a record may
// use it without a lock. The key is not in the record but in the cell.
//
// The fields every version needs are here (40 bytes); the rare ones (an expiry, the guards of
// explicit-timestamp writes, and everything a persistent store tracks per version) are in an
// extra, allocated with the record when the version needs one.
type record struct {
	// ts is the version's timestamp in nanoseconds; strictly increasing per key.
	ts uint64
	// seq orders every mutation within the key's clock shard (and so within the key), including
	// a recreation with a lower explicit timestamp after a delete.
	seq uint64
	// val points at the value's first byte: the buffer that follows the record in its
	// allocation, a separate buffer for a large value, or another version's value when a version
	// republishes it; nil for an empty value. A stub without an extra holds its place in the
	// data file here instead (see place). Never modified after publication.
	val unsafe.Pointer
	// vlen is the value's length, kept for stubs too.
	vlen uint32
	// dead marks a tombstone: the key is absent. Tombstones exist only while explicit-timestamp
	// writers that started before the delete may still be in flight, and in persistent mode
	// until the deletion is durable.
	dead bool
	// stub marks a version whose value is not in memory (persistent mode, evicted by the
	// cache): the value is read back from disk (see values.go). A stub is durable, and has an
	// extra only when it needs an expiry or guards.
	stub bool
	// x holds the version's rare fields; nil when it needs none.
	x *extra
}

// extra is the part of a record that most versions of a memory-only store do without. Its
// first fields are the ones a read or a scan's visit reads (the expiry, ch and the head of ce,
// with its reference bit), so that they share one cache line.
type extra struct {
	// expiry is the wall-clock instant (Unix nanoseconds) at which the key expires; 0 = never.
	expiry int64
	// ch points to ce once the version is durable and resident; nil otherwise.
	ch atomic.Pointer[cache.Handle[*record]]
	// ce is the version's cache entry (see ch), kept with the record so that a read's touch of
	// the entry hits memory it has just loaded and admission allocates nothing.
	ce cache.Handle[*record]
	// guardTs and guardSeq remember the newest delete that an explicit-timestamp write in flight
	// when it happened must beat: such a write whose start precedes guardSeq and whose timestamp is
	// not above guardTs fails with ErrOlderTimestamp. guardSeq 0 means no guard.
	guardTs  uint64
	guardSeq uint64

	// The rest serves persistent stores (and stores with a write pipeline) only.

	// cell is the version's key's cell, through which the cache's eviction finds the key; nil
	// in a stub (the cache holds no stub).
	cell *cell
	// pl is the version's place in the data file, made when the version is, before it is
	// published, and shared with the stub and resident copies that later stand for the same
	// version.
	pl *datafile.Place
	// prev is the record this version replaced, until this version is durable: the complete
	// stage then drops the cached values of the versions it replaced (see dropReplaced).
	// Written before the version is enqueued; read and cleared only by the complete stage of
	// the key's shard.
	prev *record
	// durable is set once the version is on disk (by the write pipeline's complete stage).
	durable atomic.Bool
}

// Place returns the version's place in the data file: a record is the Ref of its pipeline
// entry, and the data file finds the place through it.
func (r *record) Place() *datafile.Place { return r.place() }

// place returns the version's place in the data file; nil in a memory-only store.
func (r *record) place() *datafile.Place {
	switch {
	case r.x != nil:
		return r.x.pl
	case r.stub:
		return (*datafile.Place)(r.val)
	}
	return nil
}

// value returns the version's value; the caller must not modify it. Empty (not nil) for an
// empty value and for a stub.
func (r *record) value() []byte {
	if r.val == nil || r.stub {
		return []byte{} // no allocation: a zero-length literal points at the runtime's zero base
	}
	return unsafe.Slice((*byte)(r.val), r.vlen)
}

// expiry returns the version's expiry (Unix ns), 0 for none.
func (r *record) expiry() int64 {
	if r.x == nil {
		return 0
	}
	return r.x.expiry
}

// liveAt reports whether r is a present, unexpired key at wall-clock instant now (Unix ns).
func (r *record) liveAt(now int64) bool {
	return !r.dead && (r.x == nil || r.x.expiry == 0 || now < r.x.expiry)
}

// expired reports whether r is present but past its expiry at now.
func (r *record) expired(now int64) bool {
	return !r.dead && r.x != nil && r.x.expiry != 0 && now >= r.x.expiry
}

// handle returns the version's cache entry if the cache holds its value, else nil.
func (r *record) handle() *cache.Handle[*record] {
	if r.x == nil {
		return nil
	}
	return r.x.ch.Load()
}

// isDurable reports whether the version is on disk.
func (r *record) isDurable() bool { return r.stub || (r.x != nil && r.x.durable.Load()) }

// newRecord returns an unpublished record holding a copy of value, with an extra when withX is
// set. A small value shares one allocation with its record (and extra): the sizes on offer
// fill Go's size classes, so at most 16 bytes of one go unused. A larger one gets a buffer of
// its own: past 512 bytes an object with pointers carries an allocation header, and a value
// buffer needs none.
func newRecord(value []byte, withX bool) *record {
	n := len(value)
	allocs := recordAllocs[:]
	if withX {
		allocs = recordXAllocs[:]
	}
	var r *record
	var buf unsafe.Pointer
	if n > 0 && n <= allocs[len(allocs)-1].max {
		for _, a := range allocs {
			if n <= a.max {
				r, buf = a.alloc()
				break
			}
		}
	} else {
		r = bare(withX)
		if n > 0 {
			buf = unsafe.Pointer(unsafe.SliceData(make([]byte, n)))
		}
	}
	if n > 0 {
		copy(unsafe.Slice((*byte)(buf), n), value)
		r.val = buf
	}
	r.vlen = uint32(n)
	return r
}

// republished returns an unpublished record of the same value as r, sharing r's value buffer,
// with an extra when withX is set.
func republished(r *record, withX bool) *record {
	n := bare(withX)
	n.val, n.vlen = r.val, r.vlen
	return n
}

// bare returns a new record without a value buffer, with an extra when withX is set.
func bare(withX bool) *record {
	if withX {
		p := new(recordXBare)
		p.record.x = &p.x
		return &p.record
	}
	return new(record)
}

// withExtra returns r itself if it has an extra, else a copy of r's value in a new record with
// one (a memory-only version that turned out to need an expiry or a guard).
func withExtra(r *record) *record {
	if r.x != nil {
		return r
	}
	if r.val == nil {
		return republished(r, true)
	}
	return newRecord(r.value(), true)
}

// recordWith is a record followed by its value's buffer: one allocation, so that a read finds
// the record and the value it returns on the same few cache lines. B is a byte array type.
type recordWith[B any] struct {
	record
	buf B
}

// recordX is a record, its value's buffer and its extra: the value right after the record, so
// that a short one shares the record's first cache line, and the extra after it.
type recordX[B any] struct {
	record
	buf B
	x   extra
}

// recordXBare is a record and its extra without a value buffer. Not a recordX[struct{}]: a
// zero-size last field gets padded, to 136 bytes here.
type recordXBare struct {
	record
	x extra
}

// recordAlloc is one single allocation of a record and a value buffer of up to max bytes.
type recordAlloc struct {
	max   int
	alloc func() (*record, unsafe.Pointer)
}

// recordAllocs are the single allocations of a record without an extra, smallest first: each
// fills one of Go's size classes up to 512 bytes.
var recordAllocs = [...]recordAlloc{
	{8, alloc[[8]byte]}, {24, alloc[[24]byte]}, {40, alloc[[40]byte]}, {56, alloc[[56]byte]},
	{72, alloc[[72]byte]}, {88, alloc[[88]byte]}, {104, alloc[[104]byte]}, {120, alloc[[120]byte]},
	{136, alloc[[136]byte]}, {152, alloc[[152]byte]}, {168, alloc[[168]byte]}, {184, alloc[[184]byte]},
	{200, alloc[[200]byte]}, {216, alloc[[216]byte]}, {248, alloc[[248]byte]}, {280, alloc[[280]byte]},
	{312, alloc[[312]byte]}, {344, alloc[[344]byte]}, {376, alloc[[376]byte]}, {408, alloc[[408]byte]},
	{440, alloc[[440]byte]}, {472, alloc[[472]byte]},
}

// recordXAllocs are the single allocations of a record with an extra, smallest first.
var recordXAllocs = [...]recordAlloc{
	{16, allocX[[16]byte]}, {32, allocX[[32]byte]}, {48, allocX[[48]byte]}, {64, allocX[[64]byte]},
	{80, allocX[[80]byte]}, {96, allocX[[96]byte]}, {112, allocX[[112]byte]}, {128, allocX[[128]byte]},
	{160, allocX[[160]byte]}, {192, allocX[[192]byte]}, {224, allocX[[224]byte]},
	{256, allocX[[256]byte]}, {288, allocX[[288]byte]}, {320, allocX[[320]byte]},
	{352, allocX[[352]byte]}, {384, allocX[[384]byte]},
}

// alloc allocates a record together with a value buffer of type B, a byte array.
func alloc[B any]() (*record, unsafe.Pointer) {
	p := new(recordWith[B])
	return &p.record, unsafe.Pointer(&p.buf)
}

// allocX allocates a record and its extra together with a value buffer of type B.
func allocX[B any]() (*record, unsafe.Pointer) {
	p := new(recordX[B])
	p.record.x = &p.x
	return &p.record, unsafe.Pointer(&p.buf)
}

// guardSeq returns the sequence number of the delete r guards against, 0 for none.
func (r *record) guardSeq() uint64 {
	if r.x == nil {
		return 0
	}
	return r.x.guardSeq
}

// guardTs returns the timestamp of the delete r guards against.
func (r *record) guardTs() uint64 {
	if r.x == nil {
		return 0
	}
	return r.x.guardTs
}
