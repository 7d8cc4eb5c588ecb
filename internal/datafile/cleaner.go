package datafile

import (
	"errors"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
)

// The cleaner reclaims the garbage that replaced and deleted versions leave in their segments
// (segments.go). One goroutine per persistent store, in rounds:
//
//  1. It picks victims (policy.go): every written segment whose records are all garbage or,
//     when the garbage passes its bound or free segments run short, the segments with the
//     best cost-benefit.
//  2. It reads each victim and hands every record that must stay (the key's newest version,
//     or a deletion record whose ghosts are not all erased) to the key's shard as a move: the
//     same version, written again at the head of the log by an ordinary batch (moveout.go).
//  3. It flushes the pipeline. A move whose version was replaced meanwhile is skipped by the
//     backend; the newer version releases the old extent itself.
//  4. When a victim holds no live record any more, it erases it (punches a hole, or zeroes
//     the header of each frame where the filesystem cannot), makes the erasure durable
//     with fsync, and only then returns the segment to the free list and bumps its generation,
//     which retires the ghosts that named it. Step 4 runs on a goroutine of its own while the
//     next round goes through steps 1 to 3 (eraser), one erasure at a time.
//
// With nothing to clean and the writers quiet, a round punches the free segments whose blocks
// may still be allocated (trim), so that the disk space the file takes follows its data.
//
// A crash between 3 and 4 leaves two copies of a moved version (same sequence number): recovery
// keeps one. A crash during 4 leaves some records of the victim: each is an older copy of its
// key, which recovery resolves like any other.

const (
	// eraseMax bounds the segments erased (or trimmed) in one round.
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
	var e eraser
	defer func() {
		if err := e.wait(); err != nil {
			f.log.Warn().Err(err).Msg("feox: cleaning failed")
		}
	}()
	for {
		select {
		case <-f.stop:
			return
		case <-f.kick:
		case <-t.C:
		}
		for f.round(&e) {
			select {
			case <-f.stop:
				return
			default:
			}
		}
	}
}

// round runs one round of cleaning and reports whether another should follow at once. It moves
// the victims' live records and hands the victims to e to erase, while the next round moves
// records; or, with nothing to clean and the writers quiet, it trims free segments.
func (f *File) round(e *eraser) bool {
	busy := f.act.update(time.Now(), f.versionBytes.Load()) // a pace: no ordering with what it counts
	f.cleanMu.Lock()
	defer f.cleanMu.Unlock()
	f.mu.Lock()
	f.victims = f.pickVictims(f.victims[:0], busy)
	f.mu.Unlock()
	more, err := len(f.victims) > 0, error(nil)
	switch {
	case more:
		var erase []uint32
		if erase, err = f.move(f.victims); err == nil {
			err = e.start(f, erase)
		}
	case !busy:
		more, err = f.trim()
	}
	if err != nil {
		f.log.Warn().Err(err).Msg("feox: cleaning failed; will retry")
		return false
	}
	return more
}

// eraser runs a round's erasure (File.finish: a hole punched per victim, one sync) on a
// goroutine of its own while the cleaner moves the next round's records.
type eraser struct {
	done chan error // nil when no erasure is in flight
}

// wait waits for the erasure in flight, if any, and returns its error.
func (e *eraser) wait() error {
	if e.done == nil {
		return nil
	}
	err := <-e.done
	e.done = nil
	return err
}

// start waits for the erasure in flight, then starts erasing segs; it returns the error of the
// erasure it waited for.
func (e *eraser) start(f *File, segs []uint32) error {
	err := e.wait()
	if len(segs) > 0 {
		e.done = make(chan error, 1)
		go func() { e.done <- f.finish(segs) }()
	}
	return err
}

// trim releases the blocks of up to eraseMax free segments that may hold some (held): it takes
// them out of the free list, punches each whole, and gives them back. It reports whether it
// found any. The punches need no sync: the segments hold no record. Where the filesystem
// cannot punch holes, the segments stay as they are.
func (f *File) trim() (bool, error) {
	var segs []uint32
	f.mu.Lock()
	for i := range f.segs {
		if sg := &f.segs[i]; sg.state == segFree && sg.held {
			if err := f.free.Reserve(alloc.Extent{Off: uint64(i), Len: 1}); err != nil {
				sg.held = false // not in the free list after all: never a free segment's blocks
				continue
			}
			sg.state = segCleaning
			if segs = append(segs, uint32(i)); len(segs) == eraseMax {
				break
			}
		}
	}
	f.mu.Unlock()
	var err error
	done := 0
	for _, v := range segs {
		if err = f.file.Punch(int64(segStart(v)), segBytes); err != nil {
			break
		}
		done++
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for j, v := range segs {
		sg := &f.segs[v]
		sg.state = segFree
		if j < done || errors.Is(err, errors.ErrUnsupported) {
			sg.held = false
		}
		if ferr := f.free.Free(alloc.Extent{Off: uint64(v), Len: 1}); ferr != nil {
			err = errors.Join(err, errSegments, ferr)
		}
	}
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return len(segs) > 0 && err == nil, err
}

// clean moves the live records out of victims and erases those left without any.
func (f *File) clean(victims []uint32) error {
	erase, err := f.move(victims)
	if err != nil {
		return err
	}
	return f.finish(erase)
}

// move moves the live records out of victims and waits until the moves are durable. It returns
// the victims left without a live record, still marked for cleaning; it gives the others back.
func (f *File) move(victims []uint32) (erase []uint32, err error) {
	defer func() {
		if err != nil {
			f.unmark(victims)
		}
	}()
	moved := 0
	sc, _ := f.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	for _, v := range victims {
		n, err := f.moveOut(v, sc)
		if err != nil {
			return nil, err
		}
		moved += n
	}
	if moved > 0 {
		if err := f.pipe.Flush(); err != nil {
			return nil, err
		}
		f.moves.Add(int64(moved))
	}
	// The moves are durable: nothing points into the arena any more.
	sc.arena = sc.arena[:0]
	f.scratch.Put(sc)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range victims {
		if sg := &f.segs[v]; sg.live == 0 && sg.inflight == 0 {
			erase = append(erase, v)
		} else {
			sg.state = segFull // a move waits for a retry, or a newer version is on its way
		}
	}
	return erase, nil
}

// finish erases segs, which move left without a live record, and returns them to the free
// list once the erasure is durable. eraseMu serializes it.
func (f *File) finish(segs []uint32) error {
	if len(segs) == 0 {
		return nil
	}
	f.eraseMu.Lock()
	defer f.eraseMu.Unlock()
	f.crashAt("moved")
	if err := f.erase(segs); err != nil {
		f.unmark(segs)
		return err
	}
	f.crashAt("erased")
	f.mu.Lock()
	// Counted before makeFree takes effect: whoever sees a deletion record released by this
	// erasure (under f.mu) then sees the erasure counted too.
	f.cleaned.Add(int64(len(segs)))
	f.makeFree(segs)
	f.mu.Unlock()
	return nil
}

// unmark gives back the segments of segs still marked for cleaning.
func (f *File) unmark(segs []uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range segs {
		if f.segs[v].state == segCleaning {
			f.segs[v].state = segFull
		}
	}
}

// erase erases the segments (each with its group) and makes the erasure durable. It punches
// holes from the segment's start forward, in block-aligned pieces of eraseChunk: a crash
// (power loss) part way leaves a prefix erased, so a frame is either whole or without its
// header, never torn. Where the filesystem cannot punch holes, it zeroes every frame header
// that still verifies, with the same effect.
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

// eraseUsed erases the first used[i] bytes of each segment segs[i] and syncs.
func (f *File) eraseUsed(segs []uint32, used []uint64) error {
	for i, v := range segs {
		if used[i] == 0 {
			continue
		}
		off := int64(segStart(v))
		end := off + (int64(used[i])+eraseAlign-1)/eraseAlign*eraseAlign // a group's used bytes may pass segBytes
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
	// used bytes: nothing else lives there).
	eraseAlign = 4096
	// eraseChunk is the size of one hole punched by erase.
	eraseChunk = 64 << 10
)

// zeroHeaders zeroes the first format.FrameAlign bytes of each frame in [off, off+n) whose
// header verifies, torn frames included: their records can no longer be found.
func (f *File) zeroHeaders(off, n int64) error {
	buf := make([]byte, n)
	if err := f.file.ReadAt(buf, off); err != nil {
		return err
	}
	for pos := 0; pos+format.FrameHeaderSize <= len(buf); pos += format.FrameAlign {
		at := uint64(off) + uint64(pos)
		if _, err := format.DecodeFrameHeader(buf[pos:], at, f.salt); err != nil {
			continue
		}
		if err := f.file.WriteAt([][]byte{zeroPage[:format.FrameAlign]}, int64(at)); err != nil {
			return err
		}
	}
	return nil
}
