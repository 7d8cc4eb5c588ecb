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
// shards' writers (the header at creation and the zeroing of torn records at Open, both synced
// before Open returns; the cleaner's erasures, holes punched or record headers zeroed and
// fsync'd before a segment is reused, which the copy shows as done once issued, with no part
// lost or made durable out of order, and whose fsync does not clear the log), file growth
// (the copy has the file's size at the cut), reordering inside a sector (a 512-byte sector is
// written whole or not at all), and a disk that lies about a completed sync.
//
// Long mode: FEOX_POWER_LONG=N runs N cuts (default 12). FEOX_REL_SEED=S replays a run.

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

const (
	powerFlushEvery = 60
	powerMaxOps     = 1500
	powerMaxValue   = 2500
)

// TestReliability_PowerLoss cuts the power at random moments and checks the surviving image.
func TestReliability_PowerLoss(t *testing.T) {
	cuts := envInt("FEOX_POWER_LONG", 12)
	seed, _ := envSeed(t, "FEOX_REL_SEED")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: FEOX_REL_SEED=%d go test -race -run '^TestReliability_PowerLoss$' ./pkg/feox/", seed)
		}
	})
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
		next := relOps(opSeed, powerMaxValue)
		flushed, done := 0, 0
		for done < powerMaxOps && !pl.cut.Load() {
			if err := applyRelOp(st, next()); err != nil {
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
		h := replayRel(opSeed, powerMaxValue, flushed, done)
		total.unsynced += pl.stats.unsynced
		total.reverted += pl.stats.reverted
		what := fmt.Sprintf("cut %d (ops seed %d, %+v, %d of %d ops flushed, %s: %d of %d unsynced sector writes reverted)",
			cut, opSeed, opts.Pipeline, flushed, done, pl.mode, pl.stats.reverted, pl.stats.unsynced)
		torn += verifyRelReopen(t, img, h, what)
	}
	t.Logf("%d power cuts (%v): %d of %d unsynced sector writes reverted, %d torn records skipped at reopen",
		cuts, modes, total.reverted, total.unsynced, torn)
}
