package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// refEntry is an entry of refClock.
type refEntry struct {
	id    int
	bytes int64
	ref   bool
	live  bool
}

// refClock is a textbook CLOCK, written for clarity and not speed: the entries sit in a
// slice in clock order, hand indexes the next one to examine, and a new entry is inserted
// just behind the hand, so it is examined last. Its stop rules are the ones Evict documents.
type refClock struct {
	ring       []*refEntry
	hand       int
	high, low  int64
	maxExamine int
	resident   int64
	draining   bool
}

// offer is one call of the eviction callback and its answer.
type offer struct {
	id int
	ok bool
}

func (m *refClock) admit(e *refEntry) {
	e.live = true
	m.ring = slices.Insert(m.ring, m.hand, e)
	m.hand++
	m.resident += e.bytes
}

func (m *refClock) touch(e *refEntry) {
	if e.live {
		e.ref = true
	}
}

func (m *refClock) remove(e *refEntry) {
	if !e.live {
		return
	}
	i := slices.Index(m.ring, e)
	m.ring = slices.Delete(m.ring, i, i+1)
	if i < m.hand {
		m.hand--
	}
	e.live = false
	m.resident -= e.bytes
}

func (m *refClock) needsEvict() bool {
	return m.resident > m.high || (m.resident > m.low && m.draining)
}

// evict sweeps like Cache.Evict; decide plays the owner's fn.
func (m *refClock) evict(decide func(id int) bool) (n int, bytes int64, offers []offer, examined int) {
	if m.resident > m.high {
		m.draining = true
	}
	if !m.draining {
		return 0, 0, nil, 0
	}
	limit := min(m.maxExamine, 2*len(m.ring))
	for examined < limit && len(m.ring) > 0 && m.resident > m.low {
		if m.hand >= len(m.ring) {
			m.hand = 0
		}
		e := m.ring[m.hand]
		examined++
		if e.ref {
			e.ref = false
			m.hand++
			continue
		}
		ok := decide(e.id)
		offers = append(offers, offer{e.id, ok})
		if !ok {
			m.hand++
			continue
		}
		m.ring = slices.Delete(m.ring, m.hand, m.hand+1)
		e.live = false
		m.resident -= e.bytes
		n++
		bytes += e.bytes
	}
	if m.resident <= m.low {
		m.draining = false
	}
	return n, bytes, offers, examined
}

// checkInvariants verifies the ring against the counters. The cache must be quiescent.
func (c *Cache[T]) checkInvariants() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slots)&(len(c.slots)-1) != 0 {
		return fmt.Errorf("slot count %d is not a power of two", len(c.slots))
	}
	if c.n > len(c.slots) || c.n < 0 {
		return fmt.Errorf("occupied %d out of range [0, %d]", c.n, len(c.slots))
	}
	var live, bytes, tombs int64
	for i := range len(c.slots) {
		h := c.slots[(c.head+i)&(len(c.slots)-1)]
		if i >= c.n {
			if h != nil {
				return fmt.Errorf("free slot %d holds a handle", i)
			}
			continue
		}
		switch s := h.state.Load(); s {
		case stateLive:
			live++
			bytes += h.bytes
		case stateRemoved:
			tombs++
		default:
			return fmt.Errorf("slot %d holds a handle in state %d", i, s)
		}
	}
	if tombs != c.tombs.Load() {
		return fmt.Errorf("ring holds %d tombstones, the counter says %d", tombs, c.tombs.Load())
	}

	if live != c.live.Load() || bytes != c.resident.Load() {
		return fmt.Errorf("ring holds %d entries of %d bytes, counters say %d and %d",
			live, bytes, c.live.Load(), c.resident.Load())
	}
	return nil
}

// pair is one admitted entry as both the cache and the model see it.
type pair struct {
	h *Handle[int]
	e *refEntry
}

// modelRun drives a Cache and a refClock through the same operations and reports the first
// difference.
type modelRun struct {
	c      *Cache[int]
	m      *refClock
	pairs  []pair
	calls  int // Evict calls so far; part of the owner's refusal decision
	refuse int // percentage of offers the owner refuses
}

func newModelRun(cfg Config, refuse int) *modelRun {
	c := New[int](cfg)
	return &modelRun{
		c:      c,
		m:      &refClock{high: c.high, low: c.low, maxExamine: c.maxExamine},
		refuse: refuse,
	}
}

// decide is the owner's answer to an offer: a fixed function of the entry and the call, so
// that the cache and the model get the same answers.
func (r *modelRun) decide(id int) bool {
	x := uint64(id)*0x9e3779b97f4a7c15 ^ uint64(r.calls)*0xbf58476d1ce4e5b9
	x ^= x >> 31
	return int(x%100) >= r.refuse
}

// step applies one random operation to both and compares them.
func (r *modelRun) step(rng *rand.Rand) error {
	switch k := rng.IntN(100); {
	case k < 35 || len(r.pairs) == 0:
		id := len(r.pairs)
		bytes := int64(rng.IntN(16) + 1)
		e := &refEntry{id: id, bytes: bytes}
		r.m.admit(e)
		r.pairs = append(r.pairs, pair{r.c.Admit(id, bytes), e})
	case k < 65:
		p := r.pairs[rng.IntN(len(r.pairs))]
		r.m.touch(p.e)
		r.c.Touch(p.h)
	case k < 80:
		p := r.pairs[rng.IntN(len(r.pairs))]
		r.m.remove(p.e)
		r.c.Remove(p.h)
	default:
		if got, want := r.c.NeedsEvict(), r.m.needsEvict(); got != want {
			return fmt.Errorf("NeedsEvict = %v, model %v", got, want)
		}
		before := r.c.Stats()
		var offers []offer
		n, bytes := r.c.Evict(func(id int) bool {
			ok := r.decide(id)
			offers = append(offers, offer{id, ok})
			return ok
		})
		wn, wbytes, woffers, wexamined := r.m.evict(r.decide)
		r.calls++
		if n != wn || bytes != wbytes || !slices.Equal(offers, woffers) {
			return fmt.Errorf("Evict = %d, %d after %d offers; model %d, %d after %d offers; %s",
				n, bytes, len(offers), wn, wbytes, len(woffers), diffOffers(offers, woffers))
		}
		after := r.c.Stats()
		if got := int(after.Examined - before.Examined); got != wexamined {
			return fmt.Errorf("Evict examined %d entries, model %d", got, wexamined)
		}
		if got := int(after.Evictions - before.Evictions); got != wn {
			return fmt.Errorf("Stats.Evictions grew by %d, want %d", got, wn)
		}
		if got := int64(after.EvictedBytes - before.EvictedBytes); got != wbytes {
			return fmt.Errorf("Stats.EvictedBytes grew by %d, want %d", got, wbytes)
		}
		if got := int(after.Refused - before.Refused); got != len(woffers)-wn {
			return fmt.Errorf("Stats.Refused grew by %d, want %d", got, len(woffers)-wn)
		}
	}
	if got, want := r.c.Resident(), r.m.resident; got != want {
		return fmt.Errorf("Resident = %d, model %d", got, want)
	}
	if got, want := r.c.Len(), len(r.m.ring); got != want {
		return fmt.Errorf("Len = %d, model %d", got, want)
	}
	return nil
}

// diffOffers describes the first difference between two offer sequences.
func diffOffers(got, want []offer) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("offer %d is %v, model %v", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("the first %d offers agree", min(len(got), len(want)))
	}
	return "the offers agree"
}

// modelConfig is a configuration for the model tests: the cache's and the percentage of
// offers the owner refuses.
type modelConfig struct {
	cfg    Config
	refuse int
}

func (mc modelConfig) String() string {
	return fmt.Sprintf("high=%d/low=%d/max=%d/refuse=%d",
		mc.cfg.HighWatermark, mc.cfg.LowWatermark, mc.cfg.MaxEvictPerCall, mc.refuse)
}

// modelConfigs returns the configurations the model tests run under.
func modelConfigs() []modelConfig {
	return []modelConfig{
		{Config{HighWatermark: 64, LowWatermark: 48, MaxEvictPerCall: 1000}, 0},
		{Config{HighWatermark: 64, LowWatermark: 48, MaxEvictPerCall: 1000}, 30},
		{Config{HighWatermark: 64, LowWatermark: 48, MaxEvictPerCall: 1000}, 100},
		{Config{HighWatermark: 64, LowWatermark: 48, MaxEvictPerCall: 3}, 0},
		{Config{HighWatermark: 64, LowWatermark: 48, MaxEvictPerCall: 1}, 20},
		{Config{HighWatermark: 100, LowWatermark: 100, MaxEvictPerCall: 8}, 10},
		{Config{HighWatermark: 200, LowWatermark: 10, MaxEvictPerCall: 16}, 0},
		{Config{HighWatermark: 400}, 50}, // default low and bound
	}
}

// TestCache_Model ensures the cache offers the same entries, in the same order, with the
// same outcome as a textbook CLOCK over random traces of Admit, Touch, Remove and Evict.
func TestCache_Model(t *testing.T) {
	for _, mc := range modelConfigs() {
		t.Run(mc.String(), func(t *testing.T) {
			for seed := range uint64(10) {
				rng := rand.New(rand.NewPCG(seed, 1))
				r := newModelRun(mc.cfg, mc.refuse)
				for i := range 3000 {
					if err := r.step(rng); err != nil {
						t.Fatalf("seed %d, step %d: %v", seed, i, err)
					}
					if i%100 == 0 {
						if err := r.c.checkInvariants(); err != nil {
							t.Fatalf("seed %d, step %d: %v", seed, i, err)
						}
					}
				}
				if err := r.c.checkInvariants(); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		})
	}
}

// TestCache_ModelLocked ensures the cache still agrees with the model when the operations
// come from several goroutines, each taking a lock around one operation on both: handles
// created in one goroutine are touched, removed and evicted from others.
func TestCache_ModelLocked(t *testing.T) {
	const goroutines, steps = 4, 1000
	for _, mc := range modelConfigs() {
		t.Run(mc.String(), func(t *testing.T) {
			r := newModelRun(mc.cfg, mc.refuse)
			var mu sync.Mutex
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 2))
					for range steps {
						mu.Lock()
						err := r.step(rng)
						mu.Unlock()
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if err := r.c.checkInvariants(); err != nil {
				t.Error(err)
			}
		})
	}
}
