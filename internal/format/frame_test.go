package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

const testFrameSalt = 0x0123456789abcdef

// frameRecords are records of every shape: small and large values, a deletion, an expiry, a
// long key, a sequence number that needs many varint bytes.
func frameRecords() []Record {
	return []Record{
		{Kind: KindValue, Key: bytes.Repeat([]byte{'k'}, 16), Value: bytes.Repeat([]byte{'v'}, 100), TS: 1, Seq: 7},
		{Kind: KindDelete, Key: []byte("gone"), TS: 2, Seq: 1 << 40},
		{Kind: KindValue, Key: []byte("ttl"), Value: []byte("x"), TS: 3, Seq: 3, Expiry: 1<<62 + 5},
		{Kind: KindValue, Key: []byte("empty"), TS: 4, Seq: 4},
		{Kind: KindValue, Key: bytes.Repeat([]byte{'K'}, MaxKeyLen), Value: bytes.Repeat([]byte{'V'}, 70000), TS: 5, Seq: 1<<64 - 1},
	}
}

// encodeFrame encodes recs as one frame at off and returns the frame and each record's offset.
func encodeFrame(t testing.TB, off uint64, recs []Record, align int) ([]byte, []uint64) {
	t.Helper()
	var w FrameWriter
	w.Begin(nil, off, testFrameSalt, 99)
	offs := make([]uint64, len(recs))
	for i := range recs {
		o, size := w.Add(&recs[i])
		if size != PackedSize(&recs[i]) || o%RecordAlign != 0 {
			t.Fatalf("record %d: offset %d, size %d, want aligned and %d", i, o, size, PackedSize(&recs[i]))
		}
		offs[i] = o
	}
	return w.Finish(align), offs
}

// TestFrame_RoundTrip ensures every record of a frame decodes at the offset Add returned, with
// the fields it was written with, that the records tile the frame, and that the frame is
// padded with zeros to the alignment asked for.
func TestFrame_RoundTrip(t *testing.T) {
	for _, align := range []int{FrameAlign, 4096} {
		const off = 3 * FrameAlign
		recs := frameRecords()
		buf, offs := encodeFrame(t, off, recs, align)
		if len(buf)%align != 0 {
			t.Fatalf("frame of %d bytes, not a multiple of %d", len(buf), align)
		}
		h, err := DecodeFrameHeader(buf, off, testFrameSalt)
		if err != nil {
			t.Fatal(err)
		}
		if h.Count != len(recs) || h.Batch != 99 {
			t.Fatalf("header %+v, want %d records of batch 99", h, len(recs))
		}
		if !bytes.Equal(buf[h.Length:], make([]byte, len(buf)-h.Length)) {
			t.Error("the padding after the last record is not zero")
		}
		at := FrameHeaderSize
		for i, want := range recs {
			if uint64(at)+off != offs[i] {
				t.Fatalf("record %d at %d, Add said %d: records do not tile the frame", i, uint64(at)+off, offs[i])
			}
			got, err := DecodePackedRecord(buf[at:h.Length], offs[i], testFrameSalt)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if got.Kind != want.Kind || got.TS != want.TS || got.Seq != want.Seq || got.Expiry != want.Expiry ||
				!bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) {
				t.Fatalf("record %d = %+v, want %+v", i, got, want)
			}
			peek, err := PeekPackedRecord(buf[at : at+len(want.Key)+32])
			if err != nil || !bytes.Equal(peek.Key, want.Key) || peek.Size != got.Size || peek.Seq != want.Seq {
				t.Fatalf("record %d: peek %+v, %v", i, peek, err)
			}
			at += got.Size
		}
		if at != h.Length {
			t.Fatalf("records end at %d, the frame at %d", at, h.Length)
		}
	}
}

// TestPackedSize checks the size that sets the store's bytes per record: a 16-byte key and a
// 100-byte value with a sequence number under 2^21 and no expiry take 136 bytes.
func TestPackedSize(t *testing.T) {
	r := Record{Kind: KindValue, Key: make([]byte, 16), Value: make([]byte, 100), Seq: 1<<21 - 1, TS: 1 << 60}
	if n := PackedSize(&r); n != 136 {
		t.Errorf("PackedSize = %d, want 136", n)
	}
}

// TestFrame_BoundToOffsetAndSalt ensures a frame, or one of its records, read at another
// offset or with another salt does not verify, nor does a copy of a valid frame embedded in a
// value, at the position where it lies.
func TestFrame_BoundToOffsetAndSalt(t *testing.T) {
	recs := frameRecords()[:2]
	buf, offs := encodeFrame(t, 0, recs, FrameAlign)
	if _, err := DecodeFrameHeader(buf, FrameAlign, testFrameSalt); !errors.Is(err, ErrNoFrame) {
		t.Errorf("frame at another offset: %v, want ErrNoFrame", err)
	}
	if _, err := DecodeFrameHeader(buf, 0, testFrameSalt+1); !errors.Is(err, ErrNoFrame) {
		t.Errorf("frame with another salt: %v, want ErrNoFrame", err)
	}
	rb := buf[offs[0]:]
	if _, err := DecodePackedRecord(rb, offs[0]+RecordAlign, testFrameSalt); !errors.Is(err, ErrTorn) {
		t.Errorf("record at another offset: %v, want ErrTorn", err)
	}
	if _, err := DecodePackedRecord(rb, offs[0], testFrameSalt^1); !errors.Is(err, ErrTorn) {
		t.Errorf("record with another salt: %v, want ErrTorn", err)
	}
	// A value that holds a whole valid frame (of another offset), written at a frame boundary.
	embedded := append(make([]byte, FrameAlign-64), buf...)
	outer, _ := encodeFrame(t, 0, []Record{{Kind: KindValue, Key: []byte("k"), Value: embedded, TS: 1, Seq: 1}}, FrameAlign)
	inner := bytes.Index(outer, buf[:FrameHeaderSize])
	if inner < 0 {
		t.Fatal("the embedded frame is not in the outer one")
	}
	if _, err := DecodeFrameHeader(outer[inner:], uint64(inner), testFrameSalt); !errors.Is(err, ErrNoFrame) {
		t.Errorf("a frame embedded in a value verifies where it lies: %v", err)
	}
}

// TestPackedRecord_Damage ensures damaged records are refused with the right error: a flipped
// byte anywhere in the covered bytes is ErrTorn, a cut one ErrTruncated, impossible fields and
// non-zero padding ErrNoRecord.
func TestPackedRecord_Damage(t *testing.T) {
	r := Record{Kind: KindValue, Key: []byte("key"), Value: []byte("value!"), TS: 9, Seq: 300}
	buf, offs := encodeFrame(t, 0, []Record{r}, FrameAlign)
	rec := buf[offs[0] : offs[0]+uint64(PackedSize(&r))]
	used := packedFixed + 3 + 3 + 6 + 1 // seq 300 takes two varint bytes
	for i := pkTS; i < used; i++ {
		b := bytes.Clone(rec)
		b[i] ^= 0x40
		if _, err := DecodePackedRecord(b, offs[0], testFrameSalt); err == nil {
			t.Errorf("byte %d flipped: the record still verifies", i)
		}
	}
	for _, c := range []struct {
		name string
		mod  func(b []byte) []byte
		want error
	}{
		{"cut", func(b []byte) []byte { return b[:len(b)-3] }, ErrTruncated},
		{"kind 3", func(b []byte) []byte { b[pkKind] = 3; return b }, ErrNoRecord},
		{"unknown flag", func(b []byte) []byte { b[pkFlags] = 2; return b }, ErrNoRecord},
		{"padding not zero", func(b []byte) []byte { b[len(b)-1] = 1; return b }, ErrNoRecord},
		{"checksum", func(b []byte) []byte { b[pkCRC] ^= 1; return b }, ErrTorn},
		{"key length not minimal", func(b []byte) []byte {
			return append(append(b[:packedFixed:packedFixed], 0x83, 0x00), b[packedFixed+1:]...)
		}, ErrNoRecord},
		{"zero key length", func(b []byte) []byte { b[packedFixed] = 0; return b }, ErrNoRecord},
	} {
		if _, err := DecodePackedRecord(c.mod(bytes.Clone(rec)), offs[0], testFrameSalt); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestFrameHeader_Fields ensures a header with any field out of range is refused even when its
// checksum is recomputed to match.
func TestFrameHeader_Fields(t *testing.T) {
	buf, _ := encodeFrame(t, 0, frameRecords()[:1], FrameAlign)
	for _, c := range []struct {
		name string
		at   int
		v    uint32
	}{
		{"flags", frmFlags, 1},
		{"reserved", frmReserve2, 1},
		{"no record", frmCount, 0},
		{"length not aligned", frmLength, FrameHeaderSize + 137},
		{"length too short for the count", frmLength, FrameHeaderSize},
		{"length past the limit", frmLength, MaxFrameLen + 8},
	} {
		b := bytes.Clone(buf)
		binary.LittleEndian.PutUint32(b[c.at:], c.v)
		binary.LittleEndian.PutUint32(b[frmCRC:], frameCRC(b, 0, testFrameSalt, castagnoli()))
		if _, err := DecodeFrameHeader(b, 0, testFrameSalt); !errors.Is(err, ErrNoFrame) {
			t.Errorf("%s: %v, want ErrNoFrame", c.name, err)
		}
	}
}

// TestFrame_EveryByteFlipped ensures that changing any single byte of a frame's header makes
// it no frame, and that changing any byte of a record, its padding included, makes that record
// fail to decode, while the bytes after the frame's length, which nothing covers, are ignored.
func TestFrame_EveryByteFlipped(t *testing.T) {
	const off = 5 * FrameAlign
	recs := frameRecords()[:4]
	orig, offs := encodeFrame(t, off, recs, FrameAlign)
	h, err := DecodeFrameHeader(orig, off, testFrameSalt)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(orig)
	for _, mask := range []byte{0xFF, 0x01, 0x80} {
		for i := range b {
			b[i] ^= mask
			_, herr := DecodeFrameHeader(b, off, testFrameSalt)
			switch {
			case i < FrameHeaderSize:
				if herr != ErrNoFrame {
					t.Fatalf("header byte %d ^ %#x: DecodeFrameHeader error %v, want ErrNoFrame", i, mask, herr)
				}
			case i < h.Length:
				r := 0
				for r+1 < len(offs) && offs[r+1]-off <= uint64(i) {
					r++
				}
				start := offs[r] - off
				if _, err := DecodePackedRecord(b[start:h.Length], offs[r], testFrameSalt); herr != nil || err == nil {
					t.Fatalf("byte %d ^ %#x (record %d): header error %v, record error %v; want nil and an error", i, mask, r, herr, err)
				}
			default:
				if herr != nil {
					t.Fatalf("padding byte %d ^ %#x: %v", i, mask, herr)
				}
			}
			b[i] ^= mask
		}
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("test bug: buffer not restored")
	}
}

// TestPeekPackedRecord_Errors ensures PeekPackedRecord refuses impossible fields with ErrNoRecord
// and bytes that end before the key does with ErrTruncated, and needs neither the value nor a
// valid checksum.
func TestPeekPackedRecord_Errors(t *testing.T) {
	r := Record{Kind: KindValue, Key: []byte("some key"), Value: bytes.Repeat([]byte("v"), 300), TS: 1, Seq: 2}
	buf, offs := encodeFrame(t, 0, []Record{r}, FrameAlign)
	rec := buf[offs[0]:]
	keyEnd := packedFixed + 1 + 2 + 1 + len(r.Key)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"nil", nil, ErrTruncated},
		{"fixed part only", rec[:packedFixed], ErrTruncated},
		{"key cut", rec[:keyEnd-1], ErrTruncated},
		{"key whole, value cut", rec[:keyEnd], nil},
		{"checksum wrong", append([]byte{0, 0, 0, 0}, rec[4:keyEnd]...), nil},
		{"kind 0", append(append([]byte(nil), rec[:pkKind]...), append([]byte{0}, rec[pkKind+1:keyEnd]...)...), ErrNoRecord},
		{"zeros", make([]byte, 64), ErrNoRecord},
	} {
		got, err := PeekPackedRecord(c.b)
		if !errors.Is(err, c.want) || (c.want != nil && err != c.want) {
			t.Errorf("%s: PeekPackedRecord error %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && (!bytes.Equal(got.Key, r.Key) || got.Value != nil || got.Size != PackedSize(&r) || got.Seq != r.Seq) {
			t.Errorf("%s: PeekPackedRecord = %+v, want key %q, no value, size %d", c.name, got, r.Key, PackedSize(&r))
		}
	}
}

// TestErrors ensures the decoding errors wrap ErrCorrupted and the version errors do not.
func TestErrors(t *testing.T) {
	for _, err := range []error{ErrNoFrame, ErrNoRecord, ErrTorn, ErrTruncated} {
		if !errors.Is(err, ErrCorrupted) {
			t.Errorf("%v does not wrap ErrCorrupted", err)
		}
	}
	if errors.Is(ErrNewerVersion, ErrCorrupted) || errors.Is(ErrOlderVersion, ErrCorrupted) {
		t.Error("ErrNewerVersion and ErrOlderVersion must not wrap ErrCorrupted")
	}
}

// TestFrameWriter_Panics ensures records that could not be decoded again are refused rather
// than written, and so are a frame at an unaligned offset, an empty frame and an alignment that
// is not a multiple of FrameAlign.
func TestFrameWriter_Panics(t *testing.T) {
	good := Record{Kind: KindValue, Key: []byte("k")}
	tests := []struct {
		name string
		do   func(w *FrameWriter)
	}{
		{"empty key", func(w *FrameWriter) { w.Add(&Record{Kind: KindValue}) }},
		{"key too long", func(w *FrameWriter) { w.Add(&Record{Kind: KindValue, Key: make([]byte, MaxKeyLen+1)}) }},
		{"value too long", func(w *FrameWriter) {
			w.Add(&Record{Kind: KindValue, Key: []byte("k"), Value: make([]byte, MaxValueLen+1)})
		}},
		{"kind 0", func(w *FrameWriter) { w.Add(&Record{Key: []byte("k")}) }},
		{"kind 3", func(w *FrameWriter) { w.Add(&Record{Kind: 3, Key: []byte("k")}) }},
		{"deletion with value", func(w *FrameWriter) { w.Add(&Record{Kind: KindDelete, Key: []byte("k"), Value: []byte("v")}) }},
		{"unaligned offset", func(w *FrameWriter) { w.Begin(nil, FrameAlign+8, 0, 1) }},
		{"no record", func(w *FrameWriter) { w.Finish(FrameAlign) }},
		{"alignment", func(w *FrameWriter) { w.Add(&good); w.Finish(FrameAlign / 2) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			var w FrameWriter
			w.Begin(nil, 0, 0, 1)
			tt.do(&w)
		}()
	}
}

// TestFrame_NoAllocations ensures encoding a frame into a buffer with room, and decoding its
// header and records, allocate nothing, nor does looking at bytes that hold no frame.
func TestFrame_NoAllocations(t *testing.T) {
	recs := frameRecords()[:4]
	buf := make([]byte, 0, 4096)
	zero := make([]byte, FrameAlign)
	allocs := testing.AllocsPerRun(100, func() {
		var w FrameWriter
		w.Begin(buf[:0], FrameAlign, testFrameSalt, 7)
		for i := range recs {
			w.Add(&recs[i])
		}
		b := w.Finish(FrameAlign)
		h, err := DecodeFrameHeader(b, FrameAlign, testFrameSalt)
		if err != nil {
			panic(err)
		}
		for pos := FrameHeaderSize; pos < h.Length; {
			if _, err := PeekPackedRecord(b[pos:h.Length]); err != nil {
				panic(err)
			}
			r, err := DecodePackedRecord(b[pos:h.Length], FrameAlign+uint64(pos), testFrameSalt)
			if err != nil {
				panic(err)
			}
			pos += r.Size
		}
		if _, err := DecodeFrameHeader(zero, FrameAlign, testFrameSalt); err != ErrNoFrame {
			panic(err)
		}
		if _, err := DecodeFrameHeader(b, 2*FrameAlign, testFrameSalt); err != ErrNoFrame {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Errorf("encode and decode allocated %v times per run, want 0", allocs)
	}
}

// TestKind_String ensures kinds print readably.
func TestKind_String(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{{KindValue, "value"}, {KindDelete, "delete"}, {0, "kind(0)"}, {255, "kind(255)"}}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}

// FuzzDecodeFrameHeader decodes arbitrary bytes as a frame header at offset 0, with its
// checksum first made to match when fix is set, so that the fuzzer reaches the checks behind
// it: never a panic, only ErrNoFrame, and a header it accepts has a count and a length the
// writer could have produced and does not verify at the next FrameAlign boundary or with
// another salt.
func FuzzDecodeFrameHeader(f *testing.F) {
	buf, _ := encodeFrame(f, 0, frameRecords()[:2], FrameAlign)
	f.Add(buf[:FrameHeaderSize], false)
	f.Add(buf[:FrameHeaderSize], true)
	f.Add(make([]byte, FrameHeaderSize), true)
	f.Add([]byte("FXF2\x00\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00"), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= FrameHeaderSize {
			b = bytes.Clone(b)
			binary.LittleEndian.PutUint32(b[frmCRC:], frameCRC(b, 0, testFrameSalt, castagnoli()))
		}
		h, err := DecodeFrameHeader(b, 0, testFrameSalt)
		if err != nil {
			if err != ErrNoFrame {
				t.Fatalf("DecodeFrameHeader error %v, want ErrNoFrame", err)
			}
			return
		}
		if h.Count < 1 || h.Length < FrameHeaderSize+h.Count*minPackedSize || h.Length%RecordAlign != 0 || h.Length > MaxFrameLen {
			t.Fatalf("accepted %+v", h)
		}
		if _, err := DecodeFrameHeader(b, FrameAlign, testFrameSalt); err != ErrNoFrame {
			t.Fatalf("header verifies at offset %d too: %v", FrameAlign, err)
		}
		if _, err := DecodeFrameHeader(b, 0, testFrameSalt^1<<63); err != ErrNoFrame {
			t.Fatalf("header verifies with another salt too: %v", err)
		}
	})
}

// FuzzDecodePackedRecord decodes arbitrary bytes as the first record of a frame at offset 0,
// with its checksum first made to match when fix is set: never a panic, only the documented
// errors, and a record it accepts encodes to exactly the bytes it was decoded from, peeks the
// same, and does not verify at the next RecordAlign offset or with another salt.
func FuzzDecodePackedRecord(f *testing.F) {
	for _, r := range frameRecords()[:4] {
		buf, offs := encodeFrame(f, 0, []Record{r}, FrameAlign)
		f.Add(buf[offs[0]:], false)
		f.Add(buf[offs[0]:offs[0]+20], true)
	}
	f.Add(make([]byte, 24), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			if _, p, err := parsePacked(b); err == nil && p.key+p.klen+p.vlen <= len(b) {
				b = bytes.Clone(b)
				binary.LittleEndian.PutUint32(b[pkCRC:], packedCRC(b[pkKind:p.key+p.klen+p.vlen], FrameHeaderSize, testFrameSalt, castagnoli()))
			}
		}
		r, err := DecodePackedRecord(b, FrameHeaderSize, testFrameSalt)
		if err != nil {
			if err != ErrNoRecord && err != ErrTorn && err != ErrTruncated {
				t.Fatalf("DecodePackedRecord error %v", err)
			}
			return
		}
		rec := Record{Kind: r.Kind, Key: r.Key, Value: r.Value, TS: r.TS, Seq: r.Seq, Expiry: r.Expiry}
		buf, offs := encodeFrame(t, 0, []Record{rec}, FrameAlign)
		if !bytes.Equal(buf[offs[0]:int(offs[0])+r.Size], b[:r.Size]) {
			t.Fatalf("decoded %+v does not encode back to its bytes", r)
		}
		peek, err := PeekPackedRecord(b)
		if err != nil || peek.Kind != r.Kind || peek.TS != r.TS || peek.Seq != r.Seq || peek.Expiry != r.Expiry ||
			!bytes.Equal(peek.Key, r.Key) || peek.Size != r.Size {
			t.Fatalf("PeekPackedRecord = %+v, %v; DecodePackedRecord %+v", peek, err, r)
		}
		if _, err := DecodePackedRecord(b, FrameHeaderSize+RecordAlign, testFrameSalt); err != ErrTorn {
			t.Fatalf("record verifies at another offset too: %v", err)
		}
		if _, err := DecodePackedRecord(b, FrameHeaderSize, testFrameSalt^1<<63); err != ErrTorn {
			t.Fatalf("record verifies with another salt too: %v", err)
		}
	})
}

// BenchmarkFrameWriter encodes frames of 1,000 records of a 16-byte key and a 100-byte value
// into a reused buffer: no allocation, and the bytes per record the store pays.
func BenchmarkFrameWriter(b *testing.B) {
	r := Record{Kind: KindValue, Key: make([]byte, 16), Value: make([]byte, 100), TS: 1 << 60, Seq: 1 << 20}
	buf := make([]byte, 0, 256<<10)
	b.ReportAllocs()
	b.SetBytes(1000 * int64(len(r.Key)+len(r.Value)))
	var n int
	for range b.N {
		var w FrameWriter
		w.Begin(buf[:0], 0, testFrameSalt, 1)
		for range 1000 {
			w.Add(&r)
		}
		n = len(w.Finish(FrameAlign))
	}
	b.ReportMetric(float64(n)/1000, "bytes/record")
}

// BenchmarkDecodeFrameHeader measures the recovery scan's test at each FrameAlign boundary, on
// bytes that start no frame (zeros, other bytes, a frame written for another offset) and on a
// frame.
func BenchmarkDecodeFrameHeader(b *testing.B) {
	frame, _ := encodeFrame(b, FrameAlign, frameRecords()[:2], FrameAlign)
	tests := []struct {
		name string
		buf  []byte
		off  uint64
		want error
	}{
		{"unit=zero", make([]byte, FrameAlign), FrameAlign, ErrNoFrame},
		{"unit=text", []byte(strings.Repeat("some old bytes. ", FrameAlign/16)), FrameAlign, ErrNoFrame},
		{"unit=moved-frame", frame, 2 * FrameAlign, ErrNoFrame},
		{"unit=frame", frame, FrameAlign, nil},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeFrameHeader(tt.buf, tt.off, testFrameSalt); err != tt.want {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePackedRecord measures verifying a packed record of a 16-byte key and a value.
func BenchmarkDecodePackedRecord(b *testing.B) {
	for _, size := range []int{100, 4096} {
		b.Run("key=16/value="+strconv.Itoa(size), func(b *testing.B) {
			r := Record{Kind: KindValue, Key: make([]byte, 16), Value: make([]byte, size), TS: 1 << 60, Seq: 1 << 20}
			buf, offs := encodeFrame(b, 0, []Record{r}, FrameAlign)
			rec := buf[offs[0]:]
			b.SetBytes(int64(16 + size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodePackedRecord(rec, offs[0], testFrameSalt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
