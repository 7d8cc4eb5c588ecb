package datafile

import (
	"sync/atomic"

	"github.com/feoxdb/feox-go/internal/format"
)

// Place is where one version of a key lives in the data file, and what the file must remember
// about it: whether its record counts as live, the older copies of the key it stands for
// (ghosts), and the version it replaced until it is settled. The store makes one Place per
// version it hands the pipeline (NewPlace) and shares it with every record that stands for the
// same version (a copy without the value, or with the value read back), so that when the
// cleaner moves the record they all see its new location.
type Place struct {
	// loc is the record's location (see Loc); 0 until the version is durable. The cleaner
	// changes it when it moves the record; a reader loads it and reads again if it changed
	// while the read failed verification.
	loc atomic.Uint64
	// prev is the place of the version this one replaced, until this one is settled. Written
	// before the version enters the pipeline; read and cleared only by the complete stage of
	// the key's shard.
	prev *Place
	// ghosts lists the segments, not yet erased, that may still hold older copies of the key
	// (versions it replaced, copies of failed writes, the extents it was moved from). A
	// deletion record must stay on disk while its ghosts do. Guarded by File.mu.
	ghosts *ghost
	// dead marks a deletion. Set before the place is shared; never changed.
	dead bool
	// counted is set while the record counts as live in its segment. Guarded by File.mu.
	counted bool
	// superseded is set when a newer version of the key became durable first: if this version
	// reaches the disk after that (a retried deletion), it is garbage at once. Guarded by
	// File.mu.
	superseded bool
}

// NewPlace returns the place of a new version that replaces the version at prev (nil if the
// key had none); dead marks a deletion. The place links to prev until the new version is
// settled, so that the versions in between that never reach the disk are skipped and the
// newest one that did is released.
func NewPlace(prev *Place, dead bool) *Place {
	return &Place{prev: prev, dead: dead}
}

// Loc returns the record's location in the file, and false while the version is not durable.
func (p *Place) Loc() (Loc, bool) {
	l := Loc(p.loc.Load())
	return l, l != 0
}

// Superseded reports whether a newer version of the key became durable first (at Open: was
// found in the file). It reads a field the complete stages write under the file's mutex: call
// it only while no pipeline runs, as Open's Rebuilder does.
func (p *Place) Superseded() bool { return p.superseded }

// Dead reports whether the place is a deletion's.
func (p *Place) Dead() bool { return p.dead }

// Loc is a record's location in the data file: its offset in RecordAlign units + 1 in the low
// locOffBits bits and its size (padding included) in RecordAlign units above them; 0 means
// none. It spans files of up to maxFileBytes and records of up to 1 GiB.
type Loc uint64

// locOffBits is the width of a Loc's offset field.
const locOffBits = 37

// maxFileBytes is the largest data file a Loc can address (1 TiB).
const maxFileBytes = format.RecordAlign << locOffBits

// packLoc packs a record's file offset and size in bytes, both multiples of RecordAlign.
func packLoc(off, size uint64) Loc {
	return Loc((off/format.RecordAlign + 1) | (size/format.RecordAlign)<<locOffBits)
}

// Offset returns the file offset of the record.
func (l Loc) Offset() int64 { return int64(l.off()) }

// off returns the file offset of the record.
func (l Loc) off() uint64 { return (uint64(l)&(1<<locOffBits-1) - 1) * format.RecordAlign }

// size returns the bytes the record occupies, its padding included.
func (l Loc) size() uint64 { return uint64(l) >> locOffBits * format.RecordAlign }

// ghost names a segment that may hold an older copy of a key, in the generation it had then.
type ghost struct {
	seg, gen uint32
	next     *ghost
}

// Placed is implemented by the Ref of every entry the store hands the pipeline for a version:
// the version's Place.
type Placed interface {
	Place() *Place
}
