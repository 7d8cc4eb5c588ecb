package feox

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/pkg/alloc"
	"github.com/feoxdb/feox-go/pkg/disk"
	"github.com/feoxdb/feox-go/pkg/format"
	"github.com/feoxdb/feox-go/pkg/stages"
	"github.com/feoxdb/feox-go/pkg/uring"
)

// fileStore is the persistent side of a Store: the data file and its free space, shared by the
// shards' backends.
type fileStore struct {
	file *disk.File
	salt uint64
	log  zerolog.Logger

	mu    sync.Mutex // guards space
	space *alloc.Allocator

	// reader reads values that left memory back: pread, or io_uring with IOUring.
	reader disk.Reader

	batch                                        atomic.Uint64 // store-wide batch numbers
	written, syncs, live, corrupt, retired, read atomic.Int64
}

const sectorSize = format.SectorSize

// sectorsOf returns the number of sectors a record of key and value occupies.
func sectorsOf(keyLen, valueLen int) uint64 {
	return uint64(format.RecordSize(keyLen, valueLen) / sectorSize)
}

// fileBackend writes one shard's batches through its disk.Writer (io_uring or pwrite), one
// data sync per batch. Its retirement lists hold
// extents of versions that were replaced or deleted: retireNow are zeroed by the shard's next
// batch and become free space after its sync; retireLater (deletion records) move to
// retireNow only after that, so a deletion record is erased strictly after the versions it
// deleted.
type fileBackend struct {
	fs    *fileStore
	w     disk.AsyncWriter   // this shard's I/O: io_uring or pwrite
	crash func(point string) // the store's crash hook (tests)

	mu                     sync.Mutex // guards the retirement lists
	retireNow, retireLater []alloc.Extent

	sizes []uint64 // scratch, used by Submit only: the sizes of the records written
	write []int    // and the indexes of their entries
	// stale reports whether a retried entry's key has a newer version than the entry's.
	stale func(e *stages.Entry) bool
	// free holds the flights no batch uses; queue carries the submitted ones, in order, from
	// Submit to Complete. Two flights let one batch be written while the previous one syncs.
	free, queue chan *flight
}

// storeFull makes a write or sync error that means the filesystem is out of space match
// ErrStoreFull.
func storeFull(err error) error {
	if errors.Is(err, disk.ErrFull) && !errors.Is(err, ErrStoreFull) {
		return fmt.Errorf("%w: %w", ErrStoreFull, err)
	}
	return err
}

// notWritten is the sector reported for an entry the backend skipped (a stale retry).
const notWritten = ^uint64(0)

// flightsPerShard is how many batches of one shard can be between Submit and Complete.
const flightsPerShard = 2

// flight is a batch on its way to disk: its encoded records, its writes, its extents and the
// retirement work it carries, kept until Complete settles it.
type flight struct {
	buf        []byte
	writes     []disk.Write
	exts       []alloc.Extent
	now, later []alloc.Extent
	pending    disk.Pending
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

var zeroSector = make([]byte, sectorSize)

// retire queues extents for erasure; later marks deletion records.
func (be *fileBackend) retire(e alloc.Extent, later bool) {
	be.mu.Lock()
	if later {
		be.retireLater = append(be.retireLater, e)
	} else {
		be.retireNow = append(be.retireNow, e)
	}
	be.mu.Unlock()
}

// retireRecord queues the extent of r, a durable version, for retirement, once.
func (be *fileBackend) retireRecord(r *record, later bool) {
	sector, n, ok := unpackLoc(r.loc.Load())
	if ok && r.retired.CompareAndSwap(false, true) {
		be.retire(alloc.Extent{Off: sector, Len: n}, later)
	}
}

// Submit writes the batch's records into fresh extents and zeroes the first sector of the
// extents queued for retirement, and starts the batch's data sync; Complete waits for it and
// settles the batch. With two batches in flight, a shard writes one while the other syncs.
func (be *fileBackend) Submit(b *stages.Batch) error {
	fs := be.fs
	f := <-be.free // both flights busy: wait for Complete to settle the older one
	be.mu.Lock()
	f.now, f.later = be.retireNow, be.retireLater
	be.retireNow, be.retireLater = nil, nil
	be.mu.Unlock()

	// A retried value whose key has a newer version since is not written: the newer version,
	// written after it in this shard's order, replaces it, and the chain walk of the newer
	// version's completion retires what it would have. Writing it would put a version on disk
	// that a deletion record, already durable, no longer covers once that record is erased.
	// A retried deletion is always written: later entries of the key may count on it (a
	// re-creation after it is fresh, and coalescing may drop it with its own deletion).
	be.sizes = be.sizes[:0]
	be.write = be.write[:0]
	var need uint64
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Retry && e.Kind == stages.Put && be.stale(e) {
			continue
		}
		n := sectorsOf(len(e.Key), len(e.Value))
		be.sizes = append(be.sizes, n)
		be.write = append(be.write, i)
		need += n
	}
	be.crash("submit")
	exts, err := f.exts[:0], error(nil)
	if len(be.sizes) > 0 {
		exts, err = fs.allocate(be.sizes, exts, need, be.crash)
	}
	if err != nil {
		be.restore(f.now, f.later)
		be.land(f)
		return err
	}
	f.exts = exts
	batchNo := fs.batch.Add(1)
	f.buf = f.buf[:0]
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
	f.writes = addRuns(f.writes[:0], f.buf, exts)
	f.writes = addErasures(f.writes, f.now)
	if f.pending, err = be.w.Submit(f.writes); err != nil {
		// The new extents may hold complete records: erase them before they are reused.
		be.restore(append(f.now, exts...), f.later)
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

// Complete waits until the oldest submitted batch is durable, then frees the extents it
// erased and queues the deletion records it carried for erasure by a later batch.
func (be *fileBackend) Complete(*stages.Batch) error {
	fs := be.fs
	f := <-be.queue
	defer be.land(f)
	if err := f.pending.Wait(); err != nil {
		be.restore(append(f.now, f.exts...), f.later)
		return storeFull(err)
	}
	be.crash("synced") // durable, but neither the retired extents freed nor the versions marked
	fs.syncs.Add(1)
	fs.written.Add(int64(len(f.buf)))
	fs.retired.Add(int64(len(f.now)))
	fs.mu.Lock()
	var freeErr error
	for _, e := range f.now {
		if err := fs.space.Free(e); err != nil && freeErr == nil {
			freeErr = err // each extent is queued once, so this is a bug; the space leaks
		}
		fs.live.Add(-int64(e.Len * sectorSize))
	}
	fs.mu.Unlock()
	if freeErr != nil {
		fs.log.Error().Err(freeErr).Msg("feox: releasing a retired extent failed")
	}
	for _, e := range f.exts {
		fs.live.Add(int64(e.Len * sectorSize))
	}
	be.mu.Lock()
	be.retireNow = append(be.retireNow, f.later...)
	be.mu.Unlock()
	return nil
}

// land returns a settled flight to the free list, dropping its references to the batch.
func (be *fileBackend) land(f *flight) {
	clear(f.writes)
	f.writes = f.writes[:0]
	f.now, f.later, f.pending = nil, nil, nil
	be.free <- f
}

// addErasures adds the writes that zero the first sector of each extent, in file order, one
// write per run of extents that follow each other (their first sectors are then all zeroed by
// one write of zeros from the first to the last, which only covers retired bytes).
func addErasures(ws []disk.Write, exts []alloc.Extent) []disk.Write {
	slices.SortFunc(exts, func(a, b alloc.Extent) int { return cmp.Compare(a.Off, b.Off) })
	for i := 0; i < len(exts); {
		j := i + 1
		for j < len(exts) && exts[j].Off == exts[j-1].Off+exts[j-1].Len {
			j++
		}
		// Zero [first sector of exts[i], first sector of exts[j-1]]: everything in between
		// belongs to the retired extents i..j-2.
		n := exts[j-1].Off - exts[i].Off + 1
		ws = append(ws, disk.Write{Bufs: [][]byte{zeros(n * sectorSize)}, Off: int64(exts[i].Off * sectorSize)})
		i = j
	}
	return ws
}

// zeros returns n zero bytes (a shared buffer for the usual single sector).
func zeros(n uint64) []byte {
	if n == sectorSize {
		return zeroSector
	}
	return make([]byte, n)
}

// restore puts retirement work that a failed batch did not finish back in the queues.
func (be *fileBackend) restore(now, later []alloc.Extent) {
	be.mu.Lock()
	be.retireNow = append(be.retireNow, now...)
	be.retireLater = append(be.retireLater, later...)
	be.mu.Unlock()
}

// addRuns adds the writes of buf, the encoded batch, one per run of adjacent extents.
func addRuns(ws []disk.Write, buf []byte, exts []alloc.Extent) []disk.Write {
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
	return ws
}

// allocate finds extents for a batch, growing the file when the free space is too small.
func (fs *fileStore) allocate(sizes []uint64, dst []alloc.Extent, need uint64, crash func(string)) ([]alloc.Extent, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	exts, err := fs.space.AllocRun(sizes, dst)
	if !errors.Is(err, alloc.ErrNoSpace) {
		return exts, err
	}
	size := fs.file.Size()
	grown := max(size+size/4, size+int64(need+sectorSize)*sectorSize)
	crash("grow")
	if err := fs.file.Grow(grown); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrStoreFull, err)
	}
	crash("grown")
	if err := fs.space.Grow(uint64(fs.file.Size()) / sectorSize); err != nil {
		return dst, err
	}
	return fs.space.AllocRun(sizes, dst)
}

// onDurable is the complete stage's report of a durable batch (persistent mode): it records
// where each version lives and queues the extents of the versions they replaced for
// retirement.
func (s *Store) onDurable(b *stages.Batch) {
	be := s.backends[b.Shard]
	var victims []*record
	for i := range b.Entries {
		e := &b.Entries[i]
		r, ok := e.Ref.(*record)
		if !ok {
			continue
		}
		if b.Sectors[i] == notWritten {
			// A stale retry: a newer version of the key stands for it. Its prev link stays:
			// the newer version's completion walks through it to the versions on disk.
			continue
		}
		n := sectorsOf(len(e.Key), len(e.Value))
		r.loc.Store(packLoc(b.Sectors[i], n))
		r.durable.Store(true)
		switch {
		case r.dead:
			// A deletion record is erased after the versions it deletes.
			be.retireRecord(r, true)
		case r.superseded.Load():
			be.retireRecord(r, false)
		default:
			victims = s.admit(r, victims) // the value may now leave memory
		}
		// Retire the newest older version on disk; mark the unwritten ones in between so that
		// they are retired as soon as a retry writes them.
		for p := r.prev; p != nil; p = p.prev {
			if p.loc.Load() != 0 {
				if !p.dead {
					s.cache.Remove(p.ch.Load())
					be.retireRecord(p, false)
				}
				break
			}
			p.superseded.Store(true)
		}
		r.prev = nil
	}
	// A deletion dropped with its key's whole batch history wrote nothing and supersedes nothing
	// on disk: its tombstone is settled.
	for i := range b.Dropped {
		if r, ok := b.Dropped[i].Ref.(*record); ok {
			r.prev = nil
			r.durable.Store(true)
		}
	}
	s.evict(victims)
	s.crashPoint("durable")
}

// newWriter returns the I/O backend of one shard as Options.Pipeline.IO asks: io_uring for
// IOUring (an error wrapping errors.ErrUnsupported where the kernel refuses it), pwrite for
// IOPwrite and IOAuto.
func (s *Store) newWriter(f *disk.File) (disk.Writer, error) {
	po := &s.opts.Pipeline
	if po.IO != IOUring {
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
		if !errors.Is(err, errors.ErrUnsupported) {
			err = errors.Join(errors.ErrUnsupported, err)
		}
		return nil, fmt.Errorf("feox: IOUring requested: %w", err)
	}
	return w, nil
}

// staleRetry reports whether e, a value retried after its batch failed, has been replaced
// by a newer version of its key (or the key's tombstone went): the hash index no longer holds
// e's version. Versions that have not reached disk are never evicted, so the comparison is
// with the very record e carries.
func (s *Store) staleRetry(e *stages.Entry) bool {
	r, ok := e.Ref.(*record)
	if !ok {
		return false
	}
	cur, _ := s.hash.Load(e.Key)
	return cur != r
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
	f, created, err := disk.Open(o.Path, o.FileSize)
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
	fs := &fileStore{file: f, salt: f.Header().Salt, log: s.log, space: alloc.New()}
	s.fs = fs
	if err := fs.space.Grow(uint64(f.Size()) / sectorSize); err != nil {
		f.Close()
		return err
	}
	if err := fs.space.Reserve(alloc.Extent{Off: 0, Len: format.DataStart / sectorSize}); err != nil {
		f.Close()
		return err
	}
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
	}
	s.log.Info().Str("path", o.Path).Bool("created", created).Int64("keys", s.keys.Value()).
		Int64("file_bytes", f.Size()).Msg("feox: data file opened")
	return nil
}

// recover rebuilds the indexes from the data file: per key the record with the largest
// sequence number wins; a winning deletion or an expired winner leaves the key absent. Every
// losing, torn, deleted or expired record is erased (in that order: older versions first,
// synced, then the deletion records), and every extent not held by a live record becomes free
// space.
//
// The scan builds each version's record as it meets it and uses the hash index itself to find
// the key's earlier version, so a record is copied out of the read buffer once. The live
// records are then visited in file order, which yields the used extents already sorted for
// the free-space rebuild, and the ordered index is built from the sorted keys at once.
func (s *Store) recover() error {
	fs := s.fs
	var (
		met   []*record // every version that won when it was met, in file order
		erase []alloc.Extent
	)
	// Two goroutines share the work: the scan reads, verifies and copies each record into a
	// new version, and this goroutine resolves versions of the same key in the hash index.
	batches := make(chan []*record, 4)
	var st disk.ScanStats
	var err error
	go func() {
		defer close(batches)
		batch := make([]*record, 0, recoverBatch)
		st, err = fs.file.Scan(func(r *disk.Found) error {
			// Values are kept while the cache has room (first come, first kept); the rest
			// start as stubs and are read back on demand.
			var rec *record
			if s.opts.DisableCache || s.cache.Resident()+int64(len(r.Value)) > s.cache.LowWatermark() {
				rec = newRecord(r.Key, nil)
				rec.stub, rec.vlen = true, len(r.Value)
			} else {
				rec = newRecord(r.Key, r.Value)
			}
			rec.ts, rec.seq, rec.expiry = r.Header.TS, r.Header.Seq, r.Header.Expiry
			rec.dead = r.Header.Kind == format.KindDelete
			rec.loc.Store(packLoc(r.Sector, uint64(r.Header.Size/sectorSize)))
			if batch = append(batch, rec); len(batch) == recoverBatch {
				batches <- batch
				batch = make([]*record, 0, recoverBatch)
			}
			return nil
		})
		if len(batch) > 0 {
			batches <- batch
		}
	}()
	for batch := range batches {
		for _, rec := range batch {
			prev, _ := s.hash.Load(rec.key())
			if prev != nil && rec.seq <= prev.seq {
				sec, cnt, _ := unpackLoc(rec.loc.Load())
				erase = append(erase, alloc.Extent{Off: sec, Len: cnt})
				continue
			}
			if prev != nil {
				sec, cnt, _ := unpackLoc(prev.loc.Load())
				erase = append(erase, alloc.Extent{Off: sec, Len: cnt})
				prev.superseded.Store(true) // a newer version is on disk: dropped below
				s.cache.Remove(prev.ch.Load())
			}
			if !rec.stub && !rec.dead {
				rec.ch.Store(s.cache.Admit(rec, int64(rec.vlen)))
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
		erase = append(erase, alloc.Extent{Off: sec, Len: 1})
	}
	now := wallNow()
	var later []alloc.Extent
	var maxSeq uint64
	used := []alloc.Extent{{Off: 0, Len: format.DataStart / sectorSize}}
	keys := make([]string, 0, len(met))
	for _, r := range met {
		if r.superseded.Load() {
			continue
		}
		maxSeq = max(maxSeq, r.seq)
		sec, cnt, _ := unpackLoc(r.loc.Load())
		ext := alloc.Extent{Off: sec, Len: cnt}
		if r.dead || (r.expiry != 0 && now >= r.expiry) {
			s.hash.Delete(r.key())
			s.cache.Remove(r.ch.Load())
			later = append(later, ext)
			continue
		}
		used = append(used, ext)
		r.durable.Store(true)
		keys = append(keys, strings.Clone(r.key())) // the ordered index's own copy
		s.keys.Inc()
		s.mem.Add(r.cost())
		s.keyMem.Add(int64(r.klen) + recordOverhead)
		fs.live.Add(int64(cnt * sectorSize))
		if r.expiry != 0 {
			s.ttl.update(r.key(), 0, r.expiry)
		}
	}
	space, err := alloc.NewUsed(uint64(fs.file.Size())/sectorSize, used)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupted, err)
	}
	fs.space = space
	s.ordered.InsertMany(keys)
	for i := range s.clocks {
		s.clocks[i].seq.Store(maxSeq)
	}
	// Torn records keep a verifiable header until erased; erase them with the losers.
	if err := s.eraseAtOpen(erase); err != nil {
		return err
	}
	if err := s.eraseAtOpen(later); err != nil {
		return err
	}
	s.log.Info().Int64("records", st.Records).Int64("torn", st.Torn).Int("erased", len(erase)+len(later)).
		Int64("bytes_read", st.Bytes).Msg("feox: recovery done")
	return nil
}

// recoverBatch is how many records the recovery scan hands over at a time.
const recoverBatch = 1024

// eraseAtOpen zeroes the first sector of each extent and syncs. The extents stay free space.
func (s *Store) eraseAtOpen(exts []alloc.Extent) error {
	if len(exts) == 0 {
		return nil
	}
	for _, e := range exts {
		if err := s.fs.file.WriteAt([][]byte{zeroSector}, int64(e.Off*sectorSize)); err != nil {
			return err
		}
	}
	return s.fs.file.Sync()
}
