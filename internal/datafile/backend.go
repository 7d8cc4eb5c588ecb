package datafile

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
	"github.com/feoxdb/feox-go/pkg/stages"
)

const sectorSize = format.SectorSize

// sectorsOf returns the number of sectors a record of key and value occupies.
func sectorsOf(keyLen, valueLen int) uint64 {
	return uint64(format.RecordSize(keyLen, valueLen) / sectorSize)
}

// backend writes one shard's batches through its disk.Writer (io_uring or pwrite), one data
// sync per batch, appending each batch's records to the log's head (segments.go), and settles
// them once they are durable (settle.go). It is the shard's stages.Backend: the shard's submit
// goroutine calls Submit and its complete goroutine calls Complete.
type backend struct {
	f *File
	w disk.Writer // this shard's I/O

	mu sync.Mutex // guards zap
	// zap holds the first sectors of records that a failed batch may have left behind, whole
	// or torn: the shard's next batch zeroes them. Their segments stay in flight meanwhile, so
	// the cleaner cannot erase and reuse them first.
	zap []uint64

	sizes []uint64 // Submit's scratch: the sizes of the records written
	// idle holds the flights no batch uses; queue carries the submitted ones, in order, from
	// Submit to Complete. Two flights let one batch be written while the previous one syncs.
	idle, queue chan *flight
	// prevs and pls are warm's scratch (complete goroutine only).
	prevs, pls []*Place
}

// flightsPerShard is how many batches of one shard can be between Submit and Complete.
const flightsPerShard = 2

// flight is a batch on its way to disk: its encoded records, its writes, the entries it
// writes with their places and extents, the segments they are in, and the sectors it zeroes,
// kept until Complete settles it.
type flight struct {
	buf     []byte
	entries []int    // the indexes in the batch of the entries written
	places  []*Place // the place of each entry written (nil for a move), for a failed batch's ghosts
	writes  []disk.Write
	exts    []alloc.Extent // the extent of each entry written
	segs    []uint32
	zap     []uint64
	pending disk.Pending
}

// newBackend returns the backend of one shard writing through w.
func newBackend(f *File, w disk.Writer) *backend {
	be := &backend{f: f, w: w,
		idle: make(chan *flight, flightsPerShard), queue: make(chan *flight, flightsPerShard)}
	for range flightsPerShard {
		be.idle <- new(flight)
	}
	return be
}

// full makes a write or sync error that means the filesystem is out of space match ErrFull.
func full(err error) error {
	if errors.Is(err, disk.ErrFull) && !errors.Is(err, ErrFull) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// bufAlign is the memory alignment of every buffer the file writes from: a page, enough for the
// O_DIRECT alignment of any filesystem that allows sector writes (see disk.File.EnableDirect).
const bufAlign = 4096

// pageSize is the unit a batch's writes are padded to with O_DIRECT (see File.pad).
const pageSize = 4096

// zeroPage holds the zeros that pad a batch's writes; never written to.
var zeroPage = disk.AlignedBuffer(pageSize, bufAlign)

// zeroSector is one sector of zeros, the usual content of a zeroing write.
var zeroSector = zeroPage[:sectorSize:sectorSize]

// Submit appends the batch's records to the log and zeroes the sectors a failed batch left,
// and starts the batch's data sync; Complete waits for it and settles the batch. With two
// batches in flight, a shard writes one while the other syncs. Entries that must not be
// written (see stale) are skipped.
func (be *backend) Submit(b *stages.Batch) error {
	f := be.f
	fl := <-be.idle // both flights busy: wait for Complete to settle the older one
	be.mu.Lock()
	fl.zap, be.zap = be.zap, nil
	be.mu.Unlock()

	be.sizes = be.sizes[:0]
	fl.entries = fl.entries[:0]
	for i := range b.Entries {
		e := &b.Entries[i]
		if f.stale(e) {
			continue
		}
		be.sizes = append(be.sizes, sectorsOf(len(e.Key), len(e.Value)))
		fl.entries = append(fl.entries, i)
	}
	f.crashAt("submit")
	exts, segs, err := fl.exts[:0], fl.segs[:0], error(nil)
	if len(be.sizes) > 0 {
		exts, segs, err = f.allocate(be.sizes, exts, segs)
	}
	if err != nil {
		be.requeue(fl.zap)
		be.recycle(fl)
		return err
	}
	fl.exts, fl.segs = exts, segs
	batchNo := f.batch.Add(1)
	fl.buf = batchBuffer(fl.buf, exts)
	fl.places = fl.places[:0]
	for j, i := range fl.entries {
		e := &b.Entries[i]
		kind := format.KindValue
		if e.Kind == stages.Delete {
			kind = format.KindDelete
		}
		// The key's bytes are only read by AppendRecord.
		key := unsafe.Slice(unsafe.StringData(e.Key), len(e.Key))
		fl.buf = format.AppendRecord(fl.buf, &format.Record{Kind: kind, Key: key,
			Value: e.Value, TS: e.TS, Seq: e.Seq, Expiry: e.Expiry, Batch: batchNo},
			exts[j].Off, f.salt)
		var pl *Place
		if p, ok := e.Ref.(Placed); ok {
			pl = p.Place()
		}
		fl.places = append(fl.places, pl)
	}
	fl.writes = addRuns(fl.writes[:0], fl.buf, exts, f.pad)
	fl.writes = addZaps(fl.writes, fl.zap)
	if fl.pending, err = be.w.Submit(fl.writes); err != nil {
		be.failed(fl)
		be.recycle(fl)
		return full(err)
	}
	be.queue <- fl
	return nil
}

// failed handles a batch whose writes or sync failed: its records may be on disk, whole or
// torn, so their first sectors join the zap list (the shard's next batch zeroes them before
// anything of the keys can be released after them; see docs/DURABILITY.md), and their
// segments stay in flight until then.
func (be *backend) failed(fl *flight) {
	f := be.f
	f.mu.Lock()
	for j, x := range fl.exts {
		f.segs[segOf(x.Off)].inflight++
		// The copy may be whole: until the zap is durable it is an older copy of its key like
		// any other, and a later version or deletion of the key inherits it as a ghost (a
		// deletion in the shard's next batch, already submitted, can be durable before the zap).
		if pl := fl.places[j]; pl != nil {
			pl.ghosts = f.addGhost(pl.ghosts, x.Off)
		}
	}
	f.endFlight(fl.segs)
	f.mu.Unlock()
	be.mu.Lock()
	be.zap = append(be.zap, fl.zap...)
	for _, x := range fl.exts {
		be.zap = append(be.zap, x.Off)
	}
	be.mu.Unlock()
}

// requeue gives zap work that a batch did not carry out back to the shard.
func (be *backend) requeue(zap []uint64) {
	be.mu.Lock()
	be.zap = append(be.zap, zap...)
	be.mu.Unlock()
}

// Complete waits until the oldest submitted batch is durable, then settles it: it records
// where each version now lives and releases the versions they replace (settle.go), and ends
// the flight of the batch's segments.
func (be *backend) Complete(b *stages.Batch) error {
	f := be.f
	fl := <-be.queue
	defer be.recycle(fl)
	err := fl.pending.Wait()
	f.noteFallback()
	if err != nil {
		be.failed(fl)
		return full(err)
	}
	f.crashAt("synced") // durable, but the versions not counted yet
	f.syncs.Add(1)
	f.written.Add(int64(len(fl.buf)))
	be.settle(b, fl)
	f.kickCleaner()
	f.crashAt("durable")
	return nil
}

// noteFallback logs, once, that the kernel refused a direct write and the file's writes went
// back to buffered (disk.DirectStatus.FellBack); Stats.DirectIO reports it from then on.
func (f *File) noteFallback() {
	if !f.fellBack.Load() && f.file.Direct().FellBack && f.fellBack.CompareAndSwap(false, true) {
		f.log.Warn().Msg("feox: the kernel refused an O_DIRECT write; DirectIO is off for this data file, writes are buffered")
	}
}

// recycle returns a flight to the idle list, dropping its references to the batch.
func (be *backend) recycle(fl *flight) {
	clear(fl.writes)
	fl.writes = fl.writes[:0]
	clear(fl.places)
	fl.places = fl.places[:0]
	fl.zap, fl.pending = nil, nil
	be.idle <- fl
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
