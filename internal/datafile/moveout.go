package datafile

import (
	"errors"
	"math/bits"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// Moving a victim's live records: the cleaner reads the victim whole, looks at the records its
// segment counts as live, and hands each one that must stay to its key's shard as a move (see
// settle.go for what happens to it there).

// moveOut reads victim v and hands every record that must stay to its key's shard as a move,
// and returns how many it handed over; sc is the round's working memory. Only the records the segment
// counts as live are looked at (segment.starts): the index is asked about each key without
// the file's lock, and the answer checked under it; only a record that moves is verified in
// full.
func (f *File) moveOut(v uint32, sc *scratch) (int, error) {
	f.mu.Lock()
	used, live, starts := f.segs[v].used, f.segs[v].live, f.segs[v].starts
	f.mu.Unlock()
	if live == 0 {
		return 0, nil
	}
	buf := sc.readBuffer(used)
	if err := f.file.ReadAt(buf, int64(segStart(v)*sectorSize)); err != nil {
		return 0, err
	}
	f.read.Add(int64(len(buf))) // BytesRead counts the cleaner's reads too
	hs := f.liveHeaders(v, buf, &starts, sc.heads[:0])
	defer func() { clear(hs); sc.heads = hs[:0] }()
	f.mu.Lock()
	for i := range hs {
		hd := &hs[i]
		key := buf[hd.pos+format.RecordHeaderSize : hd.pos+format.RecordHeaderSize+hd.h.KeyLen]
		hd.pl = f.stays(key, packLoc(segStart(v)+uint64(hd.pos/sectorSize), uint64(hd.h.Size/sectorSize)), hd.pl)
	}
	f.mu.Unlock()
	moved := 0
	for i := range hs {
		hd := &hs[i]
		if hd.pl == nil {
			continue
		}
		sec := segStart(v) + uint64(hd.pos/sectorSize)
		key, value, err := format.VerifyRecord(buf[hd.pos:hd.pos+hd.h.Size], hd.h, sec, f.salt)
		if err != nil {
			// The newest version's own record is damaged: it stays where it is (the segment
			// is not erased), and reads of it report ErrCorrupted.
			f.log.Error().Err(err).Uint64("offset", sec*sectorSize).Msg("feox: the cleaner met a damaged live record")
			continue
		}
		// The value is copied to the arena, which outlives buf until the move is written.
		at := len(sc.arena)
		sc.arena = append(sc.arena, value...)
		e := stages.Entry{Key: string(key), TS: hd.h.TS, Seq: hd.h.Seq, Expiry: hd.h.Expiry,
			Kind: stages.Put, Value: sc.arena[at:len(sc.arena):len(sc.arena)], Ref: &move{pl: hd.pl, from: packLoc(sec, uint64(hd.h.Size/sectorSize))}}
		if hd.h.Kind == format.KindDelete {
			e.Kind, e.Value = stages.Delete, nil
		}
		if err := f.pipe.Enqueue(f.cfg.ShardOf(e.Key), e); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}

// scratch is a round's working memory: the buffer each victim is read into, the headers of
// its live records, and the arena the moves' values are copied to, which must stay until they
// are written. It goes back to File.scratch once the round's moves are durable (not after a
// failure, when the pipeline may still hold moves).
type scratch struct {
	read  []byte
	arena []byte
	heads []header
}

// readBuffer returns the read buffer, of n bytes.
func (sc *scratch) readBuffer(n uint64) []byte {
	if uint64(cap(sc.read)) < n {
		sc.read = make([]byte, max(n, segBytes))
	}
	return sc.read[:n]
}

// liveHeaders appends to hs the header of each record of victim v (read into buf) that starts
// at a sector of starts, with the place the index holds for its key (checked later under the
// lock). A live record whose header does not verify stays where it is: the victim keeps a live
// record and is not erased.
func (f *File) liveHeaders(v uint32, buf []byte, starts *liveStarts, hs []header) []header {
	for w, word := range starts {
		for ; word != 0; word &= word - 1 {
			pos := (w*64 + bits.TrailingZeros64(word)) * sectorSize
			if pos+format.RecordHeaderSize > len(buf) {
				continue
			}
			sec := segStart(v) + uint64(pos/sectorSize)
			h, err := format.DecodeRecordHeader(buf[pos:], sec, f.salt)
			if err == nil && (h.Size > len(buf)-pos || format.RecordHeaderSize+h.KeyLen > h.Size) {
				err = errRecordBounds
			}
			if err != nil {
				f.log.Error().Err(err).Uint64("offset", sec*sectorSize).Msg("feox: the cleaner met a damaged live record")
				continue
			}
			key := buf[pos+format.RecordHeaderSize : pos+format.RecordHeaderSize+h.KeyLen]
			// Newest only looks the key up; it does not keep it.
			newest := f.cfg.Index.Newest(unsafe.String(unsafe.SliceData(key), len(key)))
			hs = append(hs, header{pos: pos, h: h, pl: newest})
		}
	}
	return hs
}

// errRecordBounds reports a record header whose sizes do not fit its record or the segment.
var errRecordBounds = errors.New("datafile: record header out of bounds")

// stays reports the place of the record of key at loc if the record must stay on disk: it is the
// key's newest version (newest, as the index held it, still counting at loc), or the key's
// deletion record (or expired version) and older copies of the key may still lie in segments
// not yet erased. A deletion record found to have no such copies left is released here. Called
// with f.mu held.
func (f *File) stays(key []byte, loc Loc, newest *Place) *Place {
	if pl := f.kept[string(key)]; pl != nil && pl.counted && Loc(pl.loc.Load()) == loc {
		if pl.ghosts = f.prune(pl.ghosts); pl.ghosts == nil {
			f.release(pl)
			delete(f.kept, string(key))
			return nil
		}
		return pl
	}
	if pl := newest; pl != nil && !pl.dead && pl.counted && Loc(pl.loc.Load()) == loc {
		return pl
	}
	return nil
}

// header is a record header the cleaner met in a victim, at pos in the victim's buffer, and
// the place of the version it moves (nil if the record is garbage).
type header struct {
	pos int
	h   format.RecordHeader
	pl  *Place
}
