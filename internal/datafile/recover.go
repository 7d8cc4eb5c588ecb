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
	// Build makes the caller's version of the record r found at pl. It runs on the scanning
	// goroutine, ahead of Add; r's bytes are valid only during the call.
	Build(r *disk.Found, pl *Place) any
	// Add resolves v, a version Build made, against the version of the same key met before
	// (file order), on Open's goroutine. It returns the places of the winner and the loser
	// when the key had a version already, and nil, nil otherwise.
	Add(v any) (winner, loser *Place)
}

// recoverBatch is how many records the recovery scan hands over at a time.
const recoverBatch = 1024

// recover rebuilds the segment table and, through rb, the index from the file: a goroutine
// reads, verifies and builds each record; this one resolves versions of the same key and
// records the sectors each record covers. Torn records (a crash interrupted their batch) are
// zeroed.
func (f *File) recover(rb Rebuilder) error {
	type found struct {
		v     any
		pl    *Place
		batch uint64
	}
	batches := make(chan []found, 4)
	var st disk.ScanStats
	var err error
	go func() {
		defer close(batches)
		batch := make([]found, 0, recoverBatch)
		places := make([]Place, recoverBatch)
		st, err = f.file.Scan(func(r *disk.Found) error {
			pl := &places[len(batch)]
			pl.loc.Store(uint64(packLoc(r.Sector, uint64(r.Header.Size/sectorSize))))
			pl.dead = r.Header.Kind == format.KindDelete
			if batch = append(batch, found{rb.Build(r, pl), pl, r.Header.Batch}); len(batch) == recoverBatch {
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
			pinned = f.use(l.sector(), l.sectors(), pinned)
			if s := segOf(l.sector()); int(s) < len(f.segs) {
				f.segs[s].stamp = max(f.segs[s].stamp, fd.batch)
			}
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
	for _, sec := range st.TornSectors {
		pinned = f.use(sec, 1, pinned)
	}
	if err := f.rebuildFree(pinned); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupted, err)
	}
	// Torn records keep a verifiable header until zeroed: zero them before the space is reused.
	if err := f.eraseAtOpen(st.TornSectors); err != nil {
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
	winner.ghosts = f.addGhost(f.mergeGhosts(winner.ghosts, loser.ghosts), l.sector())
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

// use records, during recovery, that n sectors from sector sec hold a record (or a torn one):
// the segment's used bytes grow to cover them. A record larger than a segment that starts a
// segment makes a group; any other record that crosses a segment's end pins the segments it
// touches (they are never cleaned), which pinned collects.
func (f *File) use(sec, n uint64, pinned []alloc.Extent) []alloc.Extent {
	seg := segOf(sec)
	if int(seg) >= len(f.segs) {
		return pinned
	}
	rel := sec - segStart(seg)
	sg := &f.segs[seg]
	switch {
	case rel+n <= segSectors:
		sg.used = max(sg.used, (rel+n)*sectorSize)
	case rel == 0 && n > segSectors:
		k := uint32((n + segSectors - 1) / segSectors)
		k = min(k, uint32(len(f.segs))-seg)
		sg.used, sg.span = n*sectorSize, k
		for j := uint32(1); j < k; j++ {
			f.segs[seg+j].span = 0
		}
	default:
		k := uint32((rel + n + segSectors - 1) / segSectors)
		k = min(k, uint32(len(f.segs))-seg)
		pinned = append(pinned, alloc.Extent{Off: uint64(seg), Len: uint64(k)})
		sg.used = max(sg.used, min(rel+n, segSectors)*sectorSize)
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

// eraseAtOpen zeroes the given sectors and syncs.
func (f *File) eraseAtOpen(secs []uint64) error {
	if len(secs) == 0 {
		return nil
	}
	for _, sec := range secs {
		if err := f.file.WriteAt([][]byte{zeroSector}, int64(sec*sectorSize)); err != nil {
			return err
		}
	}
	return f.file.Sync()
}
