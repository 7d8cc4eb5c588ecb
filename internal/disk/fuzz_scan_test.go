package disk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
)

// fuzzSalt is the salt of the stores FuzzScan builds.
const fuzzSalt = 0x5eed5a17

// fuzzMaxData bounds the data area of a FuzzScan file, so that a run stays fast and small.
const fuzzMaxData = 64 << 10

// Record fields (docs/FORMAT.md) that fixRecord recomputes.
const (
	recKeyLenOff    = 6
	recValueLenOff  = 8
	recHeaderCRCOff = 12
	recCRCOff       = 48
)

// castagnoli returns the CRC-32C table (hash/crc32 builds it once).
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// crcTail continues crc with the sector number and the salt, as both record checksums end.
func crcTail(crc uint32, sector uint64) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], sector)
	binary.LittleEndian.PutUint64(b[8:], fuzzSalt)
	return crc32.Update(crc, castagnoli(), b[:])
}

// fixRecord makes the record claimed at the start of rec (a sector at the given sector
// number) verify, following docs/FORMAT.md: with body set it first recomputes the record
// checksum over the header, key and value (when rec holds them all), then the header
// checksum. The fuzzer thus reaches the scan's logic behind both checksums.
func fixRecord(rec []byte, sector uint64, body bool) {
	if len(rec) < format.RecordHeaderSize {
		return
	}
	if body {
		used := format.RecordHeaderSize + int(binary.LittleEndian.Uint16(rec[recKeyLenOff:])) +
			int(binary.LittleEndian.Uint32(rec[recValueLenOff:]))
		if used <= len(rec) {
			var hdr [48]byte
			copy(hdr[:], rec[:48])
			clear(hdr[recHeaderCRCOff : recHeaderCRCOff+4])
			crc := crc32.Update(0, castagnoli(), hdr[:])
			crc = crc32.Update(crc, castagnoli(), rec[format.RecordHeaderSize:used])
			binary.LittleEndian.PutUint32(rec[recCRCOff:], crcTail(crc, sector))
		}
	}
	crc := crc32.Update(0, castagnoli(), rec[:recHeaderCRCOff])
	crc = crc32.Update(crc, castagnoli(), rec[16:format.RecordHeaderSize])
	binary.LittleEndian.PutUint32(rec[recHeaderCRCOff:], crcTail(crc, sector))
}

// fixRecords applies fixRecord (header only when fix&1, header and body when fix&2) to every
// sector of the data area that starts with the record magic.
func fixRecords(data []byte, fix uint8) {
	if fix&3 == 0 {
		return
	}
	for off := 0; off+4 <= len(data); off += format.SectorSize {
		if string(data[off:off+4]) == "FXR1" {
			fixRecord(data[off:], uint64(format.DataStart+off)/format.SectorSize, fix&2 != 0)
		}
	}
}

// scanned is a record or torn sector as a scan reports it.
type scanned struct {
	sector     uint64
	header     format.RecordHeader
	key, value string
}

// scanModel is the reference scan of docs/FORMAT.md over the file's bytes: records, torn
// sectors, the largest batch number, and whether a torn record is older than the window.
func scanModel(file []byte) (recs []scanned, torn []uint64, maxBatch uint64, corrupt bool) {
	type tornRec struct{ sector, batch uint64 }
	var tornRecs []tornRec
	end := len(file) / format.SectorSize * format.SectorSize
	for pos := format.DataStart; end-pos >= format.RecordHeaderSize; {
		sector := uint64(pos / format.SectorSize)
		h, err := format.DecodeRecordHeader(file[pos:end], sector, fuzzSalt)
		if err != nil || h.Size > end-pos {
			pos += format.SectorSize
			continue
		}
		maxBatch = max(maxBatch, h.Batch)
		key, value, err := format.VerifyRecord(file[pos:pos+h.Size], h, sector, fuzzSalt)
		if err != nil {
			tornRecs = append(tornRecs, tornRec{sector, h.Batch})
			pos += format.SectorSize
			continue
		}
		recs = append(recs, scanned{sector, h, string(key), string(value)})
		pos += h.Size
	}
	for _, t := range tornRecs {
		torn = append(torn, t.sector)
		corrupt = corrupt || t.batch+disk.TornWindow <= maxBatch
	}
	return recs, torn, maxBatch, corrupt
}

// FuzzScan builds a data file whose data area is the fuzz input (records' checksums
// optionally recomputed, see fixRecords) and checks File.Scan against scanModel: the same
// records, torn sectors and statistics, an error exactly when a torn record is older than the
// window (matching format.ErrCorrupted), never a panic.
func FuzzScan(f *testing.F) {
	rec := func(sector uint64, kind format.Kind, key, value string, batch uint64) []byte {
		return format.AppendRecord(nil, &format.Record{Kind: kind, Key: []byte(key), Value: []byte(value),
			TS: 7, Seq: batch, Batch: batch}, sector, fuzzSalt)
	}
	first := uint64(format.DataStart / format.SectorSize)
	one := rec(first, format.KindValue, "k", "v", 1)
	two := append(bytes.Clone(one), rec(first+1, format.KindDelete, "k", "", 2)...)
	big := rec(first, format.KindValue, "big", string(bytes.Repeat([]byte("b"), 1500)), 3)
	torn := bytes.Clone(big)
	torn[600] ^= 1
	old := append(bytes.Clone(torn), rec(first+4, format.KindValue, "new", "x", 3+disk.TornWindow)...)
	pastEnd := bytes.Clone(big[:1000])
	f.Add([]byte{}, uint8(0))
	f.Add(one, uint8(0))
	f.Add(two, uint8(0))
	f.Add(big, uint8(0))
	f.Add(torn, uint8(0))
	f.Add(old, uint8(0))
	f.Add(pastEnd, uint8(0))
	f.Add(append(make([]byte, 512), one...), uint8(2)) // a record moved to another sector, fixed
	f.Add(append(make([]byte, 512), one...), uint8(0)) // the same, unfixed: it must not verify
	f.Add([]byte("FXR1\x01\x00\x01\x00\x01\x00\x00\x00"), uint8(3))
	path := filepath.Join(f.TempDir(), "scan.feox") // one file per worker process, rewritten by each input
	f.Fuzz(func(t *testing.T, data []byte, fix uint8) {
		if len(data) > fuzzMaxData {
			data = data[:fuzzMaxData]
		}
		hdr := format.AppendHeader(nil, format.Header{Version: format.Version, Generation: 1, Salt: fuzzSalt, Created: 1})
		file := append(append(bytes.Clone(hdr), hdr...), data...)
		fixRecords(file[format.DataStart:], fix)
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		df, created, err := disk.Open(path, 0)
		if err != nil || created {
			t.Fatalf("Open of a file with a valid header: created %v, %v", created, err)
		}
		defer df.Close()
		var got []scanned
		st, err := df.Scan(func(r *disk.Found) error {
			got = append(got, scanned{r.Sector, r.Header, string(r.Key), string(r.Value)})
			return nil
		})
		want, wantTorn, maxBatch, corrupt := scanModel(file)
		if corrupt {
			if !errors.Is(err, format.ErrCorrupted) {
				t.Fatalf("Scan = %v, want ErrCorrupted (a torn record older than the window)", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Scan = %v, want nil", err)
		}
		if len(got) != len(want) {
			t.Fatalf("Scan found %d records, the model %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("record %d: Scan %+v, model %+v", i, got[i], want[i])
			}
		}
		if st.Records != int64(len(want)) || st.Torn != int64(len(wantTorn)) || st.MaxBatch != maxBatch {
			t.Fatalf("ScanStats %+v; model: %d records, %d torn, max batch %d", st, len(want), len(wantTorn), maxBatch)
		}
		if len(st.TornSectors) != len(wantTorn) {
			t.Fatalf("TornSectors %v, model %v", st.TornSectors, wantTorn)
		}
		for i := range wantTorn {
			if st.TornSectors[i] != wantTorn[i] {
				t.Fatalf("TornSectors %v, model %v", st.TornSectors, wantTorn)
			}
		}
	})
}

// TestFuzzScan_FixRecordMatchesFormat checks the checksum repair of FuzzScan against the
// format package: a record with both checksums zeroed and then fixed is byte for byte the
// encoded record.
func TestFuzzScan_FixRecordMatchesFormat(t *testing.T) {
	for _, r := range []format.Record{
		{Kind: format.KindValue, Key: []byte("key"), Value: []byte("value"), TS: 1, Seq: 2, Expiry: 3, Batch: 4},
		{Kind: format.KindDelete, Key: bytes.Repeat([]byte("k"), 700), TS: 9, Seq: 8, Batch: 7},
	} {
		for _, sector := range []uint64{16, 1 << 33} {
			want := format.AppendRecord(nil, &r, sector, fuzzSalt)
			got := bytes.Clone(want)
			clear(got[recHeaderCRCOff : recHeaderCRCOff+4])
			clear(got[recCRCOff : recCRCOff+4])
			fixRecord(got, sector, true)
			if !bytes.Equal(got, want) {
				t.Fatalf("fixRecord of a %v record at sector %d differs from AppendRecord", r.Kind, sector)
			}
		}
	}
}
