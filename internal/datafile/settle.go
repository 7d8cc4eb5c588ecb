package datafile

import (
	"strings"

	"github.com/feoxdb/feox-go/pkg/stages"
)

// Settling a durable batch. For each version it writes, the complete stage records where the
// version now lives and follows the version's link to the newest older version of the key
// that is on disk: that version is released (its bytes stop counting as live and become
// garbage of its segment) and its segment, with its own ghosts, joins the new version's ghosts
// (the segments, with their generation, that may still hold older copies of the key).
// Versions in between that never reached disk (coalesced away) are marked superseded, so that
// a retried deletion written later is garbage at once. A value counts as live in its segment;
// a deletion record counts as live, and is kept, only while it has ghosts that are not erased.
// A move that reached the disk takes over from the copy it was made of, if that copy still
// counts where the cleaner found it.

// move is the Ref of a cleaner's entry: the version to move and where it was.
type move struct {
	pl   *Place
	from Loc
}

// settle settles the durable batch b, written as fl says. It takes f.mu once for the batch.
func (be *backend) settle(b *stages.Batch, fl *flight) {
	f := be.f
	be.warm(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	var versions uint64
	for j, i := range fl.entries {
		e := &b.Entries[i]
		loc := packLoc(fl.exts[j].Off, fl.exts[j].Len)
		switch ref := e.Ref.(type) {
		case *move:
			f.moved(ref, loc)
		case Placed:
			f.settleVersion(e.Key, ref.Place(), loc)
			versions += loc.size()
		}
	}
	f.versionBytes.Add(int64(versions)) // the writers' pace for the cleaner, ordered with nothing
	// A deletion dropped with its key's whole batch history wrote nothing and supersedes nothing
	// on disk: its link to older versions is dropped.
	for i := range b.Dropped {
		if p, ok := b.Dropped[i].Ref.(Placed); ok {
			p.Place().prev = nil
		}
	}
	f.endFlight(fl.segs)
	for _, off := range fl.zap {
		f.endFlight([]uint32{segOf(off)})
	}
}

// warm loads, level by level, the places the batch's versions replace, which settleVersion
// reads next. They were written long ago and their cache lines are cold; loads of one level do
// not depend on each other, so the processor overlaps their misses, which settleVersion, with
// its dependent work between them, would take one at a time.
func (be *backend) warm(b *stages.Batch) {
	prevs := be.prevs[:0]
	for i := range b.Entries {
		if p, ok := b.Entries[i].Ref.(Placed); ok {
			if pp := p.Place().prev; pp != nil {
				prevs = append(prevs, pp)
			}
		}
	}
	pls := be.pls[:0]
	for _, p := range prevs {
		p.loc.Load()
		if p.prev != nil {
			pls = append(pls, p.prev)
		}
	}
	for _, p := range pls {
		p.loc.Load()
	}
	clear(prevs)
	clear(pls)
	be.prevs, be.pls = prevs[:0], pls[:0]
}

// settleVersion records that the version at pl, a version of key, is durable at loc, and
// releases the versions it replaces. Called with f.mu held, by the key's shard's complete
// stage.
func (f *File) settleVersion(key string, pl *Place, loc Loc) {
	pl.loc.Store(uint64(loc)) // readers of a durable copy load it after the copy is published
	// The newest older version on disk: release it. Versions in between that never reached disk
	// are marked, so that a retried deletion written later is garbage at once.
	for p := pl.prev; p != nil; p = p.prev {
		if _, ok := p.Loc(); ok {
			f.replace(pl, p, key)
			break
		}
		p.superseded = true
		if p.ghosts != nil {
			// Copies a failed batch may have left of a version that never became durable.
			pl.ghosts = f.mergeGhosts(pl.ghosts, p.ghosts)
		}
	}
	pl.prev = nil
	// A deletion record kept for its ghosts, which the key's newest version no longer links to.
	if t := f.kept[key]; t != nil && t != pl {
		f.replace(pl, t, key)
	}
	switch {
	case pl.superseded:
		// Written after a newer version became durable (a retried deletion): garbage at once.
	case pl.dead:
		// A deletion record stays while older copies of the key may remain.
		if pl.ghosts = f.prune(pl.ghosts); pl.ghosts != nil {
			f.count(pl)
			f.kept[strings.Clone(key)] = pl // its own copy: key aliases a version's buffer
		}
	default:
		f.count(pl)
	}
}

// replace releases old, a version of key that pl's version replaces: its segment and its
// ghosts become pl's ghosts, and it is no longer kept. Called with f.mu held.
func (f *File) replace(pl, old *Place, key string) {
	if old == nil || old == pl {
		return
	}
	if f.kept[key] == old {
		delete(f.kept, key)
	}
	if l, ok := old.Loc(); ok {
		pl.ghosts = f.addGhost(f.mergeGhosts(pl.ghosts, old.ghosts), l.off())
	}
	old.ghosts = nil
	f.release(old)
}

// moved records that the cleaner's copy of a version is durable at loc: if the version still
// counts where the cleaner found it, it now lives at loc, and the extent it left is a ghost.
// Called with f.mu held.
func (f *File) moved(m *move, loc Loc) {
	pl := m.pl
	if cur, _ := pl.Loc(); !pl.counted || cur != m.from {
		return // replaced meanwhile: the copy is garbage
	}
	f.release(pl)
	pl.loc.Store(uint64(loc)) // a reader that read the old place re-reads from here
	f.count(pl)
	pl.ghosts = f.addGhost(pl.ghosts, m.from.off())
}

// stale reports whether the backend leaves e unwritten. A move: the version is no longer the
// key's newest (in the index) or kept deletion record, or no longer counts where the cleaner
// found it; the newer version, written after it in this shard's order, releases the old copy
// itself. A value retried after its batch failed: the index holds a newer version of the key
// (versions that have not reached disk are never evicted, so the comparison is with the very
// place the entry carries), which replaces it and releases what it would have replaced. A
// retried deletion is always written: later entries of the key may count on it.
func (f *File) stale(e *stages.Entry) bool {
	switch ref := e.Ref.(type) {
	case *move:
		cur := f.cfg.Index.Newest(e.Key)
		f.mu.Lock()
		defer f.mu.Unlock()
		current := cur == ref.pl || f.kept[e.Key] == ref.pl
		loc, _ := ref.pl.Loc()
		return !current || !ref.pl.counted || loc != ref.from
	case Placed:
		return e.Retry && e.Kind == stages.Put && f.cfg.Index.Newest(e.Key) != ref.Place()
	}
	return false
}
