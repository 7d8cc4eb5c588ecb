package datafile

import "sync/atomic"

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

// Loc is a record's location in the data file: its first sector + 1 in the low 40 bits and its
// length in sectors above them; 0 means none.
type Loc uint64

// packLoc packs a record's first sector and sector count.
func packLoc(sector, sectors uint64) Loc { return Loc((sector + 1) | sectors<<40) }

// Offset returns the file offset of the record.
func (l Loc) Offset() int64 { return int64(l.sector() * sectorSize) }

// sector returns the record's first sector.
func (l Loc) sector() uint64 { return uint64(l)&(1<<40-1) - 1 }

// sectors returns the record's length in sectors.
func (l Loc) sectors() uint64 { return uint64(l) >> 40 }

// bytes returns the record's length in bytes: the sectors it covers.
func (l Loc) bytes() uint64 { return l.sectors() * sectorSize }

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
