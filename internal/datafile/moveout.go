package datafile

import (
	"errors"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// Moving a victim's live records: the cleaner reads the victim whole, looks at the records its
// segment counts as live, and hands each one that must stay to its key's shard as a move (see
// settle.go for what happens to it there).

// moveOut reads victim v and hands every record that must stay to its key's shard as a move,
// and returns how many it handed over; sc is the round's working memory. It steps through the
// victim's frames and peeks at each record (fields and key, no checksum): the index is asked
// about each key without the file's lock, and the answer checked under it; only a record that
// moves is verified in full.
func (f *File) moveOut(v uint32, sc *scratch) (int, error) {
	f.mu.Lock()
	used, live := f.segs[v].used, f.segs[v].live
	f.mu.Unlock()
	if live == 0 {
		return 0, nil
	}
	base := segStart(v)
	buf := sc.readBuffer(used)
	if err := f.file.ReadAt(buf, int64(base)); err != nil {
		return 0, err
	}
	f.read.Add(int64(len(buf))) // BytesRead counts the cleaner's reads too
	hs := f.recordHeads(base, buf, sc.heads[:0])
	defer func() { clear(hs); sc.heads = hs[:0] }()
	f.mu.Lock()
	for i := range hs {
		hd := &hs[i]
		hd.pl = f.stays(hd.r.Key, packLoc(base+uint64(hd.pos), uint64(hd.r.Size)), hd.pl)
	}
	f.mu.Unlock()
	moved := 0
	for i := range hs {
		hd := &hs[i]
		if hd.pl == nil {
			continue
		}
		off := base + uint64(hd.pos)
		r, err := format.DecodePackedRecord(buf[hd.pos:hd.pos+hd.r.Size], off, f.salt)
		if err != nil {
			// The newest version's own record is damaged: it stays where it is (the segment
			// is not erased), and reads of it report ErrCorrupted.
			f.log.Error().Err(err).Uint64("offset", off).Msg("feox: the cleaner met a damaged live record")
			continue
		}
		// The value is copied to the arena, which outlives buf until the move is written.
		at := len(sc.arena)
		sc.arena = append(sc.arena, r.Value...)
		e := stages.Entry{Key: string(r.Key), TS: r.TS, Seq: r.Seq, Expiry: r.Expiry,
			Kind: stages.Put, Value: sc.arena[at:len(sc.arena):len(sc.arena)], Ref: &move{pl: hd.pl, from: packLoc(off, uint64(r.Size))}}
		if r.Kind == format.KindDelete {
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

// recordHeads appends to hs each record of the frames in buf, the used bytes of a segment
// that starts at file offset base, with the place the index holds for its key (checked later
// under the lock). It steps from frame to frame as the recovery scan does, trying the next
// format.FrameAlign boundary where no frame header verifies. A record that cannot be parsed
// ends its frame: the live records after it stay where they are, so the victim keeps a live
// record and is not erased.
func (f *File) recordHeads(base uint64, buf []byte, hs []header) []header {
	for pos := 0; pos+format.FrameHeaderSize <= len(buf); {
		h, err := format.DecodeFrameHeader(buf[pos:], base+uint64(pos), f.salt)
		if err != nil || h.Length > len(buf)-pos {
			pos += format.FrameAlign
			continue
		}
		frame := buf[pos : pos+h.Length]
		for rp := format.FrameHeaderSize; rp < len(frame); {
			r, err := format.PeekPackedRecord(frame[rp:])
			if err == nil && r.Size > len(frame)-rp {
				err = errRecordBounds
			}
			if err != nil {
				f.log.Error().Err(err).Uint64("offset", base+uint64(pos+rp)).Msg("feox: the cleaner met a damaged record")
				break
			}
			// Newest only looks the key up; it does not keep it.
			newest := f.cfg.Index.Newest(unsafe.String(unsafe.SliceData(r.Key), len(r.Key)))
			hs = append(hs, header{pos: pos + rp, r: r, pl: newest})
			rp += r.Size
		}
		pos += int(alignUp(uint64(h.Length), format.FrameAlign))
	}
	return hs
}

// errRecordBounds reports a record whose size runs past its frame.
var errRecordBounds = errors.New("datafile: record runs past its frame")

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

// header is a record the cleaner met in a victim, at pos in the victim's buffer, as peeked
// (its Value unset), and the place of the version it moves (nil if the record is garbage).
type header struct {
	pos int
	r   format.PackedRecord
	pl  *Place
}
