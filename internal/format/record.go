package format

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strconv"
)

// recordMagic is the first 4 bytes of a record, "FXR1", read as a little-endian uint32.
const recordMagic = uint32('F') | uint32('X')<<8 | uint32('R')<<16 | uint32('1')<<24

// Offsets of the fields within a record header.
const (
	recMagic     = 0
	recKind      = 4
	recFlags     = 5
	recKeyLen    = 6
	recValueLen  = 8
	recHeaderCRC = 12
	recTS        = 16
	recSeq       = 24
	recExpiry    = 32
	recBatch     = 40
	recCRC       = 48
	recReserved  = 52
)

// Kind says what a record holds.
type Kind uint8

// The kinds of record.
const (
	// KindValue is a record holding a key and its value.
	KindValue Kind = 1
	// KindDelete is a deletion record: the key is absent from its sequence number on. It
	// holds no value.
	KindDelete Kind = 2
)

// String returns "value", "delete", or "kind(N)" for an unknown kind.
func (k Kind) String() string {
	switch k {
	case KindValue:
		return "value"
	case KindDelete:
		return "delete"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Record is one version of a key, as written to the data area.
type Record struct {
	// Kind is KindValue or KindDelete.
	Kind Kind
	// Key is 1 to MaxKeyLen bytes.
	Key []byte
	// Value is 0 to MaxValueLen bytes; always empty for a deletion.
	Value []byte
	// TS is the record's timestamp in nanoseconds.
	TS uint64
	// Seq is the sequence number that orders the versions of one key; larger is newer.
	Seq uint64
	// Expiry is the Unix time in nanoseconds after which the key is absent; 0 means never.
	Expiry int64
	// Batch is the store-wide, increasing number of the batch that wrote the record.
	Batch uint64
}

// RecordHeader is what DecodeRecordHeader learns from the fixed part of a record.
type RecordHeader struct {
	// Kind is KindValue or KindDelete.
	Kind Kind
	// KeyLen is the key's length, 1 to MaxKeyLen.
	KeyLen int
	// ValueLen is the value's length, 0 to MaxValueLen; 0 for a deletion.
	ValueLen int
	// TS is the record's timestamp in nanoseconds.
	TS uint64
	// Seq is the record's sequence number.
	Seq uint64
	// Expiry is the record's expiry in Unix nanoseconds; 0 means never.
	Expiry int64
	// Batch is the number of the batch that wrote the record.
	Batch uint64
	// Size is RecordSize(KeyLen, ValueLen): the bytes the record occupies, padding included.
	Size int
}

// RecordSize returns the size in bytes of a record with the given key and value lengths:
// RecordHeaderSize+keyLen+valueLen rounded up to a whole number of sectors. A 16-byte key
// with a 100-byte value takes 512 bytes. The result is meaningful for lengths within the
// format's limits, for which it is at most MaxRecordSize.
func RecordSize(keyLen, valueLen int) int {
	return (RecordHeaderSize + keyLen + valueLen + SectorSize - 1) / SectorSize * SectorSize
}

// checkRecord panics if r cannot be encoded as a record that decodes again.
func checkRecord(r *Record) {
	var why string
	switch {
	case r.Kind != KindValue && r.Kind != KindDelete:
		why = "unknown kind " + r.Kind.String()
	case len(r.Key) == 0:
		why = "empty key"
	case len(r.Key) > MaxKeyLen:
		why = "key of " + strconv.Itoa(len(r.Key)) + " bytes"
	case len(r.Value) > MaxValueLen:
		why = "value of " + strconv.Itoa(len(r.Value)) + " bytes"
	case r.Kind == KindDelete && len(r.Value) != 0:
		why = "deletion with a value"
	default:
		return
	}
	panic("format: AppendRecord: invalid record: " + why)
}

// AppendRecord appends the RecordSize(len(r.Key), len(r.Value)) bytes of r, as written at the
// given sector of a store with the given salt, to dst and returns the extended buffer. The
// padding after the value is zero. It does not allocate when dst has room for the record.
// It does not keep r or its slices.
//
// AppendRecord panics if r is not encodable: a kind other than KindValue or KindDelete, an
// empty key, a key longer than MaxKeyLen, a value longer than MaxValueLen, or a deletion with
// a value. Callers validate user input before building a Record.
func AppendRecord(dst []byte, r *Record, sector, salt uint64) []byte {
	checkRecord(r)
	used := RecordHeaderSize + len(r.Key) + len(r.Value)
	size := RecordSize(len(r.Key), len(r.Value))
	off := len(dst)
	dst = slices.Grow(dst, size)[:off+size]
	b := dst[off:]

	binary.LittleEndian.PutUint32(b[recMagic:], recordMagic)
	b[recKind] = byte(r.Kind)
	b[recFlags] = 0
	binary.LittleEndian.PutUint16(b[recKeyLen:], uint16(len(r.Key)))
	binary.LittleEndian.PutUint32(b[recValueLen:], uint32(len(r.Value)))
	binary.LittleEndian.PutUint32(b[recHeaderCRC:], 0)
	binary.LittleEndian.PutUint64(b[recTS:], r.TS)
	binary.LittleEndian.PutUint64(b[recSeq:], r.Seq)
	binary.LittleEndian.PutUint64(b[recExpiry:], uint64(r.Expiry))
	binary.LittleEndian.PutUint64(b[recBatch:], r.Batch)
	binary.LittleEndian.PutUint32(b[recCRC:], 0)
	binary.LittleEndian.PutUint32(b[recReserved:], 0)
	copy(b[RecordHeaderSize:], r.Key)
	copy(b[RecordHeaderSize+len(r.Key):], r.Value)
	clear(b[used:])

	tab := castagnoli()
	// The record checksum covers bytes 12-15 as zero, which they still are; the header
	// checksum then covers the record checksum.
	binary.LittleEndian.PutUint32(b[recCRC:], recordCRC(b[:used], sector, salt, tab))
	binary.LittleEndian.PutUint32(b[recHeaderCRC:], recordHeaderCRC(b, sector, salt, tab))
	return dst
}

// recordHeaderCRC returns the header checksum of the record header in b[:RecordHeaderSize]:
// CRC-32C of bytes 0-11 and 16-55, then the sector and the salt.
func recordHeaderCRC(b []byte, sector, salt uint64, tab *crc32.Table) uint32 {
	crc := crc32.Update(0, tab, b[:recHeaderCRC])
	crc = crc32.Update(crc, tab, b[recTS:RecordHeaderSize])
	crc = crcUint64(crc, tab, sector)
	return crcUint64(crc, tab, salt)
}

// recordCRC returns the record checksum of the record in b, which holds exactly its header,
// key and value: CRC-32C of bytes 0-47 with bytes 12-15 taken as zero, then the key and the
// value, then the sector and the salt.
func recordCRC(b []byte, sector, salt uint64, tab *crc32.Table) uint32 {
	crc := crc32.Update(0, tab, b[:recHeaderCRC])
	crc = crcZeros(crc, tab, 4)
	crc = crc32.Update(crc, tab, b[recTS:recCRC])
	crc = crc32.Update(crc, tab, b[RecordHeaderSize:])
	crc = crcUint64(crc, tab, sector)
	return crcUint64(crc, tab, salt)
}

// parseRecordHeader reads the fields of the record header in b[:RecordHeaderSize] and checks
// everything but the checksums.
func parseRecordHeader(b []byte) (RecordHeader, bool) {
	h := RecordHeader{
		Kind:     Kind(b[recKind]),
		KeyLen:   int(binary.LittleEndian.Uint16(b[recKeyLen:])),
		ValueLen: int(binary.LittleEndian.Uint32(b[recValueLen:])),
		TS:       binary.LittleEndian.Uint64(b[recTS:]),
		Seq:      binary.LittleEndian.Uint64(b[recSeq:]),
		Expiry:   int64(binary.LittleEndian.Uint64(b[recExpiry:])),
		Batch:    binary.LittleEndian.Uint64(b[recBatch:]),
	}
	switch {
	case binary.LittleEndian.Uint32(b[recMagic:]) != recordMagic,
		h.Kind != KindValue && h.Kind != KindDelete,
		b[recFlags] != 0,
		binary.LittleEndian.Uint32(b[recReserved:]) != 0,
		h.KeyLen == 0,
		h.ValueLen > MaxValueLen,
		h.Kind == KindDelete && h.ValueLen != 0:
		return RecordHeader{}, false
	}
	h.Size = RecordSize(h.KeyLen, h.ValueLen)
	return h, true
}

// DecodeRecordHeader decodes the record header at the start of b, which must hold at least
// RecordHeaderSize bytes, for a record at the given sector of a store with the given salt.
// It checks, in this order, the magic, the kind, the flags, the reserved bytes, the lengths
// and the header checksum, and returns ErrNoRecord itself (not wrapped in another error) on
// the first failure; a b shorter than RecordHeaderSize also gives ErrNoRecord. It does not allocate, and a sector
// whose first bytes are not the record magic costs one comparison.
//
// A header that decodes says how many bytes the record occupies (Size); whether those bytes
// are intact is VerifyRecord's question.
func DecodeRecordHeader(b []byte, sector, salt uint64) (RecordHeader, error) {
	if len(b) < RecordHeaderSize || binary.LittleEndian.Uint32(b) != recordMagic {
		return RecordHeader{}, ErrNoRecord
	}
	h, ok := parseRecordHeader(b)
	if !ok || binary.LittleEndian.Uint32(b[recHeaderCRC:]) != recordHeaderCRC(b, sector, salt, castagnoli()) {
		return RecordHeader{}, ErrNoRecord
	}
	return h, nil
}

// VerifyRecord checks the record checksum of the record in b, whose header h was decoded by
// DecodeRecordHeader from the same bytes with the same sector and salt, and returns the key
// and value. b must hold at least RecordHeaderSize+h.KeyLen+h.ValueLen bytes; the padding
// after the value need not be included and is not checked.
//
// The errors are ErrTorn when the checksum does not match, ErrTruncated when b is too short,
// and ErrNoRecord when h is not a valid header or not the one b starts with. Each is returned
// itself, not wrapped in another error. VerifyRecord does not allocate.
//
// The key and value are subslices of b: they are valid as long as b is and change with it;
// copy them to keep them.
func VerifyRecord(b []byte, h RecordHeader, sector, salt uint64) (key, value []byte, err error) {
	if h.KeyLen <= 0 || h.KeyLen > MaxKeyLen || h.ValueLen < 0 || h.ValueLen > MaxValueLen {
		return nil, nil, ErrNoRecord
	}
	if len(b) < RecordHeaderSize {
		return nil, nil, ErrTruncated
	}
	if got, ok := parseRecordHeader(b); !ok || got != h {
		return nil, nil, ErrNoRecord
	}
	used := RecordHeaderSize + h.KeyLen + h.ValueLen
	if len(b) < used {
		return nil, nil, ErrTruncated
	}
	b = b[:used]
	if binary.LittleEndian.Uint32(b[recCRC:]) != recordCRC(b, sector, salt, castagnoli()) {
		return nil, nil, ErrTorn
	}
	return b[RecordHeaderSize : RecordHeaderSize+h.KeyLen], b[RecordHeaderSize+h.KeyLen:], nil
}
