package feox_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/feoxdb/feox-go/pkg/feox"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// recorder is a test backend that keeps the newest version written of each key.
type recorder struct {
	mu      *sync.Mutex
	written map[string]stages.Entry
	fail    *error
}

func (r recorder) Submit(b *stages.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if *r.fail != nil {
		return *r.fail
	}
	for _, e := range b.Entries {
		if old, ok := r.written[e.Key]; !ok || e.Seq > old.Seq {
			r.written[e.Key] = e
		}
	}
	return nil
}

func (r recorder) Complete(*stages.Batch) error { return nil }

type recorderSet struct {
	mu      sync.Mutex
	written map[string]stages.Entry
	fail    error
}

func (rs *recorderSet) backend(int) stages.Backend {
	return recorder{mu: &rs.mu, written: rs.written, fail: &rs.fail}
}

func (rs *recorderSet) setFail(err error) {
	rs.mu.Lock()
	rs.fail = err
	rs.mu.Unlock()
}

// TestStore_Pipeline_FlushCoversAcceptedWrites checks that after Flush every write accepted
// before it reached the backend, newest version per key, and is marked durable.
func TestStore_Pipeline_FlushCoversAcceptedWrites(t *testing.T) {
	for _, shards := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			rs := &recorderSet{written: map[string]stages.Entry{}}
			st, err := feox.OpenWithBackend(feox.Options{Pipeline: feox.PipelineOptions{
				Shards: shards, RingSize: 4, BatchEntries: 8}}, rs.backend)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 500 {
						k := []byte(fmt.Sprintf("g%d-k%d", g, i%50))
						v := []byte(fmt.Sprintf("v%d", i))
						if i%7 == 6 {
							_ = st.Delete(k)
						} else if _, err := st.Insert(k, v); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			rs.mu.Lock()
			for g := range 4 {
				for i := range 50 {
					k := fmt.Sprintf("g%d-k%d", g, i)
					v, err := st.Get([]byte(k))
					e, ok := rs.written[k]
					switch {
					case err == nil:
						if !ok || e.Kind != stages.Put || string(e.Value) != string(v) {
							t.Errorf("%s: store has %q, backend has %+v", k, v, e)
						}
						if !st.Durable([]byte(k)) {
							t.Errorf("%s: not marked durable after Flush", k)
						}
					case errors.Is(err, feox.ErrNotFound):
						if ok && e.Kind == stages.Put {
							t.Errorf("%s: deleted in the store, backend has %+v", k, e)
						}
					default:
						t.Fatal(err)
					}
				}
			}
			rs.mu.Unlock()
			s := st.Stats()
			if s.WritesDurable == 0 || s.Batches == 0 || s.Barriers == 0 {
				t.Errorf("pipeline stats not counted: %+v", s)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Insert([]byte("k"), nil); !errors.Is(err, feox.ErrClosed) {
				t.Fatalf("Insert after Close: %v", err)
			}
		})
	}
}

// TestStore_Pipeline_BackendErrorSurfacesAndHeals checks that a failing backend's error comes
// back from Flush and that the writes become durable once it heals.
func TestStore_Pipeline_BackendErrorSurfacesAndHeals(t *testing.T) {
	rs := &recorderSet{written: map[string]stages.Entry{}}
	st, err := feox.OpenWithBackend(feox.Options{Pipeline: feox.PipelineOptions{Shards: 2}}, rs.backend)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	boom := errors.New("disk on fire")
	rs.setFail(boom)
	if _, err := st.Insert([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush with a failing backend = %v, want %v", err, boom)
	}
	if st.Stats().WriteErrors == 0 {
		t.Fatal("WriteErrors not counted")
	}
	if v, err := st.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("reads must keep working: %q %v", v, err)
	}
	rs.setFail(nil)
	if err := st.Flush(); err != nil {
		t.Fatalf("Flush after healing = %v", err)
	}
	rs.mu.Lock()
	e := rs.written["a"]
	rs.mu.Unlock()
	if string(e.Value) != "1" {
		t.Fatalf("backend has %+v after healing", e)
	}
}
