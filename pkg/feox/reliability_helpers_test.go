package feox_test

// Shared parts of the reliability suite (the reliability_*_test.go files): a disk.Writer
// wrapper that injects faults, crash points and simulated power cuts into a shard's batches,
// the seeded operation sequence that the crash and power-loss tests replay, and the check of a
// recovered store against it. See docs/DURABILITY.md for what each test shows.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// withTestIO returns opts with the I/O backend chosen by testIOEnv when opts leaves it at
// IOAuto, as openIO does.
func withTestIO(opts feox.Options) (feox.Options, error) {
	if opts.Pipeline.IO != feox.IOAuto {
		return opts, nil
	}
	switch v := os.Getenv(testIOEnv); v {
	case "uring":
		opts.Pipeline.IO = feox.IOUring
	case "pwrite":
		opts.Pipeline.IO = feox.IOPwrite
	case "direct":
		opts.Pipeline.IO, opts.Pipeline.DirectIO = feox.IOUring, true
	case "", "auto":
	default:
		return opts, fmt.Errorf("%s=%q: want uring, pwrite, direct or auto", testIOEnv, v)
	}
	return opts, nil
}

// openHooksIO is feox.OpenWithHooks with the I/O backend chosen by testIOEnv.
func openHooksIO(opts feox.Options, wrap func(int, disk.Writer, *disk.File) (disk.Writer, error),
	crash func(string)) (*feox.Store, error) {
	opts, err := withTestIO(opts)
	if err != nil {
		return nil, err
	}
	return feox.OpenWithHooks(opts, wrap, crash)
}

// envInt returns the positive integer in the environment variable name, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// envSeed returns the seed in the environment variable name, or a random one; fixed reports
// whether it came from the environment.
func envSeed(t testing.TB, name string) (seed uint64, fixed bool) {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n, true
	}
	return rand.Uint64(), false
}

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

// powerLog simulates a power cut. Its writers write every batch themselves, one sector at a
// time (the writes of all shards are serialized), and log the pre-image of every sector they
// overwrite; a successful data sync makes every logged write durable and clears the log (every
// logged write completed before it, the next batch's too when it was submitted first). At the cut it copies the
// data file as the page cache holds it and reverts a random subset of the logged (unsynced)
// sector writes to their pre-images, as a disk that lost its volatile cache would show it.
type powerLog struct {
	path, dst string
	r         *rand.Rand

	mu     sync.Mutex // serializes the writes, the syncs and the cut
	log    []sectorWrite
	events int // events until the cut; the cut happens when it reaches 0
	cut    atomic.Bool
	mode   string // how the cut reverted the log, for failure messages
	cutErr error
	stats  powerStats
}

// powerStats counts what the cuts did.
type powerStats struct {
	unsynced, reverted int
}

// sectorWrite is one logged sector write: the sector's bytes before it, at off.
type sectorWrite struct {
	off int64
	pre []byte
}

// newPowerLog returns a powerLog for the data file at path that cuts the power after events
// write, sync and pre-sync events and writes the surviving image to dst.
func newPowerLog(path, dst string, seed uint64, events int) *powerLog {
	return &powerLog{path: path, dst: dst, r: rand.New(rand.NewPCG(seed, 0x9e3779b9)), events: events}
}

// tick counts one event and cuts the power when the count runs out. The caller holds mu.
func (p *powerLog) tick() {
	if p.cut.Load() {
		return
	}
	if p.events--; p.events <= 0 {
		p.cutLocked()
	}
}

// cutNow cuts the power at once if it has not been cut yet.
func (p *powerLog) cutNow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut.Load() {
		p.cutLocked()
	}
}

// cutLocked copies the file with a random subset of the unsynced sector writes reverted.
func (p *powerLog) cutLocked() {
	defer p.cut.Store(true)
	img, err := os.ReadFile(p.path)
	if err != nil {
		p.cutErr = err
		return
	}
	// Walk the log newest first: a sector keeps the content of its newest write that survived;
	// reverting a write exposes what the sector held before it, which the older writes of the
	// sector may in turn revert.
	kept := map[int64]bool{}
	modes := []string{"revert all", "keep all", "random sectors", "random prefix"}
	p.mode = modes[p.r.IntN(len(modes))]
	prefix := p.r.IntN(len(p.log) + 1) // "random prefix": the oldest writes survive
	p.stats.unsynced += len(p.log)
	for i := len(p.log) - 1; i >= 0; i-- {
		sw := p.log[i]
		if kept[sw.off] {
			continue
		}
		var revert bool
		switch p.mode {
		case "revert all":
			revert = true
		case "random sectors":
			revert = p.r.IntN(2) == 0
		case "random prefix":
			revert = i >= prefix
		}
		if !revert {
			kept[sw.off] = true
			continue
		}
		if sw.off+int64(len(sw.pre)) <= int64(len(img)) {
			copy(img[sw.off:], sw.pre)
			p.stats.reverted++
		}
	}
	p.cutErr = os.WriteFile(p.dst, img, 0o644)
}

// submit writes ws for w with pre-images logged; the returned Pending syncs.
func (p *powerLog) submit(w *faultWriter, ws []disk.Write) (disk.Pending, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range pieces(ws, 0, batchBytes(ws)) {
		if pc.off%format.SectorSize != 0 || len(pc.data) != format.SectorSize {
			return nil, fmt.Errorf("power log: write of %d bytes at %d is not one whole sector", len(pc.data), pc.off)
		}
		pre := make([]byte, format.SectorSize)
		if err := w.f.ReadAt(pre, pc.off); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		p.tick()
		if !p.cut.Load() {
			p.log = append(p.log, sectorWrite{off: pc.off, pre: pre})
		}
		if err := w.f.WriteAt([][]byte{pc.data}, pc.off); err != nil {
			return nil, err
		}
	}
	return waitFunc(func() error { return p.sync(w.f) }), nil
}

// sync makes every write logged so far durable: they all completed before the data sync.
func (p *powerLog) sync(f *disk.File) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tick() // written, not synced
	if err := f.Sync(); err != nil {
		return err
	}
	p.log = p.log[:0]
	p.tick() // synced
	return nil
}

// relKeys is the number of keys of the crash and power-loss sequences.
const relKeys = 120

// relOp is one operation of the sequence the crash and power-loss tests replay.
type relOp struct {
	kind  byte // 'p' put, 't' put with a 1-hour TTL, 'd' delete, 'u' UpdateTTL 1 hour, 'P' Persist
	key   string
	value string
}

// relOps returns the seeded operation sequence; maxValue bounds the value length.
func relOps(seed uint64, maxValue int) func() relOp {
	r := rand.New(rand.NewPCG(seed, 0xfe0c))
	i := 0
	return func() relOp {
		defer func() { i++ }()
		op := relOp{key: fmt.Sprintf("rel-%03d", r.IntN(relKeys))}
		switch p := r.IntN(100); {
		case p < 15:
			op.kind = 'd'
		case p < 20:
			op.kind = 'u'
		case p < 24:
			op.kind = 'P'
		case p < 36:
			op.kind = 't'
		default:
			op.kind = 'p'
		}
		if op.kind == 'p' || op.kind == 't' {
			op.value = fmt.Sprintf("v%d-%s", i, strings.Repeat(string(rune('a'+i%26)), r.IntN(maxValue)))
		}
		return op
	}
}

// relTTL is the TTL of the sequence's expiring writes: long enough never to pass in a test.
const relTTL = time.Hour

// applyRelOp applies op to st. Errors the sequence expects (ErrNotFound of a delete or TTL
// change of an absent key) are not errors.
func applyRelOp(st *feox.Store, op relOp) error {
	k := []byte(op.key)
	var err error
	switch op.kind {
	case 'p':
		_, err = st.Insert(k, []byte(op.value))
	case 't':
		_, err = st.InsertWithTTL(k, []byte(op.value), relTTL)
	case 'd':
		err = st.Delete(k)
	case 'u':
		err = st.UpdateTTL(k, relTTL)
	case 'P':
		err = st.Persist(k)
	}
	if errors.Is(err, feox.ErrNotFound) && op.kind != 'p' && op.kind != 't' {
		err = nil
	}
	return err
}

// relState is the state of one key: absent, or a value with or without an expiry.
type relState struct {
	present bool
	value   string
	ttl     bool
}

func (s relState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%.24q (%d bytes, ttl %v)", s.value, len(s.value), s.ttl)
}

// relHistory is what a crash may leave of every key: its state after the operations a Flush
// covered, and every state it took after them.
type relHistory struct {
	at    map[string]relState
	later map[string][]relState
}

// replayRel replays the first total operations of the sequence; the first flushed of them were
// covered by a Flush.
func replayRel(seed uint64, maxValue, flushed, total int) relHistory {
	h := relHistory{at: map[string]relState{}, later: map[string][]relState{}}
	cur := map[string]relState{}
	next := relOps(seed, maxValue)
	for i := range total {
		op := next()
		s := cur[op.key]
		switch op.kind {
		case 'p', 't':
			s = relState{present: true, value: op.value, ttl: op.kind == 't'}
		case 'd':
			s = relState{}
		case 'u':
			s.ttl = s.present
		case 'P':
			s.ttl = false
		}
		cur[op.key] = s
		if i < flushed {
			h.at[op.key] = s
		} else {
			h.later[op.key] = append(h.later[op.key], s)
		}
	}
	return h
}

// verifyRel checks a recovered store against h: every key holds its flushed state or a later
// one (with a matching expiry), and no key outside the sequence exists.
func verifyRel(st *feox.Store, h relHistory) error {
	for i := range relKeys {
		k := fmt.Sprintf("rel-%03d", i)
		v, err := st.Get([]byte(k))
		if err != nil && !errors.Is(err, feox.ErrNotFound) {
			return fmt.Errorf("Get(%s): %v", k, err)
		}
		got := relState{present: err == nil, value: string(v)}
		if got.present {
			ttl, err := st.TTL([]byte(k))
			switch {
			case err != nil:
				return fmt.Errorf("TTL(%s) of a present key: %v", k, err)
			case ttl == feox.NoExpiry:
			case ttl > 0 && ttl <= relTTL:
				got.ttl = true
			default:
				return fmt.Errorf("TTL(%s) = %v, want NoExpiry or in (0, %v]", k, ttl, relTTL)
			}
		}
		ok := got == h.at[k]
		for _, s := range h.later[k] {
			ok = ok || got == s
		}
		if !ok {
			return fmt.Errorf("key %s recovered as %v; flushed state %v, %d later states %v",
				k, got, h.at[k], len(h.later[k]), h.later[k])
		}
	}
	n := 0
	for k := range st.Scan(nil, nil) {
		if !bytes.HasPrefix(k, []byte("rel-")) || len(k) != 7 {
			return fmt.Errorf("recovered a key that was never written: %q", k)
		}
		n++
	}
	if st.Len() != n {
		return fmt.Errorf("Len = %d, Scan yields %d keys", st.Len(), n)
	}
	return nil
}

// storeContents returns every key and value of st.
func storeContents(st *feox.Store) map[string]string {
	m := map[string]string{}
	for k, v := range st.Scan(nil, nil) {
		m[string(k)] = string(v)
	}
	return m
}

// diffContents describes the first difference between two contents, or returns "".
func diffContents(got, want map[string]string) string {
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			return fmt.Sprintf("key %q missing (want %.24q)", k, v)
		case g != v:
			return fmt.Sprintf("key %q = %.24q (%d bytes), want %.24q (%d bytes)", k, g, len(g), v, len(v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("unexpected key %q = %.24q", k, v)
		}
	}
	return ""
}

// flushUntilOK calls Flush until it succeeds (failed batches are retried after a backoff),
// up to 100 times, and fails t if it never does.
func flushUntilOK(t *testing.T, st *feox.Store) {
	t.Helper()
	var err error
	for range 100 {
		if err = st.Flush(); err == nil {
			return
		}
	}
	t.Fatalf("Flush never succeeded: %v", err)
}
