package datafile

import (
	"errors"
	"fmt"
	"slices"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
)

// The data area is a log of segments. Batches append their records to the open segment (the
// head), so that a batch is one sequential write wherever the keys it updates live. A version
// that is replaced or deleted is not erased where it lies: its bytes turn into garbage in
// their segment. The cleaner (cleaner.go) moves the live records out of segments that hold
// much garbage, then erases the whole segment (a hole punched, or its frame headers zeroed)
// and returns it to the free list. See docs/FORMAT.md and docs/DURABILITY.md.
//
// Records are packed in frames (format version 2), one per batch and segment. A frame never
// crosses a segment boundary, except one holding a record too large for a segment, which
// starts a group of consecutive segments of its own.

// segBytes is a segment's size in bytes (1 MiB).
const segBytes = 1 << 20

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
	// stamp is the log's clock (File.appended) when a batch last appended to the segment (0 for
	// the segments found at Open): the cleaner measures the segment's age from it.
	stamp uint64
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

// maxSegments is the number of segments of the largest data file (maxFileBytes).
const maxSegments = (maxFileBytes - format.DataStart) / segBytes

// segOf returns the segment of a file offset in the data area.
func segOf(off uint64) uint32 { return uint32((off - format.DataStart) / segBytes) }

// segStart returns the file offset of segment i.
func segStart(i uint32) uint64 { return format.DataStart + uint64(i)*segBytes }

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

// addGhost adds the segment of file offset off (in its current generation) to the list g,
// pruned.
func (f *File) addGhost(g *ghost, off uint64) *ghost {
	g = f.prune(g)
	seg := segOf(off)
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
	f.segs[segOf(l.off())].live += l.size()
	f.liveRecords++
	f.live.Add(int64(l.size()))
}

// release turns the record at pl into garbage in its segment; the record's own segment becomes
// a ghost of the version that replaces it (see onDurable).
func (f *File) release(pl *Place) {
	if !pl.counted {
		return
	}
	l, _ := pl.Loc()
	pl.counted = false
	s := &f.segs[segOf(l.off())]
	s.live -= min(l.size(), s.live)
	f.liveRecords--
	f.live.Add(-int64(l.size()))
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
		grown := min(have+max(have/4, n, 4), maxSegments)
		if grown < have+n {
			return 0, fmt.Errorf("%w: the data file would pass %d bytes, the most a location can address", ErrFull, uint64(maxFileBytes))
		}
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
		s.state, s.used, s.live, s.span, s.stamp = segFull, 0, 0, 0, 0
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
			sg.used, sg.live, sg.span, sg.state, sg.stamp = 0, 0, 1, segFree, 0
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

// frame is one frame of a batch (format version 2): its file offset and the records it holds,
// first to first+n-1 in the order allocate placed them.
type frame struct {
	off      uint64
	first, n int
}

// placement is what allocate makes of a batch: each record's extent (file offset and bytes),
// the frames that hold them, and each segment they touch, once.
type placement struct {
	exts   []alloc.Extent
	frames []frame
	segs   []uint32
}

// reset empties p, keeping its memory.
func (p *placement) reset() {
	p.exts, p.frames, p.segs = p.exts[:0], p.frames[:0], p.segs[:0]
}

// allocate places a batch's records, of the given sizes (format.PackedSize), in order, and
// marks their segments in flight. Records go into frames at the head: a frame starts on
// f.align, after the head's last one, and ends where the batch ends or the next record does
// not fit in the segment, which makes the next segment the head. A record too large for a
// segment gets a frame in a group of segments of its own. It places all the records or none:
// when the file cannot grow, the space of the records placed so far is given back, so that
// smaller batches (deletions, say) can still use it.
func (f *File) allocate(sizes []uint64, p *placement) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	head, headUsed := f.head, uint64(0)
	if head >= 0 {
		headUsed = f.segs[head].used
	}
	f.taken = f.taken[:0]
	open := false // whether the last frame is the head's last one, and may take the next record
	for i, n := range sizes {
		var err error
		switch {
		case n+format.FrameHeaderSize > segBytes:
			err = f.placeGroup(i, n, p)
			open = false
		case open && f.segs[f.head].used+n <= segBytes:
			sg := &f.segs[f.head]
			p.exts = append(p.exts, alloc.Extent{Off: segStart(uint32(f.head)) + sg.used, Len: n})
			sg.used += n
			p.frames[len(p.frames)-1].n++
		default:
			err = f.placeFrame(i, n, p)
			open = err == nil
		}
		if err != nil {
			f.unplace(p, head, headUsed)
			return err
		}
	}
	if f.head >= 0 {
		// The head's last frame ends on f.align (the writer pads it): the next one starts there.
		sg := &f.segs[f.head]
		sg.used = min(alignUp(sg.used, f.align), segBytes)
	}
	for _, n := range sizes {
		f.appended += n
	}
	for _, i := range p.segs {
		f.segs[i].stamp = f.appended
	}
	return nil
}

// placeFrame starts a frame for record i, of n bytes, in the head after its last frame, or at
// the start of a new head when it does not fit there. Called with f.mu held.
func (f *File) placeFrame(i int, n uint64, p *placement) error {
	if f.head < 0 || alignUp(f.segs[f.head].used, f.align)+format.FrameHeaderSize+n > segBytes {
		first, err := f.takeSegments(1)
		if err != nil {
			return err // the head stays open
		}
		f.taken = append(f.taken, first)
		if f.head >= 0 {
			sg := &f.segs[f.head]
			sg.state, sg.used = segFull, min(alignUp(sg.used, f.align), segBytes)
		}
		f.head = int64(first)
		f.segs[first].state = segOpen
	}
	h := uint32(f.head)
	sg := &f.segs[h]
	sg.used = alignUp(sg.used, f.align)
	p.frames = append(p.frames, frame{off: segStart(h) + sg.used, first: i, n: 1})
	sg.used += format.FrameHeaderSize
	p.exts = append(p.exts, alloc.Extent{Off: segStart(h) + sg.used, Len: n})
	sg.used += n
	p.addSeg(f, h)
	return nil
}

// placeGroup places record i, of n bytes, too large for a segment, in a frame at the start of
// a group of segments of its own. Called with f.mu held.
func (f *File) placeGroup(i int, n uint64, p *placement) error {
	used := format.FrameHeaderSize + n
	first, err := f.takeSegments(uint32((used + segBytes - 1) / segBytes))
	if err != nil {
		return err
	}
	f.taken = append(f.taken, first)
	f.segs[first].used = alignUp(used, f.align)
	p.frames = append(p.frames, frame{off: segStart(first), first: i, n: 1})
	p.exts = append(p.exts, alloc.Extent{Off: segStart(first) + format.FrameHeaderSize, Len: n})
	p.addSeg(f, first)
	return nil
}

// addSeg adds segment i to the placement's segments, in flight, unless it is there already.
// Called with f.mu held.
func (p *placement) addSeg(f *File, i uint32) {
	if !slices.Contains(p.segs, i) {
		p.segs = append(p.segs, i)
		f.segs[i].inflight++
	}
}

// unplace undoes a failed allocate: the segments it took go back to the free list and the
// head is what it was. Called with f.mu held.
func (f *File) unplace(p *placement, head int64, headUsed uint64) {
	f.endFlight(p.segs)
	for _, t := range f.taken {
		span := max(f.segs[t].span, 1)
		for j := range span {
			f.segs[t+j].state, f.segs[t+j].used, f.segs[t+j].span = segFree, 0, 1
		}
		if err := f.free.Free(alloc.Extent{Off: uint64(t), Len: uint64(span)}); err != nil {
			f.log.Error().Err(err).Uint32("segment", t).Msg("feox: segment table inconsistent; its space leaks")
		}
	}
	f.head = head
	if head >= 0 {
		f.segs[head].used, f.segs[head].state = headUsed, segOpen
	}
	p.reset()
}

// alignUp rounds n up to a multiple of a, a power of two.
func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

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
