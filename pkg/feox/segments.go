package feox

import (
	"errors"
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
)

// The data area is a log of segments. Batches append their records to the open segment (the
// head), so that a batch is one sequential write wherever the keys it updates live. A version
// that is replaced or deleted is not erased where it lies: its sectors turn into garbage in
// their segment. The cleaner (cleaner.go) moves the live records out of segments that hold
// much garbage, then erases the whole segment (a hole punched, or the records' headers zeroed)
// and returns it to the free list. See docs/FORMAT.md and docs/DURABILITY.md.
//
// A record never crosses a segment boundary, except one larger than a segment, which starts a
// group of consecutive segments of its own.

// segSectors is a segment's size in sectors (1 MiB).
const segSectors = 2048

// segBytes is a segment's size in bytes.
const segBytes = segSectors * sectorSize

// baseSector is the first sector of segment 0.
const baseSector = format.DataStart / sectorSize

// segState is where a segment is in its life.
type segState uint8

const (
	segFree     segState = iota // erased, in the free list
	segOpen                     // the head: batches append records to it
	segFull                     // written; the cleaner may pick it once no batch is in flight in it
	segCleaning                 // the cleaner is moving its live records out
	segPinned                   // holds a record crossing its end that this layout would not write: kept as is
)

// segment is the state of one segment, guarded by fileStore.mu.
type segment struct {
	// live is the number of sectors of records that must stay: the newest version of present
	// keys and the deletion records that still have ghosts.
	live uint64
	// used is the number of sectors from the segment's start that may hold records (for a
	// group, from the group's start).
	used uint64
	// span is the number of segments of the group this segment starts: 1 normally, more for a
	// record larger than a segment, 0 for the other segments of such a group.
	span uint32
	// gen counts the segment's erasures; a ghost names the generation it saw.
	gen uint32
	// inflight counts the batches with records in the segment that the complete stage has not
	// settled yet; the cleaner leaves the segment alone until it is 0.
	inflight int32
	state    segState
}

// ghost names a segment that may hold an older copy of a key, in the generation it had then.
type ghost struct {
	seg, gen uint32
	next     *ghost
}

// segOf returns the segment of a sector.
func segOf(sector uint64) uint32 { return uint32((sector - baseSector) / segSectors) }

// segStart returns the first sector of segment i.
func segStart(i uint32) uint64 { return baseSector + uint64(i)*segSectors }

// segmentsFor returns the number of segments of a data file of size bytes (the last one may be
// cut short by an unaligned size; alignedSize avoids that for files this package creates).
func segmentsFor(size int64) uint32 {
	if size <= format.DataStart {
		return 0
	}
	return uint32((uint64(size) - format.DataStart + segBytes - 1) / segBytes)
}

// newFileSize returns the size of a new data file for Options.FileSize: the header blocks and
// as many whole segments as fit in size (at least one).
func newFileSize(size int64) int64 {
	n := max((size-format.DataStart)/segBytes, 1)
	return format.DataStart + n*segBytes
}

// alive reports whether the segment a ghost names has not been erased since.
func (fs *fileStore) alive(g *ghost) bool {
	return int(g.seg) < len(fs.segs) && fs.segs[g.seg].gen == g.gen
}

// prune drops the ghosts whose segment has been erased since. It rewrites the list in place:
// lists belong to one place each.
func (fs *fileStore) prune(g *ghost) *ghost {
	for g != nil && !fs.alive(g) {
		g = g.next
	}
	for p := g; p != nil; p = p.next {
		for p.next != nil && !fs.alive(p.next) {
			p.next = p.next.next
		}
	}
	return g
}

// addGhost adds the segment of sector (in its current generation) to the list g, pruned.
func (fs *fileStore) addGhost(g *ghost, sector uint64) *ghost {
	g = fs.prune(g)
	seg := segOf(sector)
	gen := fs.segs[seg].gen
	for p := g; p != nil; p = p.next {
		if p.seg == seg && p.gen == gen {
			return g
		}
	}
	return &ghost{seg: seg, gen: gen, next: g}
}

// mergeGhosts adds the live ghosts of from to to.
func (fs *fileStore) mergeGhosts(to, from *ghost) *ghost {
	for p := from; p != nil; p = p.next {
		if fs.alive(p) {
			to = fs.addGhost(to, segStart(p.seg))
		}
	}
	return to
}

// count makes the record at pl count as live in its segment.
func (fs *fileStore) count(pl *place) {
	if pl.counted {
		return
	}
	sec, n, ok := unpackLoc(pl.loc.Load())
	if !ok {
		return
	}
	pl.counted = true
	fs.segs[segOf(sec)].live += n
	fs.live.Add(int64(n * sectorSize))
}

// release turns the record at pl into garbage in its segment; the record's own segment becomes
// a ghost of the version that replaces it (see onDurable).
func (fs *fileStore) release(pl *place) {
	if !pl.counted {
		return
	}
	sec, n, _ := unpackLoc(pl.loc.Load())
	pl.counted = false
	s := &fs.segs[segOf(sec)]
	s.live -= min(n, s.live)
	fs.live.Add(-int64(n * sectorSize))
}

// errSegments reports a broken invariant of the segment table.
var errSegments = errors.New("feox: segment table inconsistent")

// takeSegments removes a run of n free segments from the free list, growing the file when
// there is none.
func (fs *fileStore) takeSegments(n uint32, crash func(string)) (uint32, error) {
	ext, err := fs.free.Alloc(uint64(n))
	if errors.Is(err, alloc.ErrNoSpace) && n == 1 && fs.eraseEmpty() {
		ext, err = fs.free.Alloc(1)
	}
	if errors.Is(err, alloc.ErrNoSpace) {
		have := uint32(len(fs.segs))
		grown := have + max(have/4, n, 4)
		crash("grow")
		if err := fs.file.Grow(format.DataStart + int64(grown)*segBytes); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrStoreFull, err)
		}
		crash("grown")
		fs.addSegments(grown)
		ext, err = fs.free.Alloc(uint64(n))
	}
	if err != nil {
		return 0, err
	}
	first := uint32(ext.Off)
	for i := range n {
		s := &fs.segs[first+i]
		if s.state != segFree {
			return 0, fmt.Errorf("%w: segment %d handed out while %d", errSegments, first+i, s.state)
		}
		s.state, s.used, s.live, s.span = segFull, 0, 0, 0
	}
	fs.segs[first].span = n
	fs.kickCleaner()
	return first, nil
}

// eraseEmpty erases, right away, one written segment that holds only garbage, and reports
// whether it found one: the allocator's alternative to growing the file when the cleaner has
// not caught up yet. Called with fs.mu held; the erasure's I/O (a hole punched and an fsync)
// runs under it, which is rare and short.
func (fs *fileStore) eraseEmpty() bool {
	for i := range fs.segs {
		sg := &fs.segs[i]
		if sg.state != segFull || sg.span != 1 || sg.inflight > 0 || sg.live > 0 {
			continue
		}
		sg.state = segCleaning
		if err := fs.eraseLocked([]uint32{uint32(i)}); err != nil {
			sg.state = segFull
			fs.log.Warn().Err(err).Msg("feox: erasing a segment failed; growing the file instead")
			return false
		}
		fs.cleaned.Add(1) // before freed, as in clean
		fs.freed([]uint32{uint32(i)})
		return true
	}
	return false
}

// freed returns erased segments (each with its group) to the free list and retires the ghosts
// that named them; deletion records left without ghosts are released. Called with fs.mu held.
func (fs *fileStore) freed(segs []uint32) {
	for _, v := range segs {
		span := max(fs.segs[v].span, 1)
		for j := range span {
			sg := &fs.segs[v+j]
			sg.gen++
			sg.used, sg.live, sg.span, sg.state = 0, 0, 1, segFree
		}
		if err := fs.free.Free(alloc.Extent{Off: uint64(v), Len: uint64(span)}); err != nil {
			fs.log.Error().Err(err).Uint32("segment", v).Msg("feox: segment table inconsistent; its space leaks")
		}
	}
	for k, t := range fs.tombs {
		pl := t.pl.Load()
		if pl.ghosts = fs.prune(pl.ghosts); pl.ghosts == nil {
			fs.release(pl)
			delete(fs.tombs, k)
		}
	}
}

// addSegments extends the segment table and the free list to n segments.
func (fs *fileStore) addSegments(n uint32) {
	have := uint32(len(fs.segs))
	if n <= have {
		return
	}
	for range n - have {
		fs.segs = append(fs.segs, segment{span: 1})
	}
	_ = fs.free.Grow(uint64(n)) // grows only
}

// place finds room for a record of n sectors: at the end of the head segment, or in a new
// head, or (for a record larger than a segment) in a group of its own. It returns the record's
// first sector and its segment. Segments it takes from the free list are added to fs.taken.
func (fs *fileStore) place(n uint64, crash func(string)) (uint64, uint32, error) {
	if n > segSectors {
		k := uint32((n + segSectors - 1) / segSectors)
		first, err := fs.takeSegments(k, crash)
		if err != nil {
			return 0, 0, err
		}
		fs.taken = append(fs.taken, first)
		fs.segs[first].used = (n + fs.pad - 1) / fs.pad * fs.pad
		return segStart(first), first, nil
	}
	if fs.head < 0 || fs.segs[fs.head].used+n > segSectors {
		first, err := fs.takeSegments(1, crash)
		if err != nil {
			return 0, 0, err // the head stays open
		}
		fs.taken = append(fs.taken, first)
		if fs.head >= 0 {
			fs.segs[fs.head].state = segFull
		}
		fs.head = int64(first)
		fs.segs[first].state = segOpen
	}
	h := uint32(fs.head)
	sg := &fs.segs[h]
	sec := segStart(h) + sg.used
	sg.used += n
	return sec, h, nil
}

// allocate places a batch's records, in order, and marks their segments in flight; segs
// receives each segment once. It places all of them or none: when the file cannot grow, the
// space of the records placed so far is given back, so that smaller batches (deletions, say)
// can still use it.
func (fs *fileStore) allocate(sizes []uint64, dst []alloc.Extent, segs []uint32, crash func(string)) ([]alloc.Extent, []uint32, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	head, headUsed := fs.head, uint64(0)
	if head >= 0 {
		headUsed = fs.segs[head].used
	}
	fs.taken = fs.taken[:0]
	for _, n := range sizes {
		sec, seg, err := fs.place(n, crash)
		if err != nil {
			fs.settle(segs)
			for _, t := range fs.taken {
				span := max(fs.segs[t].span, 1)
				for j := range span {
					fs.segs[t+j].state, fs.segs[t+j].used, fs.segs[t+j].span = segFree, 0, 1
				}
				if ferr := fs.free.Free(alloc.Extent{Off: uint64(t), Len: uint64(span)}); ferr != nil {
					err = errors.Join(err, errSegments, ferr)
				}
			}
			fs.head = head
			if head >= 0 {
				fs.segs[head].used, fs.segs[head].state = headUsed, segOpen
			}
			return dst, segs[:0], err
		}
		dst = append(dst, alloc.Extent{Off: sec, Len: n})
		if len(segs) == 0 || segs[len(segs)-1] != seg {
			segs = append(segs, seg)
			fs.segs[seg].inflight++
		}
	}
	if fs.pad > 1 && fs.head >= 0 {
		// The batch's space ends on a page: its last write is padded to there (addRuns), and
		// the next batch starts there.
		sg := &fs.segs[fs.head]
		sg.used = min((sg.used+fs.pad-1)/fs.pad*fs.pad, segSectors)
	}
	return dst, segs, nil
}

// settle ends the flight of a batch in segs. Called with fs.mu held.
func (fs *fileStore) settle(segs []uint32) {
	for _, i := range segs {
		if fs.segs[i].inflight > 0 {
			fs.segs[i].inflight--
		}
	}
}

// diskSpace returns the bytes in free segments and the bytes of garbage in written ones.
func (fs *fileStore) diskSpace() (free, garbage int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	free = int64(fs.free.FreeUnits()) * segBytes
	for i := range fs.segs {
		s := &fs.segs[i]
		if s.state == segFree || s.span == 0 {
			continue
		}
		garbage += int64((s.used - min(s.live, s.used)) * sectorSize)
	}
	return free, garbage
}
