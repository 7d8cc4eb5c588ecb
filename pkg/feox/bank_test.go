package feox_test

// The bank test: money moves between accounts and the total must never change.
//
// Each of bankLedgers ledger keys holds a version number and the balances of bankAccounts
// accounts (little-endian int64s); a transfer reads a ledger, moves an amount between two of
// its accounts and writes it back with one CompareAndSwap, so every state of a ledger a store
// can hold has the same total. Goroutines transfer concurrently while others write noise keys
// (so that freed space is reused), and:
//   - in-process, the store is closed and reopened between rounds; every reopen must find
//     exactly the last balances, and readers check the total at every moment;
//   - in child processes (internal/crashtest) killed with SIGKILL at random crash points and
//     moments, several times over the same file, every recovery must find ledgers whose total
//     is intact and whose version is at least the one the last returned Flush covered.
// A second in-process variant keeps one 8-byte counter per account and moves money with two
// Increments; its total is checked at quiescent points, before and after a reopen.
//
// FEOX_BANK_SEED=S replays the in-process tests. The crash test takes the crash tests'
// variables (crash_test.go): FEOX_CRASH_LONG=N runs 2N files of 4 kills each (default 2 files),
// FEOX_CRASH_SEED=S replays a run; a failing test logs the whole command.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/internal/datafile"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// bankSeedEnv names the environment variable that replays the in-process bank tests.
const bankSeedEnv = "FEOX_BANK_SEED"

const (
	bankLedgers  = 4
	bankAccounts = 32
	bankInitial  = 1000
	bankTotal    = bankAccounts * bankInitial
)

func bankKey(l int) []byte { return []byte(fmt.Sprintf("bank/%d", l)) }

// ledger is a decoded ledger value.
type ledger struct {
	version uint64
	bal     [bankAccounts]int64
}

func (l *ledger) encode() []byte {
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+8*bankAccounts), l.version)
	for _, v := range l.bal {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func decodeLedger(b []byte) (ledger, error) {
	var l ledger
	if len(b) != 8+8*bankAccounts {
		return l, fmt.Errorf("ledger of %d bytes", len(b))
	}
	l.version = binary.LittleEndian.Uint64(b)
	for i := range l.bal {
		l.bal[i] = int64(binary.LittleEndian.Uint64(b[8+8*i:]))
	}
	return l, nil
}

// check returns an error unless the ledger's balances are all non-negative and sum to the total.
func (l *ledger) check() error {
	var sum int64
	for i, v := range l.bal {
		if v < 0 {
			return fmt.Errorf("version %d: account %d has balance %d", l.version, i, v)
		}
		sum += v
	}
	if sum != bankTotal {
		return fmt.Errorf("version %d: total %d, want %d", l.version, sum, bankTotal)
	}
	return nil
}

// bankInit stores the initial ledgers.
func bankInit(st *feox.Store) error {
	for l := range bankLedgers {
		var lg ledger
		for i := range lg.bal {
			lg.bal[i] = bankInitial
		}
		if _, err := st.Insert(bankKey(l), lg.encode()); err != nil {
			return err
		}
	}
	return st.Flush()
}

// readLedger reads and checks ledger l.
func readLedger(st *feox.Store, l int) (ledger, []byte, error) {
	raw, err := st.Get(bankKey(l))
	if err != nil {
		return ledger{}, nil, fmt.Errorf("ledger %d: %w", l, err)
	}
	lg, err := decodeLedger(raw)
	if err == nil {
		err = lg.check()
	}
	if err != nil {
		return lg, raw, fmt.Errorf("ledger %d: %w", l, err)
	}
	return lg, raw, nil
}

// transfer moves a random amount between two accounts of a random ledger with one
// CompareAndSwap, retrying when another transfer won.
func transfer(st *feox.Store, r *rand.Rand) error {
	l := r.IntN(bankLedgers)
	for {
		lg, raw, err := readLedger(st, l)
		if err != nil {
			return err
		}
		a, b := r.IntN(bankAccounts), r.IntN(bankAccounts)
		amt := r.Int64N(lg.bal[a] + 1)
		lg.bal[a] -= amt
		lg.bal[b] += amt
		lg.version++
		ok, err := st.CompareAndSwap(bankKey(l), raw, lg.encode())
		if err != nil || ok {
			return err
		}
	}
}

// noise overwrites and deletes keys of varied sizes so that freed space is reused.
func noise(st *feox.Store, r *rand.Rand) error {
	k := []byte(fmt.Sprintf("noise/%02d", r.IntN(40)))
	if r.IntN(4) == 0 {
		if err := st.Delete(k); err != nil && !errors.Is(err, feox.ErrNotFound) {
			return err
		}
		return nil
	}
	_, err := st.Insert(k, []byte(strings.Repeat("n", r.IntN(3000))))
	return err
}

// runBank runs transfer goroutines, a noise goroutine and a checking reader until stop is
// closed, and returns the first error.
func runBank(st *feox.Store, seed uint64, stop <-chan struct{}) error {
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	report := func(err error) {
		if err != nil {
			first.CompareAndSwap(nil, &err)
		}
	}
	loop := func(stream uint64, step func(*rand.Rand) error) {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, stream))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := step(r); err != nil {
					report(err)
					return
				}
			}
		})
	}
	for g := range 3 {
		loop(uint64(g), func(r *rand.Rand) error { return transfer(st, r) })
	}
	loop(10, func(r *rand.Rand) error { return noise(st, r) })
	loop(11, func(r *rand.Rand) error {
		_, _, err := readLedger(st, r.IntN(bankLedgers))
		time.Sleep(100 * time.Microsecond)
		return err
	})
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// TestReliability_Bank_ReopenCycles transfers between accounts while readers check the total,
// and closes and reopens the store between rounds: every reopen finds the exact balances.
func TestReliability_Bank_ReopenCycles(t *testing.T) {
	seed := crashtest.Seed(t, bankSeedEnv)
	r := rand.New(rand.NewPCG(seed, 6))
	opts := feox.Options{Path: filepath.Join(t.TempDir(), "bank.feox"), FileSize: 1 << 20, MaxMemory: 64 << 10,
		Pipeline: feox.PipelineOptions{Shards: 1 + r.IntN(3), BatchEntries: 1 + r.IntN(64), FlushInterval: time.Millisecond}}
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := bankInit(st); err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		stop := make(chan struct{})
		time.AfterFunc(150*time.Millisecond, func() { close(stop) })
		if err := runBank(st, seed+uint64(round), stop); err != nil {
			t.Fatalf("seed %d round %d: %v", seed, round, err)
		}
		var before [bankLedgers]ledger
		for l := range bankLedgers {
			if before[l], _, err = readLedger(st, l); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if st, err = openIO(opts); err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for l := range bankLedgers {
			lg, _, err := readLedger(st, l)
			if err != nil {
				t.Fatalf("seed %d round %d, after reopen: %v", seed, round, err)
			}
			if lg != before[l] {
				t.Fatalf("seed %d round %d: ledger %d after reopen is version %d, before Close version %d",
					seed, round, l, lg.version, before[l].version)
			}
		}
		if round == 3 {
			t.Logf("ledger versions after 4 rounds: %d %d %d %d", before[0].version, before[1].version, before[2].version, before[3].version)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReliability_Bank_IncrementPairs moves money with two Increments per transfer, one
// counter per account; at quiescent points (no transfer running) the total is intact, and
// after a Flush, a Close and a reopen every counter is exactly as before.
func TestReliability_Bank_IncrementPairs(t *testing.T) {
	seed := crashtest.Seed(t, bankSeedEnv)
	opts := feox.Options{Path: filepath.Join(t.TempDir(), "pairs.feox"), FileSize: 1 << 20,
		Pipeline: feox.PipelineOptions{Shards: 2, BatchEntries: 16, FlushInterval: time.Millisecond}}
	st, err := openIO(opts)
	if err != nil {
		t.Fatal(err)
	}
	acct := func(i int) []byte { return []byte(fmt.Sprintf("acct/%02d", i)) }
	for i := range bankAccounts {
		if _, err := st.Insert(acct(i), counter(bankInitial)); err != nil {
			t.Fatal(err)
		}
	}
	balances := func(st *feox.Store) ([bankAccounts]int64, int64) {
		var b [bankAccounts]int64
		var sum int64
		for i := range b {
			v, err := st.Get(acct(i))
			if err != nil || len(v) != 8 {
				t.Fatalf("account %d: %q, %v", i, v, err)
			}
			b[i] = int64(binary.LittleEndian.Uint64(v))
			sum += b[i]
		}
		return b, sum
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(seed, uint64(round*10+g)))
				for range 300 {
					a, b, amt := r.IntN(bankAccounts), r.IntN(bankAccounts), r.Int64N(50)
					if _, err := st.Increment(acct(a), -amt); err != nil {
						t.Error(err)
						return
					}
					if _, err := st.Increment(acct(b), amt); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		before, sum := balances(st)
		if sum != bankTotal {
			t.Fatalf("seed %d round %d: total %d at a quiescent point, want %d", seed, round, sum, bankTotal)
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if st, err = openIO(opts); err != nil {
			t.Fatal(err)
		}
		after, sum := balances(st)
		if sum != bankTotal || after != before {
			t.Fatalf("seed %d round %d: after reopen total %d (want %d), balances changed %v", seed, round, sum, bankTotal, after != before)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// bankOptions are the options of the bank child's store.
func bankOptions(path string) feox.Options {
	return feox.Options{Path: path, FileSize: 1 << 16, MaxMemory: 64 << 10, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 2, BatchEntries: 16, FlushInterval: time.Millisecond}}
}

// bankChild is a child process of TestReliability_Bank_Crash: its file and where it dies.
type bankChild struct {
	Path  string
	Seed  uint64 // of the transfers
	Point string // the crash point where the child kills itself; "" for none
	K     int64  // the child kills itself the K-th time it reaches Point

	After time.Duration `json:"-"` // the timer that kills the child; 0 for none
}

func (b bankChild) String() string {
	return fmt.Sprintf("point %q k %d seed %d timer %v", b.Point, b.K, b.Seed, b.After)
}

// run is the bank child's body: it transfers until it is killed (or for 5 seconds), and reports
// the ledger versions it read before each Flush that returned nil.
func (b bankChild) run(c *crashtest.Child) {
	crash := crashtest.KillAt(b.Point, b.K)
	fs := &faultSet{}
	if b.Point == pointMidBatch || b.Point == pointBeforeSync {
		fs.crash = crash
	}
	st, err := openHooksIO(bankOptions(b.Path), fs.wrap, crash)
	if err != nil {
		c.Fail(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- runBank(st, b.Seed, stop) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		vs := make([]uint64, bankLedgers)
		for l := range bankLedgers {
			lg, _, err := readLedger(st, l)
			if err != nil {
				c.Fail(err)
			}
			vs[l] = lg.version
		}
		if err := st.Flush(); err != nil {
			c.Fail(err)
		}
		c.Flushed(vs...)
		select {
		case err := <-done:
			c.Fail(fmt.Errorf("transfers stopped: %v", err))
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestReliability_Bank_Crash kills bank children at random crash points and moments, several
// times over each file, and checks every recovery.
func TestReliability_Bank_Crash(t *testing.T) {
	crashtest.AsChild(t, bankChild.run)
	files := 2 * crashtest.Count(crashLongEnv, 1)
	seed := crashtest.Seed(t, crashSeedEnv)
	r := rand.New(rand.NewPCG(seed, 8))
	points := append(datafile.CrashPoints(), pointMidBatch, pointBeforeSync, "")
	kills := 0
	for f := range files {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("bank-%d.feox", f))
		st, err := openIO(bankOptions(path))
		if err != nil {
			t.Fatal(err)
		}
		if err := bankInit(st); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		var floor [bankLedgers]uint64 // versions every later recovery must reach
		for cycle := range 4 {
			point := points[r.IntN(len(points))]
			switch point {
			case "grow", "grown", "moved", "erased":
				// The bank's live data stays far below the file's size: the file neither grows
				// nor fills up enough for the cleaner to move records.
				point = "synced"
			}
			k := 1 + r.Int64N(200)
			after := time.Duration(0)
			if point == "" {
				after = time.Duration(50+r.IntN(400)) * time.Millisecond
			}
			child := bankChild{Path: path, Seed: r.Uint64(), Point: point, K: k, After: after}
			what := fmt.Sprintf("file %d cycle %d (%v)", f, cycle, child)
			res := crashtest.Run(t, child, crashtest.Options{KillAfter: after})
			if res.Killed {
				kills++
			}
			for l, v := range res.Flushed {
				floor[l] = max(floor[l], v)
			}
			st, err := openIO(bankOptions(path))
			if err != nil {
				t.Fatalf("%s: Open after the crash: %v", what, err)
			}
			for l := range bankLedgers {
				lg, _, err := readLedger(st, l)
				if err != nil {
					st.Close()
					t.Fatalf("%s: %v", what, err)
				}
				if lg.version < floor[l] {
					st.Close()
					t.Fatalf("%s: ledger %d recovered at version %d, but a Flush covered version %d", what, l, lg.version, floor[l])
				}
				floor[l] = lg.version // the next child starts from here
			}
			for k := range st.Scan(nil, nil) {
				if !strings.HasPrefix(string(k), "bank/") && !strings.HasPrefix(string(k), "noise/") {
					st.Close()
					t.Fatalf("%s: a key that was never written: %q", what, k)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("file %d: ledger versions %v after 4 crashes", f, floor)
	}
	t.Logf("%d of %d bank children killed", kills, 4*files)
}
