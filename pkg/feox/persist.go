package feox

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/internal/uring"
	"github.com/feoxdb/feox-go/pkg/alloc"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// fileStore is the persistent side of a Store: the data file, its segments and free space,
// shared by the shards' backends and the cleaner.
type fileStore struct {
	file *disk.File
	salt uint64
	log  zerolog.Logger

	// mu guards the segment table, the free list, the head, tombs, and the counted and ghosts
	// fields of every place.
	mu   sync.Mutex
	segs []segment
	free *alloc.Allocator // free segments (the allocator's units are segments)
	head int64            // the open segment, -1 for none
	// pad is the number of sectors each batch's space is rounded up to (1: none). With
	// O_DIRECT it is a page: every batch then starts and ends on a filesystem block, which
	// a direct write needs to avoid the filesystem's slow path for partial blocks.
	pad uint64
	// fellBack is set once the fallback from O_DIRECT has been logged.
	fellBack atomic.Bool
	taken    []uint32    // scratch of allocate: the segments it took from the free list
	cands    []candidate // scratch of pickVictims
	tombs    map[string]*record
	// tombsMin is the number of kept deletion records below which they never make the cleaner
	// work (cleanTombsMin; tests lower it).
	tombsMin int64
	kick     chan struct{} // wakes the cleaner
	// cleanMu is held by the cleaner for each round (tests hold it to keep the file still).
	cleanMu sync.Mutex

	// reader reads values that left memory back: pread, or io_uring with IOUring.
	reader disk.Reader

	batch                               atomic.Uint64 // store-wide batch numbers
	written, syncs, live, corrupt, read atomic.Int64
	moves, cleaned                      atomic.Int64
}

const sectorSize = format.SectorSize

// sectorsOf returns the number of sectors a record of key and value occupies.
func sectorsOf(keyLen, valueLen int) uint64 {
	return uint64(format.RecordSize(keyLen, valueLen) / sectorSize)
}

// fileBackend writes one shard's batches through its disk.Writer (io_uring or pwrite), one
// data sync per batch, appending each batch's records to the log's head (segments.go).
type fileBackend struct {
	fs *fileStore
	w  disk.AsyncWriter // this shard's I/O: io_uring or pwrite
	// small, when set, writes the batches of fewer than smallBatch records instead of w: pwrite
	// beside io_uring under IOAuto. Each batch still has its own sync, so batches may mix.
	small disk.AsyncWriter
	crash func(point string) // the store's crash hook (tests)

	mu sync.Mutex // guards zap
	// zap holds the first sectors of records that a failed batch may have left behind, whole
	// or torn: the shard's next batch zeroes them. Their segments stay in flight meanwhile, so
	// the cleaner cannot erase and reuse them first.
	zap []uint64

	sizes []uint64 // scratch, used by Submit only: the sizes of the records written
	write []int    // and the indexes of their entries
	// stale reports whether a retried entry's key has a newer version than the entry's.
	stale func(e *stages.Entry) bool
	// free holds the flights no batch uses; queue carries the submitted ones, in order, from
	// Submit to Complete. Two flights let one batch be written while the previous one syncs.
	free, queue chan *flight
	// settled lists the segments of the batch Complete last reported durable, for onDurable to
	// release once it has counted the batch's records (complete goroutine only).
	settled []uint32
	// prevs and pls are warm's scratch (complete goroutine only).
	prevs []*record
	pls   []*place
}

// storeFull makes a write or sync error that means the filesystem is out of space match
// ErrStoreFull.
func storeFull(err error) error {
	if errors.Is(err, disk.ErrFull) && !errors.Is(err, ErrStoreFull) {
		return fmt.Errorf("%w: %w", ErrStoreFull, err)
	}
	return err
}

// smallBatch is the number of records below which a batch goes through fileBackend.small.
const smallBatch = 64

// notWritten is the sector reported for an entry the backend skipped (a stale retry or move).
const notWritten = ^uint64(0)

// flightsPerShard is how many batches of one shard can be between Submit and Complete.
const flightsPerShard = 2

// flight is a batch on its way to disk: its encoded records, its writes, its extents and the
// segments they are in, and the sectors it zeroes, kept until Complete settles it.
type flight struct {
	buf     []byte
	places  []*place // the place of each record written, for the ghosts of a failed batch
	writes  []disk.Write
	exts    []alloc.Extent
	segs    []uint32
	zap     []uint64
	pending disk.Pending
}

// newFileBackend returns the backend of one shard writing through w.
func newFileBackend(fs *fileStore, w disk.AsyncWriter, crash func(string), stale func(*stages.Entry) bool) *fileBackend {
	be := &fileBackend{fs: fs, w: w, crash: crash, stale: stale,
		free: make(chan *flight, flightsPerShard), queue: make(chan *flight, flightsPerShard)}
	for range flightsPerShard {
		be.free <- new(flight)
	}
	return be
}

// bufAlign is the memory alignment of every buffer the store writes from: a page, enough for
// the O_DIRECT alignment of any filesystem that allows sector writes (see disk.EnableDirect).
const bufAlign = 4096

// pageSize is the unit a batch's writes are padded to with O_DIRECT (see fileStore.pad).
const pageSize = 4096

// zeroPage holds the zeros that pad a batch's writes; never written to.
var zeroPage = disk.AlignedBuffer(pageSize, bufAlign)

// zeroSector is one sector of zeros, the usual content of a zeroing write.
var zeroSector = zeroPage[:sectorSize:sectorSize]

// skip reports whether the backend leaves e unwritten: a move of a version that is no longer
// where the cleaner found it, or no longer counts; or a retried value whose key has a newer
// version since. Such a value is not written: the newer version, written after it in this
// shard's order, replaces it, and its completion releases what the value would have replaced.
// A retried deletion is always written: later entries of the key may count on it.
func (be *fileBackend) skip(e *stages.Entry) bool { return be.stale(e) }

// Submit appends the batch's records to the log and zeroes the sectors a failed batch left,
// and starts the batch's data sync; Complete waits for it and settles the batch. With two
// batches in flight, a shard writes one while the other syncs.
func (be *fileBackend) Submit(b *stages.Batch) error {
	fs := be.fs
	f := <-be.free // both flights busy: wait for Complete to settle the older one
	be.mu.Lock()
	f.zap, be.zap = be.zap, nil
	be.mu.Unlock()

	be.sizes = be.sizes[:0]
	be.write = be.write[:0]
	for i := range b.Entries {
		e := &b.Entries[i]
		if be.skip(e) {
			continue
		}
		be.sizes = append(be.sizes, sectorsOf(len(e.Key), len(e.Value)))
		be.write = append(be.write, i)
	}
	be.crash("submit")
	exts, segs, err := f.exts[:0], f.segs[:0], error(nil)
	if len(be.sizes) > 0 {
		exts, segs, err = fs.allocate(be.sizes, exts, segs, be.crash)
	}
	if err != nil {
		be.requeue(f.zap)
		be.land(f)
		return err
	}
	f.exts, f.segs = exts, segs
	batchNo := fs.batch.Add(1)
	f.buf = batchBuffer(f.buf, exts)
	for j, i := range be.write {
		e := &b.Entries[i]
		kind := format.KindValue
		if e.Kind == stages.Delete {
			kind = format.KindDelete
		}
		// The key's bytes are only read by AppendRecord.
		key := unsafe.Slice(unsafe.StringData(e.Key), len(e.Key))
		f.buf = format.AppendRecord(f.buf, &format.Record{Kind: kind, Key: key,
			Value: e.Value, TS: e.TS, Seq: e.Seq, Expiry: e.Expiry, Batch: batchNo},
			exts[j].Off, fs.salt)
	}
	f.places = f.places[:0]
	for _, i := range be.write {
		switch ref := b.Entries[i].Ref.(type) {
		case *record:
			f.places = append(f.places, ref.placeOf())
		case *move:
			f.places = append(f.places, ref.pl)
		default:
			f.places = append(f.places, nil)
		}
	}
	f.writes = addRuns(f.writes[:0], f.buf, exts, fs.pad)
	f.writes = addZaps(f.writes, f.zap)
	w := be.w
	if be.small != nil && len(be.write) < smallBatch {
		w = be.small
	}
	if f.pending, err = w.Submit(f.writes); err != nil {
		be.failed(f)
		be.land(f)
		return storeFull(err)
	}
	for range b.Entries {
		b.Sectors = append(b.Sectors, notWritten)
	}
	for j, i := range be.write {
		b.Sectors[i] = exts[j].Off
	}
	be.queue <- f
	return nil
}

// failed handles a batch whose writes or sync failed: its records may be on disk, whole or
// torn, so their first sectors join the zap list (the shard's next batch zeroes them before
// anything of the keys can be released after them; see DURABILITY.md), and their segments
// stay in flight until then.
func (be *fileBackend) failed(f *flight) {
	fs := be.fs
	fs.mu.Lock()
	for j, x := range f.exts {
		fs.segs[segOf(x.Off)].inflight++
		// The copy may be whole: until the zap is durable it is an older copy of its key like
		// any other, and a later version or deletion of the key inherits it as a ghost (a
		// deletion in the shard's next batch, already submitted, can be durable before the zap).
		if pl := f.places[j]; pl != nil {
			pl.ghosts = fs.addGhost(pl.ghosts, x.Off)
		}
	}
	fs.settle(f.segs)
	fs.mu.Unlock()
	be.mu.Lock()
	be.zap = append(be.zap, f.zap...)
	for _, x := range f.exts {
		be.zap = append(be.zap, x.Off)
	}
	be.mu.Unlock()
}

// requeue gives zap work that a batch did not carry out back to the shard.
func (be *fileBackend) requeue(zap []uint64) {
	be.mu.Lock()
	be.zap = append(be.zap, zap...)
	be.mu.Unlock()
}

// Complete waits until the oldest submitted batch is durable; onDurable then counts its
// records and settles its segments.
func (be *fileBackend) Complete(*stages.Batch) error {
	fs := be.fs
	f := <-be.queue
	defer be.land(f)
	err := f.pending.Wait()
	fs.noteFallback()
	if err != nil {
		be.failed(f)
		return storeFull(err)
	}
	be.crash("synced") // durable, but the versions neither counted nor marked durable yet
	fs.syncs.Add(1)
	fs.written.Add(int64(len(f.buf)))
	be.settled = append(be.settled[:0], f.segs...)
	for _, sec := range f.zap {
		be.settled = append(be.settled, segOf(sec))
	}
	return nil
}

// noteFallback logs, once, that the kernel refused a direct write and the data file's writes
// went back to buffered (disk.DirectStatus.FellBack); Stats.DirectIO reports it from then on.
func (fs *fileStore) noteFallback() {
	if !fs.fellBack.Load() && fs.file.Direct().FellBack && fs.fellBack.CompareAndSwap(false, true) {
		fs.log.Warn().Msg("feox: the kernel refused an O_DIRECT write; DirectIO is off for this data file, writes are buffered")
	}
}

// land returns a settled flight to the free list, dropping its references to the batch.
func (be *fileBackend) land(f *flight) {
	clear(f.writes)
	f.writes = f.writes[:0]
	clear(f.places)
	f.places = f.places[:0]
	f.zap, f.pending = nil, nil
	be.free <- f
}

// addZaps adds the writes that zero the given sectors, in file order, one write per run of
// adjacent sectors.
func addZaps(ws []disk.Write, secs []uint64) []disk.Write {
	slices.Sort(secs)
	secs = slices.Compact(secs)
	for i := 0; i < len(secs); {
		j := i + 1
		for j < len(secs) && secs[j] == secs[j-1]+1 {
			j++
		}
		ws = append(ws, disk.Write{Bufs: [][]byte{zeros(uint64(j-i) * sectorSize)}, Off: int64(secs[i] * sectorSize)})
		i = j
	}
	return ws
}

// zeros returns n zero bytes (a shared buffer for the usual single sector).
func zeros(n uint64) []byte {
	if n == sectorSize {
		return zeroSector
	}
	return disk.AlignedBuffer(int(n), bufAlign)
}

// batchBuffer returns an empty buffer, aligned to bufAlign, with room for the records of exts
// encoded one after another: buf emptied if it has the room, else a new one, so that encoding
// never moves the bytes to memory of another alignment.
func batchBuffer(buf []byte, exts []alloc.Extent) []byte {
	var n uint64
	for _, e := range exts {
		n += e.Len * sectorSize
	}
	if uint64(cap(buf)) >= n {
		return buf[:0]
	}
	return disk.AlignedBuffer(int(max(n, 2*uint64(cap(buf)))), bufAlign)[:0]
}

// addRuns adds the writes of buf, the encoded batch, one per run of adjacent extents. With pad
// above 1, each run is followed by zeros up to a multiple of pad sectors, within its segment:
// sectors that allocate reserved for the batch (or that lie past a full segment's end of use),
// which hold no record.
func addRuns(ws []disk.Write, buf []byte, exts []alloc.Extent, pad uint64) []disk.Write {
	first := len(ws)
	pos := uint64(0)
	for i := 0; i < len(exts); {
		j := i + 1
		end := exts[i].Off + exts[i].Len
		for j < len(exts) && exts[j].Off == end {
			end += exts[j].Len
			j++
		}
		n := (end - exts[i].Off) * sectorSize
		ws = append(ws, disk.Write{Bufs: [][]byte{buf[pos : pos+n]}, Off: int64(exts[i].Off * sectorSize)})
		pos += n
		i = j
	}
	if pad <= 1 {
		return ws
	}
	runs := ws[first:]
	for i := range runs {
		start := uint64(runs[i].Off) / sectorSize
		end := start + uint64(len(runs[i].Bufs[0]))/sectorSize
		padded := min((end+pad-1)/pad*pad, segStart(segOf(end-1))+segSectors)
		for _, o := range runs {
			// Not over a run of this batch (a run in the head segment that a large record,
			// placed in segments of its own, interrupted).
			if os := uint64(o.Off) / sectorSize; os >= end && os < padded {
				padded = end
			}
		}
		if padded > end {
			runs[i].Bufs = append(runs[i].Bufs, zeroPage[:(padded-end)*sectorSize])
		}
	}
	return ws
}

// onDurable is the complete stage's report of a durable batch (persistent mode): it records
// where each version lives, counts it as live in its segment, and releases the versions it
// replaced, whose segments become the new version's ghosts.
func (s *Store) onDurable(b *stages.Batch) {
	fs := s.fs
	be := s.backends[b.Shard]
	var victims []*record
	be.warm(b)
	fs.mu.Lock()
	for i := range b.Entries {
		e := &b.Entries[i]
		if b.Sectors[i] == notWritten {
			// A stale retry or move: a newer version of the key stands for it. A skipped
			// version's prev link stays: the newer version's completion walks through it.
			continue
		}
		loc := packLoc(b.Sectors[i], sectorsOf(len(e.Key), len(e.Value)))
		switch ref := e.Ref.(type) {
		case *move:
			fs.moved(ref, loc)
		case *record:
			if s.settleVersion(e.Key, ref, loc) {
				victims = s.admit(ref, victims) // the value may now leave memory
			}
		}
	}
	// A deletion dropped with its key's whole batch history wrote nothing and supersedes nothing
	// on disk: its tombstone is settled.
	for i := range b.Dropped {
		if r, ok := b.Dropped[i].Ref.(*record); ok {
			r.prev = nil
			r.durable.Store(true)
		}
	}
	fs.settle(be.settled)
	be.settled = be.settled[:0]
	fs.mu.Unlock()
	fs.kickCleaner()
	s.evict(victims)
	s.crashPoint("durable")
}

// warm loads, level by level, the versions the batch's entries replace and their places, which
// settleVersion reads next. The versions were written long ago and their cache lines are cold;
// loads of one level do not depend on each other, so the processor overlaps their misses,
// which settleVersion, with its dependent work between them, would take one at a time.
func (be *fileBackend) warm(b *stages.Batch) {
	prevs := be.prevs[:0]
	for i := range b.Entries {
		if r, ok := b.Entries[i].Ref.(*record); ok && r.prev != nil {
			prevs = append(prevs, r.prev)
		}
	}
	pls := be.pls[:0]
	for _, p := range prevs {
		if pl := p.pl.Load(); pl != nil {
			pls = append(pls, pl)
		}
	}
	for _, pl := range pls {
		pl.loc.Load()
	}
	clear(prevs)
	clear(pls)
	be.prevs, be.pls = prevs[:0], pls[:0]
}

// settleVersion records that r, a version of key, is durable at loc, and releases the versions
// it replaces. It reports whether r is the key's live value (for the cache). Called with fs.mu
// held, by the key's shard's complete stage.
func (s *Store) settleVersion(key string, r *record, loc uint64) bool {
	fs := s.fs
	pl := r.placeOf()
	pl.loc.Store(loc) // readers of durable copies load it (acquire) after durable is set
	// The newest older version on disk: release it. Versions in between that never reached disk
	// are marked, so that a retried deletion written later is garbage at once.
	for p := r.prev; p != nil; p = p.prev {
		pp := p.pl.Load()
		if pp != nil && pp.loc.Load() != 0 {
			if !p.dead {
				s.cache.Remove(p.ch.Load())
			}
			fs.replace(pl, pp, key)
			break
		}
		p.superseded.Store(true)
		if pp != nil && pp.ghosts != nil {
			// Copies a failed batch may have left of a version that never became durable.
			pl.ghosts = fs.mergeGhosts(pl.ghosts, pp.ghosts)
		}
	}
	r.prev = nil
	// A deletion record kept for its ghosts, which the key's hash entry no longer links to.
	if t := fs.tombs[key]; t != nil && t != r {
		fs.replace(pl, t.pl.Load(), key)
	}
	live := false
	switch {
	case r.superseded.Load():
		// Written after a newer version became durable (a retried deletion): garbage at once.
	case r.dead:
		// A deletion record stays while older copies of the key may remain.
		if pl.ghosts = fs.prune(pl.ghosts); pl.ghosts != nil {
			fs.count(pl)
			fs.tombs[key] = r
		}
	default:
		fs.count(pl)
		live = true
	}
	r.durable.Store(true)
	return live
}

// replace releases old, a version of key that pl's version replaces: its segment and its
// ghosts become pl's ghosts, and it leaves tombs. Called with fs.mu held.
func (fs *fileStore) replace(pl, old *place, key string) {
	if old == nil || old == pl {
		return
	}
	if t := fs.tombs[key]; t != nil && t.pl.Load() == old {
		delete(fs.tombs, key)
	}
	if sec, _, ok := unpackLoc(old.loc.Load()); ok {
		pl.ghosts = fs.addGhost(fs.mergeGhosts(pl.ghosts, old.ghosts), sec)
	}
	old.ghosts = nil
	fs.release(old)
}

// moved records that the cleaner's copy of a version is durable at loc: if the version still
// counts where the cleaner found it, it now lives at loc, and the extent it left is a ghost.
// Called with fs.mu held.
func (fs *fileStore) moved(m *move, loc uint64) {
	pl := m.pl
	if !pl.counted || pl.loc.Load() != m.from {
		return // replaced meanwhile: the copy is garbage
	}
	fs.release(pl)
	pl.loc.Store(loc) // a reader that read the old place re-reads from here
	fs.count(pl)
	from, _, _ := unpackLoc(m.from)
	pl.ghosts = fs.addGhost(pl.ghosts, from)
}

// autoUringBatch is the smallest BatchEntries for which IOAuto picks io_uring: with fewer
// entries per batch pwrite was as fast or faster on this layout (docs/DECISIONS.md, 11).
const autoUringBatch = 256

// newWriter returns the I/O backend of one shard as Options.Pipeline.IO asks: io_uring for
// IOUring (an error wrapping errors.ErrUnsupported where the kernel refuses it), pwrite for
// IOPwrite, and for IOAuto io_uring when batches are large enough for it to pay and the kernel
// allows it, pwrite otherwise (a refusal is logged once).
func (s *Store) newWriter(f *disk.File) (disk.Writer, error) {
	po := &s.opts.Pipeline
	if po.IO == IOPwrite || (po.IO == IOAuto && (po.BatchEntries < autoUringBatch || s.uringRefused)) {
		return f.PwriteWriter(), nil
	}
	var w disk.Writer
	var err error
	if s.hooks.failUring {
		err = fmt.Errorf("io_uring setup refused (test): %w", errors.Join(uring.ErrUnsupported, errors.ErrUnsupported))
	} else {
		w, err = f.UringWriter(uint32(po.QueueDepth), po.SQPoll)
	}
	if err != nil {
		if po.IO == IOAuto {
			s.uringRefused = true
			s.log.Warn().Err(err).Msg("feox: io_uring is not usable here; writing with pwrite")
			return f.PwriteWriter(), nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			err = errors.Join(errors.ErrUnsupported, err)
		}
		return nil, fmt.Errorf("feox: IOUring requested: %w", err)
	}
	return w, nil
}

// staleRetry reports whether the backend should skip e. For a move: the version is no longer
// the key's newest record (hash index) or kept deletion record (tombs), or it no longer counts
// where the cleaner found it. For a value retried after its batch failed: the hash index no
// longer holds e's version (versions that have not reached disk are never evicted, so the
// comparison is with the very record e carries).
func (s *Store) staleRetry(e *stages.Entry) bool {
	switch ref := e.Ref.(type) {
	case *move:
		cur, _ := s.hash.Load(e.Key)
		fs := s.fs
		fs.mu.Lock()
		defer fs.mu.Unlock()
		t := fs.tombs[e.Key]
		current := (cur != nil && cur.pl.Load() == ref.pl) || (t != nil && t.pl.Load() == ref.pl)
		return !current || !ref.pl.counted || ref.pl.loc.Load() != ref.from
	case *record:
		if !e.Retry || e.Kind != stages.Put {
			return false
		}
		cur, _ := s.hash.Load(e.Key)
		return cur != ref
	}
	return false
}

// syncSubmit lets a plain disk.Writer (such as a test's wrapper) serve as an AsyncWriter: its
// Submit does the whole batch, sync included, and Wait reports the outcome.
type syncSubmit struct{ disk.Writer }

func (w syncSubmit) Submit(ws []disk.Write) (disk.Pending, error) {
	if err := w.WriteBatch(ws); err != nil {
		return nil, err
	}
	return done{}, nil
}

// done is a Pending that is already durable.
type done struct{}

func (done) Wait() error { return nil }

// readRingEntries is the size of the io_uring that reads values back (one read at a time).
const readRingEntries = 8

// closeWriters releases the shards' I/O backends and the value reader.
func (s *Store) closeWriters() {
	if s.fs != nil && s.fs.reader != nil {
		if err := s.fs.reader.Close(); err != nil {
			s.log.Error().Err(err).Msg("feox: closing the value reader failed")
		}
	}
	for _, be := range s.backends {
		if be != nil && be.w != nil {
			if err := be.w.Close(); err != nil {
				s.log.Error().Err(err).Msg("feox: closing an I/O backend failed")
			}
		}
	}
}

// errNewerFormat is returned by Open for a data file written by a newer feox-go.
var errNewerFormat = errors.New("feox: the data file was written by a newer version of feox-go")

// openFile opens (or creates) the data file, recovers its records into the indexes and sets up
// one backend per shard.
func (s *Store) openFile() error {
	o := &s.opts
	f, created, err := disk.Open(o.Path, newFileSize(o.FileSize))
	switch {
	case errors.Is(err, disk.ErrLocked):
		return fmt.Errorf("%w: %s", ErrLocked, o.Path)
	case errors.Is(err, format.ErrNewerVersion):
		return fmt.Errorf("%w: %s: %v", errors.Join(errNewerFormat, errors.ErrUnsupported), o.Path, err)
	case errors.Is(err, format.ErrCorrupted):
		return fmt.Errorf("%w: %v", ErrCorrupted, err)
	case err != nil:
		return err
	}
	fs := &fileStore{file: f, salt: f.Header().Salt, log: s.log, free: alloc.New(), head: -1, pad: 1,
		tombs: make(map[string]*record), tombsMin: cleanTombsMin, kick: make(chan struct{}, 1)}
	s.fs = fs
	if n := segmentsFor(f.Size()); f.Size() != format.DataStart+int64(n)*segBytes {
		// A file whose data area is not a whole number of segments (written by an older
		// feox-go) gets its last segment completed.
		if err := f.Grow(format.DataStart + int64(n)*segBytes); err != nil {
			f.Close()
			return fmt.Errorf("%w: %v", ErrStoreFull, err)
		}
	}
	fs.addSegments(segmentsFor(f.Size()))
	if !created {
		if err := s.recover(); err != nil {
			f.Close()
			return err
		}
	}
	fs.reader = f.PreadReader()
	if o.Pipeline.IO == IOUring {
		if fs.reader, err = f.UringReader(readRingEntries); err != nil {
			f.Close()
			return fmt.Errorf("feox: IOUring requested: %w", errors.Join(errors.ErrUnsupported, err))
		}
	}
	if o.Pipeline.DirectIO {
		on, err := f.EnableDirect()
		switch {
		case err != nil:
			s.log.Warn().Err(err).Msg("feox: DirectIO asked for, writes stay buffered")
		case !on:
			s.log.Warn().Str("path", o.Path).Msg("feox: DirectIO asked for, but the filesystem reports no usable direct I/O alignment; writes stay buffered")
		default:
			fs.pad = pageSize / sectorSize // recovery left no open segment: the first batch starts one
		}
	}
	s.backends = make([]*fileBackend, o.Pipeline.Shards)
	for i := range s.backends {
		w, err := s.newWriter(f)
		if err != nil {
			s.closeWriters()
			f.Close()
			return err
		}
		if s.hooks.wrapWriter != nil {
			w = s.hooks.wrapWriter(i, w, f)
		}
		aw, ok := w.(disk.AsyncWriter)
		if !ok {
			aw = syncSubmit{w}
		}
		s.backends[i] = newFileBackend(fs, aw, s.crashPoint, s.staleRetry)
		if o.Pipeline.IO == IOAuto && w.Name() == "uring" && s.hooks.wrapWriter == nil {
			// Small batches (a Flush after few writes) go out through pwrite, measured faster
			// for them (docs/DECISIONS.md, 11).
			s.backends[i].small = f.PwriteWriter().(disk.AsyncWriter)
		}
	}
	s.log.Info().Str("path", o.Path).Bool("created", created).Int64("keys", s.keys.Value()).
		Int64("file_bytes", f.Size()).Msg("feox: data file opened")
	return nil
}

// recover rebuilds the indexes and the segment table from the data file: per key the record
// with the largest sequence number wins; a winning deletion or an expired winner leaves the key
// absent. Losing records stay where they lie, as garbage of their segments and ghosts of the
// key's winner; a winning deletion (or expired version) that has ghosts is kept, so that they
// cannot come back. Torn records (a crash interrupted their batch) are zeroed.
//
// The scan builds each version's record as it meets it and uses the hash index itself to find
// the key's earlier version, so a record is copied out of the read buffer once. The ordered
// index is built from the sorted keys at once.
func (s *Store) recover() error {
	fs := s.fs
	var met []*record // every version that won when it was met, in file order
	// Two goroutines share the work: the scan reads, verifies and copies each record into a
	// new version, and this goroutine resolves versions of the same key in the hash index.
	batches := make(chan []*record, 4)
	var st disk.ScanStats
	var err error
	go func() {
		defer close(batches)
		batch := make([]*record, 0, recoverBatch)
		places := make([]place, recoverBatch)
		// kept counts the value bytes this goroutine chose to keep: the cache admits them only
		// later, on the other goroutine, so its own count lags behind by the batches in flight.
		var kept int64
		st, err = fs.file.Scan(func(r *disk.Found) error {
			// Values are kept while the cache has room (first come, first kept); the rest
			// start as stubs and are read back on demand.
			var rec *record
			if s.opts.DisableCache || kept+int64(len(r.Value)) > s.cache.LowWatermark() {
				rec = newRecord(r.Key, nil)
				rec.stub, rec.vlen = true, len(r.Value)
			} else {
				rec = newRecord(r.Key, r.Value)
				kept += int64(len(r.Value))
			}
			rec.ts, rec.seq, rec.expiry = r.Header.TS, r.Header.Seq, r.Header.Expiry
			rec.dead = r.Header.Kind == format.KindDelete
			pl := &places[len(batch)]
			pl.loc.Store(packLoc(r.Sector, uint64(r.Header.Size/sectorSize)))
			rec.pl.Store(pl)
			if batch = append(batch, rec); len(batch) == recoverBatch {
				batches <- batch
				batch = make([]*record, 0, recoverBatch)
				places = make([]place, recoverBatch)
			}
			return nil
		})
		if len(batch) > 0 {
			batches <- batch
		}
	}()
	var pinned []alloc.Extent // segments holding a record this layout would not write
	for batch := range batches {
		for _, rec := range batch {
			pl := rec.pl.Load()
			sec, n, _ := unpackLoc(pl.loc.Load())
			pinned = fs.use(sec, n, pinned)
			prev, _ := s.hash.Load(rec.key())
			if prev != nil {
				ppl := prev.pl.Load()
				if rec.seq <= prev.seq {
					ppl.ghosts = fs.addGhost(ppl.ghosts, sec) // an older copy
					continue
				}
				psec, _, _ := unpackLoc(ppl.loc.Load())
				pl.ghosts = fs.addGhost(fs.mergeGhosts(pl.ghosts, ppl.ghosts), psec)
				ppl.ghosts = nil
				prev.superseded.Store(true) // a newer version is on disk: dropped below
				s.cache.Remove(prev.ch.Load())
			}
			if !rec.stub && !rec.dead {
				s.cache.AdmitHandle(&rec.ce, rec, int64(rec.vlen))
				rec.ch.Store(&rec.ce)
			}
			s.hash.Store(rec.key(), rec) // the entry key shares the version's buffer
			met = append(met, rec)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupted, err)
	}
	fs.corrupt.Store(st.Torn)
	fs.batch.Store(st.MaxBatch)
	for _, sec := range st.TornSectors {
		pinned = fs.use(sec, 1, pinned)
	}
	now := wallNow()
	var maxSeq uint64
	keys := make([]string, 0, len(met))
	kept := 0
	for _, r := range met {
		if r.superseded.Load() {
			continue
		}
		maxSeq = max(maxSeq, r.seq)
		pl := r.pl.Load()
		if r.dead || (r.expiry != 0 && now >= r.expiry) {
			s.hash.Delete(r.key())
			s.cache.Remove(r.ch.Load())
			if pl.ghosts != nil {
				// Kept on disk while older copies of the key remain: a key-only record in
				// tombs stands for it.
				t := newRecord(r.kv[:r.klen], nil)
				t.ts, t.seq, t.dead = r.ts, r.seq, true
				t.pl.Store(pl)
				fs.count(pl)
				fs.tombs[t.key()] = t
				kept++
			}
			continue
		}
		r.durable.Store(true)
		fs.count(pl)
		keys = append(keys, strings.Clone(r.key())) // the ordered index's own copy
		s.keys.Inc()
		s.mem.Add(r.cost())
		s.keyMem.Add(int64(r.klen) + recordOverhead)
		if r.expiry != 0 {
			s.ttl.update(r.key(), 0, r.expiry)
		}
	}
	if err := fs.rebuildFree(pinned); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupted, err)
	}
	s.ordered.InsertMany(keys)
	for i := range s.clocks {
		s.clocks[i].seq.Store(maxSeq)
	}
	// Torn records keep a verifiable header until zeroed: zero them before the space is reused.
	if err := s.eraseAtOpen(st.TornSectors); err != nil {
		return err
	}
	s.log.Info().Int64("records", st.Records).Int64("torn", st.Torn).Int("deletions_kept", kept).
		Int64("bytes_read", st.Bytes).Msg("feox: recovery done")
	return nil
}

// use records, during recovery, that n sectors from sector sec hold a record (or a torn one):
// the segment's used sectors grow to cover them. A record larger than a segment that starts a
// segment makes a group; any other record that crosses a segment's end pins the segments it
// touches (they are never cleaned), which pinned collects.
func (fs *fileStore) use(sec, n uint64, pinned []alloc.Extent) []alloc.Extent {
	seg := segOf(sec)
	if int(seg) >= len(fs.segs) {
		return pinned
	}
	rel := sec - segStart(seg)
	sg := &fs.segs[seg]
	switch {
	case rel+n <= segSectors:
		sg.used = max(sg.used, rel+n)
	case rel == 0 && n > segSectors:
		k := uint32((n + segSectors - 1) / segSectors)
		k = min(k, uint32(len(fs.segs))-seg)
		sg.used, sg.span = n, k
		for j := uint32(1); j < k; j++ {
			fs.segs[seg+j].span = 0
		}
	default:
		k := uint32((rel + n + segSectors - 1) / segSectors)
		k = min(k, uint32(len(fs.segs))-seg)
		pinned = append(pinned, alloc.Extent{Off: uint64(seg), Len: uint64(k)})
		sg.used = max(sg.used, min(rel+n, segSectors))
	}
	return pinned
}

// rebuildFree sets every segment's state after recovery and builds the free list: segments
// that hold nothing are free, pinned ones are kept as they are, the rest are full.
func (fs *fileStore) rebuildFree(pinned []alloc.Extent) error {
	for _, p := range pinned {
		for j := p.Off; j < p.End(); j++ {
			fs.segs[j].state = segPinned
		}
	}
	var used []alloc.Extent
	for i := range fs.segs {
		sg := &fs.segs[i]
		switch {
		case sg.state == segPinned:
		case sg.span == 0, sg.used > 0:
			sg.state = segFull
		default:
			sg.state = segFree
			continue
		}
		used = append(used, alloc.Extent{Off: uint64(i), Len: 1})
	}
	free, err := alloc.NewUsed(uint64(len(fs.segs)), used)
	if err != nil {
		return err
	}
	fs.free = free
	return nil
}

// recoverBatch is how many records the recovery scan hands over at a time.
const recoverBatch = 1024

// eraseAtOpen zeroes the given sectors and syncs.
func (s *Store) eraseAtOpen(secs []uint64) error {
	if len(secs) == 0 {
		return nil
	}
	for _, sec := range secs {
		if err := s.fs.file.WriteAt([][]byte{zeroSector}, int64(sec*sectorSize)); err != nil {
			return err
		}
	}
	return s.fs.file.Sync()
}
