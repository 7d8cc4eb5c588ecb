package datafile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// The data file's tests drive it as a store would: testStore is the smallest store over a
// File, with a map for its index (the newest version of each key, deletions included) and a
// real write pipeline whose backends are the File's. Its values stay in memory, and Get reads
// every durable value back from the file and compares it with the one in memory.

// waitBound is the generous upper bound for "eventually" conditions: far above what any
// correct implementation needs, so that a loaded CI machine cannot make a test flaky.
const waitBound = 10 * time.Second

// testIOEnv names the environment variable that picks the I/O of the files the tests open:
// "uring", "pwrite", "auto" (the default), or "direct" (io_uring with O_DIRECT writes).
const testIOEnv = "FEOX_TEST_IO"

// errNotFound is testStore's answer for a key it does not hold.
var errNotFound = errors.New("test store: key not found")

// storeOptions configure a testStore.
type storeOptions struct {
	path          string
	fileSize      int64         // default 1 MiB: one segment
	shards        int           // default 1, so that a test knows where a record lands
	batchEntries  int           // default 1024
	flushInterval time.Duration // default 1 ms
	io            disk.IO       // default from testIOEnv
	direct        bool
	maxGarbage    float64 // Config.MaxGarbage (0: the default)
	// wrap and crash are the File's test seams (Config.Writers.Wrap and Config.Crash).
	wrap  func(shard int, w disk.Writer, f *disk.File) (disk.Writer, error)
	crash func(point string)
}

// version is one version of a key in a testStore: the Ref of its pipeline entry.
type version struct {
	key     string
	value   []byte
	ts, seq uint64
	pl      *Place
}

// Place implements Placed.
func (v *version) Place() *Place { return v.pl }

// testStore is a store over a File for the tests; see above.
type testStore struct {
	tb   testing.TB
	opts storeOptions
	f    *File
	pipe *stages.Pipeline

	mu    sync.Mutex // guards index and seq
	index map[string]*version
	seq   uint64
	// expected is what the last Open announced with Expect.
	expected int64
}

// openTestStore opens a testStore and closes it when the test ends, unless the test closed it.
func openTestStore(tb testing.TB, opts storeOptions) *testStore {
	tb.Helper()
	s, err := tryOpenTestStore(tb, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", opts.path, err)
	}
	return s
}

// tryOpenTestStore is openTestStore returning Open's error.
func tryOpenTestStore(tb testing.TB, opts storeOptions) (*testStore, error) {
	if opts.fileSize == 0 {
		opts.fileSize = 1 << 20
	}
	if opts.shards == 0 {
		opts.shards = 1
	}
	if opts.flushInterval == 0 {
		opts.flushInterval = time.Millisecond
	}
	if opts.batchEntries == 0 {
		opts.batchEntries = stages.DefaultBatchEntries
	}
	if opts.io == disk.IOAuto {
		switch v := os.Getenv(testIOEnv); v {
		case "uring":
			opts.io = disk.IOUring
		case "pwrite":
			opts.io = disk.IOPwrite
		case "direct":
			opts.io, opts.direct = disk.IOUring, true
		case "", "auto":
		default:
			tb.Fatalf("%s=%q: want uring, pwrite, direct or auto", testIOEnv, v)
		}
	}
	s := &testStore{tb: tb, opts: opts, index: make(map[string]*version)}
	pipe := stages.Options{Shards: opts.shards, BatchEntries: opts.batchEntries,
		FlushInterval: opts.flushInterval}
	cfg := Config{Path: opts.path, FileSize: opts.fileSize, Shards: opts.shards, DirectIO: opts.direct, MaxGarbage: opts.maxGarbage,
		Index: s, ShardOf: func(key string) int { return s.pipe.ShardOf(hashKey(key)) }, Crash: opts.crash}
	cfg.Writers = disk.WriterOptions{IO: opts.io, BatchEntries: opts.batchEntries, Wrap: opts.wrap}
	f, err := Open(cfg, s)
	if err != nil {
		return nil, err
	}
	s.f = f
	s.settle()
	pipe.Backend = f.Backend
	if s.pipe, err = stages.New(pipe); err != nil {
		f.Close()
		return nil, err
	}
	f.StartCleaner(s.pipe)
	if opts.direct && os.Getenv(testIOEnv) == "direct" && !f.file.Direct().On {
		s.close()
		tb.Fatalf("%s=direct, but the filesystem of %s does not allow O_DIRECT writes", testIOEnv, opts.path)
	}
	tb.Cleanup(func() { s.close() })
	return s, nil
}

// hashKey spreads keys over the shards (FNV-1a).
func hashKey(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(key) {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	return h
}

// Newest implements Index.
func (s *testStore) Newest(key string) *Place {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.index[key]; v != nil {
		return v.pl
	}
	return nil
}

// Build implements Rebuilder.
func (s *testStore) Build(f *disk.FoundPacked, pl *Place) any {
	r := &f.Record
	return &version{key: string(r.Key), value: bytes.Clone(r.Value), ts: r.TS, seq: r.Seq, pl: pl}
}

// Expect implements Rebuilder.
func (s *testStore) Expect(n int64) { s.expected = n }

// Add implements Rebuilder: the larger sequence number wins.
func (s *testStore) Add(a any) (winner, loser *Place) {
	v := a.(*version)
	s.seq = max(s.seq, v.seq)
	prev := s.index[v.key]
	switch {
	case prev == nil:
		s.index[v.key] = v
		return nil, nil
	case v.seq <= prev.seq:
		return prev.pl, v.pl
	}
	s.index[v.key] = v
	return v.pl, prev.pl
}

// settle settles the winners after Open, as the Rebuilder's contract asks.
func (s *testStore) settle() {
	for k, v := range s.index {
		if v.pl.Dead() {
			s.f.Keep(k, v.pl)
			delete(s.index, k)
			continue
		}
		s.f.Count(v.pl)
	}
}

// close closes the pipeline and the file; later calls do nothing.
func (s *testStore) close() error {
	if s.pipe == nil {
		return nil
	}
	s.f.StopCleaner()
	err := s.pipe.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.pipe = nil
	return err
}

// reopen closes s and opens its file again with the same options.
func (s *testStore) reopen() *testStore {
	s.tb.Helper()
	if err := s.close(); err != nil {
		s.tb.Fatalf("close: %v", err)
	}
	return openTestStore(s.tb, s.opts)
}

// write publishes a new version of key (a deletion when dead) and hands it to the key's shard,
// inside the store's lock, so that the versions of a key enter the pipeline in order. A full
// ring makes it wait outside the lock and try again.
func (s *testStore) write(key string, value []byte, dead bool) error {
	shard := s.pipe.ShardOf(hashKey(key))
	for {
		s.mu.Lock()
		old := s.index[key]
		if dead && (old == nil || old.pl.Dead()) {
			s.mu.Unlock()
			return errNotFound
		}
		var prev *Place
		if old != nil {
			prev = old.pl
		}
		s.seq++
		v := &version{key: key, value: bytes.Clone(value), ts: uint64(time.Now().UnixNano()), seq: s.seq,
			pl: NewPlace(prev, dead)}
		e := stages.Entry{Key: key, Value: v.value, TS: v.ts, Seq: v.seq, Kind: stages.Put,
			Fresh: old == nil || old.pl.Dead(), Ref: v}
		if dead {
			e.Kind, e.Value = stages.Delete, nil
		}
		ok := s.pipe.TryEnqueue(shard, e)
		if ok {
			s.index[key] = v
		}
		s.mu.Unlock()
		if ok {
			return nil
		}
		if err := s.pipe.WaitRoom(shard); err != nil {
			return err
		}
	}
}

// put sets key to value, failing the test on error.
func (s *testStore) put(key string, value []byte) {
	s.tb.Helper()
	if err := s.write(key, value, false); err != nil {
		s.tb.Fatalf("put %s: %v", key, err)
	}
}

// del deletes key; errNotFound when it is absent.
func (s *testStore) del(key string) error { return s.write(key, nil, true) }

// get returns key's value: read back from the file and checked against the one in memory once
// the version is durable. A version replaced (and its space reused) while it was read is read
// again as the key's newest.
func (s *testStore) get(key string) ([]byte, error) {
	for {
		s.mu.Lock()
		v := s.index[key]
		s.mu.Unlock()
		if v == nil || v.pl.Dead() {
			return nil, errNotFound
		}
		if _, durable := v.pl.Loc(); !durable {
			return v.value, nil
		}
		got, err := s.f.ReadValue(v.pl, Version{Key: key, TS: v.ts, Seq: v.seq, ValueLen: len(v.value)})
		if errors.Is(err, ErrCorrupted) && s.Newest(key) != v.pl {
			continue
		}
		if err == nil && !bytes.Equal(got, v.value) {
			err = fmt.Errorf("read back %.40q, holds %.40q", got, v.value)
		}
		return got, err
	}
}

// flush waits until every write so far is durable, failing the test on error.
func (s *testStore) flush() {
	s.tb.Helper()
	if err := s.pipe.Flush(); err != nil {
		s.tb.Fatalf("flush: %v", err)
	}
}

// len returns the number of present keys.
func (s *testStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.index {
		if !v.pl.Dead() {
			n++
		}
	}
	return n
}

// segmentOf returns the segment that holds the record of key's newest version, or the
// deletion record kept for key, or -1.
func (s *testStore) segmentOf(key string) int {
	f := s.f
	f.mu.Lock()
	pl := f.kept[key]
	f.mu.Unlock()
	if pl == nil {
		pl = s.Newest(key)
	}
	if pl == nil {
		return -1
	}
	if l, ok := pl.Loc(); ok {
		return int(segOf(l.off()))
	}
	return -1
}

// liveBytes returns the bytes the records of the present keys' newest versions take on disk,
// computed from the versions themselves.
func (s *testStore) liveBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, v := range s.index {
		if !v.pl.Dead() {
			n += int64(format.PackedSize(&format.Record{Kind: format.KindValue, Key: []byte(k), Value: v.value, Seq: v.seq}))
		}
	}
	return n
}

// keptDeletions returns the number of deletion records kept on disk for their ghosts.
func (f *File) keptDeletions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kept)
}

// sealHead closes the head segment: the next batch opens a new one, and the cleaner may pick
// the old one.
func (f *File) sealHead() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.head >= 0 {
		f.segs[f.head].state = segFull
		f.head = -1
	}
}

// cleanAll runs the cleaner over every written segment that holds garbage (the head excepted)
// until a round finds none, and returns the number of segments erased.
func (f *File) cleanAll() (int, error) {
	total := 0
	for range 16 {
		f.mu.Lock()
		var victims []uint32
		for i := range f.segs {
			sg := &f.segs[i]
			if sg.state == segFull && sg.span > 0 && sg.inflight == 0 && sg.used > sg.live {
				sg.state = segCleaning
				victims = append(victims, uint32(i))
			}
		}
		f.mu.Unlock()
		if len(victims) == 0 {
			return total, nil
		}
		before := f.cleaned.Load()
		if err := f.clean(victims); err != nil {
			return total, err
		}
		total += int(f.cleaned.Load() - before)
	}
	return total, nil
}

// cleanSegments cleans exactly the given segments, which must be written and not the head.
func (f *File) cleanSegments(segs ...int) error {
	f.mu.Lock()
	victims := make([]uint32, 0, len(segs))
	for _, i := range segs {
		if sg := &f.segs[i]; sg.state != segFull || sg.inflight != 0 {
			f.mu.Unlock()
			return fmt.Errorf("segment %d is not a written, settled segment (state %d)", i, sg.state)
		}
		f.segs[i].state = segCleaning
		victims = append(victims, uint32(i))
	}
	f.mu.Unlock()
	return f.clean(victims)
}

// pauseCleaner waits for the cleaner's round in progress, if any, and keeps it from starting
// another until the returned function is called: with no writes either, the file then stays
// still (a copy of it is a consistent snapshot).
func (f *File) pauseCleaner() (resume func()) {
	f.cleanMu.Lock()
	f.eraseMu.Lock()
	return func() {
		f.eraseMu.Unlock()
		f.cleanMu.Unlock()
	}
}
