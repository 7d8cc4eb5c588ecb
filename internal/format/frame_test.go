package format

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
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

// TestFrame_KnownAnswer pins the byte layout: a frame of two records at offset 8192 of a store
// with salt 0x0123456789abcdef, batch 99, gives exactly these bytes (docs/FORMAT.md).
func TestFrame_KnownAnswer(t *testing.T) {
	var w FrameWriter
	w.Begin(nil, 8192, testFrameSalt, 99)
	w.Add(&Record{Kind: KindValue, Key: []byte("key"), Value: []byte("val"), TS: 0x1122334455667788, Seq: 5})
	w.Add(&Record{Kind: KindDelete, Key: []byte("dk"), TS: 2, Seq: 300, Expiry: 7})
	got := hex.EncodeToString(w.Finish(FrameAlign)[:FrameHeaderSize+24+24])
	want := knownFrame
	if got != want {
		t.Errorf("frame bytes\n got %s\nwant %s", got, want)
	}
}

// knownFrame is TestFrame_KnownAnswer's expected header and records, in hex.
const knownFrame = "" +
	// header: "FXF2", flags 0, reserved 0, length 80, count 2, batch 99, CRC, reserved 0
	"46584632" + "0000" + "0000" + "50000000" + "02000000" + "6300000000000000" + "07d258be" + "00000000" +
	// record 1: CRC, kind 1, flags 0, ts, klen 3, vlen 3, seq 5, "key", "val", 1 byte of padding
	"3e638ff4" + "01" + "00" + "8877665544332211" + "03" + "03" + "05" + "6b6579" + "76616c" + "00" +
	// record 2: CRC, kind 2, flags 1, ts 2, klen 2, vlen 0, seq 300, expiry 7, "dk", 3 bytes
	// of padding
	"bb5792c3" + "02" + "01" + "0200000000000000" + "02" + "00" + "ac02" + "07" + "646b" + "000000"

// FuzzDecodeFrameHeader decodes arbitrary bytes as a frame header at offset 0: never a panic,
// and a header it accepts has a count and a length the writer could have produced.
func FuzzDecodeFrameHeader(f *testing.F) {
	buf, _ := encodeFrame(f, 0, frameRecords()[:2], FrameAlign)
	f.Add(buf[:FrameHeaderSize])
	f.Add(make([]byte, FrameHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeFrameHeader(b, 0, testFrameSalt)
		if err != nil {
			return
		}
		if h.Count < 1 || h.Length < FrameHeaderSize+h.Count*minPackedSize || h.Length%RecordAlign != 0 {
			t.Fatalf("accepted %+v", h)
		}
	})
}

// FuzzDecodePackedRecord decodes arbitrary bytes as the first record of a frame at offset 0:
// never a panic, and a record it accepts encodes to exactly the bytes it was decoded from.
func FuzzDecodePackedRecord(f *testing.F) {
	for _, r := range frameRecords()[:4] {
		buf, offs := encodeFrame(f, 0, []Record{r}, FrameAlign)
		f.Add(buf[offs[0]:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodePackedRecord(b, FrameHeaderSize, testFrameSalt)
		if err != nil {
			return
		}
		rec := Record{Kind: r.Kind, Key: r.Key, Value: r.Value, TS: r.TS, Seq: r.Seq, Expiry: r.Expiry}
		buf, offs := encodeFrame(t, 0, []Record{rec}, FrameAlign)
		if !bytes.Equal(buf[offs[0]:int(offs[0])+r.Size], b[:r.Size]) {
			t.Fatalf("decoded %+v does not encode back to its bytes", r)
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
