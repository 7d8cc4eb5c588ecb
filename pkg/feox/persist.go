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
	w     disk.Writer        // this shard's I/O: io_uring or pwrite
	crash func(point string) // the store's crash hook (tests)

	mu                     sync.Mutex // guards the retirement lists
	retireNow, retireLater []alloc.Extent

	// scratch, used by Submit only
	buf    []byte
	sizes  []uint64
	exts   []alloc.Extent
	writes []disk.Write
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

// Submit writes the batch's records into fresh extents, erases the first sector of the extents
// queued for retirement, and syncs once. It does the whole job; Complete only reports.
func (be *fileBackend) Submit(b *stages.Batch) error {
	fs := be.fs
	be.mu.Lock()
	now, later := be.retireNow, be.retireLater
	be.retireNow, be.retireLater = nil, nil
	be.mu.Unlock()

	be.sizes = be.sizes[:0]
	var need uint64
	for i := range b.Entries {
		e := &b.Entries[i]
		n := sectorsOf(len(e.Key), len(e.Value))
		be.sizes = append(be.sizes, n)
		need += n
	}
	be.crash("submit")
	exts, err := fs.allocate(be.sizes, be.exts[:0], need, be.crash)
	if err != nil {
		be.restore(now, later)
		return err
	}
	be.exts = exts
	batchNo := fs.batch.Add(1)
	be.buf = be.buf[:0]
	for i := range b.Entries {
		e := &b.Entries[i]
		kind := format.KindValue
		if e.Kind == stages.Delete {
			kind = format.KindDelete
		}
		// The key's bytes are only read by AppendRecord.
		key := unsafe.Slice(unsafe.StringData(e.Key), len(e.Key))
		be.buf = format.AppendRecord(be.buf, &format.Record{Kind: kind, Key: key,
			Value: e.Value, TS: e.TS, Seq: e.Seq, Expiry: e.Expiry, Batch: batchNo},
			exts[i].Off, fs.salt)
	}
	be.writes = be.writes[:0]
	be.addRuns(exts)
	be.addErasures(now)
	err = be.w.WriteBatch(be.writes)
	clear(be.writes) // drop references to the batch's buffers
	if err != nil {
		// The new extents may hold complete records: erase them before they are reused.
		be.restore(append(now, exts...), later)
		return err
	}
	be.crash("synced") // durable, but neither the retired extents freed nor the versions marked
	fs.syncs.Add(1)
	fs.written.Add(int64(len(be.buf)))
	fs.retired.Add(int64(len(now)))
	fs.mu.Lock()
	var freeErr error
	for _, e := range now {
		if err := fs.space.Free(e); err != nil && freeErr == nil {
			freeErr = err // each extent is queued once, so this is a bug; the space leaks
		}
		fs.live.Add(-int64(e.Len * sectorSize))
	}
	fs.mu.Unlock()
	if freeErr != nil {
		fs.log.Error().Err(freeErr).Msg("feox: releasing a retired extent failed")
	}
	for _, e := range exts {
		b.Sectors = append(b.Sectors, e.Off)
		fs.live.Add(int64(e.Len * sectorSize))
	}
	be.mu.Lock()
	be.retireNow = append(be.retireNow, later...)
	be.mu.Unlock()
	return nil
}

// addErasures adds the writes that zero the first sector of each extent, in file order, one
// write per run of extents that follow each other (their first sectors are then all zeroed by
// one write of zeros from the first to the last, which only covers retired bytes).
func (be *fileBackend) addErasures(exts []alloc.Extent) {
	slices.SortFunc(exts, func(a, b alloc.Extent) int { return cmp.Compare(a.Off, b.Off) })
	for i := 0; i < len(exts); {
		j := i + 1
		for j < len(exts) && exts[j].Off == exts[j-1].Off+exts[j-1].Len {
			j++
		}
		// Zero [first sector of exts[i], first sector of exts[j-1]]: everything in between
		// belongs to the retired extents i..j-2.
		n := exts[j-1].Off - exts[i].Off + 1
		be.writes = append(be.writes, disk.Write{Bufs: [][]byte{zeros(n * sectorSize)}, Off: int64(exts[i].Off * sectorSize)})
		i = j
	}
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

// addRuns adds the writes of the encoded batch, one per run of adjacent extents.
func (be *fileBackend) addRuns(exts []alloc.Extent) {
	pos := uint64(0)
	for i := 0; i < len(exts); {
		j := i + 1
		end := exts[i].Off + exts[i].Len
		for j < len(exts) && exts[j].Off == end {
			end += exts[j].Len
			j++
		}
		n := (end - exts[i].Off) * sectorSize
		be.writes = append(be.writes, disk.Write{Bufs: [][]byte{be.buf[pos : pos+n]}, Off: int64(exts[i].Off * sectorSize)})
		pos += n
		i = j
	}
}

// Complete reports the outcome of Submit, which did all the work.
func (be *fileBackend) Complete(*stages.Batch) error { return nil }

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
		s.backends[i] = &fileBackend{fs: fs, w: w, crash: s.crashPoint}
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
