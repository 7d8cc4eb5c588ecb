package feox_test

// The fault wrapper: a disk.Writer around each shard's writer (feox.OpenWithHooks) that
// injects faults, crash points and simulated power cuts into the shard's batches. The fault
// tests (fault_test.go), the crash tests (crash_test.go, bank_test.go) and the power-loss test
// (power_test.go) drive it; docs/DURABILITY.md says what each shows.

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
)

// Wrapper crash points: a faultSet with a crash hook calls it at these points of every batch
// it writes itself.
const (
	pointMidBatch      = "mid-batch"           // after the first half of the batch's bytes
	pointBeforeSync    = "written-before-sync" // after all of the batch's writes, before its sync
	pointSector        = "sector-written"      // after each sector (or run of one buffer's sectors)
	faultSyncErrorText = "fault: injected data sync failure"
)

// faultKind is a fault a faultSet injects into every batch while it is set.
type faultKind int32

const (
	faultNone    faultKind = iota
	faultNoSpace           // the batch fails before writing, as a full filesystem refuses it
	faultEIO               // the batch fails before writing with EIO
	faultShort             // the first half of the batch's bytes are written, then it fails
	faultSync              // every write is done, then the data sync fails (EIO)
	faultSlow              // each batch waits faultSet.slow before it is written
)

func (k faultKind) String() string {
	return [...]string{"none", "ENOSPC", "EIO", "short write", "sync failure", "slow disk"}[k]
}

// errInjectedNoSpace is the error a faultNoSpace batch returns: what both real backends return
// when the filesystem has no room for a write (disk.ErrFull, and the errno behind it).
var errInjectedNoSpace = fmt.Errorf("fault: injected write failure: %w: %w", disk.ErrFull, syscall.ENOSPC)

// faultSet controls the faultWriters of one store's shards. Its fields may be changed while the
// store runs.
type faultSet struct {
	kind atomic.Int32 // a faultKind
	slow atomic.Int64 // the delay of faultSlow, in ns
	// randomPermille, while kind is faultNone, fails each batch with this probability (in
	// thousandths) with a fault drawn at random among the failing ones.
	randomPermille atomic.Int32

	batches  atomic.Int64 // batches handed to the writers
	injected atomic.Int64 // batches failed on purpose

	// held, when set, makes the next batch block until hold is closed and then fail with
	// EIO, without writing: a failing batch that later batches queue behind.
	held atomic.Bool
	hold chan struct{}
	// paused, when set, makes the next batch block until pause is closed and then go on as
	// usual: a slow batch that later batches queue behind, released when the test says.
	paused atomic.Bool
	pause  chan struct{}

	// crash, when set, is called at the wrapper's crash points; the wrapper then writes every
	// batch itself (pwrite pieces and a data sync) instead of handing it to the store's backend.
	crash func(point string)
	// power, when set, records pre-images for simulated power cuts; the wrapper then writes
	// every batch itself, the writes of all shards serialized.
	power *powerLog
}

func (fs *faultSet) set(k faultKind) { fs.kind.Store(int32(k)) }

// wrap is the wrapper function for feox.OpenWithHooks.
func (fs *faultSet) wrap(_ int, w disk.Writer, f *disk.File) (disk.Writer, error) {
	return &faultWriter{fs: fs, inner: w, f: f}, nil
}

// faultWriter is one shard's disk.Writer under a faultSet.
type faultWriter struct {
	fs    *faultSet
	inner disk.Writer
	f     *disk.File
}

func (w *faultWriter) Close() error { return w.inner.Close() }

func (w *faultWriter) Name() string { return w.inner.Name() }

// Submit implements disk.Writer, so that the store runs its pipeline as it does over the real
// backends: the batch's writes happen (or fail) here, and its data sync happens (or
// fails) in the returned Pending's Wait, possibly after the next batch's Submit.
func (w *faultWriter) Submit(ws []disk.Write) (disk.Pending, error) {
	fs := w.fs
	fs.batches.Add(1)
	if fs.held.CompareAndSwap(true, false) {
		<-fs.hold
		fs.injected.Add(1)
		return nil, fmt.Errorf("fault: injected failure of a held batch: %w", syscall.EIO)
	}
	if fs.paused.CompareAndSwap(true, false) {
		<-fs.pause
	}
	k := faultKind(fs.kind.Load())
	if p := fs.randomPermille.Load(); k == faultNone && p > 0 && rand.IntN(1000) < int(p) {
		k = faultKind(1 + rand.IntN(int(faultSync)))
	}
	switch k {
	case faultNoSpace:
		fs.injected.Add(1)
		return nil, errInjectedNoSpace
	case faultEIO:
		fs.injected.Add(1)
		return nil, fmt.Errorf("fault: injected write failure: %w", syscall.EIO)
	case faultShort:
		fs.injected.Add(1)
		if err := w.writeRange(ws, 0, batchBytes(ws)/2, ""); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("fault: injected short write: %w", io.ErrShortWrite)
	case faultSync:
		fs.injected.Add(1)
		if err := w.writeRange(ws, 0, batchBytes(ws), ""); err != nil {
			return nil, err
		}
		return waitFunc(func() error { return fmt.Errorf("%s: %w", faultSyncErrorText, syscall.EIO) }), nil
	case faultSlow:
		time.Sleep(time.Duration(fs.slow.Load()))
	}
	switch {
	case fs.power != nil:
		return fs.power.submit(w, ws)
	case fs.crash == nil:
		return w.inner.Submit(ws)
	}
	half := batchBytes(ws) / 2 / format.SectorSize * format.SectorSize
	if err := w.writeRange(ws, 0, half, pointSector); err != nil {
		return nil, err
	}
	fs.crash(pointMidBatch)
	if err := w.writeRange(ws, half, batchBytes(ws), pointSector); err != nil {
		return nil, err
	}
	return waitFunc(func() error {
		fs.crash(pointBeforeSync)
		return w.f.Sync()
	}), nil
}

// waitFunc is a disk.Pending whose Wait calls the function.
type waitFunc func() error

func (f waitFunc) Wait() error { return f() }

// batchBytes returns the number of bytes the writes of ws hold.
func batchBytes(ws []disk.Write) int64 {
	var n int64
	for _, w := range ws {
		for _, b := range w.Bufs {
			n += int64(len(b))
		}
	}
	return n
}

// piece is a contiguous part of a batch: data to write at off.
type piece struct {
	off  int64
	data []byte
}

// pieces returns the parts of ws that hold the batch's bytes from..to (counted through the
// writes in order), cut at sector boundaries of the batch's byte count, one piece per
// contiguous buffer part and at most one sector long, so that a caller may stop or look
// between any two sectors.
func pieces(ws []disk.Write, from, to int64) []piece {
	var out []piece
	var pos int64 // batch bytes before the current buffer
	for _, w := range ws {
		off := w.Off
		for _, b := range w.Bufs {
			for i := int64(0); i < int64(len(b)); i += format.SectorSize {
				j := min(i+format.SectorSize, int64(len(b)))
				if pos+j > from && pos+i < to {
					lo, hi := max(i, from-pos), min(j, to-pos)
					out = append(out, piece{off: off + lo, data: b[lo:hi]})
				}
			}
			off += int64(len(b))
			pos += int64(len(b))
		}
	}
	return out
}

// writeRange writes the batch's bytes from..to with pwrite, calling crash (if point is not
// empty) between pieces; it does not sync.
func (w *faultWriter) writeRange(ws []disk.Write, from, to int64, point string) error {
	for _, p := range pieces(ws, from, to) {
		// A fresh slice of buffers: File.WriteAt may advance its argument after a short write.
		if err := w.f.WriteAt([][]byte{p.data}, p.off); err != nil {
			return err
		}
		if point != "" && w.fs.crash != nil {
			w.fs.crash(point)
		}
	}
	return nil
}
