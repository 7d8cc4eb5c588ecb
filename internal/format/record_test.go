package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

const (
	testSector = 17
	testSalt   = 0x0123456789abcdef
)

// pattern returns n bytes of a repeating, position-dependent pattern seeded by seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + byte(i>>8) + seed
	}
	return b
}

// valueRecord returns a value record with a keyLen-byte key and a valueLen-byte value.
func valueRecord(keyLen, valueLen int) *Record {
	return &Record{
		Kind: KindValue, Key: pattern(keyLen, 1), Value: pattern(valueLen, 2),
		TS: 1700000000000000001, Seq: 42, Expiry: 1800000000000000000, Batch: 9,
	}
}

// decodeRecord runs both decoding steps on b, as the recovery scanner does.
func decodeRecord(b []byte, sector, salt uint64) (Record, RecordHeader, error) {
	h, err := DecodeRecordHeader(b, sector, salt)
	if err != nil {
		return Record{}, h, err
	}
	key, value, err := VerifyRecord(b, h, sector, salt)
	if err != nil {
		return Record{}, h, err
	}
	return Record{Kind: h.Kind, Key: key, Value: value, TS: h.TS, Seq: h.Seq, Expiry: h.Expiry, Batch: h.Batch}, h, nil
}

// sameRecord reports whether a and b hold the same fields, treating nil and empty alike.
func sameRecord(a, b *Record) bool {
	return a.Kind == b.Kind && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) &&
		a.TS == b.TS && a.Seq == b.Seq && a.Expiry == b.Expiry && a.Batch == b.Batch
}

// TestRecordSize ensures records are rounded up to whole sectors.
func TestRecordSize(t *testing.T) {
	tests := []struct{ key, value, want int }{
		{1, 0, 512},
		{16, 100, 512},
		{456, 0, 512},
		{455, 1, 512},
		{456, 1, 1024},
		{1, 455, 512},
		{1, 456, 1024},
		{16, 4096, 4608},
		{MaxKeyLen, 0, 66048},
		{MaxKeyLen, MaxValueLen, MaxRecordSize},
	}
	for _, tt := range tests {
		if got := RecordSize(tt.key, tt.value); got != tt.want {
			t.Errorf("RecordSize(%d, %d) = %d, want %d", tt.key, tt.value, got, tt.want)
		}
	}
	if MaxRecordSize != 67174912 {
		t.Errorf("MaxRecordSize = %d, want 67174912", MaxRecordSize)
	}
}

// TestRecord_RoundTrip ensures records of every shape decode to what was encoded, at the
// right size, with zero padding, appended after dst's contents, without leaking bytes from
// dst's spare capacity, and with key and value aliasing the decoded buffer.
func TestRecord_RoundTrip(t *testing.T) {
	del := &Record{Kind: KindDelete, Key: []byte("gone"), TS: 5, Seq: 6, Batch: 7}
	extremes := &Record{Kind: KindValue, Key: []byte{0}, Value: []byte{0xFF},
		TS: ^uint64(0), Seq: ^uint64(0), Expiry: -1 << 63, Batch: ^uint64(0)}
	tests := []struct {
		name   string
		r      *Record
		sector uint64
		salt   uint64
	}{
		{"key=16/value=100", valueRecord(16, 100), testSector, testSalt},
		{"empty value", valueRecord(10, 0), testSector, testSalt},
		{"nil value", &Record{Kind: KindValue, Key: []byte("k")}, 0, 0},
		{"one byte past a sector", valueRecord(1, 456), 1, 2},
		{"exactly one sector", valueRecord(1, 455), 1, 2},
		{"max key", valueRecord(MaxKeyLen, 10), ^uint64(0), ^uint64(0)},
		{"multi-sector value", valueRecord(16, 5000), 1 << 40, 99},
		{"1 MiB value", valueRecord(16, 1<<20), 123456, 1},
		{"max key and value", valueRecord(MaxKeyLen, MaxValueLen), 16, testSalt},
		{"deletion", del, testSector, testSalt},
		{"extremes", extremes, 3, 4},
	}
	for _, tt := range tests {
		size := RecordSize(len(tt.r.Key), len(tt.r.Value))
		used := RecordHeaderSize + len(tt.r.Key) + len(tt.r.Value)
		prefix := []byte("xyz")
		dst := bytes.Repeat([]byte{0xAA}, len(prefix)+size)
		copy(dst, prefix)
		out := AppendRecord(dst[:len(prefix)], tt.r, tt.sector, tt.salt)
		if len(out) != len(prefix)+size {
			t.Errorf("%s: appended %d bytes, want %d", tt.name, len(out)-len(prefix), size)
			continue
		}
		if &out[0] != &dst[0] {
			t.Errorf("%s: AppendRecord reallocated a buffer with enough room", tt.name)
		}
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Errorf("%s: AppendRecord changed the existing bytes of dst", tt.name)
		}
		b := out[len(prefix):]
		if !IsZeroed(b[used:]) {
			t.Errorf("%s: padding is not zero", tt.name)
		}
		got, h, err := decodeRecord(b, tt.sector, tt.salt)
		if err != nil {
			t.Errorf("%s: decode: %v", tt.name, err)
			continue
		}
		if !sameRecord(&got, tt.r) {
			t.Errorf("%s: decoded a different record", tt.name)
		}
		if h.Size != size || h.KeyLen != len(tt.r.Key) || h.ValueLen != len(tt.r.Value) {
			t.Errorf("%s: header sizes %d/%d/%d, want %d/%d/%d",
				tt.name, h.KeyLen, h.ValueLen, h.Size, len(tt.r.Key), len(tt.r.Value), size)
		}
		if &got.Key[0] != &b[RecordHeaderSize] {
			t.Errorf("%s: key does not alias the buffer", tt.name)
		}
		// The record verifies from its used bytes alone, without the padding.
		if _, _, err := decodeRecord(b[:used], tt.sector, tt.salt); err != nil {
			t.Errorf("%s: decode without padding: %v", tt.name, err)
		}
	}
}

// TestRecord_EveryByteFlipped ensures that changing any single byte of a small record's
// header, key or value makes decoding fail: a header byte with ErrNoRecord, a key or value
// byte with ErrTorn while the header still decodes. Padding bytes are covered by no checksum
// and are ignored.
func TestRecord_EveryByteFlipped(t *testing.T) {
	r := valueRecord(16, 100)
	orig := AppendRecord(nil, r, testSector, testSalt)
	used := RecordHeaderSize + 16 + 100
	b := bytes.Clone(orig)
	for _, mask := range []byte{0xFF, 0x01, 0x80} {
		for i := range b {
			b[i] ^= mask
			_, herr := DecodeRecordHeader(b, testSector, testSalt)
			_, _, err := decodeRecord(b, testSector, testSalt)
			switch {
			case i < RecordHeaderSize:
				if herr != ErrNoRecord {
					t.Fatalf("header byte %d ^ %#x: DecodeRecordHeader error %v, want ErrNoRecord", i, mask, herr)
				}
			case i < used:
				if herr != nil || err != ErrTorn {
					t.Fatalf("body byte %d ^ %#x: errors %v, %v; want nil, ErrTorn", i, mask, herr, err)
				}
			default:
				if err != nil {
					t.Fatalf("padding byte %d ^ %#x: %v", i, mask, err)
				}
			}
			b[i] ^= mask
		}
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("test bug: buffer not restored")
	}
}

// TestRecord_BoundToSectorAndSalt ensures that a record's bytes do not verify at another
// sector or for another store, and that the record checksum is bound to them too: a header
// rewritten for another sector leaves the body torn there.
func TestRecord_BoundToSectorAndSalt(t *testing.T) {
	b := AppendRecord(nil, valueRecord(16, 100), testSector, testSalt)
	tests := []struct {
		name         string
		sector, salt uint64
	}{
		{"next sector", testSector + 1, testSalt},
		{"previous sector", testSector - 1, testSalt},
		{"far sector", testSector + 1<<32, testSalt},
		{"sector 0", 0, testSalt},
		{"other salt", testSector, testSalt + 1},
		{"salt top bit", testSector, testSalt ^ 1<<63},
		{"zero salt", testSector, 0},
		{"swapped", testSalt, testSector},
	}
	for _, tt := range tests {
		if _, err := DecodeRecordHeader(b, tt.sector, tt.salt); err != ErrNoRecord {
			t.Errorf("%s: DecodeRecordHeader error %v, want ErrNoRecord", tt.name, err)
		}
		moved := bytes.Clone(b)
		binary.LittleEndian.PutUint32(moved[recHeaderCRC:], recordHeaderCRC(moved, tt.sector, tt.salt, castagnoli()))
		if _, _, err := decodeRecord(moved, tt.sector, tt.salt); err != ErrTorn {
			t.Errorf("%s: header rewritten for it: error %v, want ErrTorn", tt.name, err)
		}
	}
}

// TestRecord_Torn ensures that records whose later sectors were not written, or hold older
// bytes, are reported as torn while their header decodes.
func TestRecord_Torn(t *testing.T) {
	r := valueRecord(16, 2000) // 5 sectors
	fresh := func() []byte { return AppendRecord(nil, r, testSector, testSalt) }
	old := AppendRecord(nil, valueRecord(16, 2000-1), testSector, testSalt)
	tests := []struct {
		name string
		edit func(b []byte)
	}{
		{"last sectors zero", func(b []byte) { clear(b[SectorSize:]) }},
		{"second sector zero", func(b []byte) { clear(b[SectorSize : 2*SectorSize]) }},
		{"old bytes after the first sector", func(b []byte) { copy(b[SectorSize:], old[SectorSize:]) }},
		{"one value byte", func(b []byte) { b[len(b)-SectorSize] ^= 4 }},
		{"key byte", func(b []byte) { b[RecordHeaderSize] = 'x' }},
	}
	for _, tt := range tests {
		b := fresh()
		tt.edit(b)
		h, err := DecodeRecordHeader(b, testSector, testSalt)
		if err != nil {
			t.Errorf("%s: DecodeRecordHeader: %v", tt.name, err)
			continue
		}
		if _, _, err := VerifyRecord(b, h, testSector, testSalt); err != ErrTorn {
			t.Errorf("%s: VerifyRecord error %v, want ErrTorn", tt.name, err)
		}
	}
}

// TestDecodeRecordHeader_Errors ensures invalid headers are rejected even when their header
// checksum matches, and that short or non-record input gives ErrNoRecord.
func TestDecodeRecordHeader_Errors(t *testing.T) {
	// edited returns a 16+100 record changed by edit, with its header checksum recomputed.
	edited := func(edit func(b []byte)) []byte {
		b := AppendRecord(nil, valueRecord(16, 100), testSector, testSalt)
		edit(b)
		binary.LittleEndian.PutUint32(b[recHeaderCRC:], recordHeaderCRC(b, testSector, testSalt, castagnoli()))
		return b
	}
	good := AppendRecord(nil, valueRecord(16, 100), testSector, testSalt)
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"short", good[:RecordHeaderSize-1]},
		{"zero sector", make([]byte, SectorSize)},
		{"text", []byte(strings.Repeat("not a record ", 40))},
		{"magic", edited(func(b []byte) { b[3] = '2' })},
		{"kind 0", edited(func(b []byte) { b[recKind] = 0 })},
		{"kind 3", edited(func(b []byte) { b[recKind] = 3 })},
		{"flags", edited(func(b []byte) { b[recFlags] = 1 })},
		{"key length 0", edited(func(b []byte) { binary.LittleEndian.PutUint16(b[recKeyLen:], 0) })},
		{"value too long", edited(func(b []byte) { binary.LittleEndian.PutUint32(b[recValueLen:], MaxValueLen+1) })},
		{"value length max uint32", edited(func(b []byte) { binary.LittleEndian.PutUint32(b[recValueLen:], ^uint32(0)) })},
		{"deletion with value", edited(func(b []byte) { b[recKind] = byte(KindDelete) })},
		{"reserved", edited(func(b []byte) { b[recReserved+3] = 1 })},
	}
	for _, tt := range tests {
		if h, err := DecodeRecordHeader(tt.b, testSector, testSalt); err != ErrNoRecord {
			t.Errorf("%s: DecodeRecordHeader = %+v, %v; want ErrNoRecord", tt.name, h, err)
		}
	}
	if !errors.Is(ErrNoRecord, ErrCorrupted) || !errors.Is(ErrTorn, ErrCorrupted) || !errors.Is(ErrTruncated, ErrCorrupted) {
		t.Error("ErrNoRecord, ErrTorn and ErrTruncated must wrap ErrCorrupted")
	}
	if errors.Is(ErrNewerVersion, ErrCorrupted) || errors.Is(ErrOlderVersion, ErrCorrupted) {
		t.Error("ErrNewerVersion and ErrOlderVersion must not wrap ErrCorrupted")
	}
}

// TestVerifyRecord_Errors ensures VerifyRecord rejects a header that is invalid or not the
// one its buffer holds, and a buffer that ends before the record, without panicking.
func TestVerifyRecord_Errors(t *testing.T) {
	b := AppendRecord(nil, valueRecord(16, 1000), testSector, testSalt)
	h, err := DecodeRecordHeader(b, testSector, testSalt)
	if err != nil {
		t.Fatal(err)
	}
	used := RecordHeaderSize + 16 + 1000
	with := func(edit func(h *RecordHeader)) RecordHeader {
		h := h
		edit(&h)
		return h
	}
	tests := []struct {
		name string
		b    []byte
		h    RecordHeader
		want error
	}{
		{"zero header", b, RecordHeader{}, ErrNoRecord},
		{"negative key length", b, with(func(h *RecordHeader) { h.KeyLen = -1 }), ErrNoRecord},
		{"huge key length", b, with(func(h *RecordHeader) { h.KeyLen = 1 << 40 }), ErrNoRecord},
		{"negative value length", b, with(func(h *RecordHeader) { h.ValueLen = -100 }), ErrNoRecord},
		{"huge value length", b, with(func(h *RecordHeader) { h.ValueLen = 1 << 62 }), ErrNoRecord},
		{"other value length", b, with(func(h *RecordHeader) { h.ValueLen = 999 }), ErrNoRecord},
		{"other seq", b, with(func(h *RecordHeader) { h.Seq++ }), ErrNoRecord},
		{"other size", b, with(func(h *RecordHeader) { h.Size = 512 }), ErrNoRecord},
		{"other kind", b, with(func(h *RecordHeader) { h.Kind = KindDelete }), ErrNoRecord},
		{"nil buffer", nil, h, ErrTruncated},
		{"header only", b[:RecordHeaderSize], h, ErrTruncated},
		{"one byte short", b[:used-1], h, ErrTruncated},
		{"exact", b[:used], h, nil},
		{"zeros", make([]byte, len(b)), h, ErrNoRecord},
	}
	for _, tt := range tests {
		if _, _, err := VerifyRecord(tt.b, tt.h, testSector, testSalt); err != tt.want {
			t.Errorf("%s: VerifyRecord error %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestAppendRecord_PanicsOnInvalidRecord ensures records that could not be decoded again are
// refused rather than written.
func TestAppendRecord_PanicsOnInvalidRecord(t *testing.T) {
	tests := []struct {
		name string
		r    *Record
	}{
		{"empty key", &Record{Kind: KindValue}},
		{"key too long", &Record{Kind: KindValue, Key: make([]byte, MaxKeyLen+1)}},
		{"value too long", &Record{Kind: KindValue, Key: []byte("k"), Value: make([]byte, MaxValueLen+1)}},
		{"kind 0", &Record{Key: []byte("k")}},
		{"kind 3", &Record{Kind: 3, Key: []byte("k")}},
		{"deletion with value", &Record{Kind: KindDelete, Key: []byte("k"), Value: []byte("v")}},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: AppendRecord did not panic", tt.name)
				}
			}()
			AppendRecord(nil, tt.r, 0, 0)
		}()
	}
}

// TestRecord_NoAllocations ensures encoding into a buffer with room and both decoding steps
// allocate nothing, for records and for sectors holding none.
func TestRecord_NoAllocations(t *testing.T) {
	r := valueRecord(16, 100)
	buf := make([]byte, 0, RecordSize(16, 100))
	zero := make([]byte, SectorSize)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendRecord(buf[:0], r, testSector, testSalt)
		h, err := DecodeRecordHeader(b, testSector, testSalt)
		if err != nil {
			panic(err)
		}
		if _, _, err := VerifyRecord(b, h, testSector, testSalt); err != nil {
			panic(err)
		}
		if _, err := DecodeRecordHeader(zero, testSector, testSalt); err != ErrNoRecord {
			panic(err)
		}
		if _, err := DecodeRecordHeader(b, testSector+1, testSalt); err != ErrNoRecord {
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

// BenchmarkAppendRecord measures encoding a record into a buffer with room.
func BenchmarkAppendRecord(b *testing.B) {
	for _, size := range []struct{ key, value int }{{16, 100}, {16, 4096}} {
		b.Run("key="+strconv.Itoa(size.key)+"/value="+strconv.Itoa(size.value), func(b *testing.B) {
			r := valueRecord(size.key, size.value)
			buf := make([]byte, 0, RecordSize(size.key, size.value))
			b.SetBytes(int64(size.key + size.value))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendRecord(buf[:0], r, testSector, testSalt)
			}
		})
	}
}

// BenchmarkDecodeRecord measures DecodeRecordHeader followed by VerifyRecord of a valid record.
func BenchmarkDecodeRecord(b *testing.B) {
	for _, size := range []struct{ key, value int }{{16, 100}, {16, 4096}} {
		b.Run("key="+strconv.Itoa(size.key)+"/value="+strconv.Itoa(size.value), func(b *testing.B) {
			rec := AppendRecord(nil, valueRecord(size.key, size.value), testSector, testSalt)
			b.SetBytes(int64(size.key + size.value))
			b.ReportAllocs()
			for b.Loop() {
				h, err := DecodeRecordHeader(rec, testSector, testSalt)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := VerifyRecord(rec, h, testSector, testSalt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeRecordHeader measures the recovery scanner's per-sector test on sectors
// holding no record (zeros, other bytes, a record at another sector) and on a record.
func BenchmarkDecodeRecordHeader(b *testing.B) {
	rec := AppendRecord(nil, valueRecord(16, 100), testSector, testSalt)
	tests := []struct {
		name   string
		sector []byte
		sec    uint64
		want   error
	}{
		{"sector=zero", make([]byte, SectorSize), testSector, ErrNoRecord},
		{"sector=text", []byte(strings.Repeat("some old bytes. ", SectorSize/16)), testSector, ErrNoRecord},
		{"sector=moved-record", rec, testSector + 1, ErrNoRecord},
		{"sector=record", rec, testSector, nil},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRecordHeader(tt.sector, tt.sec, testSalt); err != tt.want {
					b.Fatal(err)
				}
			}
		})
	}
}
