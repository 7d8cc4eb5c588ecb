package datafile

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// The cleaner reclaims the garbage that replaced and deleted versions leave in their segments
// (segments.go). One goroutine per persistent store:
//
//  1. It picks victims: every written segment whose records are all garbage, and, while free
//     segments are short, the one with the most garbage.
//  2. It reads each victim and hands every record that must stay (the key's newest version,
//     or a deletion record whose ghosts are not all erased) to the key's shard as a move: the
//     same version, written again at the head of the log by an ordinary batch.
//  3. It flushes the pipeline. A move whose version was replaced meanwhile is skipped by the
//     backend; the newer version releases the old extent itself.
//  4. When a victim holds no live record any more, it erases it (punches a hole, or zeroes
//     the first sector of each record where the filesystem cannot), makes the erasure durable
//     with fsync, and only then returns the segment to the free list and bumps its generation,
//     which retires the ghosts that named it.
//
// A crash between 3 and 4 leaves two copies of a moved version (same sequence number): recovery
// keeps one. A crash during 4 leaves some records of the victim: each is an older copy of its
// key, which recovery resolves like any other.

const (
	// cleanReserveDiv and cleanReserveMin set the free segments the cleaner keeps: a
	// cleanReserveDiv-th of the file, at least cleanReserveMin.
	cleanReserveDiv = 4
	cleanReserveMin = 4
	// cleanMinGarbage is the garbage (sectors) a segment must hold to be worth moving its live
	// records for (half: each sector moved frees at least one); below it the file grows instead.
	cleanMinGarbage = segSectors / 2
	// cleanKeptMin is the number of kept deletion records below which they never make the
	// cleaner work (above it, the bound is the number of live sectors).
	cleanKeptMin = 1 << 16
	// cleanVictims is the most segments whose live records one round moves.
	cleanVictims = 8
	// eraseMax bounds the segments erased in one round.
	eraseMax = 64
	// cleanPeriod is how often the cleaner looks without being asked.
	cleanPeriod = time.Second
)

// kickCleaner asks the cleaner to look for work.
func (f *File) kickCleaner() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// runCleaner is the cleaner goroutine.
func (f *File) runCleaner() {
	defer close(f.done)
	t := time.NewTicker(cleanPeriod)
	defer t.Stop()
	var victims []uint32
	for {
		select {
		case <-f.stop:
			return
		case <-f.kick:
		case <-t.C:
		}
		for {
			select {
			case <-f.stop:
				return
			default:
			}
			f.cleanMu.Lock()
			f.mu.Lock()
			victims = f.pickVictims(victims[:0])
			f.mu.Unlock()
			var err error
			if len(victims) > 0 {
				err = f.clean(victims)
			}
			f.cleanMu.Unlock()
			if len(victims) == 0 {
				break
			}
			if err != nil {
				f.log.Warn().Err(err).Msg("feox: cleaning failed; will retry")
				break
			}
		}
	}
}

// pickVictims chooses the segments to clean and marks them: every written segment without a
// live record (up to eraseMax) or, when there is none and free segments are short, the
// cleanVictims segments with the most garbage among those that hold enough. Called with f.mu
// held.
func (f *File) pickVictims(dst []uint32) []uint32 {
	reserve := max(uint64(len(f.segs))/cleanReserveDiv, cleanReserveMin)
	// Kept deletion records cost memory (kept) until the segments of their older copies are
	// erased: past a bound, clean as if free space were short.
	// The bound is the live sectors other than the kept records' own (about one each).
	keptLimit := max(f.keptMin, f.live.Load()/sectorSize-int64(len(f.kept)))
	short := f.free.FreeUnits() < reserve || int64(len(f.kept)) > keptLimit
	f.cands = f.cands[:0]
	for i := range f.segs {
		sg := &f.segs[i]
		if sg.state != segFull || sg.span == 0 || sg.inflight > 0 {
			continue
		}
		if sg.live == 0 {
			if dst = append(dst, uint32(i)); len(dst) == eraseMax {
				break
			}
			continue
		}
		if g := sg.used - min(sg.live, sg.used); short && g >= cleanMinGarbage {
			f.cands = append(f.cands, candidate{uint32(i), g})
		}
	}
	if len(dst) == 0 && len(f.cands) > 0 {
		slices.SortFunc(f.cands, func(a, b candidate) int { return cmp.Compare(b.garbage, a.garbage) })
		for _, c := range f.cands[:min(len(f.cands), cleanVictims)] {
			dst = append(dst, c.seg)
		}
	}
	for _, i := range dst {
		f.segs[i].state = segCleaning
	}
	return dst
}

// candidate is a segment the cleaner may pick, with its garbage in sectors.
type candidate struct {
	seg     uint32
	garbage uint64
}

// clean moves the live records out of victims and erases those left without any.
func (f *File) clean(victims []uint32) (err error) {
	defer func() {
		if err != nil {
			f.mu.Lock()
			for _, v := range victims {
				if f.segs[v].state == segCleaning {
					f.segs[v].state = segFull
				}
			}
			f.mu.Unlock()
		}
	}()
	moved := 0
	var heads []header
	for _, v := range victims {
		n, err := f.moveOut(v, &heads)
		if err != nil {
			return err
		}
		moved += n
	}
	if moved > 0 {
		if err := f.pipe.Flush(); err != nil {
			return err
		}
		f.moves.Add(int64(moved))
	}
	var erase []uint32
	f.mu.Lock()
	for _, v := range victims {
		if sg := &f.segs[v]; sg.live == 0 && sg.inflight == 0 {
			erase = append(erase, v)
		} else {
			sg.state = segFull // a move waits for a retry, or a newer version is on its way
		}
	}
	f.mu.Unlock()
	if len(erase) == 0 {
		return nil
	}
	f.crashAt("moved")
	if err := f.erase(erase); err != nil {
		victims = erase
		return err
	}
	f.crashAt("erased")
	f.mu.Lock()
	// Counted before makeFree takes effect: whoever sees a deletion record released by this
	// erasure (under f.mu) then sees the erasure counted too.
	f.cleaned.Add(int64(len(erase)))
	f.makeFree(erase)
	f.mu.Unlock()
	return nil
}

// moveOut reads victim v and hands every record that must stay to its key's shard as a move,
// and returns how many it handed over; heads is scratch space. Liveness needs only the headers
// and keys: only a record that moves is verified in full (the checksum of a garbage record is
// not worth computing).
func (f *File) moveOut(v uint32, heads *[]header) (int, error) {
	f.mu.Lock()
	used, live := f.segs[v].used, f.segs[v].live
	f.mu.Unlock()
	if live == 0 {
		return 0, nil
	}
	buf := make([]byte, used*sectorSize) // the moves' values point into it until written
	if err := f.file.ReadAt(buf, int64(segStart(v)*sectorSize)); err != nil {
		return 0, err
	}
	f.read.Add(int64(len(buf))) // BytesRead counts the cleaner's reads too
	hs := (*heads)[:0]
	defer func() { clear(hs); *heads = hs[:0] }()
	for pos := 0; pos+format.RecordHeaderSize <= len(buf); {
		sec := segStart(v) + uint64(pos/sectorSize)
		h, err := format.DecodeRecordHeader(buf[pos:], sec, f.salt)
		if err != nil || h.Size > len(buf)-pos || format.RecordHeaderSize+h.KeyLen > h.Size {
			pos += sectorSize
			continue
		}
		hs = append(hs, header{pos: pos, h: h})
		pos += h.Size
	}
	f.mu.Lock()
	for i := range hs {
		hd := &hs[i]
		key := buf[hd.pos+format.RecordHeaderSize : hd.pos+format.RecordHeaderSize+hd.h.KeyLen]
		hd.pl = f.stays(key, packLoc(segStart(v)+uint64(hd.pos/sectorSize), uint64(hd.h.Size/sectorSize)))
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
		e := stages.Entry{Key: string(key), TS: hd.h.TS, Seq: hd.h.Seq, Expiry: hd.h.Expiry,
			Kind: stages.Put, Value: value, Ref: &move{pl: hd.pl, from: packLoc(sec, uint64(hd.h.Size/sectorSize))}}
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

// stays reports the place of the record of key at loc if the record must stay on disk: it is the
// key's newest version, or the key's deletion record (or expired version) and older copies of
// the key may still lie in segments not yet erased. A deletion record found to have no such
// copies left is released here. Called with f.mu held.
func (f *File) stays(key []byte, loc Loc) *Place {
	if pl := f.kept[string(key)]; pl != nil && pl.counted && Loc(pl.loc.Load()) == loc {
		if pl.ghosts = f.prune(pl.ghosts); pl.ghosts == nil {
			f.release(pl)
			delete(f.kept, string(key))
			return nil
		}
		return pl
	}
	if pl := f.cfg.Index.Newest(string(key)); pl != nil && !pl.dead && pl.counted && Loc(pl.loc.Load()) == loc {
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

// erase erases the segments (each with its group) and makes the erasure durable. It punches
// holes from the segment's start forward, in block-aligned pieces of eraseChunk: a crash
// (power loss) part way leaves a prefix erased, so a record is either whole or without its
// header, never torn. Where the filesystem cannot punch holes, it zeroes the first sector of
// every record header that still verifies, with the same effect.
func (f *File) erase(segs []uint32) error {
	f.mu.Lock()
	used := make([]uint64, len(segs))
	for i, v := range segs {
		used[i] = f.segs[v].used
	}
	f.mu.Unlock()
	return f.eraseUsed(segs, used)
}

// eraseLocked is erase for a caller that holds f.mu.
func (f *File) eraseLocked(segs []uint32) error {
	used := make([]uint64, len(segs))
	for i, v := range segs {
		used[i] = f.segs[v].used
	}
	return f.eraseUsed(segs, used)
}

// eraseUsed erases the first used[i] sectors of each segment segs[i] and syncs.
func (f *File) eraseUsed(segs []uint32, used []uint64) error {
	for i, v := range segs {
		if used[i] == 0 {
			continue
		}
		off := int64(segStart(v) * sectorSize)
		end := off + (int64(used[i]*sectorSize)+eraseAlign-1)/eraseAlign*eraseAlign // a group's used sectors may pass segBytes
		for at := off; at < end; at += eraseChunk {
			err := f.file.Punch(at, min(eraseChunk, end-at))
			if errors.Is(err, errors.ErrUnsupported) {
				err = f.zeroHeaders(off, end-off)
				at = end
			}
			if err != nil {
				return err
			}
		}
	}
	return f.file.SyncAll()
}

const (
	// eraseAlign is the block size erasures are rounded up to (within the segment, past its
	// used sectors: nothing else lives there).
	eraseAlign = 4096
	// eraseChunk is the size of one hole punched by erase.
	eraseChunk = 64 << 10
)

// zeroHeaders zeroes the first sector of each record header in [off, off+n) that verifies,
// torn records included.
func (f *File) zeroHeaders(off, n int64) error {
	buf := make([]byte, n)
	if err := f.file.ReadAt(buf, off); err != nil {
		return err
	}
	first := uint64(off) / sectorSize
	for pos := 0; pos+format.RecordHeaderSize <= len(buf); pos += sectorSize {
		sec := first + uint64(pos/sectorSize)
		if _, err := format.DecodeRecordHeader(buf[pos:], sec, f.salt); err != nil {
			continue
		}
		if err := f.file.WriteAt([][]byte{zeroSector}, int64(sec*sectorSize)); err != nil {
			return err
		}
	}
	return nil
}
