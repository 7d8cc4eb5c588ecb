package datafile

import (
	"fmt"
	"strings"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
)

// Rebuilder rebuilds the store's index from the records Open finds. Per key, the record with
// the largest sequence number wins; the others are older copies, which stay where they lie as
// garbage and become ghosts of the winner.
//
// After Open returns, the caller settles each winner once, before the pipeline starts: Count
// for a present version, Keep for a deletion or an expired version (which stays on disk while
// older copies of its key remain, so that they cannot come back).
type Rebuilder interface {
	// Expect announces, before the first Build, how many records Open may find at most (the
	// scan may find fewer), so that the caller can size what it fills.
	Expect(records int64)
	// Build makes the caller's version of the record r found at pl. It runs on the scanning
	// goroutine, ahead of Add; r's bytes are valid only during the call.
	Build(r *disk.FoundPacked, pl *Place) any
	// Add resolves v, a version Build made, against the version of the same key met before
	// (file order), on Open's goroutine. It returns the places of the winner and the loser
	// when the key had a version already, and nil, nil otherwise.
	Add(v any) (winner, loser *Place)
}

// recoverBatch is how many records the recovery scan hands over at a time.
const recoverBatch = 1024

// recover rebuilds the segment table and, through rb, the index from the file: a goroutine
// reads, verifies and builds each record; this one resolves versions of the same key and
// records the bytes each record covers. The headers of torn frames (a crash interrupted their
// batch) are zeroed.
func (f *File) recover(rb Rebuilder) error {
	type found struct {
		v  any
		pl *Place
	}
	batches := make(chan []found, 4)
	n, err := f.file.CountFrames()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupted, err)
	}
	rb.Expect(n)
	var st disk.FrameScanStats
	go func() {
		defer close(batches)
		batch := make([]found, 0, recoverBatch)
		places := make([]Place, recoverBatch)
		st, err = f.file.ScanFrames(func(r *disk.FoundPacked) error {
			pl := &places[len(batch)]
			pl.loc.Store(uint64(packLoc(r.Offset, uint64(r.Size))))
			pl.dead = r.Record.Kind == format.KindDelete
			if batch = append(batch, found{rb.Build(r, pl), pl}); len(batch) == recoverBatch {
				batches <- batch
				batch = make([]found, 0, recoverBatch)
				places = make([]Place, recoverBatch)
			}
			return nil
		})
		if len(batch) > 0 {
			batches <- batch
		}
	}()
	var pinned []alloc.Extent // segments holding a record this layout would not write
	for batch := range batches {
		for _, fd := range batch {
			l, _ := fd.pl.Loc()
			pinned = f.use(l.off(), l.size(), pinned)
			if winner, loser := rb.Add(fd.v); winner != nil {
				f.supersede(winner, loser)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupted, err)
	}
	f.corrupt.Store(st.Torn)
	f.batch.Store(st.MaxBatch)
	for _, off := range st.TornFrames {
		pinned = f.use(off, format.FrameAlign, pinned)
	}
	if err := f.rebuildFree(pinned); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupted, err)
	}
	// Torn frames keep a verifiable header until zeroed: zero them before the space is reused.
	if err := f.eraseAtOpen(st.TornFrames); err != nil {
		return err
	}
	f.log.Info().Int64("records", st.Records).Int64("torn", st.Torn).Int64("bytes_read", st.Bytes).
		Msg("feox: recovery scan done")
	return nil
}

// supersede records, during recovery, that loser is an older copy of winner's key: its segment
// and its ghosts become winner's ghosts.
func (f *File) supersede(winner, loser *Place) {
	l, _ := loser.Loc()
	winner.ghosts = f.addGhost(f.mergeGhosts(winner.ghosts, loser.ghosts), l.off())
	loser.ghosts = nil
	loser.superseded = true
}

// Count makes the record at pl, a recovered present version, count as live. Call it after
// Open, before the pipeline starts.
func (f *File) Count(pl *Place) {
	f.mu.Lock()
	f.count(pl)
	f.mu.Unlock()
}

// Keep keeps the record at pl, a recovered deletion or expired version of key, on disk while
// older copies of the key remain, and reports whether it did. Call it after Open, before the
// pipeline starts.
func (f *File) Keep(key string, pl *Place) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pl.ghosts == nil {
		return false
	}
	f.count(pl)
	f.kept[strings.Clone(key)] = pl
	return true
}

// use records, during recovery, that size bytes from file offset off hold a record (or a torn
// frame): the segment's used bytes grow to cover them, to the end of the frame's alignment. A
// record that fills the frame at the start of a group of segments makes the group; any other
// record that crosses a segment's end pins the segments it touches (they are never cleaned),
// which pinned collects.
func (f *File) use(off, size uint64, pinned []alloc.Extent) []alloc.Extent {
	seg := segOf(off)
	if int(seg) >= len(f.segs) {
		return pinned
	}
	rel := off - segStart(seg)
	end := rel + size
	sg := &f.segs[seg]
	switch {
	case end <= segBytes:
		sg.used = max(sg.used, alignUp(end, format.FrameAlign))
	case rel == format.FrameHeaderSize:
		k := uint32((end + segBytes - 1) / segBytes)
		k = min(k, uint32(len(f.segs))-seg)
		sg.used, sg.span = alignUp(end, format.FrameAlign), k
		for j := uint32(1); j < k; j++ {
			f.segs[seg+j].span = 0
		}
	default:
		k := uint32((end + segBytes - 1) / segBytes)
		k = min(k, uint32(len(f.segs))-seg)
		pinned = append(pinned, alloc.Extent{Off: uint64(seg), Len: uint64(k)})
		sg.used = segBytes
	}
	return pinned
}

// rebuildFree sets every segment's state after recovery and builds the free list: segments
// that hold nothing are free, pinned ones are kept as they are, the rest are full.
func (f *File) rebuildFree(pinned []alloc.Extent) error {
	for _, p := range pinned {
		for j := p.Off; j < p.End(); j++ {
			f.segs[j].state = segPinned
		}
	}
	var used []alloc.Extent
	for i := range f.segs {
		sg := &f.segs[i]
		switch {
		case sg.state == segPinned:
		case sg.span == 0, sg.used > 0:
			sg.state = segFull
		default:
			sg.state, sg.held = segFree, true // its blocks may be allocated: trim punches it
			continue
		}
		used = append(used, alloc.Extent{Off: uint64(i), Len: 1})
	}
	free, err := alloc.NewUsed(uint64(len(f.segs)), used)
	if err != nil {
		return err
	}
	f.free = free
	return nil
}

// eraseAtOpen zeroes the headers of the frames at offs and syncs.
func (f *File) eraseAtOpen(offs []uint64) error {
	if len(offs) == 0 {
		return nil
	}
	for _, off := range offs {
		if err := f.file.WriteAt([][]byte{zeroPage[:format.FrameAlign]}, int64(off)); err != nil {
			return err
		}
	}
	return f.file.Sync()
}
