package feox

import (
	"cmp"
	"errors"
	"hash/maphash"
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
	// cleanTombsMin is the number of kept deletion records below which they never make the
	// cleaner work (above it, the bound is the number of live sectors).
	cleanTombsMin = 1 << 16
	// cleanVictims is the most segments whose live records one round moves.
	cleanVictims = 8
	// eraseMax bounds the segments erased in one round.
	eraseMax = 64
	// cleanPeriod is how often the cleaner looks without being asked.
	cleanPeriod = time.Second
)

// move is the Ref of a cleaner's entry: the version to move and where it was.
type move struct {
	pl   *place
	from uint64
}

// kickCleaner asks the cleaner to look for work.
func (fs *fileStore) kickCleaner() {
	select {
	case fs.kick <- struct{}{}:
	default:
	}
}

// runCleaner is the cleaner goroutine.
func (s *Store) runCleaner() {
	defer s.wg.Done()
	t := time.NewTicker(cleanPeriod)
	defer t.Stop()
	var victims []uint32
	for {
		select {
		case <-s.stop:
			return
		case <-s.fs.kick:
		case <-t.C:
		}
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			s.fs.cleanMu.Lock()
			s.fs.mu.Lock()
			victims = s.fs.pickVictims(victims[:0])
			s.fs.mu.Unlock()
			var err error
			if len(victims) > 0 {
				err = s.clean(victims)
			}
			s.fs.cleanMu.Unlock()
			if len(victims) == 0 {
				break
			}
			if err != nil {
				s.log.Warn().Err(err).Msg("feox: cleaning failed; will retry")
				break
			}
		}
	}
}

// pickVictims chooses the segments to clean and marks them: every written segment without a
// live record (up to eraseMax) or, when there is none and free segments are short, the
// cleanVictims segments with the most garbage among those that hold enough. Called with fs.mu
// held.
func (fs *fileStore) pickVictims(dst []uint32) []uint32 {
	reserve := max(uint64(len(fs.segs))/cleanReserveDiv, cleanReserveMin)
	// Kept deletion records cost memory (tombs) until the segments of their older copies are
	// erased: past a bound, clean as if free space were short.
	// The bound is the live sectors other than the kept records' own (about one each).
	tombLimit := max(fs.tombsMin, fs.live.Load()/sectorSize-int64(len(fs.tombs)))
	short := fs.free.FreeUnits() < reserve || int64(len(fs.tombs)) > tombLimit
	fs.cands = fs.cands[:0]
	for i := range fs.segs {
		sg := &fs.segs[i]
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
			fs.cands = append(fs.cands, candidate{uint32(i), g})
		}
	}
	if len(dst) == 0 && len(fs.cands) > 0 {
		slices.SortFunc(fs.cands, func(a, b candidate) int { return cmp.Compare(b.garbage, a.garbage) })
		for _, c := range fs.cands[:min(len(fs.cands), cleanVictims)] {
			dst = append(dst, c.seg)
		}
	}
	for _, i := range dst {
		fs.segs[i].state = segCleaning
	}
	return dst
}

// candidate is a segment the cleaner may pick, with its garbage in sectors.
type candidate struct {
	seg     uint32
	garbage uint64
}

// clean moves the live records out of victims and erases those left without any.
func (s *Store) clean(victims []uint32) (err error) {
	fs := s.fs
	defer func() {
		if err != nil {
			fs.mu.Lock()
			for _, v := range victims {
				if fs.segs[v].state == segCleaning {
					fs.segs[v].state = segFull
				}
			}
			fs.mu.Unlock()
		}
	}()
	moved := 0
	var heads []header
	for _, v := range victims {
		fs.mu.Lock()
		used, live := fs.segs[v].used, fs.segs[v].live
		fs.mu.Unlock()
		if live == 0 {
			continue
		}
		buf := make([]byte, used*sectorSize) // the moves' values point into it until written
		if err := fs.file.ReadAt(buf, int64(segStart(v)*sectorSize)); err != nil {
			return err
		}
		fs.read.Add(int64(len(buf))) // BytesRead counts the cleaner's reads too
		// Liveness needs only the headers and keys; only a record that moves is verified in
		// full (the checksum of a garbage record is not worth computing).
		heads := heads[:0]
		for pos := 0; pos+format.RecordHeaderSize <= len(buf); {
			sec := segStart(v) + uint64(pos/sectorSize)
			h, err := format.DecodeRecordHeader(buf[pos:], sec, fs.salt)
			if err != nil || h.Size > len(buf)-pos || format.RecordHeaderSize+h.KeyLen > h.Size {
				pos += sectorSize
				continue
			}
			heads = append(heads, header{pos: pos, h: h})
			pos += h.Size
		}
		fs.mu.Lock()
		for i := range heads {
			hd := &heads[i]
			key := buf[hd.pos+format.RecordHeaderSize : hd.pos+format.RecordHeaderSize+hd.h.KeyLen]
			hd.pl = s.stays(key, packLoc(segStart(v)+uint64(hd.pos/sectorSize), uint64(hd.h.Size/sectorSize)))
		}
		fs.mu.Unlock()
		for i := range heads {
			hd := &heads[i]
			if hd.pl == nil {
				continue
			}
			sec := segStart(v) + uint64(hd.pos/sectorSize)
			key, value, err := format.VerifyRecord(buf[hd.pos:hd.pos+hd.h.Size], hd.h, sec, fs.salt)
			if err != nil {
				// The newest version's own record is damaged: it stays where it is (the
				// segment is not erased), and reads of it report ErrCorrupted.
				s.log.Error().Err(err).Uint64("offset", sec*sectorSize).Msg("feox: the cleaner met a damaged live record")
				continue
			}
			e := stages.Entry{Key: string(key), TS: hd.h.TS, Seq: hd.h.Seq, Expiry: hd.h.Expiry,
				Kind: stages.Put, Value: value, Ref: &move{pl: hd.pl, from: packLoc(sec, uint64(hd.h.Size/sectorSize))}}
			if hd.h.Kind == format.KindDelete {
				e.Kind, e.Value = stages.Delete, nil
			}
			if err := s.pipe.Enqueue(s.shardOf(e.Key), e); err != nil {
				return err
			}
			moved++
		}
		clear(heads)
	}
	if moved > 0 {
		if err := s.pipe.Flush(); err != nil {
			return err
		}
		fs.moves.Add(int64(moved))
	}
	var erase []uint32
	fs.mu.Lock()
	for _, v := range victims {
		if sg := &fs.segs[v]; sg.live == 0 && sg.inflight == 0 {
			erase = append(erase, v)
		} else {
			sg.state = segFull // a move waits for a retry, or a newer version is on its way
		}
	}
	fs.mu.Unlock()
	if len(erase) == 0 {
		return nil
	}
	s.crashPoint("moved")
	if err := fs.erase(erase); err != nil {
		victims = erase
		return err
	}
	s.crashPoint("erased")
	fs.mu.Lock()
	// Counted before freed takes effect: whoever sees a deletion record released by this
	// erasure (under fs.mu) then sees the erasure counted too.
	fs.cleaned.Add(int64(len(erase)))
	fs.freed(erase)
	fs.mu.Unlock()
	return nil
}

// stays reports the place of the record of key at loc if the record must stay on disk: it is the
// key's newest version, or the key's deletion record (or expired version) and older copies of
// the key may still lie in segments not yet erased. A deletion record found to have no such
// copies left is released here. Called with fs.mu held.
func (s *Store) stays(key []byte, loc uint64) *place {
	fs := s.fs
	if t := fs.tombs[string(key)]; t != nil {
		if pl := t.pl.Load(); pl != nil && pl.counted && pl.loc.Load() == loc {
			if pl.ghosts = fs.prune(pl.ghosts); pl.ghosts == nil {
				fs.release(pl)
				delete(fs.tombs, string(key))
				return nil
			}
			return pl
		}
	}
	if r, _ := s.hash.Load(string(key)); r != nil && !r.dead {
		if pl := r.pl.Load(); pl != nil && pl.counted && pl.loc.Load() == loc {
			return pl
		}
	}
	return nil
}

// header is a record header the cleaner met in a victim, at pos in the victim's buffer, and
// the place of the version it moves (nil if the record is garbage).
type header struct {
	pos int
	h   format.RecordHeader
	pl  *place
}

// shardOf returns the pipeline shard of key.
func (s *Store) shardOf(key string) int {
	return s.pipe.ShardOf(maphash.String(s.seed, key) / clockShards)
}

// erase erases the segments (each with its group) and makes the erasure durable. It punches
// holes from the segment's start forward, in block-aligned pieces of eraseChunk: a crash
// (power loss) part way leaves a prefix erased, so a record is either whole or without its
// header, never torn. Where the filesystem cannot punch holes, it zeroes the first sector of
// every record header that still verifies, with the same effect.
func (fs *fileStore) erase(segs []uint32) error {
	fs.mu.Lock()
	used := make([]uint64, len(segs))
	for i, v := range segs {
		used[i] = fs.segs[v].used
	}
	fs.mu.Unlock()
	return fs.eraseUsed(segs, used)
}

// eraseLocked is erase for a caller that holds fs.mu.
func (fs *fileStore) eraseLocked(segs []uint32) error {
	used := make([]uint64, len(segs))
	for i, v := range segs {
		used[i] = fs.segs[v].used
	}
	return fs.eraseUsed(segs, used)
}

// eraseUsed erases the first used[i] sectors of each segment segs[i] and syncs.
func (fs *fileStore) eraseUsed(segs []uint32, used []uint64) error {
	for i, v := range segs {
		if used[i] == 0 {
			continue
		}
		off := int64(segStart(v) * sectorSize)
		end := off + (int64(used[i]*sectorSize)+eraseAlign-1)/eraseAlign*eraseAlign // a group's used sectors may pass segBytes
		for at := off; at < end; at += eraseChunk {
			err := fs.file.Punch(at, min(eraseChunk, end-at))
			if errors.Is(err, errors.ErrUnsupported) {
				err = fs.zeroHeaders(off, end-off)
				at = end
			}
			if err != nil {
				return err
			}
		}
	}
	return fs.file.SyncAll()
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
func (fs *fileStore) zeroHeaders(off, n int64) error {
	buf := make([]byte, n)
	if err := fs.file.ReadAt(buf, off); err != nil {
		return err
	}
	first := uint64(off) / sectorSize
	for pos := 0; pos+format.RecordHeaderSize <= len(buf); pos += sectorSize {
		sec := first + uint64(pos/sectorSize)
		if _, err := format.DecodeRecordHeader(buf[pos:], sec, fs.salt); err != nil {
			continue
		}
		if err := fs.file.WriteAt([][]byte{zeroSector}, int64(sec*sectorSize)); err != nil {
			return err
		}
	}
	return nil
}
