package datafile

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// backend writes one shard's batches through its disk.Writer (io_uring or pwrite), one data
// sync per batch, appending each batch's records to the log's head (segments.go), and settles
// them once they are durable (settle.go). It is the shard's stages.Backend: the shard's submit
// goroutine calls Submit and its complete goroutine calls Complete.
type backend struct {
	f *File
	w disk.Writer // this shard's I/O

	mu sync.Mutex // guards zap
	// zap holds the offsets of the frames that a failed batch may have left behind, whole or
	// torn: the shard's next batch zeroes their headers. Their segments stay in flight
	// meanwhile, so the cleaner cannot erase and reuse them first.
	zap []uint64

	// Submit's scratch: the records written and their sizes.
	recs  []format.Record
	sizes []uint64
	// idle holds the flights no batch uses; queue carries the submitted ones, in order, from
	// Submit to Complete. Two flights let one batch be written while the previous one syncs.
	idle, queue chan *flight
	// prevs and pls are warm's scratch (complete goroutine only).
	prevs, pls []*Place
}

// flightsPerShard is how many batches of one shard can be between Submit and Complete.
const flightsPerShard = 2

// flight is a batch on its way to disk: its encoded frames, its writes, the entries it writes
// with their places, where they lie (placement), and the frames it zeroes, kept until
// Complete settles it.
type flight struct {
	buf     []byte
	entries []int    // the indexes in the batch of the entries written
	places  []*Place // the place of each entry written (nil for a move), for a failed batch's ghosts
	writes  []disk.Write
	placement
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

// Submit appends the batch's records to the log and zeroes the headers of the frames a failed
// batch left, and starts the batch's data sync; Complete waits for it and settles the batch. With two
// batches in flight, a shard writes one while the other syncs. Entries that must not be
// written (see stale) are skipped.
func (be *backend) Submit(b *stages.Batch) error {
	f := be.f
	fl := <-be.idle // both flights busy: wait for Complete to settle the older one
	be.mu.Lock()
	fl.zap, be.zap = be.zap, nil
	be.mu.Unlock()

	be.recs, be.sizes, fl.entries = be.recs[:0], be.sizes[:0], fl.entries[:0]
	for i := range b.Entries {
		e := &b.Entries[i]
		if f.stale(e) {
			continue
		}
		kind := format.KindValue
		if e.Kind == stages.Delete {
			kind = format.KindDelete
		}
		// The key's bytes are only read by the frame writer.
		key := unsafe.Slice(unsafe.StringData(e.Key), len(e.Key))
		be.recs = append(be.recs, format.Record{Kind: kind, Key: key, Value: e.Value, TS: e.TS, Seq: e.Seq, Expiry: e.Expiry})
		be.sizes = append(be.sizes, uint64(format.PackedSize(&be.recs[len(be.recs)-1])))
		fl.entries = append(fl.entries, i)
	}
	f.crashAt("submit")
	fl.reset()
	if len(be.sizes) > 0 {
		if err := f.allocate(be.sizes, &fl.placement); err != nil {
			be.requeue(fl.zap)
			be.recycle(fl)
			return err
		}
	}
	fl.places = fl.places[:0]
	for _, i := range fl.entries {
		var pl *Place
		if p, ok := b.Entries[i].Ref.(Placed); ok {
			pl = p.Place()
		}
		fl.places = append(fl.places, pl)
	}
	be.encode(fl, f.batch.Add(1))
	clear(be.recs) // no reference to the batch's keys and values outlives Submit
	fl.writes = addZaps(fl.writes, fl.zap, f.align)
	var err error
	if fl.pending, err = be.w.Submit(fl.writes); err != nil {
		be.failed(fl)
		be.recycle(fl)
		return full(err)
	}
	be.queue <- fl
	return nil
}

// encode encodes the batch's frames, as fl's placement lays them out, into fl.buf, and adds
// one write per run of adjacent frames to fl.writes. Each frame is padded to f.align.
func (be *backend) encode(fl *flight, batchNo uint64) {
	f := be.f
	var n uint64
	for _, fr := range fl.frames {
		end := fl.exts[fr.first+fr.n-1]
		n += alignUp(end.Off+end.Len-fr.off, f.align)
	}
	fl.buf = batchBuffer(fl.buf, n)
	fl.writes = fl.writes[:0]
	var w format.FrameWriter
	for _, fr := range fl.frames {
		start := len(fl.buf)
		w.Begin(fl.buf, fr.off, f.salt, batchNo)
		for j := fr.first; j < fr.first+fr.n; j++ {
			w.Add(&be.recs[j])
		}
		fl.buf = w.Finish(int(f.align))
		if k := len(fl.writes) - 1; k >= 0 {
			// The frame follows the previous run in the file, as in the buffer: one write.
			if prev := &fl.writes[k]; uint64(prev.Off)+uint64(len(prev.Bufs[0])) == fr.off {
				prev.Bufs[0] = fl.buf[start-len(prev.Bufs[0]):]
				continue
			}
		}
		fl.writes = append(fl.writes, disk.Write{Bufs: [][]byte{fl.buf[start:]}, Off: int64(fr.off)})
	}
}

// failed handles a batch whose writes or sync failed: its frames may be on disk, whole or
// torn, so their offsets join the zap list (the shard's next batch zeroes them before
// anything of the keys can be released after them; see docs/DURABILITY.md), and their
// segments stay in flight until then.
func (be *backend) failed(fl *flight) {
	f := be.f
	f.mu.Lock()
	for _, fr := range fl.frames {
		f.segs[segOf(fr.off)].inflight++
	}
	for j, x := range fl.exts {
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
	for _, fr := range fl.frames {
		be.zap = append(be.zap, fr.off)
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

// addZaps adds the writes that zero the first align bytes of each frame at offs (its header),
// in file order.
func addZaps(ws []disk.Write, offs []uint64, align uint64) []disk.Write {
	slices.Sort(offs)
	for _, off := range slices.Compact(offs) {
		ws = append(ws, disk.Write{Bufs: [][]byte{zeroPage[:align]}, Off: int64(off)})
	}
	return ws
}

// batchBuffer returns an empty buffer, aligned to bufAlign, with room for n bytes: buf emptied
// if it has the room, else a new one, so that encoding never moves the bytes to memory of
// another alignment.
func batchBuffer(buf []byte, n uint64) []byte {
	if uint64(cap(buf)) >= n {
		return buf[:0]
	}
	return disk.AlignedBuffer(int(max(n, 2*uint64(cap(buf)))), bufAlign)[:0]
}
