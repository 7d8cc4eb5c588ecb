package feox_test

// Simulated power loss. Every shard writes through a faultWriter with a powerLog: the batches
// are written one sector at a time (the writes and syncs of all shards serialized), with the
// pre-image of every sector logged until the next successful data sync. At a random event
// (before a sector write, before a sync, after a sync) the log "cuts the power": it copies the data file as the
// page cache holds it and reverts a random subset of the unsynced sector writes (all, none,
// each sector at random, or all but an oldest prefix) to their pre-images. The copy is then
// opened and checked like a crash: only what a returned Flush covered is guaranteed.
//
// What the model leaves out (see docs/DURABILITY.md): writes that do not go through the
// shards' writers (the header at creation and the zeroing of torn frames' headers at Open, both
// synced before Open returns; the cleaner's erasures, holes punched or frame headers zeroed and
// fsync'd before a segment is reused, which the copy shows as done once issued, with no part
// lost or made durable out of order, and whose fsync does not clear the log), file growth
// (the copy has the file's size at the cut), reordering inside a sector (a 512-byte sector is
// written whole or not at all), and a disk that lies about a completed sync.
//
// Long mode: FEOX_POWER_LONG=N runs N cuts (default 12). FEOX_POWER_SEED=S replays a run (a
// failure logs the command).

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

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

const (
	powerFlushEvery = 60
	powerMaxOps     = 1500
	powerMaxValue   = 2500
)

// TestReliability_PowerLoss cuts the power at random moments and checks the surviving image.
func TestReliability_PowerLoss(t *testing.T) {
	cuts := crashtest.Count("FEOX_POWER_LONG", 12)
	seed := crashtest.Seed(t, "FEOX_POWER_SEED")
	r := rand.New(rand.NewPCG(seed, 4))
	dir := t.TempDir()
	var total powerStats
	var torn int64
	modes := map[string]int{}
	for cut := range cuts {
		opSeed := r.Uint64()
		path := filepath.Join(dir, fmt.Sprintf("power-%d.feox", cut))
		img := filepath.Join(dir, fmt.Sprintf("power-%d.image.feox", cut))
		pl := newPowerLog(path, img, r.Uint64(), 1+r.IntN(3000))
		fs := &faultSet{power: pl}
		opts := feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1,
			Pipeline: feox.PipelineOptions{Shards: 1 + r.IntN(3), BatchEntries: 1 + r.IntN(40),
				FlushInterval: time.Millisecond, DisableCoalesce: r.IntN(2) == 0}}
		st, err := openHooksIO(opts, fs.wrap, nil)
		if err != nil {
			t.Fatal(err)
		}
		next := crashOps(opSeed, powerMaxValue)
		flushed, done := 0, 0
		for done < powerMaxOps && !pl.cut.Load() {
			if err := next().apply(st); err != nil {
				t.Fatal(err)
			}
			done++
			if done%powerFlushEvery == 0 {
				if err := st.Flush(); err != nil {
					t.Fatal(err)
				}
				// A Flush that returned before the cut covers its writes; if the cut came first
				// (or we cannot tell), it does not count.
				if !pl.cut.Load() {
					flushed = done
				}
			}
		}
		pl.cutNow()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if pl.cutErr != nil {
			t.Fatalf("cut %d: copying the image: %v", cut, pl.cutErr)
		}
		modes[pl.mode]++
		h := crashHistory(opSeed, powerMaxValue, flushed, done)
		total.unsynced += pl.stats.unsynced
		total.reverted += pl.stats.reverted
		what := fmt.Sprintf("cut %d (ops seed %d, %+v, %d of %d ops flushed, %s: %d of %d unsynced sector writes reverted)",
			cut, opSeed, opts.Pipeline, flushed, done, pl.mode, pl.stats.reverted, pl.stats.unsynced)
		torn += checkReopens(t, img, h, what)
	}
	t.Logf("%d power cuts (%v): %d of %d unsynced sector writes reverted, %d torn frames skipped at reopen",
		cuts, modes, total.reverted, total.unsynced, torn)
}
