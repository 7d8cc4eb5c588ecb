package feox_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// tsKind says what the model knows about a key's current timestamp. The model test uses
// explicit timestamps below 10^15 (1970), far below every automatic timestamp (the wall clock),
// so that explicit timestamps never raise any clock and every comparison is predictable.
type tsKind uint8

const (
	// tsExplicit: the timestamp is exactly ts.
	tsExplicit tsKind = iota
	// tsAuto: an automatic timestamp, above every explicit timestamp of the test.
	tsAuto
	// tsAtLeast: at least ts, perhaps automatic (after UpdateTTL or Persist, whose effect on
	// the timestamp the contract leaves open).
	tsAtLeast
)

// modelEntry is the model of one present key.
type modelEntry struct {
	value []byte
	// expLo and expHi bound the expiry instant (wall-clock ns; 0 = no expiry): the store took
	// "now" somewhere between the call's start and end.
	expLo, expHi int64
	// short marks an expiry that passes during the test. The runner waits until it has
	// certainly passed before touching the key again, so a short-lived key is never observed
	// near its expiry.
	short bool
	ts    uint64
	kind  tsKind
}

// model is the sequential model of the store: a locked map from key to its entry.
type model struct {
	mu sync.Mutex
	m  map[string]*modelEntry
}

func newModel() *model { return &model{m: make(map[string]*modelEntry)} }

func (m *model) get(k string) *modelEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[k]
}

func (m *model) set(k string, e *modelEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e == nil {
		delete(m.m, k)
	} else {
		m.m[k] = e
	}
}

// chooser supplies the random choices of a model run.
type chooser interface {
	intn(n int) int
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser turns fuzz input into choices; when the input runs out it reports done.
type byteChooser struct {
	data []byte
	pos  int
}

func (c *byteChooser) intn(n int) int {
	if c.pos >= len(c.data) {
		c.pos++
		return 0
	}
	b := c.data[c.pos]
	c.pos++
	return int(b) % n
}

func (c *byteChooser) done() bool { return c.pos >= len(c.data) }

// modelValues are the values a model run stores: plain bytes, JSON documents and counters.
var modelValues = [][]byte{
	[]byte("a"), []byte("b"), {}, []byte("hello, world"), {0x00, 0xff},
	[]byte(`{"a":1}`), []byte(`{"a":{"b":[1,2]}}`), []byte(`[1,2]`), []byte(`5`), []byte(`"s"`),
	[]byte(`null`), []byte(`true`),
	counter(0), counter(7), counter(-3), counter(math.MaxInt64), counter(math.MinInt64),
	counter(math.MaxInt64 - 2),
}

var modelDeltas = []int64{1, -1, 5, 0, 1000, math.MaxInt64, math.MinInt64, -7}

// modelTTLs are the TTLs of a model run; shortTTLMarker stands for the runner's short TTL.
const shortTTLMarker = time.Duration(-12345)

var modelTTLs = []time.Duration{0, -time.Millisecond, shortTTLMarker, time.Hour, 2 * time.Hour}

// modelPatches are the JSON patches of a model run. Each has a model function that returns the
// expected document (decoded) and whether the patch applies.
var modelPatches = []struct {
	patch     string
	malformed bool
	apply     func(doc any) (any, bool)
}{
	{`[{"op":"replace","path":"","value":42}]`, false, func(any) (any, bool) { return 42.0, true }},
	{`[{"op":"add","path":"/a","value":[3]}]`, false, func(doc any) (any, bool) {
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(obj)+1)
		for k, v := range obj {
			out[k] = v
		}
		out["a"] = []any{3.0}
		return out, true
	}},
	{`[{"op":"test","path":"","value":5},{"op":"replace","path":"","value":"five"}]`, false, func(doc any) (any, bool) {
		if doc != 5.0 {
			return nil, false
		}
		return "five", true
	}},
	{`[{"op":"remove","path":"/0"}]`, false, func(doc any) (any, bool) {
		arr, ok := doc.([]any)
		if !ok || len(arr) == 0 {
			return nil, false
		}
		return slices.Clone(arr[1:]), true
	}},
	{`[{"op":"bogus"}]`, true, func(any) (any, bool) { return nil, false }},
}

// modelRunner runs random operations on its own keys and checks each result against the
// model. Only one goroutine uses a runner.
type modelRunner struct {
	s       *feox.Store
	m       *model
	keys    []string // own keys, ascending
	lo, hi  []byte   // bounds that enclose exactly the own keys
	c       chooser
	short   time.Duration // the short TTL
	margin  time.Duration // how far past an expiry the runner waits before touching the key
	history []string      // recent operations, for failure messages
}

func newModelRunner(s *feox.Store, m *model, prefix string, c chooser, short, margin time.Duration) *modelRunner {
	r := &modelRunner{s: s, m: m, c: c, short: short, margin: margin}
	for _, suffix := range []string{"a", "a\x00", "a\xff", "b", "ba", "c", "d\x00\x00", "e", "f", "g"} {
		r.keys = append(r.keys, prefix+suffix)
	}
	r.keys = sortedKeys(r.keys)
	r.lo, r.hi = []byte(prefix), []byte(prefix+"\xff\xff")
	return r
}

func (r *modelRunner) note(format string, args ...any) {
	if len(r.history) == 40 {
		r.history = r.history[1:]
	}
	r.history = append(r.history, fmt.Sprintf(format, args...))
}

func (r *modelRunner) failf(format string, args ...any) error {
	return fmt.Errorf("%s\nrecent operations, oldest first:\n  %s", fmt.Sprintf(format, args...), strings.Join(r.history, "\n  "))
}

// settle waits until the short expiry of key, if any, has certainly passed, and then drops the
// key from the model: an expired key is absent for every operation.
func (r *modelRunner) settle(key string) {
	e := r.m.get(key)
	if e == nil || !e.short {
		return
	}
	for {
		left := time.Duration(e.expHi + int64(r.margin) - time.Now().UnixNano())
		if left < 0 {
			break
		}
		time.Sleep(left)
	}
	r.m.set(key, nil)
}

func (r *modelRunner) ttl() time.Duration {
	ttl := modelTTLs[r.c.intn(len(modelTTLs))]
	if ttl == shortTTLMarker {
		return r.short
	}
	return ttl
}

// withExpiry returns e with the expiry of a ttl set between start and end.
func (r *modelRunner) withExpiry(e *modelEntry, ttl time.Duration, start, end int64) *modelEntry {
	e.expLo, e.expHi, e.short = 0, 0, false
	if ttl > 0 {
		e.expLo, e.expHi, e.short = start+int64(ttl), end+int64(ttl), ttl <= r.short
	}
	return e
}

// explicitTS picks an explicit timestamp near the key's current one, or a small one.
func (r *modelRunner) explicitTS(e *modelEntry) uint64 {
	if r.c.intn(4) == 0 {
		return 0
	}
	if e != nil && e.kind != tsAuto && r.c.intn(4) > 0 {
		return uint64(max(1, int64(e.ts)+int64(r.c.intn(7))-3))
	}
	return 1 + uint64(r.c.intn(1000))
}

// tsOutcome predicts a write with explicit timestamp ts (0 = automatic) over e: accepted,
// refused, or either (the model does not know).
func tsOutcome(e *modelEntry, ts uint64) (accept, refuse bool) {
	switch {
	case e == nil || ts == 0:
		return true, false
	case e.kind == tsAuto:
		return false, true
	case ts <= e.ts:
		return false, true
	case e.kind == tsExplicit:
		return true, false
	}
	return true, true
}

func afterTS(ts uint64) (uint64, tsKind) {
	if ts == 0 {
		return 0, tsAuto
	}
	return ts, tsExplicit
}

// metaOnly returns the entry after UpdateTTL or Persist: same value, timestamp at least the old.
func metaOnly(e *modelEntry) *modelEntry {
	n := *e
	if n.kind == tsExplicit {
		n.kind = tsAtLeast
	}
	return &n
}

func now() int64 { return time.Now().UnixNano() }

// step runs one random operation and checks it.
func (r *modelRunner) step() error {
	key := r.keys[r.c.intn(len(r.keys))]
	k := []byte(key)
	op := r.c.intn(19)
	if op == 18 {
		for _, other := range r.keys {
			r.settle(other)
		}
		return r.checkRange()
	}
	r.settle(key)
	e := r.m.get(key)
	value := modelValues[r.c.intn(len(modelValues))]
	switch op {
	case 0, 1:
		r.note("Insert(%q, %q)", key, value)
		created, err := r.s.Insert(k, value)
		if err != nil || created != (e == nil) {
			return r.failf("Insert(%q) = %v, %v; want created %v", key, created, err, e == nil)
		}
		r.m.set(key, &modelEntry{value: value, kind: tsAuto})
	case 2:
		ttl := r.ttl()
		r.note("InsertWithTTL(%q, %q, %v)", key, value, ttl)
		start := now()
		created, err := r.s.InsertWithTTL(k, value, ttl)
		end := now()
		if err != nil || created != (e == nil) {
			return r.failf("InsertWithTTL(%q) = %v, %v; want created %v", key, created, err, e == nil)
		}
		r.m.set(key, r.withExpiry(&modelEntry{value: value, kind: tsAuto}, ttl, start, end))
	case 3:
		ts := r.explicitTS(e)
		r.note("InsertWithTimestamp(%q, %q, %d)", key, value, ts)
		created, err := r.s.InsertWithTimestamp(k, value, ts)
		accept, refuse := tsOutcome(e, ts)
		switch {
		case err == nil && accept:
			if created != (e == nil) {
				return r.failf("InsertWithTimestamp(%q, ts %d) created = %v, want %v", key, ts, created, e == nil)
			}
			nts, kind := afterTS(ts)
			r.m.set(key, &modelEntry{value: value, ts: nts, kind: kind})
		case errors.Is(err, feox.ErrOlderTimestamp) && refuse:
		default:
			return r.failf("InsertWithTimestamp(%q, ts %d) over %+v = %v, %v", key, ts, e, created, err)
		}
	case 4:
		r.note("InsertIfAbsent(%q, %q)", key, value)
		ok, err := r.s.InsertIfAbsent(k, value)
		if err != nil || ok != (e == nil) {
			return r.failf("InsertIfAbsent(%q) = %v, %v; want %v", key, ok, err, e == nil)
		}
		if ok {
			r.m.set(key, &modelEntry{value: value, kind: tsAuto})
		}
	case 5, 6:
		r.note("Get(%q)", key)
		got, err := r.s.Get(k)
		if err := r.wantRead(key, e, got, err); err != nil {
			return err
		}
	case 7:
		r.note("View(%q)", key)
		var got []byte
		called := false
		sentinel := &errFromView{}
		err := r.s.View(k, func(v []byte) error { got, called = bytes.Clone(v), true; return sentinel })
		if called && err != error(sentinel) {
			return r.failf("View(%q) returned %v, not fn's error", key, err)
		}
		if called {
			err = nil
		}
		if err := r.wantRead(key, e, got, err); err != nil {
			return err
		}
	case 8:
		r.note("Size(%q)", key)
		n, err := r.s.Size(k)
		if e == nil && !errors.Is(err, feox.ErrNotFound) || e != nil && (err != nil || n != len(e.value)) {
			return r.failf("Size(%q) = %d, %v; model %+v", key, n, err, e)
		}
	case 9:
		r.note("Contains(%q)", key)
		if got := r.s.Contains(k); got != (e != nil) {
			return r.failf("Contains(%q) = %v; model %+v", key, got, e)
		}
	case 10:
		r.note("Delete(%q)", key)
		err := r.s.Delete(k)
		if e == nil && !errors.Is(err, feox.ErrNotFound) || e != nil && err != nil {
			return r.failf("Delete(%q) = %v; model %+v", key, err, e)
		}
		r.m.set(key, nil)
	case 11:
		ts := r.explicitTS(e)
		r.note("DeleteWithTimestamp(%q, %d)", key, ts)
		err := r.s.DeleteWithTimestamp(k, ts)
		accept, refuse := tsOutcome(e, ts)
		switch {
		case e == nil:
			if !errors.Is(err, feox.ErrNotFound) {
				return r.failf("DeleteWithTimestamp(%q, %d) of an absent key = %v", key, ts, err)
			}
		case err == nil && accept:
			r.m.set(key, nil)
		case errors.Is(err, feox.ErrOlderTimestamp) && refuse:
		default:
			return r.failf("DeleteWithTimestamp(%q, %d) over %+v = %v", key, ts, e, err)
		}
	case 12:
		expected := modelValues[r.c.intn(len(modelValues))]
		if e != nil && r.c.intn(2) == 0 {
			expected = e.value
		}
		r.note("CompareAndSwap(%q, %q, %q)", key, expected, value)
		ok, err := r.s.CompareAndSwap(k, expected, value)
		want := e != nil && bytes.Equal(e.value, expected)
		if err != nil || ok != want {
			return r.failf("CompareAndSwap(%q, %q) = %v, %v; want %v (model %+v)", key, expected, ok, err, want, e)
		}
		if ok {
			r.m.set(key, &modelEntry{value: value, kind: tsAuto})
		}
	case 13:
		delta := modelDeltas[r.c.intn(len(modelDeltas))]
		r.note("Increment(%q, %d)", key, delta)
		got, err := r.s.Increment(k, delta)
		switch {
		case e == nil:
			if err != nil || got != delta {
				return r.failf("Increment(%q, %d) of an absent key = %d, %v", key, delta, got, err)
			}
			r.m.set(key, &modelEntry{value: counter(delta), kind: tsAuto})
		case len(e.value) != 8:
			if !errors.Is(err, feox.ErrNotCounter) {
				return r.failf("Increment(%q) of %q = %d, %v; want ErrNotCounter", key, e.value, got, err)
			}
		default:
			cur := int64(binary.LittleEndian.Uint64(e.value))
			sum := cur + delta
			if (delta > 0 && sum < cur) || (delta < 0 && sum > cur) {
				if !errors.Is(err, feox.ErrOverflow) {
					return r.failf("Increment(%q, %d) of %d = %d, %v; want ErrOverflow", key, delta, cur, got, err)
				}
				break
			}
			if err != nil || got != sum {
				return r.failf("Increment(%q, %d) of %d = %d, %v", key, delta, cur, got, err)
			}
			n := *e
			n.value, n.kind = counter(sum), tsAuto
			r.m.set(key, &n)
		}
	case 14:
		ttl := r.ttl()
		r.note("UpdateTTL(%q, %v)", key, ttl)
		start := now()
		err := r.s.UpdateTTL(k, ttl)
		end := now()
		if e == nil {
			if !errors.Is(err, feox.ErrNotFound) {
				return r.failf("UpdateTTL(%q) of an absent key = %v", key, err)
			}
			break
		}
		if err != nil {
			return r.failf("UpdateTTL(%q, %v) = %v", key, ttl, err)
		}
		r.m.set(key, r.withExpiry(metaOnly(e), ttl, start, end))
	case 15:
		r.note("Persist(%q)", key)
		err := r.s.Persist(k)
		if e == nil {
			if !errors.Is(err, feox.ErrNotFound) {
				return r.failf("Persist(%q) of an absent key = %v", key, err)
			}
			break
		}
		if err != nil {
			return r.failf("Persist(%q) = %v", key, err)
		}
		r.m.set(key, r.withExpiry(metaOnly(e), 0, 0, 0))
	case 16:
		r.note("TTL(%q)", key)
		start := now()
		d, err := r.s.TTL(k)
		end := now()
		switch {
		case e == nil:
			if !errors.Is(err, feox.ErrNotFound) {
				return r.failf("TTL(%q) of an absent key = %v, %v", key, d, err)
			}
		case e.expLo == 0:
			if err != nil || d != feox.NoExpiry {
				return r.failf("TTL(%q) without expiry = %v, %v", key, d, err)
			}
		default:
			most := time.Duration(e.expHi - start)
			least := time.Duration(e.expLo-end) - time.Second // allow truncation
			if err != nil || d <= 0 || d > most || d < least {
				return r.failf("TTL(%q) = %v, %v; want in [%v, %v]", key, d, err, least, most)
			}
		}
	case 17:
		p := modelPatches[r.c.intn(len(modelPatches))]
		r.note("JSONPatch(%q, %s)", key, p.patch)
		err := r.s.JSONPatch(k, []byte(p.patch))
		if e == nil && p.malformed && errors.Is(err, feox.ErrJSONPatch) {
			return nil // a malformed patch of an absent key: either error is in the contract
		}
		return r.checkPatch(key, e, p.apply, err)
	}
	return nil
}

// wantRead checks the result of a Get or View against the model.
func (r *modelRunner) wantRead(key string, e *modelEntry, got []byte, err error) error {
	if e == nil {
		if !errors.Is(err, feox.ErrNotFound) {
			return r.failf("read of absent key %q = %q, %v", key, got, err)
		}
		return nil
	}
	if err != nil || !bytes.Equal(got, e.value) {
		return r.failf("read of %q = %q, %v; want %q", key, got, err, e.value)
	}
	return nil
}

// checkPatch checks the result of a JSONPatch against the model and adopts the stored bytes
// of a successful patch once they are the expected document.
func (r *modelRunner) checkPatch(key string, e *modelEntry, apply func(any) (any, bool), err error) error {
	if e == nil {
		if !errors.Is(err, feox.ErrNotFound) {
			return r.failf("JSONPatch of absent key %q = %v, want ErrNotFound", key, err)
		}
		return nil
	}
	var doc any
	want, ok := any(nil), false
	if json.Unmarshal(e.value, &doc) == nil {
		want, ok = apply(doc)
	}
	if !ok {
		if !errors.Is(err, feox.ErrJSONPatch) {
			return r.failf("JSONPatch of %q holding %q = %v, want ErrJSONPatch", key, e.value, err)
		}
		if got, gerr := r.s.Get([]byte(key)); gerr != nil || !bytes.Equal(got, e.value) {
			return r.failf("a failed JSONPatch changed %q from %q to %q, %v", key, e.value, got, gerr)
		}
		return nil
	}
	if err != nil {
		return r.failf("JSONPatch of %q holding %q = %v, want success", key, e.value, err)
	}
	got, gerr := r.s.Get([]byte(key))
	var gotDoc any
	if gerr != nil || json.Unmarshal(got, &gotDoc) != nil || !reflect.DeepEqual(gotDoc, want) {
		return r.failf("JSONPatch of %q holding %q left %q, %v; want %v", key, e.value, got, gerr, want)
	}
	n := *e
	n.value, n.kind = got, tsAuto
	r.m.set(key, &n)
	return nil
}

// checkRange checks Range and Scan over the runner's own keys against the model.
func (r *modelRunner) checkRange() error {
	var want []feox.KV
	for _, key := range r.keys {
		if e := r.m.get(key); e != nil {
			want = append(want, feox.KV{Key: []byte(key), Value: e.value})
		}
	}
	limit := 1 + r.c.intn(len(r.keys)+2)
	r.note("Range(own keys, %d)", limit)
	got, err := r.s.Range(r.lo, r.hi, limit)
	if err != nil {
		return r.failf("Range: %v", err)
	}
	if !sameKVs(got, want[:min(limit, len(want))]) {
		return r.failf("Range(own keys, %d) = %q, want %q", limit, got, want)
	}
	var scanned []feox.KV
	for k, v := range r.s.Scan(r.lo, r.hi) {
		scanned = append(scanned, feox.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
	}
	if !sameKVs(scanned, want) {
		return r.failf("Scan(own keys) = %q, want %q", scanned, want)
	}
	return nil
}

func sameKVs(a, b []feox.KV) bool {
	return slices.EqualFunc(a, b, func(x, y feox.KV) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value)
	})
}

// modelSeedEnv names the environment variable that replays the model tests with a seed; a
// failing test logs the command.
const modelSeedEnv = "FEOX_SEED"

// TestStore_Model runs goroutines that each do random operations of every kind on their own
// keys, checking every result against a sequential model of those keys.
func TestStore_Model(t *testing.T) {
	const workers, steps = 4, 2500
	seed := crashtest.Seed(t, modelSeedEnv)
	s := openStore(t, feox.Options{TTLSweepInterval: 3 * time.Millisecond})
	m := newModel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := newModelRunner(s, m, fmt.Sprintf("g%02d/", w),
				randChooser{rand.New(rand.NewPCG(seed, uint64(w)))}, time.Millisecond, 2*time.Millisecond)
			for i := range steps {
				if err := r.step(); err != nil {
					t.Errorf("worker %d, step %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestStore_Model_SharedKeys runs random operations of every kind from several goroutines on
// shared keys, checking only what holds whatever the interleaving: no call fails with an error
// outside its contract, and afterwards Len, Stats.Keys, a full Scan and MemoryUsage agree
// (MemoryUsage = the sum of what each present key charges).
func TestStore_Model_SharedKeys(t *testing.T) {
	const workers, steps = 4, 3000
	seed := crashtest.Seed(t, modelSeedEnv)
	s := openStore(t, feox.Options{TTLSweepInterval: 3 * time.Millisecond})
	keys := make([][]byte, 24)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("shared%02d%s", i, strings.Repeat("x", i)))
	}
	allowed := func(err error, ok ...error) bool {
		if err == nil {
			return true
		}
		for _, e := range ok {
			if errors.Is(err, e) {
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range steps {
				k := keys[r.IntN(len(keys))]
				v := modelValues[r.IntN(len(modelValues))]
				var err error
				var okErrs []error
				switch op := r.IntN(14); op {
				case 0:
					_, err = s.Insert(k, v)
				case 1:
					ttls := []time.Duration{time.Millisecond, time.Hour, 0}
					_, err = s.InsertWithTTL(k, v, ttls[r.IntN(len(ttls))])
				case 2:
					_, err = s.InsertWithTimestamp(k, v, uint64(r.IntN(3)*(i+1)))
					okErrs = []error{feox.ErrOlderTimestamp}
				case 3:
					_, err = s.InsertIfAbsent(k, v)
				case 4:
					_, err = s.Get(k)
					okErrs = []error{feox.ErrNotFound}
				case 5:
					err = s.Delete(k)
					okErrs = []error{feox.ErrNotFound}
				case 6:
					err = s.DeleteWithTimestamp(k, uint64(r.IntN(2)*(i+1)))
					okErrs = []error{feox.ErrNotFound, feox.ErrOlderTimestamp}
				case 7:
					_, err = s.CompareAndSwap(k, modelValues[r.IntN(len(modelValues))], v)
				case 8:
					_, err = s.Increment(k, modelDeltas[r.IntN(len(modelDeltas))])
					okErrs = []error{feox.ErrNotCounter, feox.ErrOverflow}
				case 9:
					err = s.UpdateTTL(k, []time.Duration{time.Millisecond, time.Hour, 0}[r.IntN(3)])
					okErrs = []error{feox.ErrNotFound}
				case 10:
					err = s.Persist(k)
					okErrs = []error{feox.ErrNotFound}
				case 11:
					err = s.JSONPatch(k, []byte(modelPatches[r.IntN(len(modelPatches))].patch))
					okErrs = []error{feox.ErrNotFound, feox.ErrJSONPatch}
				case 12:
					_, err = s.TTL(k)
					okErrs = []error{feox.ErrNotFound}
				case 13:
					prev := []byte(nil)
					for key := range s.Scan(nil, nil) {
						if prev != nil && bytes.Compare(prev, key) >= 0 {
							t.Errorf("Scan not ascending: %q then %q", prev, key)
							return
						}
						prev = append(prev[:0], key...)
					}
				}
				if !allowed(err, okErrs...) {
					t.Errorf("worker %d step %d: unexpected error %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Short TTLs expire and the sweep removes them; then every view of the store agrees.
	var last string
	ok := func() bool {
		var n int
		var mem int64
		for k := range s.Scan(nil, nil) {
			n++
			mem += s.ChargeOf(k)
		}
		last = fmt.Sprintf("Scan %d keys, Len %d, Stats.Keys %d, MemoryUsage %d (Scan implies %d)",
			n, s.Len(), s.Stats().Keys, s.MemoryUsage(), mem)
		return n == s.Len() && int64(n) == s.Stats().Keys && mem == s.MemoryUsage()
	}
	deadline := time.Now().Add(waitBound)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("the store's views disagree: %s", last)
		}
		time.Sleep(time.Millisecond)
	}
}
