package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
)

// fuzzSalt is the salt of the stores FuzzScanFrames builds.
const fuzzSalt = 0x5eed5a17

// fuzzMaxData bounds the data area of a FuzzScanFrames file, so that a run stays fast and small.
const fuzzMaxData = 64 << 10

// Fields of a frame header and of a packed record (docs/FORMAT.md) that fixFrames reads or
// recomputes.
const (
	frameLenOff   = 8  // frame length
	frameCRCOff   = 24 // frame header checksum
	recFlagsOff   = 5  // packed record flags; bit 0: an expiry follows
	recVarintsOff = 14 // a packed record's first varint
)

// crcTail continues crc with a file offset and the salt, as every checksum of the data area
// ends.
func crcTail(crc uint32, off uint64) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], off)
	binary.LittleEndian.PutUint64(b[8:], fuzzSalt)
	return crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), b[:])
}

// fixFrames makes the frames claimed in data, the data area of a file (at file offset
// format.DataStart), verify where they lie, following docs/FORMAT.md: at every
// format.FrameAlign boundary that starts with the frame magic it recomputes, with body set,
// the checksum of each packed record the frame's length covers, as far as their lengths can be
// read, and then the frame header's checksum. The fuzzer thus reaches the scan's logic behind
// the checksums.
func fixFrames(data []byte, body bool) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	for pos := 0; pos+format.FrameHeaderSize <= len(data); pos += format.FrameAlign {
		if string(data[pos:pos+4]) != "FXF2" {
			continue
		}
		length := int(binary.LittleEndian.Uint32(data[pos+frameLenOff:]))
		frame := data[pos:min(len(data), pos+max(length, 0))]
		for rp := format.FrameHeaderSize; body && rp+recVarintsOff < len(frame); {
			rec := frame[rp:]
			fields := 3
			if rec[recFlagsOff]&1 != 0 {
				fields = 4
			}
			var vals [4]uint64
			n := recVarintsOff
			for i := range fields {
				v, k := binary.Uvarint(rec[n:])
				if k <= 0 {
					n = -1
					break
				}
				vals[i], n = v, n+k
			}
			if n < 0 || vals[0] > fuzzMaxData || vals[1] > fuzzMaxData {
				break
			}
			end := n + int(vals[0]) + int(vals[1])
			if end > len(rec) {
				break
			}
			off := uint64(format.DataStart + pos + rp)
			binary.LittleEndian.PutUint32(rec, crcTail(crc32.Update(0, tab, rec[4:end]), off))
			rp += (end + 7) &^ 7
		}
		h := data[pos : pos+format.FrameHeaderSize]
		binary.LittleEndian.PutUint32(h[frameCRCOff:], crcTail(crc32.Update(0, tab, h[:frameCRCOff]), uint64(format.DataStart+pos)))
	}
}

// modelRecord is a record as a scan reports it.
type modelRecord struct {
	off        uint64
	size       int
	batch      uint64
	kind       format.Kind
	ts, seq    uint64
	expiry     int64
	key, value string
}

// modelScan is the outcome of scanModel.
type modelScan struct {
	recs     []modelRecord
	torn     []uint64 // offsets of the torn frames
	frames   int64    // frames whose header verifies, torn ones included
	maxBatch uint64
	corrupt  bool // a torn frame is older than the newest TornWindow batches
}

// scanModel is the reference scan of docs/FORMAT.md over the file's bytes, read whole: at each
// FrameAlign boundary, a frame header that verifies there and fits in the file makes a frame,
// whose records are all taken if each verifies and they tile the frame as its header says, and
// none otherwise (a torn frame); the scan goes on after the frame, or at the next boundary.
func scanModel(file []byte) modelScan {
	var m modelScan
	type tornAt struct{ off, batch uint64 }
	var torn []tornAt
	end := len(file) / format.SectorSize * format.SectorSize
	for pos := format.DataStart; end-pos >= format.FrameHeaderSize; {
		h, err := format.DecodeFrameHeader(file[pos:end], uint64(pos), fuzzSalt)
		if err != nil || h.Length > end-pos {
			pos += format.FrameAlign
			continue
		}
		m.frames++
		m.maxBatch = max(m.maxBatch, h.Batch)
		var rs []modelRecord
		rp := format.FrameHeaderSize
		for len(rs) < h.Count && rp < h.Length {
			off := uint64(pos + rp)
			r, err := format.DecodePackedRecord(file[pos+rp:pos+h.Length], off, fuzzSalt)
			if err != nil {
				break
			}
			rs = append(rs, modelRecord{off, r.Size, h.Batch, r.Kind, r.TS, r.Seq, r.Expiry, string(r.Key), string(r.Value)})
			rp += r.Size
		}
		if len(rs) == h.Count && rp == h.Length {
			m.recs = append(m.recs, rs...)
		} else {
			torn = append(torn, tornAt{uint64(pos), h.Batch})
		}
		pos += (h.Length + format.FrameAlign - 1) / format.FrameAlign * format.FrameAlign
	}
	for _, t := range torn {
		m.torn = append(m.torn, t.off)
		m.corrupt = m.corrupt || t.batch+TornWindow <= m.maxBatch
	}
	return m
}

// FuzzScanFrames builds a data file whose data area is the fuzz input (the checksums of its
// frames optionally recomputed, see fixFrames: headers with fix&1, headers and records with
// fix&2) and checks File.ScanFrames against scanModel: the same records, torn frames and
// statistics, an error exactly when a torn frame is older than the window (matching
// format.ErrCorrupted), never a panic.
func FuzzScanFrames(f *testing.F) {
	at := func(units int) uint64 { return uint64(format.DataStart + units*format.FrameAlign) }
	one, _ := encodeFrame(at(0), fuzzSalt, 1, recs("k", 1, 10))
	many, _ := encodeFrame(at(0), fuzzSalt, 2, recs("m", 12, 60))
	second, _ := encodeFrame(at(len(many)/format.FrameAlign), fuzzSalt, 3, []format.Record{
		{Kind: format.KindDelete, Key: []byte("gone"), TS: 4, Seq: 1 << 40},
		{Kind: format.KindValue, Key: []byte("ttl"), Value: []byte("x"), TS: 5, Seq: 7, Expiry: 1 << 50},
	})
	two := append(bytes.Clone(many), second...)
	big, _ := encodeFrame(at(0), fuzzSalt, 3, recs("b", 2, 1500))
	torn := bytes.Clone(big)
	torn[600] ^= 1
	newer, _ := encodeFrame(at(len(torn)/format.FrameAlign), fuzzSalt, 3+TornWindow, recs("n", 1, 1))
	old := append(bytes.Clone(torn), newer...)
	zapped := bytes.Clone(two)
	clear(zapped[:format.FrameAlign])
	f.Add([]byte{}, uint8(0))
	f.Add(one, uint8(0))
	f.Add(two, uint8(0))
	f.Add(big, uint8(0))
	f.Add(torn, uint8(0))
	f.Add(old, uint8(0))
	f.Add(zapped, uint8(0))
	f.Add(big[:1000], uint8(0))                                      // a frame cut by the end of the file
	f.Add(append(make([]byte, format.FrameAlign), one...), uint8(2)) // a frame moved one unit on, fixed
	f.Add(append(make([]byte, format.FrameAlign), one...), uint8(0)) // the same, unfixed: it must not verify
	f.Add([]byte("FXF2\x00\x00\x00\x00\x40\x00\x00\x00\x01\x00\x00\x00\x07"), uint8(3))
	// Headers fixed after their length or count was changed: the records no longer tile the
	// frame as the header says.
	longer, fewer := bytes.Clone(two), bytes.Clone(two)
	binary.LittleEndian.PutUint32(longer[frameLenOff:], binary.LittleEndian.Uint32(longer[frameLenOff:])+8)
	binary.LittleEndian.PutUint32(fewer[frameLenOff+4:], binary.LittleEndian.Uint32(fewer[frameLenOff+4:])-1)
	f.Add(longer, uint8(1))
	f.Add(fewer, uint8(1))
	path := filepath.Join(f.TempDir(), "scan.feox") // one file per worker process, rewritten by each input
	f.Fuzz(func(t *testing.T, data []byte, fix uint8) {
		if len(data) > fuzzMaxData {
			data = data[:fuzzMaxData]
		}
		hdr := format.AppendHeader(nil, format.Header{Version: format.Version, Generation: 1, Salt: fuzzSalt, Created: 1})
		file := append(append(bytes.Clone(hdr), hdr...), data...)
		if fix&3 != 0 {
			fixFrames(file[format.DataStart:], fix&2 != 0)
		}
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		df, created, err := Open(path, 0)
		if err != nil || created {
			t.Fatalf("Open of a file with a valid header: created %v, %v", created, err)
		}
		defer df.Close()
		var got []modelRecord
		st, err := df.ScanFrames(func(r *FoundPacked) error {
			p := &r.Record
			got = append(got, modelRecord{r.Offset, r.Size, r.Batch, p.Kind, p.TS, p.Seq, p.Expiry, string(p.Key), string(p.Value)})
			return nil
		})
		want := scanModel(file)
		if want.corrupt {
			if !errors.Is(err, format.ErrCorrupted) {
				t.Fatalf("ScanFrames = %v, want ErrCorrupted (a torn frame older than the window)", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ScanFrames = %v, want nil", err)
		}
		if len(got) != len(want.recs) {
			t.Fatalf("ScanFrames found %d records, the model %d", len(got), len(want.recs))
		}
		for i := range got {
			if got[i] != want.recs[i] {
				t.Fatalf("record %d: ScanFrames %+v, model %+v", i, got[i], want.recs[i])
			}
		}
		if st.Records != int64(len(want.recs)) || st.Frames != want.frames || st.Torn != int64(len(want.torn)) ||
			st.MaxBatch != want.maxBatch {
			t.Fatalf("FrameScanStats %+v; model: %d records, %d frames, %d torn, max batch %d",
				st, len(want.recs), want.frames, len(want.torn), want.maxBatch)
		}
		if len(st.TornFrames) != len(want.torn) {
			t.Fatalf("TornFrames %v, model %v", st.TornFrames, want.torn)
		}
		for i := range want.torn {
			if st.TornFrames[i] != want.torn[i] {
				t.Fatalf("TornFrames %v, model %v", st.TornFrames, want.torn)
			}
		}
	})
}

// TestFuzzScanFrames_FixMatchesFormat checks the checksum repair of FuzzScanFrames against the
// format package: a frame with the checksums of its header and records zeroed and then fixed
// is byte for byte the encoded frame.
func TestFuzzScanFrames_FixMatchesFormat(t *testing.T) {
	rs := []format.Record{
		{Kind: format.KindValue, Key: []byte("key"), Value: []byte("value"), TS: 1, Seq: 2, Expiry: 3},
		{Kind: format.KindDelete, Key: bytes.Repeat([]byte("k"), 700), TS: 9, Seq: 1 << 60},
		{Kind: format.KindValue, Key: []byte("v"), Value: bytes.Repeat([]byte("v"), 3000), TS: 9, Seq: 300},
	}
	for _, units := range []int{0, 7} {
		at := uint64(format.DataStart + units*format.FrameAlign)
		want, offs := encodeFrame(at, fuzzSalt, 5, rs)
		data := append(make([]byte, units*format.FrameAlign), want...)
		got := data[units*format.FrameAlign:]
		clear(got[frameCRCOff : frameCRCOff+4])
		for _, off := range offs {
			clear(got[off-at : off-at+4])
		}
		fixFrames(data, true)
		if !bytes.Equal(got, want) {
			t.Fatalf("fixFrames of a frame at %d differs from FrameWriter", at)
		}
	}
}
