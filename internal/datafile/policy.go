package datafile

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The cleaner's policy: when a round moves live records, and out of which segments.
//
// A round erases, first, every written segment that holds only garbage: that costs no move.
// It moves live records when the garbage in the written segments passes a bound, or when free
// segments run short (or kept deletion records pile up). The bound is Config.MaxGarbage of the
// bytes the written segments use while the writers are quiet, and (1+2*MaxGarbage)/3 while
// they are busy (activity): under sustained writes a segment left alone keeps losing live
// records to newer versions, so that cleaning it later moves fewer of them, and the writers
// keep more of the pipeline for themselves. Once they pause, the cleaner brings the garbage
// down to MaxGarbage, and a round past a bound takes it a sixteenth under (cleanHysteresis).
//
// Victims are chosen by LFS's cost-benefit, (1-u)*age/(1+u), among written segments that are
// settled (not the head, no batch in flight), a bounded number per round holding at most
// cleanMoveBytes of live records, and no more than bring the garbage under the bound; a segment
// with too little garbage to be worth its moves is never chosen (goal.minGarbage).

const (
	// cleanReserveDiv and cleanReserveMin set the free segments the cleaner keeps: a
	// cleanReserveDiv-th of the file, at least cleanReserveMin.
	cleanReserveDiv = 16
	cleanReserveMin = 4
	// cleanMinGarbage is the garbage (bytes) a segment must hold to be worth moving its live
	// records for while free segments are short (half: each byte moved frees at least one);
	// below it the file grows instead.
	cleanMinGarbage = segBytes / 2
	// cleanGainShare is, over the garbage bound, the share of a segment that must be garbage
	// for the bound alone to make it a victim: with the bound at 0.25, an eighth. Below it a
	// cold segment's few bytes of garbage would cost a rewrite of nearly the whole segment.
	cleanGainShare = 0.5
	// cleanKeptMin is the number of kept deletion records below which they never make the
	// cleaner work (above it, the bound is the number of other live records).
	cleanKeptMin = 1 << 16
	// A round moves the live records of at most a cleanRoundDiv-th of the written segments,
	// between cleanVictimsMin and cleanVictims of them, holding at most cleanMoveBytes of live
	// records (but for its first victim): a round flushes the pipeline once and syncs its
	// erasures once, and its victims take their space on disk until they are erased.
	cleanRoundDiv   = 16
	cleanVictimsMin = 4
	cleanVictims    = 64
	cleanMoveBytes  = 8 * segBytes
	// cleanHysteresis is the share of the garbage bound that a round brings the garbage under
	// it, once past it: each round pays a flush of the pipeline and a sync of its erasures,
	// which many small rounds would repeat.
	cleanHysteresis = 1.0 / 16
	// cleanBusyBytes is the rate of new versions (bytes per cleanPeriod, the cleaner's moves
	// left out) from which the writers count as busy.
	cleanBusyBytes = segBytes
)

// activity tells busy writers from quiet ones. The cleaner goroutine owns it.
type activity struct {
	start   time.Time // the current window's start
	written int64     // File.versionBytes at start
	busy    bool      // the verdict of the last window
}

// update returns whether the writers are busy: whether, over the last window, they wrote new
// versions at cleanBusyBytes per cleanPeriod or more. A window closes at the first look at
// least half a cleanPeriod after it opened (the cleaner looks at least once a cleanPeriod), so
// that the writers' pause is seen within one and a half. written is File.versionBytes now.
func (a *activity) update(now time.Time, written int64) bool {
	if d := now.Sub(a.start); d >= cleanPeriod/2 {
		a.busy = float64(written-a.written) >= float64(cleanBusyBytes)*d.Seconds()/cleanPeriod.Seconds()
		a.start, a.written = now, written
	}
	return a.busy
}

// garbageBound returns the share of the written segments' bytes that may be garbage before the
// cleaner moves records: maxGarbage while the writers are quiet, (1+2*maxGarbage)/3 while they
// are busy (the space amplification it allows, 1/(1-bound), is then 1.5 times as large).
func garbageBound(maxGarbage float64, busy bool) float64 {
	if busy {
		return (1 + 2*maxGarbage) / 3
	}
	return maxGarbage
}

// pickVictims chooses the segments to clean and marks them: every written segment without a
// live record (up to eraseMax) or, when there is none, the victims chooseVictims finds for the
// round's goal. busy says whether the writers are busy. Called with f.mu held.
func (f *File) pickVictims(dst []uint32, busy bool) []uint32 {
	now := f.appended // the log's clock: ages are in bytes of records appended since
	var used, live uint64
	written := 0
	f.cands = f.cands[:0]
	for i := range f.segs {
		sg := &f.segs[i]
		if sg.span == 0 || sg.state == segFree || sg.state == segPinned || sg.state == segCleaning {
			continue // not written, never cleaned, or on its way out
		}
		used, live, written = used+sg.used, live+min(sg.live, sg.used), written+1
		if sg.state != segFull || sg.inflight > 0 {
			continue
		}
		if sg.live == 0 {
			if len(dst) < eraseMax {
				dst = append(dst, uint32(i))
			}
			continue
		}
		f.cands = append(f.cands, candidate{seg: uint32(i), live: sg.live, used: sg.used,
			age: now - min(sg.stamp, now)})
	}
	if len(dst) == 0 {
		dst = chooseVictims(dst, f.cands, f.goal(used, live, written, busy))
	}
	for _, i := range dst {
		f.segs[i].state = segCleaning
	}
	return dst
}

// goal returns what a round must achieve, given the bytes used and live in the written
// segments (the head's and those in flight included, those being cleaned left out), their
// number, and whether the writers are busy. Called with f.mu held.
func (f *File) goal(used, live uint64, written int, busy bool) goal {
	reserve := max(uint64(len(f.segs))/cleanReserveDiv, cleanReserveMin)
	// Kept deletion records cost memory (kept) until the segments of their older copies are
	// erased: past a bound, clean as if free space were short.
	// The bound is the number of live records other than the kept ones.
	keptLimit := max(f.keptMin, f.liveRecords-int64(len(f.kept)))
	short := f.free.FreeUnits() < reserve || int64(len(f.kept)) > keptLimit
	g := goal{victims: min(max(written/cleanRoundDiv, cleanVictimsMin), cleanVictims),
		moveBytes: cleanMoveBytes, minGarbage: cleanMinGarbage}
	garbage := used - live
	if b := garbageBound(f.maxGarbage, busy); b < 1 && float64(garbage) > b*float64(used) {
		// Freeing x bytes of garbage leaves garbage-x of used-x: at most t of it once
		// x >= (garbage - t*used) / (1 - t).
		t := b * (1 - cleanHysteresis)
		g.excess = uint64((float64(garbage)-t*float64(used))/(1-t)) + 1
		g.minGarbage = min(g.minGarbage, uint64(b*segBytes*cleanGainShare))
	}
	switch {
	case short:
		g.excess = math.MaxUint64
	case g.excess == 0:
		g.victims = 0
	}
	return g
}

// goal is what a round of cleaning must achieve: free excess bytes of garbage with at most
// victims segments holding moveBytes live bytes between them (more for a first victim that
// holds more), each holding at least minGarbage bytes of garbage.
type goal struct {
	victims    int
	moveBytes  uint64
	minGarbage uint64
	excess     uint64
}

// candidate is a written, settled segment the cleaner may pick: its live and used bytes, and
// its age: the bytes the log has appended since a batch last appended to it.
type candidate struct {
	seg        uint32
	live, used uint64
	age        uint64
}

// benefit returns the cost-benefit of cleaning c, as LFS defines it: (1-u)*age/(1+u), with
// u = live/used. Cleaning reads the segment (cost 1) and writes its live part again (u) to free
// the rest (1-u); the age weighs what is freed by how long the segment's records have stayed
// unchanged. Under uniform updates the oldest segments are also the emptiest; under skewed
// ones a cold segment is cleaned at a higher u than a hot one, whose live records keep dying
// on their own if left alone.
func (c candidate) benefit() float64 {
	if c.used == 0 {
		return 0
	}
	u := float64(min(c.live, c.used)) / float64(c.used)
	return (1 - u) * float64(c.age+1) / (1 + u)
}

// chooseVictims appends to dst the victims of a round: the candidates with the highest
// benefit, best first, leaving out those without garbage or with less than g.minGarbage, until
// they hold g.excess bytes of garbage, number g.victims, or hold g.moveBytes live bytes (a
// victim that would pass it is left out, unless it is the first). It reorders cands.
func chooseVictims(dst []uint32, cands []candidate, g goal) []uint32 {
	if g.victims == 0 || g.excess == 0 {
		return dst
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.benefit(), a.benefit()); c != 0 {
			return c
		}
		return cmp.Compare(a.seg, b.seg)
	})
	var freed, moved uint64
	n := 0
	for _, c := range cands {
		garbage := c.used - min(c.live, c.used)
		if garbage == 0 || garbage < g.minGarbage || (n > 0 && moved+c.live > g.moveBytes) {
			continue
		}
		dst = append(dst, c.seg)
		freed, moved = freed+garbage, moved+c.live
		if n++; n == g.victims || freed >= g.excess {
			break
		}
	}
	return dst
}
