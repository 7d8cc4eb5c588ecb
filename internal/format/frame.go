package format

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// Format version 2 packs records back to back inside checksummed frames (version 1 gave each
// record whole 512-byte sectors): a 16-byte key with a 100-byte value takes 136 bytes. A frame
// holds the records of one batch that lie in one segment. Its header says how long it is, so
// that recovery steps from frame to frame and never looks for a header inside a frame it has
// verified; every checksum is bound to its offset in the file and to the store's salt, so that
// the same bytes elsewhere (in another store, or inside a value) do not verify.
// docs/FORMAT.md describes the layout byte by byte.

// Sizes and limits of format version 2's frames and packed records.
const (
	// FrameHeaderSize is the size of a frame's header.
	FrameHeaderSize = 32
	// FrameAlign is the alignment of every frame's start; a writer may use a multiple of it
	// (a page with O_DIRECT).
	FrameAlign = 512
	// RecordAlign is the alignment of every packed record's start, within the file.
	RecordAlign = 8
	// MaxFrameLen bounds a frame's length field: a frame holding the largest record fits.
	MaxFrameLen = 1 << 27
	// packedFixed is the fixed part of a packed record: checksum, kind, flags, timestamp.
	packedFixed = 14
	// minPackedSize is the smallest packed record: the fixed part, three one-byte varints and
	// a one-byte key, aligned.
	minPackedSize = (packedFixed + 3 + 1 + RecordAlign - 1) / RecordAlign * RecordAlign
)

// frameMagic is the first 4 bytes of a frame, "FXF2", read as a little-endian uint32.
const frameMagic = uint32('F') | uint32('X')<<8 | uint32('F')<<16 | uint32('2')<<24

// Offsets of the fields within a frame header.
const (
	frmMagic    = 0
	frmFlags    = 4
	frmReserved = 6
	frmLength   = 8
	frmCount    = 12
	frmBatch    = 16
	frmCRC      = 24
	frmReserve2 = 28
)

// Offsets of the fixed fields of a packed record.
const (
	pkCRC   = 0
	pkKind  = 4
	pkFlags = 5
	pkTS    = 6
)

// pkHasExpiry is the packed record flag that says an expiry follows the sequence number.
const pkHasExpiry = 1

// ErrNoFrame is returned by DecodeFrameHeader when the bytes do not start with a valid frame
// header: wrong magic, flags, reserved bytes, length or count, or a checksum that does not
// match (including a header written at another offset or by another store). It wraps
// ErrCorrupted and is returned as is, so that probing for frames neither allocates nor
// formats.
var ErrNoFrame = fmt.Errorf("%w: no frame", ErrCorrupted)

// FrameHeader is what DecodeFrameHeader learns from a frame's header.
type FrameHeader struct {
	// Length is the number of bytes from the frame's start to the end of its last record
	// (whose padding to RecordAlign included): its records tile [start+FrameHeaderSize,
	// start+Length).
	Length int
	// Count is the number of records in the frame, at least one.
	Count int
	// Batch is the store-wide, increasing number of the batch that wrote the frame.
	Batch uint64
}

// PackedRecord is a packed record as decoded: its fields, and its key and value as subslices
// of the bytes it was decoded from.
type PackedRecord struct {
	Kind   Kind
	TS     uint64
	Seq    uint64
	Expiry int64
	Key    []byte
	Value  []byte
	// Size is the bytes the record occupies, its padding to RecordAlign included.
	Size int
}

// PackedSize returns the bytes a packed record of r occupies, its padding included.
func PackedSize(r *Record) int {
	n := packedFixed + uvarintLen(uint64(len(r.Key))) + uvarintLen(uint64(len(r.Value))) +
		uvarintLen(r.Seq) + len(r.Key) + len(r.Value)
	if r.Expiry != 0 {
		n += uvarintLen(uint64(r.Expiry))
	}
	return alignUp(n, RecordAlign)
}

// alignUp rounds n up to a multiple of a, a power of two.
func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

// uvarintLen returns the length of v as a uvarint.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// FrameWriter encodes one frame at the end of a caller's buffer: Begin, then Add for each
// record, then Finish. It does not allocate when the buffer has room.
type FrameWriter struct {
	buf   []byte
	start int    // index in buf of the frame's first byte
	off   uint64 // file offset of the frame's first byte
	salt  uint64
	batch uint64
	count int
}

// Begin starts a frame of batch at file offset off (a multiple of FrameAlign), appending to
// dst.
func (w *FrameWriter) Begin(dst []byte, off, salt, batch uint64) {
	if off%FrameAlign != 0 {
		panic("format: FrameWriter.Begin: offset not aligned")
	}
	w.buf, w.start, w.off, w.salt, w.batch, w.count = dst, len(dst), off, salt, batch, 0
	w.buf = appendZeros(w.buf, FrameHeaderSize)
}

// Add appends r to the frame and returns the record's file offset and size (its padding
// included). It panics if r is not encodable: a kind other than KindValue or KindDelete, an
// empty key, a key longer than MaxKeyLen, a value longer than MaxValueLen, or a deletion with a
// value. Callers validate user input before building a Record.
func (w *FrameWriter) Add(r *Record) (off uint64, size int) {
	checkRecord(r)
	size = PackedSize(r)
	at := len(w.buf)
	off = w.off + uint64(at-w.start)
	w.buf = slices.Grow(w.buf, size)[:at+size]
	b := w.buf[at:]
	b[pkKind] = byte(r.Kind)
	b[pkFlags] = 0
	binary.LittleEndian.PutUint64(b[pkTS:], r.TS)
	n := packedFixed
	n += binary.PutUvarint(b[n:], uint64(len(r.Key)))
	n += binary.PutUvarint(b[n:], uint64(len(r.Value)))
	n += binary.PutUvarint(b[n:], r.Seq)
	if r.Expiry != 0 {
		b[pkFlags] = pkHasExpiry
		n += binary.PutUvarint(b[n:], uint64(r.Expiry))
	}
	n += copy(b[n:], r.Key)
	n += copy(b[n:], r.Value)
	clear(b[n:])
	binary.LittleEndian.PutUint32(b[pkCRC:], packedCRC(b[pkKind:n], off, w.salt, castagnoli()))
	w.count++
	return off, size
}

// Finish writes the frame's header, pads the frame with zeros to a multiple of align (a
// multiple of FrameAlign) and returns the buffer. A frame needs at least one record.
func (w *FrameWriter) Finish(align int) []byte {
	if w.count == 0 || align%FrameAlign != 0 {
		panic("format: FrameWriter.Finish: no record, or alignment not a multiple of FrameAlign")
	}
	length := len(w.buf) - w.start
	h := w.buf[w.start : w.start+FrameHeaderSize]
	binary.LittleEndian.PutUint32(h[frmMagic:], frameMagic)
	binary.LittleEndian.PutUint32(h[frmLength:], uint32(length))
	binary.LittleEndian.PutUint32(h[frmCount:], uint32(w.count))
	binary.LittleEndian.PutUint64(h[frmBatch:], w.batch)
	binary.LittleEndian.PutUint32(h[frmCRC:], frameCRC(h, w.off, w.salt, castagnoli()))
	w.buf = appendZeros(w.buf, alignUp(length, align)-length)
	buf := w.buf
	w.buf = nil
	return buf
}

// appendZeros appends n zero bytes to b, without allocating when b has room.
func appendZeros(b []byte, n int) []byte {
	at := len(b)
	b = slices.Grow(b, n)[:at+n]
	clear(b[at:])
	return b
}

// frameCRC returns the checksum of the frame header h: CRC-32C of bytes 0-23, then the
// frame's offset and the salt.
func frameCRC(h []byte, off, salt uint64, tab *crc32.Table) uint32 {
	crc := crc32.Update(0, tab, h[:frmCRC])
	crc = crcUint64(crc, tab, off)
	return crcUint64(crc, tab, salt)
}

// packedCRC returns the checksum of a packed record whose bytes from its kind to the end of its
// value are b: CRC-32C of b, then the record's offset and the salt.
func packedCRC(b []byte, off, salt uint64, tab *crc32.Table) uint32 {
	crc := crc32.Update(0, tab, b)
	crc = crcUint64(crc, tab, off)
	return crcUint64(crc, tab, salt)
}

// DecodeFrameHeader decodes the frame header at the start of b for a frame at file offset off
// of a store with the given salt. It returns ErrNoFrame itself on any failure, b shorter than
// FrameHeaderSize included, and does not allocate; bytes that do not start with the frame
// magic cost one comparison.
func DecodeFrameHeader(b []byte, off, salt uint64) (FrameHeader, error) {
	if len(b) < FrameHeaderSize || binary.LittleEndian.Uint32(b[frmMagic:]) != frameMagic {
		return FrameHeader{}, ErrNoFrame
	}
	h := FrameHeader{
		Length: int(binary.LittleEndian.Uint32(b[frmLength:])),
		Count:  int(binary.LittleEndian.Uint32(b[frmCount:])),
		Batch:  binary.LittleEndian.Uint64(b[frmBatch:]),
	}
	switch {
	case binary.LittleEndian.Uint16(b[frmFlags:]) != 0, binary.LittleEndian.Uint16(b[frmReserved:]) != 0,
		binary.LittleEndian.Uint32(b[frmReserve2:]) != 0,
		h.Count < 1, h.Length > MaxFrameLen, h.Length%RecordAlign != 0,
		h.Length < FrameHeaderSize+h.Count*minPackedSize,
		binary.LittleEndian.Uint32(b[frmCRC:]) != frameCRC(b, off, salt, castagnoli()):
		return FrameHeader{}, ErrNoFrame
	}
	return h, nil
}

// PeekPackedRecord decodes the fields, key and lengths of the packed record at the start of
// b without checking its checksum: enough to tell whether the record is worth verifying (the
// cleaner asks whether it is live). Value is nil (it may be cut short in b); Size is set.
// Errors wrap ErrCorrupted: ErrNoRecord for impossible fields, ErrTruncated when b ends before
// the key does.
func PeekPackedRecord(b []byte) (PackedRecord, error) {
	r, p, err := parsePacked(b)
	if err != nil {
		return PackedRecord{}, err
	}
	if len(b) < p.key+p.klen {
		return PackedRecord{}, ErrTruncated
	}
	r.Key = b[p.key : p.key+p.klen]
	return r, nil
}

// DecodePackedRecord decodes and verifies the packed record at the start of b, which lies at
// file offset off in a store with the given salt. The key and value are subslices of b. The
// errors are ErrNoRecord (impossible fields, or padding that is not zero), ErrTruncated (b ends
// before the record does) and ErrTorn (the checksum does not match), each returned itself; it
// does not allocate.
func DecodePackedRecord(b []byte, off, salt uint64) (PackedRecord, error) {
	r, p, err := parsePacked(b)
	if err != nil {
		return PackedRecord{}, err
	}
	end := p.key + p.klen + p.vlen
	if len(b) < r.Size {
		return PackedRecord{}, ErrTruncated
	}
	for _, c := range b[end:r.Size] {
		if c != 0 {
			return PackedRecord{}, ErrNoRecord
		}
	}
	if binary.LittleEndian.Uint32(b[pkCRC:]) != packedCRC(b[pkKind:end], off, salt, castagnoli()) {
		return PackedRecord{}, ErrTorn
	}
	r.Key, r.Value = b[p.key:p.key+p.klen], b[p.key+p.klen:end]
	return r, nil
}

// packedLayout says where a packed record's key starts and how long its key and value are.
type packedLayout struct{ key, klen, vlen int }

// parsePacked reads the fixed fields and varints of a packed record and checks them. It
// returns the record's fields (Key and Value unset, Size set) and where its bytes lie.
func parsePacked(b []byte) (PackedRecord, packedLayout, error) {
	if len(b) < packedFixed+3 {
		return PackedRecord{}, packedLayout{}, ErrTruncated
	}
	r := PackedRecord{Kind: Kind(b[pkKind]), TS: binary.LittleEndian.Uint64(b[pkTS:])}
	flags := b[pkFlags]
	if (r.Kind != KindValue && r.Kind != KindDelete) || flags&^pkHasExpiry != 0 {
		return PackedRecord{}, packedLayout{}, ErrNoRecord
	}
	fields := 3
	if flags&pkHasExpiry != 0 {
		fields = 4
	}
	var vals [4]uint64
	n := packedFixed
	for i := range fields {
		v, k := binary.Uvarint(b[n:])
		switch {
		case k == 0:
			return PackedRecord{}, packedLayout{}, ErrTruncated
		case k < 0 || k != uvarintLen(v): // overflowing, or not the shortest encoding
			return PackedRecord{}, packedLayout{}, ErrNoRecord
		}
		vals[i], n = v, n+k
	}
	klen, vlen := vals[0], vals[1]
	switch {
	case klen == 0, klen > MaxKeyLen, vlen > MaxValueLen, r.Kind == KindDelete && vlen != 0,
		fields == 4 && (vals[3] == 0 || vals[3] > 1<<63-1):
		return PackedRecord{}, packedLayout{}, ErrNoRecord
	}
	r.Seq, r.Expiry = vals[2], int64(vals[3])
	r.Size = alignUp(n+int(klen)+int(vlen), RecordAlign)
	return r, packedLayout{key: n, klen: int(klen), vlen: int(vlen)}, nil
}
