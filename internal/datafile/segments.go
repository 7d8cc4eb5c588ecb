package datafile

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

// segment is the state of one segment, guarded by File.mu.
type segment struct {
	// live is the number of bytes of records that must stay: the newest version of present
	// keys and the deletion records that still have ghosts.
	live uint64
	// used is the number of bytes from the segment's start that may hold records (for a
	// group, from the group's start).
	used uint64
	// stamp is the number of the last batch that appended to the segment (after Open, of the
	// newest record found in it): the cleaner measures the segment's age from it.
	stamp uint64
	// starts marks the sectors, from the segment's start, where a record counted as live
	// starts: the cleaner reads only those.
	starts liveStarts
	// span is the number of segments of the group this segment starts: 1 normally, more for a
	// record larger than a segment, 0 for the other segments of such a group.
	span uint32
	// gen counts the segment's erasures; a ghost names the generation it saw.
	gen uint32
	// inflight counts the batches with records in the segment that the complete stage has not
	// settled yet; the cleaner leaves the segment alone until it is 0.
	inflight int32
	state    segState
	// held marks a free segment whose blocks may still be allocated on disk (space Grow
	// reserved, or a segment found free at Open): the cleaner punches it once the writers are
	// quiet (trim). An erased segment is a hole already.
	held bool
}

// liveStarts is a bitmap of a segment's sectors, bit s%64 of word s/64 for sector s.
type liveStarts [segSectors / 64]uint64

// set marks or clears the start of a record at sector s of the segment.
func (m *liveStarts) set(s uint64, on bool) {
	if on {
		m[s/64] |= 1 << (s % 64)
	} else {
		m[s/64] &^= 1 << (s % 64)
	}
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

// newFileSize returns the size of a new data file for Config.FileSize: the header blocks and
// as few whole segments as make it at least size (at least one segment), so that the file is
// never smaller than asked and at most a segment larger.
func newFileSize(size int64) int64 {
	n := max((size-format.DataStart+segBytes-1)/segBytes, 1)
	return format.DataStart + n*segBytes
}

// alive reports whether the segment a ghost names has not been erased since.
func (f *File) alive(g *ghost) bool {
	return int(g.seg) < len(f.segs) && f.segs[g.seg].gen == g.gen
}

// prune drops the ghosts whose segment has been erased since. It rewrites the list in place:
// lists belong to one place each.
func (f *File) prune(g *ghost) *ghost {
	for g != nil && !f.alive(g) {
		g = g.next
	}
	for p := g; p != nil; p = p.next {
		for p.next != nil && !f.alive(p.next) {
			p.next = p.next.next
		}
	}
	return g
}

// addGhost adds the segment of sector (in its current generation) to the list g, pruned.
func (f *File) addGhost(g *ghost, sector uint64) *ghost {
	g = f.prune(g)
	seg := segOf(sector)
	gen := f.segs[seg].gen
	for p := g; p != nil; p = p.next {
		if p.seg == seg && p.gen == gen {
			return g
		}
	}
	return &ghost{seg: seg, gen: gen, next: g}
}

// mergeGhosts adds the live ghosts of from to to.
func (f *File) mergeGhosts(to, from *ghost) *ghost {
	for p := from; p != nil; p = p.next {
		if f.alive(p) {
			to = f.addGhost(to, segStart(p.seg))
		}
	}
	return to
}

// count makes the record at pl count as live in its segment. Called with f.mu held.
func (f *File) count(pl *Place) {
	l, ok := pl.Loc()
	if pl.counted || !ok {
		return
	}
	pl.counted = true
	seg := segOf(l.sector())
	f.segs[seg].live += l.bytes()
	f.segs[seg].starts.set(l.sector()-segStart(seg), true)
	f.live.Add(int64(l.bytes()))
}

// release turns the record at pl into garbage in its segment; the record's own segment becomes
// a ghost of the version that replaces it (see onDurable).
func (f *File) release(pl *Place) {
	if !pl.counted {
		return
	}
	l, _ := pl.Loc()
	pl.counted = false
	seg := segOf(l.sector())
	s := &f.segs[seg]
	s.live -= min(l.bytes(), s.live)
	s.starts.set(l.sector()-segStart(seg), false)
	f.live.Add(-int64(l.bytes()))
}

// errSegments reports a broken invariant of the segment table.
var errSegments = errors.New("datafile: segment table inconsistent")

// takeSegments removes a run of n free segments from the free list, growing the file when
// there is none.
func (f *File) takeSegments(n uint32) (uint32, error) {
	ext, err := f.free.Alloc(uint64(n))
	if errors.Is(err, alloc.ErrNoSpace) && n == 1 && f.eraseEmpty() {
		ext, err = f.free.Alloc(1)
	}
	if errors.Is(err, alloc.ErrNoSpace) {
		have := uint32(len(f.segs))
		grown := have + max(have/4, n, 4)
		f.crashAt("grow")
		if err := f.file.Grow(format.DataStart + int64(grown)*segBytes); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrFull, err)
		}
		f.crashAt("grown")
		f.addSegments(grown, true)
		ext, err = f.free.Alloc(uint64(n))
	}
	if err != nil {
		return 0, err
	}
	first := uint32(ext.Off)
	for i := range n {
		s := &f.segs[first+i]
		if s.state != segFree {
			return 0, fmt.Errorf("%w: segment %d handed out while %d", errSegments, first+i, s.state)
		}
		s.state, s.used, s.live, s.span, s.stamp, s.starts = segFull, 0, 0, 0, 0, liveStarts{}
	}
	f.segs[first].span = n
	f.kickCleaner()
	return first, nil
}

// eraseEmpty erases, right away, one written segment that holds only garbage, and reports
// whether it found one: the allocator's alternative to growing the file when the cleaner has
// not caught up yet. Called with f.mu held; the erasure's I/O (a hole punched and an fsync)
// runs under it, which is rare and short.
func (f *File) eraseEmpty() bool {
	for i := range f.segs {
		sg := &f.segs[i]
		if sg.state != segFull || sg.span != 1 || sg.inflight > 0 || sg.live > 0 {
			continue
		}
		sg.state = segCleaning
		if err := f.eraseLocked([]uint32{uint32(i)}); err != nil {
			sg.state = segFull
			f.log.Warn().Err(err).Msg("feox: erasing a segment failed; growing the file instead")
			return false
		}
		f.cleaned.Add(1) // before makeFree, as in clean
		f.makeFree([]uint32{uint32(i)})
		return true
	}
	return false
}

// makeFree returns erased segments (each with its group) to the free list and retires the ghosts
// that named them; deletion records left without ghosts are released. Called with f.mu held.
func (f *File) makeFree(segs []uint32) {
	for _, v := range segs {
		span := max(f.segs[v].span, 1)
		for j := range span {
			sg := &f.segs[v+j]
			sg.gen++
			sg.used, sg.live, sg.span, sg.state, sg.stamp, sg.starts = 0, 0, 1, segFree, 0, liveStarts{}
			sg.held = false // punched, or its headers zeroed where the filesystem cannot punch
		}
		if err := f.free.Free(alloc.Extent{Off: uint64(v), Len: uint64(span)}); err != nil {
			f.log.Error().Err(err).Uint32("segment", v).Msg("feox: segment table inconsistent; its space leaks")
		}
	}
	for k, pl := range f.kept {
		if pl.ghosts = f.prune(pl.ghosts); pl.ghosts == nil {
			f.release(pl)
			delete(f.kept, k)
		}
	}
}

// addSegments extends the segment table and the free list to n segments; held says whether
// the new segments' blocks are allocated.
func (f *File) addSegments(n uint32, held bool) {
	have := uint32(len(f.segs))
	if n <= have {
		return
	}
	for range n - have {
		f.segs = append(f.segs, segment{span: 1, held: held})
	}
	_ = f.free.Grow(uint64(n)) // grows only
}

// claim finds room for a record of n sectors: at the end of the head segment, or in a new
// head, or (for a record larger than a segment) in a group of its own. It returns the record's
// first sector and its segment. Segments it takes from the free list are added to f.taken.
func (f *File) claim(n uint64) (uint64, uint32, error) {
	if n > segSectors {
		k := uint32((n + segSectors - 1) / segSectors)
		first, err := f.takeSegments(k)
		if err != nil {
			return 0, 0, err
		}
		f.taken = append(f.taken, first)
		f.segs[first].used = (n + f.pad - 1) / f.pad * f.pad * sectorSize
		return segStart(first), first, nil
	}
	if f.head < 0 || f.segs[f.head].used+n*sectorSize > segBytes {
		first, err := f.takeSegments(1)
		if err != nil {
			return 0, 0, err // the head stays open
		}
		f.taken = append(f.taken, first)
		if f.head >= 0 {
			f.segs[f.head].state = segFull
		}
		f.head = int64(first)
		f.segs[first].state = segOpen
	}
	h := uint32(f.head)
	sg := &f.segs[h]
	sec := segStart(h) + sg.used/sectorSize
	sg.used += n * sectorSize
	return sec, h, nil
}

// allocate places a batch's records, in order, and marks their segments in flight; segs
// receives each segment once. It places all of them or none: when the file cannot grow, the
// space of the records placed so far is given back, so that smaller batches (deletions, say)
// can still use it.
func (f *File) allocate(sizes []uint64, dst []alloc.Extent, segs []uint32) ([]alloc.Extent, []uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	head, headUsed := f.head, uint64(0)
	if head >= 0 {
		headUsed = f.segs[head].used
	}
	f.taken = f.taken[:0]
	for _, n := range sizes {
		sec, seg, err := f.claim(n)
		if err != nil {
			f.endFlight(segs)
			for _, t := range f.taken {
				span := max(f.segs[t].span, 1)
				for j := range span {
					f.segs[t+j].state, f.segs[t+j].used, f.segs[t+j].span = segFree, 0, 1
				}
				if ferr := f.free.Free(alloc.Extent{Off: uint64(t), Len: uint64(span)}); ferr != nil {
					err = errors.Join(err, errSegments, ferr)
				}
			}
			f.head = head
			if head >= 0 {
				f.segs[head].used, f.segs[head].state = headUsed, segOpen
			}
			return dst, segs[:0], err
		}
		dst = append(dst, alloc.Extent{Off: sec, Len: n})
		if len(segs) == 0 || segs[len(segs)-1] != seg {
			segs = append(segs, seg)
			f.segs[seg].inflight++
		}
	}
	if f.pad > 1 && f.head >= 0 {
		// The batch's space ends on a page: its last write is padded to there (addRuns), and
		// the next batch starts there.
		sg := &f.segs[f.head]
		padBytes := f.pad * sectorSize
		sg.used = min((sg.used+padBytes-1)/padBytes*padBytes, segBytes)
	}
	// The batch about to be numbered (Submit numbers it next; a concurrent shard's may take
	// the number first, which ages the segment by a batch at most).
	stamp := f.batch.Load() + 1
	for _, i := range segs {
		f.segs[i].stamp = max(f.segs[i].stamp, stamp)
	}
	return dst, segs, nil
}

// endFlight ends the flight of a batch in segs. Called with f.mu held.
func (f *File) endFlight(segs []uint32) {
	for _, i := range segs {
		if f.segs[i].inflight > 0 {
			f.segs[i].inflight--
		}
	}
}

// space returns the bytes in free segments and the bytes of garbage in written ones.
func (f *File) space() (free, garbage int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	free = int64(f.free.FreeUnits()) * segBytes
	for i := range f.segs {
		s := &f.segs[i]
		if s.state == segFree || s.span == 0 {
			continue
		}
		garbage += int64(s.used - min(s.live, s.used))
	}
	return free, garbage
}
