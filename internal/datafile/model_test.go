package datafile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
)

// TestFile_Model runs seeded sequences of puts, deletes, flushes, cleaning rounds and reopens
// on a small file, from several goroutines each owning its keys, and after every flush checks
// the store against a model of each key's last write and the File's accounting against its
// records: the live bytes are exactly those of the keys' newest durable records and the kept
// deletion records, every segment's live count is within what it holds, and every kept
// deletion record counts and has a ghost.
func TestFile_Model(t *testing.T) {
	for _, tc := range []struct {
		shards, batch int
	}{{1, 1024}, {2, 16}, {3, 1}} {
		t.Run(fmt.Sprintf("shards=%d/batch=%d", tc.shards, tc.batch), func(t *testing.T) {
			const writers, keys, rounds, perRound = 3, 40, 12, 300
			st := openTestStore(t, storeOptions{path: filepath.Join(t.TempDir(), "model.feox"),
				shards: tc.shards, batchEntries: tc.batch})
			model := make(map[string][]byte)
			for round := range rounds {
				done := make(chan map[string][]byte, writers)
				for w := range writers {
					go func() {
						r := rand.New(rand.NewPCG(uint64(round), uint64(w)))
						mine := make(map[string][]byte)
						for i := range perRound {
							k := fmt.Sprintf("w%d-%02d", w, r.IntN(keys))
							if r.IntN(4) == 0 {
								if err := st.del(k); err == nil || errors.Is(err, errNotFound) {
									mine[k] = nil
								} else {
									t.Error(err)
								}
								continue
							}
							v := bytes.Repeat([]byte{byte(i)}, r.IntN(3000))
							if err := st.write(k, v, false); err != nil {
								t.Error(err)
							}
							mine[k] = v
						}
						done <- mine
					}()
				}
				for range writers {
					for k, v := range <-done {
						if v == nil {
							delete(model, k)
						} else {
							model[k] = v
						}
					}
				}
				st.flush()
				switch round % 4 {
				case 1:
					st.f.sealHead()
					if _, err := st.f.cleanAll(); err != nil {
						t.Fatal(err)
					}
				case 3:
					st = st.reopen()
				}
				checkModel(t, st, model, fmt.Sprintf("round %d", round))
				checkAccounting(t, st)
			}
		})
	}
}

// checkAccounting checks, with st flushed and its pipeline idle, the File's counts against the
// records the store holds: see TestFile_Model.
func checkAccounting(t *testing.T, st *testStore) {
	t.Helper()
	f := st.f
	// Wait for the cleaner's round in progress, if any, and keep it still.
	resume := f.pauseCleaner()
	defer resume()
	st.mu.Lock()
	defer st.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	var want, records int64
	counted := func(l Loc) {
		want += int64(l.size())
		records++
	}
	for k, v := range st.index {
		l, durable := v.pl.Loc()
		switch {
		case v.pl.Dead():
			// A deletion counts only while it is kept.
			if f.kept[k] != v.pl && v.pl.counted {
				t.Errorf("deletion of %s counts but is not kept", k)
			}
		case !durable || !v.pl.counted:
			t.Errorf("%s: newest version durable %v, counted %v; want both after a flush", k, durable, v.pl.counted)
		default:
			counted(l)
		}
	}
	for k, pl := range f.kept {
		l, ok := pl.Loc()
		if !ok || !pl.counted || !pl.dead || pl.ghosts == nil {
			t.Errorf("kept deletion record of %s: on disk %v, counted %v, dead %v, ghosts %v", k, ok, pl.counted, pl.dead, pl.ghosts != nil)
			continue
		}
		counted(l)
	}
	var segLive int64
	for i, sg := range f.segs {
		if sg.live > sg.used || (sg.state == segFree && (sg.used != 0 || sg.live != 0)) || sg.inflight != 0 {
			t.Errorf("segment %d: state %d, used %d, live %d, in flight %d", i, sg.state, sg.used, sg.live, sg.inflight)
		}
		segLive += int64(sg.live)
	}
	if got := f.live.Load(); got != want || segLive != want {
		t.Errorf("live bytes: counter %d, segments %d, records %d", got, segLive, want)
	}
	if f.liveRecords != records {
		t.Errorf("live records: counter %d, records %d", f.liveRecords, records)
	}
}

// TestFile_Model_Stats checks the space figures once overwrites are cleaned away: no garbage
// is left (but the headers and padding of the frames the moves went into), the live bytes are
// those of the newest records, and the file did not shrink.
func TestFile_Model_Stats(t *testing.T) {
	st := openTestStore(t, storeOptions{path: filepath.Join(t.TempDir(), "stats.feox"), shards: 2})
	for i := range 4000 {
		st.put(fmt.Sprintf("k%03d", i%300), bytes.Repeat([]byte{'s'}, 700))
	}
	st.flush()
	resume := st.f.pauseCleaner() // no erasure between the table's figures and the filesystem's
	before := st.f.Stats()
	resume()
	// What cleaning leaves: the headers and padding of the frames the moves were written in.
	padding := int64(64 * (format.FrameHeaderSize + st.f.align))
	st.f.sealHead()
	deadline := time.Now().Add(waitBound)
	for st.f.Stats().Garbage > padding && time.Now().Before(deadline) {
		if _, err := st.f.cleanAll(); err != nil {
			t.Fatal(err)
		}
		st.f.sealHead()
	}
	after := st.f.Stats()
	if after.Garbage > padding || after.Live != before.Live || after.Size < before.Size || after.Cleaned == 0 {
		t.Errorf("before cleaning %+v, after %+v: want no garbage, the same live bytes, a file no smaller, segments cleaned", before, after)
	}
	if after.Allocated < after.Live || before.Allocated < before.Live+before.Garbage {
		t.Errorf("allocated %d bytes for %d live (before cleaning: %d for %d live and %d garbage)",
			after.Allocated, after.Live, before.Allocated, before.Live, before.Garbage)
	}
	if want := st.liveBytes(); after.Live != want {
		t.Errorf("live %d bytes, want %d (the 300 newest records)", after.Live, want)
	}
}
