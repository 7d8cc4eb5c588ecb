package workload

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/feoxdb/feox-go/internal/load/gen"
)

// TestLookup_YCSBProportions ensures that over 100K draws each kind's share is within 1% of
// the YCSB specification, with the specified request distribution.
func TestLookup_YCSBProportions(t *testing.T) {
	tests := []struct {
		name string
		mix  map[Kind]float64
		dist gen.Dist
	}{
		{"ycsb-a", map[Kind]float64{Read: 0.5, Update: 0.5}, gen.Zipfian},
		{"ycsb-b", map[Kind]float64{Read: 0.95, Update: 0.05}, gen.Zipfian},
		{"ycsb-c", map[Kind]float64{Read: 1}, gen.Zipfian},
		{"ycsb-d", map[Kind]float64{Read: 0.95, Insert: 0.05}, gen.Latest},
		{"ycsb-e", map[Kind]float64{Scan: 0.95, Insert: 0.05}, gen.Zipfian},
		{"ycsb-f", map[Kind]float64{Read: 0.5, RMW: 0.5}, gen.Zipfian},
		{"mixed", map[Kind]float64{Read: 0.7, Update: 0.3}, gen.Uniform},
		{"churn", map[Kind]float64{Read: 0.5, Update: 0.2, Insert: 0.1, Delete: 0.1, Scan: 0.05, RMW: 0.05}, gen.Uniform},
		{"scan", map[Kind]float64{Scan: 1}, gen.Uniform},
		{"zipf-read", map[Kind]float64{Read: 1}, gen.UnscrambledZipfian},
	}
	const draws = 100_000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Lookup(tt.name, 0.7)
			if err != nil {
				t.Fatal(err)
			}
			if s.Dist != tt.dist {
				t.Errorf("distribution %v, want %v", s.Dist, tt.dist)
			}
			sh := NewShared(100_000, 1<<40, 1)
			g := sh.NewGen(&s, 0, 1, gen.ZipfianConstant)
			var counts [NumKinds]int
			for range draws {
				op, ok := g.Next()
				if !ok {
					t.Fatal("workload ran out of keys")
				}
				counts[op.Kind]++
				if op.Kind == Scan && (op.ScanLen < 1 || op.ScanLen > DefaultMaxScan || s.FixedScan && op.ScanLen != DefaultMaxScan) {
					t.Fatalf("scan length %d outside [1, %d]", op.ScanLen, DefaultMaxScan)
				}
				g.Done(op)
			}
			for k := range NumKinds {
				got := float64(counts[k]) / draws
				if want := tt.mix[k]; math.Abs(got-want) > 0.01 {
					t.Errorf("%s: share %.4f, want %.4f", k, got, want)
				}
			}
		})
	}
}

// TestLookup_Unknown ensures an unknown name is refused and every listed name is known.
func TestLookup_Unknown(t *testing.T) {
	if _, err := Lookup("ycsb-g", 0.5); !errors.Is(err, ErrUnknownWorkload) {
		t.Fatalf("Lookup(ycsb-g) error = %v, want ErrUnknownWorkload", err)
	}
	for name := range strings.SplitSeq(Names(), ", ") {
		s, err := Lookup(name, 0.5)
		if err != nil || s.Name != name {
			t.Errorf("Lookup(%q) = %q, %v", name, s.Name, err)
		}
		var sum float64
		for _, share := range s.Mix {
			sum += share
		}
		if math.Abs(sum-1) > 1e-9 || s.Mix[Flush] != 0 {
			t.Errorf("%s: shares add up to %v, flush share %v", name, sum, s.Mix[Flush])
		}
		if s.Preload != (name != "load") {
			t.Errorf("%s: Preload = %v", name, s.Preload)
		}
	}
}

// TestSpec_Describe checks the description of a few workloads.
func TestSpec_Describe(t *testing.T) {
	tests := map[string]string{
		"ycsb-a":    "read 50%, update 50%; zipfian",
		"ycsb-e":    "insert 5%, scan 95%; zipfian; scans of 1-100 keys",
		"load":      "insert 100%",
		"delete":    "delete 100%",
		"scan":      "scan 100%; uniform; scans of 100 keys",
		"mixed":     "read 80%, update 20%; uniform",
		"zipf-read": "read 100%; unscrambled-zipfian",
		"durable-1": "update 100%; uniform; every write durable",
		"ycsb-d":    "read 95%, insert 5%; latest",
	}
	for name, want := range tests {
		s, _ := Lookup(name, DefaultReadRatio)
		if got := s.Describe(); got != want {
			t.Errorf("%s: Describe() = %q, want %q", name, got, want)
		}
	}
	s, _ := Lookup("durable-100", DefaultReadRatio)
	if got, want := s.Summary(), "groups of 100 writes, the last one durable; update 100%; uniform; durable after every 100 writes"; got != want {
		t.Errorf("durable-100: Summary() = %q, want %q", got, want)
	}
}

// TestLookup_OneMeaningPerName pins down the names the load generator and the comparison
// once read differently: mixed is 80% reads and 20% updates by default, zipfian is YCSB's
// scrambled zipfian (zipf-read uses the unscrambled one), and scan reads 100 keys each time.
func TestLookup_OneMeaningPerName(t *testing.T) {
	mixed, _ := Lookup("mixed", DefaultReadRatio)
	if mixed.Mix[Read] != 0.8 || math.Abs(mixed.Mix[Update]-0.2) > 1e-9 || mixed.Dist != gen.Uniform {
		t.Errorf("mixed: %v, %v", mixed.Mix, mixed.Dist)
	}
	if tuned, _ := Lookup("mixed", 0.3); tuned.Mix[Read] != 0.3 || math.Abs(tuned.Mix[Update]-0.7) > 1e-9 {
		t.Errorf("mixed at read ratio 0.3: %v", tuned.Mix)
	}
	if zr, _ := Lookup("zipf-read", 0); zr.Dist != gen.UnscrambledZipfian {
		t.Errorf("zipf-read: %v", zr.Dist)
	}
	if sc, _ := Lookup("scan", 0); !sc.FixedScan || sc.MaxScan != DefaultMaxScan {
		t.Errorf("scan: fixed %v, length %d", sc.FixedScan, sc.MaxScan)
	}
	for _, n := range []int{1, 100} {
		d, err := Lookup(fmt.Sprintf("durable-%d", n), 0)
		if err != nil || d.SyncEvery != n || !d.PersistentOnly || d.Mix[Update] != 1 {
			t.Errorf("durable-%d: %+v, %v", n, d, err)
		}
	}
}

// TestGen_FixedScan ensures the scan workload draws scans of exactly MaxScan keys.
func TestGen_FixedScan(t *testing.T) {
	s, _ := Lookup("scan", 0)
	s.MaxScan = 7
	g := NewShared(1000, 1000, 1).NewGen(&s, 0, 1, gen.ZipfianConstant)
	for range 1000 {
		if op, ok := g.Next(); !ok || op.Kind != Scan || op.ScanLen != 7 {
			t.Fatalf("op %+v, %v; want a scan of 7 keys", op, ok)
		}
	}
}

// TestGen_LoadTakesEachIndexOnce runs the load from several goroutines and checks every index
// below the key count is inserted exactly once, and nothing else.
func TestGen_LoadTakesEachIndexOnce(t *testing.T) {
	const (
		keys       = 50_000
		goroutines = 4
	)
	s, _ := Lookup("load", 0)
	sh := NewLoad(0, keys, goroutines)
	var seen [keys]atomic.Int32
	var wg sync.WaitGroup
	for w := range goroutines {
		wg.Go(func() {
			g := sh.NewGen(&s, w, 1, gen.ZipfianConstant)
			for {
				op, ok := g.Next()
				if !ok {
					return
				}
				if op.Kind != Insert || op.Index >= keys {
					t.Errorf("load drew %+v", op)
					return
				}
				seen[op.Index].Add(1)
				g.Done(op)
			}
		})
	}
	wg.Wait()
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("index %d inserted %d times", i, n)
		}
	}
}

// TestGen_DeleteRunsOut ensures the delete workload removes each loaded key once and then
// reports that it has run out.
func TestGen_DeleteRunsOut(t *testing.T) {
	s, _ := Lookup("delete", 0)
	sh := NewShared(1000, 1000, 1)
	g := sh.NewGen(&s, 0, 1, gen.ZipfianConstant)
	for i := range uint64(1000) {
		op, ok := g.Next()
		if !ok || op.Kind != Delete || op.Index != i {
			t.Fatalf("draw %d: %+v, %v", i, op, ok)
		}
	}
	if op, ok := g.Next(); ok {
		t.Fatalf("draw after the last key: %+v", op)
	}
}

// TestGen_InsertLimit ensures inserts stop at the key space's limit.
func TestGen_InsertLimit(t *testing.T) {
	s, _ := Lookup("insert", 0)
	sh := NewShared(10, 15, 1)
	g := sh.NewGen(&s, 0, 1, gen.ZipfianConstant)
	for i := uint64(10); i < 15; i++ {
		op, ok := g.Next()
		if !ok || op.Index != i {
			t.Fatalf("insert %d: %+v, %v", i, op, ok)
		}
		g.Done(op)
	}
	if _, ok := g.Next(); ok {
		t.Fatal("insert past the limit")
	}
}

// TestShared_ModelCheck drives a Shared with random inserts and deletes from one goroutine and
// compares its bounds with a plain model after every step.
func TestShared_ModelCheck(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			const base = 100
			s, _ := Lookup("churn", 0)
			sh := NewShared(base, 1<<30, 1)
			g := sh.NewGen(&s, 0, seed, gen.ZipfianConstant)
			lo, hi := uint64(0), uint64(base) // the model
			for step := range 20_000 {
				op, ok := g.Next()
				if !ok {
					t.Fatalf("step %d: churn ran out of keys", step)
				}
				switch op.Kind {
				case Insert:
					if op.Index != hi {
						t.Fatalf("step %d: insert of %d, model next %d", step, op.Index, hi)
					}
					if _, bhi := sh.Bounds(); bhi != hi {
						t.Fatalf("step %d: in-flight insert visible: hi %d, want %d", step, bhi, hi)
					}
					g.Done(op)
					hi++
				case Delete:
					if op.Index != lo {
						t.Fatalf("step %d: delete of %d, model oldest %d", step, op.Index, lo)
					}
					lo++
				default:
					if op.Index < lo || op.Index >= hi {
						t.Fatalf("step %d: %s of %d outside the model's [%d, %d)", step, op.Kind, op.Index, lo, hi)
					}
				}
				if blo, bhi := sh.Bounds(); blo != lo || bhi != hi {
					t.Fatalf("step %d: bounds [%d, %d), model [%d, %d)", step, blo, bhi, lo, hi)
				}
				if hi-lo < base/2 {
					t.Fatalf("step %d: churn left %d keys of %d", step, hi-lo, base)
				}
			}
		})
	}
}

// TestShared_NoReadOfInFlightInsert runs the latest-biased ycsb-d from several goroutines
// against a model store (one flag per index, set when the insert returns) and checks that no
// read ever targets a key whose insert has not returned: the in-flight markers work under
// concurrency.
func TestShared_NoReadOfInFlightInsert(t *testing.T) {
	const (
		base       = 64
		goroutines = 4
		opsEach    = 40_000
	)
	s, _ := Lookup("ycsb-d", 0)
	s.Mix[Read], s.Mix[Insert] = 0.7, 0.3 // more inserts, more races
	sh := NewShared(base, 1<<30, goroutines)
	present := make([]atomic.Bool, base+goroutines*opsEach)
	for i := range base {
		present[i].Store(true)
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range goroutines {
		wg.Go(func() {
			g := sh.NewGen(&s, w, 9, gen.ZipfianConstant)
			for range opsEach {
				op, ok := g.Next()
				if !ok {
					t.Error("ran out of keys")
					return
				}
				switch op.Kind {
				case Insert:
					present[op.Index].Store(true)
				case Read:
					if !present[op.Index].Load() {
						bad.Add(1)
					}
				}
				g.Done(op)
			}
		})
	}
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d reads targeted keys whose insert had not returned", n)
	}
}

func BenchmarkGen_Next(b *testing.B) {
	for _, name := range []string{"ycsb-a", "ycsb-d", "ycsb-e", "churn"} {
		b.Run("workload="+name, func(b *testing.B) {
			s, _ := Lookup(name, 0.5)
			sh := NewShared(1_000_000, 1<<62, 2)
			g := sh.NewGen(&s, 0, 1, gen.ZipfianConstant)
			b.ReportAllocs()
			for b.Loop() {
				op, _ := g.Next()
				g.Done(op)
			}
		})
	}
}
