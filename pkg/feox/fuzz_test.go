package feox_test

// The fuzz targets of package feox, with seed corpora in testdata/fuzz:
//   - FuzzStoreOps: a sequence of operations of every kind on a few keys, decoded from the
//     input, on a memory-only store, each result checked against the sequential model of
//     TestStore_Model (model_test.go).
//   - FuzzStoreOpsPersistent: the same operations and model on a persistent store, with
//     reopens between operations.
//   - FuzzRecoverFile: Open of a data file the fuzzer damaged (bytes overwritten, flipped,
//     zeroed or copied elsewhere, the file cut and garbage appended) must never panic or hang
//     and must either fail with ErrCorrupted (or errors.ErrUnsupported for a newer or an
//     earlier format version), leaving the file untouched, or recover a store holding only
//     written values, which keeps its contents across a Close and a second Open.
// The header, frame and record decoders have their own fuzz targets in internal/format
// (FuzzDecodeHeader, FuzzPickHeader, FuzzDecodeFrameHeader, FuzzDecodePackedRecord), and the
// recovery scan one in internal/disk (FuzzScanFrames).
//
// Run one with: go test -run '^$' -fuzz '^FuzzRecoverFile$' -fuzztime 60s -parallel 1 ./pkg/feox/

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// fuzzMaxInput bounds the operations of one fuzz input (each takes a few bytes).
const fuzzMaxInput = 1024

// FuzzStoreOps decodes its input into a sequence of operations of every kind on a few keys,
// runs them on a fresh store from one goroutine and checks every result against the
// sequential model of TestStore_Model. Each operation takes its choices from the next input
// bytes: key, operation, value, then the operation's own parameters.
func FuzzStoreOps(f *testing.F) {
	// One seed per operation kind (the second byte selects it), on varying keys and values.
	for op := range 19 {
		f.Add([]byte{byte(op), byte(op), byte(op * 3), 1, 2, 3, 4, 5})
	}
	// Sequences that build state and then probe it.
	f.Add([]byte{
		0, 0, 12, // Insert counter(0)
		0, 13, 0, 0, // Increment +1
		0, 13, 0, 5, // Increment by MaxInt64: overflow
		0, 12, 0, 1, 0, // CompareAndSwap from the current value to "a"
		0, 5, 0, // Get
		0, 18, 3, // Range with limit 4
	})
	f.Add([]byte{
		1, 3, 1, 1, 5, // InsertWithTimestamp(ts 6)
		1, 3, 2, 1, 1, 1, // InsertWithTimestamp(ts 4): older
		1, 11, 0, 1, 1, 6, // DeleteWithTimestamp(ts 9)
		1, 3, 3, 1, 0, // InsertWithTimestamp(ts 1) after the delete
		1, 16, 0, // TTL
	})
	f.Add([]byte{
		2, 2, 5, 2, // InsertWithTTL short
		2, 9, 0, // Contains after the expiry
		2, 13, 0, 0, // Increment restarts
		3, 2, 6, 3, // InsertWithTTL 1h
		3, 14, 0, 2, // UpdateTTL short
		3, 15, 0, // Persist of the expired key
		3, 17, 0, 1, // JSONPatch of the expired key
	})
	f.Add([]byte{
		4, 0, 5, // Insert {"a":1}
		4, 17, 0, 1, // JSONPatch add /a
		4, 17, 0, 0, // JSONPatch replace root
		4, 17, 0, 2, // JSONPatch test 5 (fails)
		5, 0, 7, // Insert [1,2]
		5, 17, 0, 3, // JSONPatch remove /0
		5, 17, 0, 4, // malformed patch
		5, 7, 0, // View
		5, 8, 0, // Size
	})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i * 7)
	}
	f.Add(all)

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxInput {
			data = data[:fuzzMaxInput]
		}
		s, err := openIO(feox.Options{TTLSweepInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := &byteChooser{data: data}
		r := newModelRunner(s, newModel(), "f/", c, 100*time.Microsecond, 100*time.Microsecond)
		for !c.done() {
			if err := r.step(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzStoreOpsPersistent runs FuzzStoreOps's operations on a persistent store and checks them
// against the same model, with reopens (a Close and an Open) between operations, after each
// of which every key is read back. The first input bytes choose the shard count, the batch
// size and whether values are kept in memory; then, before each operation, a byte that is 0
// modulo 12 reopens the store instead.
func FuzzStoreOpsPersistent(f *testing.F) {
	for op := range 19 {
		f.Add([]byte{byte(op), 3, 1, byte(op), byte(op * 3), 1, 2, 0, 1, 5, 6})
	}
	f.Add([]byte{
		1, 0, 1, // shards 2, batch 1, cache
		1, 0, 0, 12, // Insert counter(0)
		0,              // reopen
		1, 0, 13, 0, 0, // Increment +1
		0,                // reopen
		1, 1, 3, 2, 1, 5, // InsertWithTimestamp(ts 6)
		0,                   // reopen
		1, 1, 3, 2, 1, 1, 1, // InsertWithTimestamp(ts 4): older
		1, 1, 11, 0, 1, 1, 6, // DeleteWithTimestamp(ts 9)
		0,                // reopen
		1, 1, 3, 3, 1, 0, // InsertWithTimestamp(ts 1) after the delete
		1, 2, 2, 6, 3, // InsertWithTTL 1h
		0,           // reopen
		1, 2, 16, 0, // TTL
		1, 0, 18, 3, // Range
	})
	f.Add([]byte{2, 7, 0, 1, 4, 0, 5, 0, 1, 4, 17, 0, 1, 0, 1, 5, 17, 0, 3, 0, 1, 5, 5, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		if len(data) > fuzzMaxInput/2 {
			data = data[:fuzzMaxInput/2]
		}
		opts := feox.Options{Path: filepath.Join(t.TempDir(), "ops.feox"), FileSize: 1 << 20,
			TTLSweepInterval: time.Millisecond, DisableCache: data[2]%2 == 1,
			Pipeline: feox.PipelineOptions{Shards: 1 + int(data[0]%3), BatchEntries: []int{1, 4, 1024}[data[1]%3],
				FlushInterval: time.Millisecond}}
		s, err := openIO(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close() }()
		c := &byteChooser{data: data[3:]}
		r := newModelRunner(s, newModel(), "p/", c, 100*time.Microsecond, 100*time.Microsecond)
		reopen := func() {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if s, err = openIO(opts); err != nil {
				t.Fatalf("reopen: %v", err)
			}
			r.s = s
			r.note("reopen")
			for _, k := range r.keys {
				r.settle(k)
				got, err := s.Get([]byte(k))
				if err := r.wantRead(k, r.m.get(k), got, err); err != nil {
					t.Fatalf("after reopen: %v", err)
				}
			}
		}
		for !c.done() {
			if c.intn(12) == 0 {
				reopen()
				continue
			}
			if err := r.step(); err != nil {
				t.Fatal(err)
			}
		}
		reopen()
	})
}

const (
	// fuzzEditSpan is the part of the file the edits address: the headers and the records of
	// the base store, which all lie in its first 64 KiB.
	fuzzEditSpan = 64 << 10
	// fuzzMaxTail bounds the bytes appended to the file.
	fuzzMaxTail = 64 << 10
)

// fuzzBase writes the base store of FuzzRecoverFile: one shard whose batches close only at
// the explicit Flushes, so that the layout is the same in every run. It returns the file's
// bytes and every value written for each key.
func fuzzBase(tb testing.TB, dir string) ([]byte, map[string]map[string]bool) {
	path := filepath.Join(dir, "base.feox")
	st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20, TTLSweepInterval: -1,
		Pipeline: feox.PipelineOptions{Shards: 1, BatchEntries: 1 << 20, FlushInterval: time.Hour}})
	if err != nil {
		tb.Fatal(err)
	}
	written := map[string]map[string]bool{}
	put := func(k, v string, ttl time.Duration) {
		if _, err := st.InsertWithTTL([]byte(k), []byte(v), ttl); err != nil {
			tb.Fatal(err)
		}
		if written[k] == nil {
			written[k] = map[string]bool{}
		}
		written[k][v] = true
	}
	flush := func() {
		if err := st.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 30 {
		put(fmt.Sprintf("key-%02d", i), fmt.Sprintf("first %d %s", i, strings.Repeat("a", i*13)), 0)
	}
	flush()
	for i := range 10 {
		put(fmt.Sprintf("key-%02d", i), fmt.Sprintf("second %d", i), 0)
	}
	for i := 10; i < 15; i++ {
		if err := st.Delete([]byte(fmt.Sprintf("key-%02d", i))); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 15; i < 20; i++ {
		put(fmt.Sprintf("key-%02d", i), fmt.Sprintf("expiring %d", i), time.Hour)
	}
	flush()
	put("big", strings.Repeat("B", 3000), 0)
	put("counter", string(counter(41)), 0)
	flush()
	put("key-00", "third 0", 0)
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data, written
}

// applyEdits damages data as edits, cut and tail say and returns the result. edits is a list
// of operations: an opcode byte, a 2-byte little-endian offset into the first fuzzEditSpan
// bytes and a length byte, then for overwrite and xor that many bytes: 0 overwrites, 1 xors,
// 2 zeroes length*16 bytes, 3 copies length*16 bytes from a second 2-byte offset. A non-zero
// cut truncates the file to cut modulo its length+1; tail is appended.
func applyEdits(base, edits []byte, cut uint32, tail []byte) []byte {
	data := bytes.Clone(base)
	span := min(len(data), fuzzEditSpan)
	for len(edits) >= 4 && span > 0 {
		op, off, n := edits[0]%4, int(binary.LittleEndian.Uint16(edits[1:]))%span, int(edits[3])
		edits = edits[4:]
		switch op {
		case 0, 1:
			n = min(n, len(edits))
			for i := range n {
				if off+i < len(data) {
					if op == 0 {
						data[off+i] = edits[i]
					} else {
						data[off+i] ^= edits[i]
					}
				}
			}
			edits = edits[n:]
		case 2:
			clear(data[off:min(len(data), off+n*16)])
		case 3:
			if len(edits) < 2 {
				return data
			}
			src := int(binary.LittleEndian.Uint16(edits)) % span
			edits = edits[2:]
			copy(data[off:], data[src:min(len(data), src+n*16)])
		}
	}
	if cut != 0 {
		data = data[:int(cut%uint32(len(data)+1))]
	}
	return append(data, tail[:min(len(tail), fuzzMaxTail)]...)
}

// baseFrames returns the file offsets of the frames in data, a data file, in order.
func baseFrames(tb testing.TB, data []byte) []int {
	hdr, err := format.PickHeader(data[:format.HeaderSize], data[format.HeaderSize:format.DataStart])
	if err != nil {
		tb.Fatal(err)
	}
	var offs []int
	for pos := format.DataStart; pos+format.FrameHeaderSize <= len(data); {
		h, err := format.DecodeFrameHeader(data[pos:], uint64(pos), hdr.Salt)
		if err != nil {
			pos += format.FrameAlign
			continue
		}
		offs = append(offs, pos)
		pos += (h.Length + format.FrameAlign - 1) / format.FrameAlign * format.FrameAlign
	}
	if len(offs) < 2 || offs[len(offs)-1] >= fuzzEditSpan {
		tb.Fatalf("the base store's frames are at %v: want two or more, within the first %d bytes", offs, fuzzEditSpan)
	}
	return offs
}

// FuzzRecoverFile opens damaged copies of a small store; see the file comment.
func FuzzRecoverFile(f *testing.F) {
	base, written := fuzzBase(f, f.TempDir())
	le16 := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	edit := func(op byte, off, n int, rest ...byte) []byte {
		return append(append(append([]byte{op}, le16(off)...), byte(n)), rest...)
	}
	ds := format.DataStart
	fr := baseFrames(f, base) // the frames of the base store, the first at ds
	last := fr[len(fr)-1]
	f.Add([]byte{}, uint32(0), []byte{})                                                    // intact
	f.Add(edit(1, 0, 1, 0xff), uint32(0), []byte{})                                         // header A's magic
	f.Add(append(edit(2, 0, 255), edit(2, format.HeaderSize, 255)...), uint32(0), []byte{}) // both headers zeroed
	f.Add(edit(1, 8, 1, 1), uint32(0), []byte{})                                            // header A's version
	f.Add(edit(1, fr[0]+format.FrameHeaderSize+20, 1, 0x40), uint32(0), []byte{})           // inside the first record
	f.Add(edit(1, fr[1]+24, 1, 1), uint32(0), []byte{})                                     // a frame header's checksum
	f.Add(edit(1, fr[0]+format.FrameHeaderSize, 1, 1), uint32(0), []byte{})                 // a record's checksum
	f.Add(edit(1, fr[1]+16, 1, 0x10), uint32(0), []byte{})                                  // a batch number
	f.Add(edit(1, fr[0]+8, 1, 8), uint32(0), []byte{})                                      // a frame's length
	f.Add(edit(2, fr[0], 2), uint32(0), []byte{})                                           // the first frame's header zeroed
	f.Add(edit(2, ds, 32), uint32(0), []byte{})                                             // the first records erased
	f.Add(append(edit(3, ds+4096, 32), le16(ds)...), uint32(0), []byte{})                   // a frame copied elsewhere
	f.Add(append(edit(3, fr[1], 32), le16(fr[0])...), uint32(0), []byte{})                  // a frame copied over the next
	f.Add([]byte{}, uint32(last+40), []byte{})                                              // cut inside a frame
	f.Add([]byte{}, uint32(ds-1), []byte{})                                                 // cut before the data area
	f.Add([]byte{}, uint32(100), []byte("garbage after a cut"))                             // cut in the header, garbage
	f.Add([]byte{}, uint32(0), bytes.Repeat([]byte("FXF2"), 300))                           // magic-looking tail
	f.Add(edit(0, fr[0]+1024, 8, []byte("FXF2\x00\x00\x00\x00")...), uint32(0), []byte{})   // a forged header start in a frame

	// One file per worker process, rewritten by each input.
	path := filepath.Join(f.TempDir(), "fuzz.feox")
	f.Fuzz(func(t *testing.T, edits []byte, cut uint32, tail []byte) {
		data := applyEdits(base, edits, cut, tail)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := openIO(feox.Options{Path: path, TTLSweepInterval: -1})
		if err != nil {
			if !errors.Is(err, feox.ErrCorrupted) && !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("Open = %v, want success, ErrCorrupted or errors.ErrUnsupported", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Fatal("a refused file was changed")
			}
			return
		}
		first := map[string]string{}
		for k, v := range st.Scan(nil, nil) {
			if !written[string(k)][string(v)] {
				st.Close()
				t.Fatalf("recovered %q = %.30q: never written", k, v)
			}
			first[string(k)] = string(v)
		}
		for k := range written {
			v, err := st.Get([]byte(k))
			switch {
			case err == nil && first[k] != string(v):
				st.Close()
				t.Fatalf("Get(%s) = %.30q, Scan gave %.30q", k, v, first[k])
			case err != nil && !errors.Is(err, feox.ErrNotFound):
				st.Close()
				t.Fatalf("Get(%s) = %v", k, err)
			}
		}
		if _, err := st.Insert([]byte("after"), []byte("recovery")); err != nil {
			st.Close()
			t.Fatal(err)
		}
		first["after"] = "recovery"
		if err := st.Close(); err != nil {
			t.Fatalf("Close of a recovered store: %v", err)
		}
		st, err = openIO(feox.Options{Path: path, TTLSweepInterval: -1})
		if err != nil {
			t.Fatalf("second Open of a file that opened once: %v", err)
		}
		defer st.Close()
		if d := diffContents(storeContents(st), first); d != "" {
			t.Fatalf("second Open differs from the first: %s", d)
		}
	})
}
