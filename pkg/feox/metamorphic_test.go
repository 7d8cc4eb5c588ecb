package feox_test

// The metamorphic test runs one seeded sequence of operations of every kind (writes with long
// TTLs only, reads, ranges, scans, flushes and reopens) under many configurations of the store
// (memory-only, and persistent with 1, 2 or 8 shards, batches of 1, 16 or 1024 entries,
// coalescing on or off, io_uring, pwrite or auto, the value cache on or off, a MaxMemory small
// enough that values are evicted and read back from disk or the default) and requires every
// configuration to give the memory-only reference's results, operation by operation, and the
// same final contents.
//
// FEOX_META_SEED=S runs from seed S (a failure logs the command that replays it).
// FEOX_META_LONG=N runs N seeds over every combination of the options (216 persistent
// configurations) with 3,000 operations each.

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/crashtest"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// metaConfig is one configuration of the metamorphic test; persistent ones get a Path.
type metaConfig struct {
	name       string
	persistent bool
	opts       feox.Options
}

// metaTinyMemory is small enough that most values are evicted (the cache keeps 10 KiB of
// values; the live ones take 30 to 80 KiB) and large enough that keys are never refused (the
// test's 48 keys take about 7 KiB with their overhead).
const metaTinyMemory = 10 << 10

// metaPersistent returns a persistent configuration.
func metaPersistent(shards, batch int, noCoalesce bool, io feox.IOMode, noCache, tiny bool) metaConfig {
	o := feox.Options{FileSize: 1 << 20, DisableCache: noCache, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: shards, BatchEntries: batch, DisableCoalesce: noCoalesce, IO: io}}
	if tiny {
		o.MaxMemory = metaTinyMemory
	}
	if (shards+batch)%2 == 1 {
		o.Pipeline.FlushInterval = time.Millisecond
	}
	name := fmt.Sprintf("shards=%d/batch=%d/coalesce=%v/io=%v/cache=%v/tinymem=%v", shards, batch, !noCoalesce, io, !noCache, tiny)
	return metaConfig{name: name, persistent: true, opts: o}
}

// metaConfigs returns the configurations: every combination when all is set, otherwise a set
// that takes every value of every option and every pair of shard count and batch size, I/O mode
// and cache setting, coalescing and memory size.
func metaConfigs(all bool) []metaConfig {
	cfgs := []metaConfig{
		{name: "memory/defaults"},
		{name: "memory/maxmem=256MiB/sweep=1ms", opts: feox.Options{MaxMemory: 256 << 20, TTLSweepInterval: time.Millisecond}},
	}
	if all {
		for _, shards := range []int{1, 2, 8} {
			for _, batch := range []int{1, 16, 1024} {
				for _, noCoal := range []bool{false, true} {
					for _, io := range []feox.IOMode{feox.IOUring, feox.IOPwrite, feox.IOAuto} {
						for _, noCache := range []bool{false, true} {
							for _, tiny := range []bool{false, true} {
								cfgs = append(cfgs, metaPersistent(shards, batch, noCoal, io, noCache, tiny))
							}
						}
					}
				}
			}
		}
		return cfgs
	}
	u, p, a := feox.IOUring, feox.IOPwrite, feox.IOAuto
	return append(cfgs,
		metaPersistent(1, 1, false, u, false, false),
		metaPersistent(1, 16, true, p, true, false),
		metaPersistent(1, 1024, false, a, false, true),
		metaPersistent(2, 1, true, a, true, true),
		metaPersistent(2, 16, false, u, true, true),
		metaPersistent(2, 1024, true, p, false, false),
		metaPersistent(8, 1, false, p, false, true),
		metaPersistent(8, 16, true, a, false, false),
		metaPersistent(8, 1024, true, u, true, false),
	)
}

// metaKind is the kind of a metamorphic operation.
type metaKind int

const (
	mInsert metaKind = iota
	mInsertTTL
	mDelete
	mCAS
	mCASCurrent // CompareAndSwap from the value a Get just returned
	mInsertIfAbsent
	mIncrement
	mJSONPatch
	mUpdateTTL
	mPersist
	mGet
	mView
	mSize
	mTTL
	mRange
	mScan
	mFlush
	mReopen
	mLen
	metaKinds
)

// metaWeights returns the relative frequencies of the kinds.
func metaWeights() [metaKinds]int {
	return [metaKinds]int{
		mInsert: 14, mInsertTTL: 6, mDelete: 7, mCAS: 4, mCASCurrent: 4, mInsertIfAbsent: 5, mIncrement: 6,
		mJSONPatch: 5, mUpdateTTL: 3, mPersist: 3, mGet: 14, mView: 3, mSize: 3, mTTL: 3, mRange: 4, mScan: 3,
		mFlush: 2, mReopen: 1, mLen: 1,
	}
}

func (k metaKind) String() string {
	return [metaKinds]string{"Insert", "InsertWithTTL", "Delete", "CompareAndSwap", "CompareAndSwap(current)",
		"InsertIfAbsent", "Increment", "JSONPatch", "UpdateTTL", "Persist", "Get", "View", "Size", "TTL", "Range", "Scan",
		"Flush", "Reopen", "Len"}[k]
}

// metaOp is one operation with every argument drawn in advance.
type metaOp struct {
	kind            metaKind
	key, end        []byte // end: Range and Scan (start is key; either may be nil)
	value, expected []byte
	delta           int64
	ttl             time.Duration
	patch           []byte
	limit           int
}

func (op metaOp) String() string {
	return fmt.Sprintf("%s(key %q, end %q, value %s, expected %s, delta %d, ttl %v, patch %s, limit %d)",
		op.kind, op.key, op.end, descValue(op.value), descValue(op.expected), op.delta, op.ttl, op.patch, op.limit)
}

// metaKeys are the test's keys: several lengths, shared prefixes, binary bytes.
func metaKeys() [][]byte {
	var keys [][]byte
	for i := range 40 {
		keys = append(keys, []byte(fmt.Sprintf("m/%02d%s", i, strings.Repeat("k", i%5))))
	}
	return append(keys, []byte("m"), []byte("m/"), []byte("m/\x00"), []byte("m/\xff\xff"), []byte("z"),
		[]byte("\x00"), bytes.Repeat([]byte{'L'}, 300), []byte("m/05"))
}

// genMetaOps returns n operations for seed.
func genMetaOps(seed uint64, n int) []metaOp {
	r := rand.New(rand.NewPCG(seed, 5))
	keys := metaKeys()
	values := append([][]byte(nil), modelValues...)
	for range 16 {
		v := make([]byte, r.IntN(6000))
		for i := range v {
			v[i] = byte(r.IntN(256))
		}
		values = append(values, v)
	}
	values = append(values, []byte(`{"a":{"b":[1,2,3]},"c":"x"}`), counter(1<<40), counter(math.MaxInt64-1))
	weights := metaWeights()
	total := 0
	for _, w := range weights {
		total += w
	}
	key := func() []byte { return keys[r.IntN(len(keys))] }
	val := func() []byte { return values[r.IntN(len(values))] }
	bound := func() []byte {
		if r.IntN(4) == 0 {
			return nil
		}
		return key()
	}
	ops := make([]metaOp, 0, n)
	for range n {
		p := r.IntN(total)
		k := metaKind(0)
		for p >= weights[k] {
			p -= weights[k]
			k++
		}
		op := metaOp{kind: k, key: key(), value: val(), expected: val(), limit: r.IntN(60) - 5,
			delta: modelDeltas[r.IntN(len(modelDeltas))], patch: []byte(modelPatches[r.IntN(len(modelPatches))].patch)}
		switch k {
		case mInsertTTL:
			op.ttl = time.Duration(1+r.IntN(3)) * time.Hour
		case mUpdateTTL:
			op.ttl = []time.Duration{time.Hour, 2 * time.Hour, 0, -time.Second}[r.IntN(4)]
		case mRange, mScan:
			op.key, op.end = bound(), bound()
		}
		ops = append(ops, op)
	}
	return ops
}

// descValue describes a value by its length, a hash and its first bytes.
func descValue(v []byte) string {
	if v == nil {
		return "nil"
	}
	h := fnv.New64a()
	h.Write(v)
	return fmt.Sprintf("%d:%016x:%.12q", len(v), h.Sum64(), v)
}

// errName names err by the store's sentinel it matches.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range []struct {
		name string
		err  error
	}{
		{"ErrNotFound", feox.ErrNotFound}, {"ErrInvalidKey", feox.ErrInvalidKey}, {"ErrInvalidValue", feox.ErrInvalidValue},
		{"ErrInvalidRange", feox.ErrInvalidRange}, {"ErrNotCounter", feox.ErrNotCounter}, {"ErrOverflow", feox.ErrOverflow},
		{"ErrJSONPatch", feox.ErrJSONPatch}, {"ErrOutOfMemory", feox.ErrOutOfMemory}, {"ErrOlderTimestamp", feox.ErrOlderTimestamp},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "unexpected error: " + err.Error()
}

// metaRun is a store under test and how to reopen it.
type metaRun struct {
	st   *feox.Store
	cfg  metaConfig
	opts feox.Options
	// diskReads counts the values read back from disk, over every reopen.
	diskReads int64
}

// ttlClass classifies a TTL result: a key with an expiry reports at most the 3 hours the test
// sets.
func ttlClass(d time.Duration, err error) string {
	switch {
	case err != nil:
		return errName(err)
	case d == feox.NoExpiry:
		return "no expiry"
	case d > 0 && d <= 3*time.Hour:
		return "expires"
	}
	return fmt.Sprintf("bad TTL %v", d)
}

// do runs op and returns its result.
func (m *metaRun) do(op metaOp) (string, error) {
	st := m.st
	switch op.kind {
	case mInsert:
		c, err := st.Insert(op.key, op.value)
		return fmt.Sprint(c, errName(err)), nil
	case mInsertTTL:
		c, err := st.InsertWithTTL(op.key, op.value, op.ttl)
		return fmt.Sprint(c, errName(err)), nil
	case mDelete:
		return errName(st.Delete(op.key)), nil
	case mCAS:
		ok, err := st.CompareAndSwap(op.key, op.expected, op.value)
		return fmt.Sprint(ok, errName(err)), nil
	case mCASCurrent:
		cur, gerr := st.Get(op.key)
		ok, err := st.CompareAndSwap(op.key, cur, op.value)
		return fmt.Sprint(descValue(cur), errName(gerr), ok, errName(err)), nil
	case mInsertIfAbsent:
		ok, err := st.InsertIfAbsent(op.key, op.value)
		return fmt.Sprint(ok, errName(err)), nil
	case mIncrement:
		n, err := st.Increment(op.key, op.delta)
		return fmt.Sprint(n, errName(err)), nil
	case mJSONPatch:
		err := st.JSONPatch(op.key, op.patch)
		v, gerr := st.Get(op.key)
		return fmt.Sprint(errName(err), descValue(v), errName(gerr)), nil
	case mUpdateTTL:
		return errName(st.UpdateTTL(op.key, op.ttl)), nil
	case mPersist:
		return errName(st.Persist(op.key)), nil
	case mGet:
		v, err := st.Get(op.key)
		return fmt.Sprint(descValue(v), errName(err)), nil
	case mView:
		var got []byte
		err := st.View(op.key, func(v []byte) error { got = bytes.Clone(v); return nil })
		return fmt.Sprint(descValue(got), errName(err)), nil
	case mSize:
		n, err := st.Size(op.key)
		return fmt.Sprint(n, errName(err), st.Contains(op.key)), nil
	case mTTL:
		return ttlClass(st.TTL(op.key)), nil
	case mRange:
		kvs, err := st.Range(op.key, op.end, op.limit)
		var b strings.Builder
		for _, kv := range kvs {
			fmt.Fprintf(&b, "%q=%s ", kv.Key, descValue(kv.Value))
		}
		return fmt.Sprint(len(kvs), errName(err), b.String()), nil
	case mScan:
		var b strings.Builder
		n := 0
		for k, v := range st.Scan(op.key, op.end) {
			fmt.Fprintf(&b, "%q=%s ", k, descValue(v))
			if n++; op.limit >= 0 && n > op.limit {
				break
			}
		}
		return b.String(), nil
	case mFlush:
		if err := st.Flush(); err != nil {
			return "", fmt.Errorf("Flush: %w", err)
		}
		return "flushed", nil
	case mReopen:
		if !m.cfg.persistent {
			return "reopened", nil
		}
		m.diskReads += st.Stats().CacheMisses
		if err := st.Close(); err != nil {
			return "", fmt.Errorf("Close: %w", err)
		}
		var err error
		if m.st, err = openIO(m.opts); err != nil {
			return "", fmt.Errorf("reopen: %w", err)
		}
		return "reopened", nil
	case mLen:
		return fmt.Sprint(st.Len(), st.Stats().Keys), nil
	}
	return "", fmt.Errorf("unknown operation %d", op.kind)
}

// final describes the store's whole contents: every key, value and expiry class.
func (m *metaRun) final() []string {
	var out []string
	for k, v := range m.st.Scan(nil, nil) {
		out = append(out, fmt.Sprintf("%q=%s %s", k, descValue(v), ttlClass(m.st.TTL(k))))
	}
	return append(out, fmt.Sprintf("Len %d", m.st.Len()))
}

// runMeta runs ops under cfg and returns the result of every operation, then the final
// contents (after a last reopen for persistent configurations).
func runMeta(t *testing.T, cfg metaConfig, ops []metaOp) ([]string, error) {
	m := &metaRun{cfg: cfg, opts: cfg.opts}
	if cfg.persistent {
		m.opts.Path = filepath.Join(t.TempDir(), "meta.feox")
	}
	var err error
	if m.st, err = openIO(m.opts); err != nil {
		return nil, fmt.Errorf("Open: %w", err)
	}
	defer func() {
		if m.st != nil {
			m.st.Close()
		}
	}()
	out := make([]string, 0, len(ops)+64)
	for i, op := range ops {
		res, err := m.do(op)
		if err != nil {
			return out, fmt.Errorf("op %d %v: %w", i, op, err)
		}
		out = append(out, res)
	}
	out = append(out, m.final()...)
	if _, err := m.do(metaOp{kind: mReopen}); err != nil {
		return out, err
	}
	out = append(out, m.final()...)
	// The configurations that keep values out of memory must have read some back from disk,
	// or they did not test what they claim to.
	if (cfg.opts.DisableCache || cfg.opts.MaxMemory == metaTinyMemory) && m.diskReads+m.st.Stats().CacheMisses == 0 {
		return out, fmt.Errorf("no value was read back from disk (cache %d bytes, %d evictions)",
			m.st.Stats().CacheBytes, m.st.Stats().CacheEvictions)
	}
	return out, nil
}

// TestReliability_Metamorphic runs one random sequence under every configuration and compares
// the results with the memory-only reference.
func TestReliability_Metamorphic(t *testing.T) {
	seeds, n, all := 1, 1200, false
	if l := crashtest.Count("FEOX_META_LONG", 0); l > 0 {
		seeds, n, all = l, 3000, true
	}
	seed := crashtest.Seed(t, "FEOX_META_SEED")
	cfgs := metaConfigs(all)
	for s := range seeds {
		seed := seed + uint64(s)
		ops := genMetaOps(seed, n)
		want, err := runMeta(t, cfgs[0], ops)
		if err != nil {
			t.Fatalf("seed %d, reference %s: %v", seed, cfgs[0].name, err)
		}
		for _, cfg := range cfgs[1:] {
			got, err := runMeta(t, cfg, ops)
			if err != nil {
				t.Errorf("seed %d, config %s: %v", seed, cfg.name, err)
				continue
			}
			if i := firstDiff(got, want); i >= 0 {
				what := "final contents"
				if i < len(ops) {
					what = fmt.Sprintf("op %d %v", i, ops[i])
				}
				t.Errorf("seed %d, config %s: %s:\n got  %s\n want %s (%s)",
					seed, cfg.name, what, at(got, i), at(want, i), cfgs[0].name)
			}
		}
	}
	t.Logf("%d seed(s) from %d, %d operations, %d configurations", seeds, seed, n, len(cfgs))
}

// firstDiff returns the first index where a and b differ, or -1.
func firstDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) {
			return i
		}
	}
	return -1
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<none>"
}

// TestReliability_Metamorphic_DetectsDivergence checks that the comparison of the metamorphic
// test sees a difference: a run in which one write stores another value must not match.
func TestReliability_Metamorphic_DetectsDivergence(t *testing.T) {
	ops := genMetaOps(1, 300)
	i := 0
	for ops[i].kind != mInsert {
		i++
	}
	get := metaOp{kind: mGet, key: ops[i].key}
	ops = append(ops[:i+1], append([]metaOp{get}, ops[i+1:]...)...)
	want, err := runMeta(t, metaConfigs(false)[0], ops)
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]metaOp(nil), ops...)
	changed[i].value = append(bytes.Clone(changed[i].value), 'X')
	got, err := runMeta(t, metaConfigs(false)[0], changed)
	if err != nil {
		t.Fatal(err)
	}
	if d := firstDiff(got, want); d != i+1 {
		t.Fatalf("a changed write was first noticed at result %d, want %d (the Get after it)", d, i+1)
	}
}
