package disk

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
)

// firstSector is the first sector of the data area.
const firstSector = format.DataStart / format.SectorSize

// placed is a record as the test wrote it, or as Scan reported it.
type placed struct {
	sector uint64
	kind   format.Kind
	key    string
	value  []byte
	seq    uint64
	batch  uint64
	expiry int64
}

// String describes p without its value bytes.
func (p placed) String() string {
	return fmt.Sprintf("{sector %d %v key %.20q (%d bytes) value %d bytes seq %d batch %d}",
		p.sector, p.kind, p.key, len(p.key), len(p.value), p.seq, p.batch)
}

// record returns the format.Record of p.
func (p placed) record() *format.Record {
	return &format.Record{
		Kind: p.kind, Key: []byte(p.key), Value: p.value,
		TS: 1000 + p.seq, Seq: p.seq, Expiry: p.expiry, Batch: p.batch,
	}
}

// size returns the bytes p occupies on disk.
func (p placed) size() int { return format.RecordSize(len(p.key), len(p.value)) }

// value returns a record to place at sector with a key of keyLen bytes and a value of valueLen
// bytes; seq and batch are both n.
func value(sector uint64, keyLen, valueLen int, n uint64) placed {
	key := fmt.Sprintf("key-%d-", sector)
	key += strings.Repeat("k", max(0, keyLen-len(key)))
	return placed{sector: sector, kind: format.KindValue, key: key[:keyLen], value: pattern(valueLen, byte(n)), seq: n, batch: n, expiry: int64(n) * 7}
}

// encode returns the bytes of p for the store with the given salt.
func encode(p placed, salt uint64) []byte {
	return format.AppendRecord(nil, p.record(), p.sector, salt)
}

// put writes the records to f at their sectors and returns them.
func put(t testing.TB, f *File, recs ...placed) []placed {
	t.Helper()
	for _, p := range recs {
		if err := f.WriteAt([][]byte{encode(p, f.Header().Salt)}, int64(p.sector)*format.SectorSize); err != nil {
			t.Fatalf("writing %v: %v", p, err)
		}
	}
	return recs
}

// writeRaw writes b at the given sector of f.
func writeRaw(t testing.TB, f *File, sector uint64, b []byte) {
	t.Helper()
	if err := f.WriteAt([][]byte{b}, int64(sector)*format.SectorSize); err != nil {
		t.Fatal(err)
	}
}

// scanAll scans f and returns the records Scan reported, copied, and its result.
func scanAll(f *File) ([]placed, ScanStats, error) {
	var got []placed
	st, err := f.Scan(func(r *Found) error {
		got = append(got, placed{
			sector: r.Sector, kind: r.Header.Kind, key: string(r.Key), value: bytes.Clone(r.Value),
			seq: r.Header.Seq, batch: r.Header.Batch, expiry: r.Header.Expiry,
		})
		if r.Header.KeyLen != len(r.Key) || r.Header.ValueLen != len(r.Value) ||
			r.Header.Size != format.RecordSize(len(r.Key), len(r.Value)) || r.Header.TS != 1000+r.Header.Seq {
			return fmt.Errorf("record at sector %d: header %+v does not match its key and value", r.Sector, r.Header)
		}
		return nil
	})
	return got, st, err
}

// checkScan scans f and checks that it reports exactly want, in order, with no torn records.
func checkScan(t *testing.T, f *File, want []placed) ScanStats {
	t.Helper()
	got, st, err := scanAll(f)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	checkFound(t, got, want)
	var maxBatch uint64
	for _, p := range want {
		maxBatch = max(maxBatch, p.batch)
	}
	if st.Records != int64(len(want)) || st.MaxBatch != maxBatch || st.Torn != 0 || len(st.TornSectors) != 0 {
		t.Errorf("stats = {Records %d MaxBatch %d Torn %d TornSectors %v}, want {%d %d 0 []}",
			st.Records, st.MaxBatch, st.Torn, st.TornSectors, len(want), maxBatch)
	}
	// Every record found was read; holes (space never written) need not be.
	var recBytes int64
	for _, p := range got {
		recBytes += int64(format.RecordSize(len(p.key), len(p.value)))
	}
	if st.Bytes < recBytes {
		t.Errorf("stats.Bytes = %d, less than the %d bytes of the records found", st.Bytes, recBytes)
	}
	return st
}

// TestFile_Scan_SkipsHoles checks that a scan does not read the space a file reserved but
// never wrote: records at the start of a large file, then nothing.
func TestFile_Scan_SkipsHoles(t *testing.T) {
	f := openNew(t, 256<<20)
	var want []placed
	for i := range uint64(100) {
		want = append(want, value(firstSector+i, 10, 100, i+1))
	}
	put(t, f, want...)
	st := checkScan(t, f, want)
	if st.Bytes > 1<<20 {
		t.Errorf("scan of 100 records in a 256 MiB file read %d bytes: the unwritten space was read", st.Bytes)
	}
}

// checkFound checks that the records Scan reported are want, in order.
func checkFound(t *testing.T, got, want []placed) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("record %d: missing, want %v", i, want[i])
		case i >= len(want):
			t.Errorf("record %d: unexpected %v", i, got[i])
		case got[i].sector != want[i].sector || got[i].kind != want[i].kind || got[i].key != want[i].key ||
			!bytes.Equal(got[i].value, want[i].value) || got[i].seq != want[i].seq ||
			got[i].batch != want[i].batch || got[i].expiry != want[i].expiry:
			t.Errorf("record %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// TestFile_Scan_Empty ensures a new store holds no records.
func TestFile_Scan_Empty(t *testing.T) {
	f := openNew(t, 0)
	checkScan(t, f, nil)
}

// TestFile_Scan_Records ensures Scan reports every valid record exactly once with its sector,
// key and value, whatever its size and wherever it lies relative to the scan's 8 MiB chunks,
// and skips zero sectors, garbage and records bound to another sector or store.
func TestFile_Scan_Records(t *testing.T) {
	const size = 24 << 20
	f := openNew(t, size)
	salt := f.Header().Salt
	end := uint64(size / format.SectorSize)
	mib := uint64(1<<20) / format.SectorSize // sectors per MiB
	chunkEnd := uint64(format.DataStart+scanChunk) / format.SectorSize

	del := placed{sector: firstSector + 1, kind: format.KindDelete, key: "deleted", seq: 3, batch: 2}
	want := put(t, f,
		value(firstSector, 1, 0, 1),       // smallest record, first sector
		del,                               // deletion
		value(firstSector+2, 16, 100, 4),  // one sector
		value(firstSector+3, 8, 2000, 5),  // five sectors
		value(firstSector+8, 100, 356, 6), // exactly one full sector (56+100+356 = 512)
		value(firstSector+9, 100, 357, 7), // one byte into a second sector
		value(4*mib, format.MaxKeyLen, 10, 8),
		value(8*mib-1, 20, 1000, 9),       // across file offset 8 MiB
		value(chunkEnd-2, 20, 3000, 10),   // across the end of the first 8 MiB chunk
		value(12*mib, 33, 9<<20, 11),      // larger than a chunk
		value(12*mib+18434, 7, 200, 3),    // one sector after it
		value(22*mib, 9, 1<<20, 12),       // 1 MiB value
		value(end-3, 10, 3*512-56-10, 13), // ends exactly at the end of the file
	)
	// Things that are not records, in the gaps.
	writeRaw(t, f, firstSector+11, pattern(512, 0x5a))                              // garbage
	writeRaw(t, f, firstSector+12, append([]byte("FXR1"), pattern(508, 3)...))      // record magic, garbage header
	writeRaw(t, f, firstSector+13, encode(value(firstSector+99, 5, 5, 20), salt))   // bound to another sector
	writeRaw(t, f, firstSector+14, encode(value(firstSector+14, 5, 5, 21), salt^1)) // bound to another store
	writeRaw(t, f, 6*mib, bytes.Repeat([]byte("FXR1"), 4096))                       // many magics
	// A retired record: its first sector is zeroed, the rest of its extent still holds its body.
	retired := value(2*mib, 10, 3000, 30)
	b := encode(retired, salt)
	clear(b[:format.SectorSize])
	writeRaw(t, f, retired.sector, b)
	checkScan(t, f, want)
}

// TestFile_Scan_ChunkBoundary ensures records that end at, start at, or straddle the end of the
// scan's first chunk are each reported once, also with a neighbour on the other side.
func TestFile_Scan_ChunkBoundary(t *testing.T) {
	chunkEnd := uint64(format.DataStart+scanChunk) / format.SectorSize
	tests := []struct {
		name string
		recs []placed
	}{
		{"ends at the boundary", []placed{value(chunkEnd-1, 10, 100, 1), value(chunkEnd, 10, 100, 2)}},
		{"two sectors ending at the boundary", []placed{value(chunkEnd-2, 10, 600, 1), value(chunkEnd, 10, 100, 2)}},
		{"header in the last sector", []placed{value(chunkEnd-1, 10, 600, 1), value(chunkEnd+1, 10, 100, 2)}},
		{"straddles by many sectors", []placed{value(chunkEnd-5, 10, 5000, 1), value(chunkEnd+5, 10, 100, 2)}},
		{"starts at the boundary", []placed{value(chunkEnd-3, 10, 0, 1), value(chunkEnd, 10, 3000, 2)}},
		{"larger than a chunk from the boundary", []placed{value(chunkEnd-1, 10, 0, 1), value(chunkEnd, 10, scanChunk+512, 2)}},
		{"larger than a chunk across it", []placed{value(chunkEnd-3, 10, scanChunk, 1), value(chunkEnd+scanChunk/512, 10, 10, 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := openNew(t, 20<<20)
			checkScan(t, f, put(t, f, tt.recs...))
		})
	}
}

// TestFile_Scan_Model ensures random layouts of records of random sizes, with garbage and stale
// copies between them, are scanned as written.
func TestFile_Scan_Model(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 77))
			const size = 12 << 20 // more than one scan chunk
			f := openNew(t, size)
			salt := f.Header().Salt
			end := uint64(size / format.SectorSize)
			var want []placed
			sector := uint64(firstSector)
			for n := uint64(1); ; n++ {
				sector += uint64(rng.IntN(3)) // gaps of zero sectors
				var valueLen int
				switch r := rng.IntN(20); {
				case r == 0:
					valueLen = rng.IntN(2 << 20)
				case r < 5:
					valueLen = rng.IntN(64 << 10)
				default:
					valueLen = rng.IntN(1500)
				}
				p := value(sector, 1+rng.IntN(300), valueLen, n)
				if rng.IntN(10) == 0 {
					p = placed{sector: sector, kind: format.KindDelete, key: p.key, seq: n, batch: n}
				}
				if sector+uint64(p.size()/format.SectorSize) > end {
					break
				}
				put(t, f, p)
				want = append(want, p)
				sector += uint64(p.size() / format.SectorSize)
				if rng.IntN(4) == 0 && sector < end {
					// A sector that is not a record: garbage, or a record written for elsewhere.
					if rng.IntN(2) == 0 {
						writeRaw(t, f, sector, pattern(512, byte(n)))
					} else {
						writeRaw(t, f, sector, encode(value(sector+1, 5, 10, n), salt)[:512])
					}
					sector++
				}
			}
			if len(want) < 50 {
				t.Fatalf("layout holds only %d records", len(want))
			}
			checkScan(t, f, want)
		})
	}
}

// damage flips one byte of the record at p's sector, at byte at of the record.
func damage(t testing.TB, f *File, p placed, at int) {
	t.Helper()
	off := int64(p.sector)*format.SectorSize + int64(at)
	b := make([]byte, 1)
	if err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if err := f.WriteAt([][]byte{b}, off); err != nil {
		t.Fatal(err)
	}
}

// TestFile_Scan_Torn ensures a record whose header verifies but whose body does not is skipped
// and counted when its batch is among the newest TornWindow batches of the file, and that an
// older one makes Scan fail with format.ErrCorrupted naming its offset.
func TestFile_Scan_Torn(t *testing.T) {
	chunkEnd := uint64(format.DataStart+scanChunk) / format.SectorSize
	type tornAt struct {
		p  placed
		at int // byte of the record to damage
	}
	tests := []struct {
		name    string
		valid   []placed
		torn    []tornAt
		failAt  int64 // offset an error must name; 0: the scan must succeed
		maxSeen uint64
	}{
		{
			name:  "newest batch",
			valid: []placed{value(firstSector, 10, 10, 5000)},
			torn:  []tornAt{{value(firstSector+4, 10, 10, 5001), 60}},
		},
		{
			name:  "oldest batch of the window",
			valid: []placed{value(firstSector, 10, 10, 5000)},
			torn:  []tornAt{{value(firstSector+4, 10, 10, 5000-TornWindow+1), 60}},
		},
		{
			name:   "just outside the window",
			valid:  []placed{value(firstSector, 10, 10, 5000)},
			torn:   []tornAt{{value(firstSector+4, 10, 10, 5000-TornWindow), 60}},
			failAt: (firstSector + 4) * format.SectorSize,
		},
		{
			name:   "far outside the window, after the newest record",
			valid:  []placed{value(firstSector+9, 10, 10, 1<<40)},
			torn:   []tornAt{{value(firstSector+20, 10, 10, 1), 70}},
			failAt: (firstSector + 20) * format.SectorSize,
		},
		{
			name: "only torn records",
			torn: []tornAt{{value(firstSector+1, 10, 10, 3), 60}, {value(firstSector+3, 10, 10, 4000), 66}},
		},
		{
			name:  "several, damage in key and value",
			valid: []placed{value(firstSector, 10, 10, 100), value(firstSector+40, 10, 10, 90)},
			torn: []tornAt{
				{value(firstSector+2, 10, 2000, 99), 56},    // first key byte
				{value(firstSector+10, 10, 2000, 98), 1500}, // a later sector of the value
				{value(firstSector+20, 10, 2000, 98), 56 + 10 + 1999},
			},
		},
		{
			name:  "multi-sector across the chunk boundary",
			valid: []placed{value(chunkEnd+10, 10, 10, 7)},
			torn:  []tornAt{{value(chunkEnd-2, 10, 3000, 7), 2000}},
		},
		{
			// A record written over old sectors and torn: the next sector still holds a valid
			// record, which the scan must find by moving on one sector.
			name:  "valid record inside a torn extent",
			valid: []placed{value(firstSector+1, 10, 10, 8)},
			torn:  []tornAt{{value(firstSector, 10, 2000, 9), 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := openNew(t, 12<<20)
			var wantSectors []uint64
			maxBatch := uint64(0)
			for _, tr := range tt.torn {
				put(t, f, tr.p)
				if tr.at > 0 {
					damage(t, f, tr.p, tr.at)
				}
				wantSectors = append(wantSectors, tr.p.sector)
				maxBatch = max(maxBatch, tr.p.batch)
			}
			put(t, f, tt.valid...) // after the torn records: a valid record may overwrite part of one
			for _, p := range tt.valid {
				maxBatch = max(maxBatch, p.batch)
			}
			for _, tr := range tt.torn {
				hdr := make([]byte, format.RecordHeaderSize)
				if err := f.ReadAt(hdr, int64(tr.p.sector)*format.SectorSize); err != nil {
					t.Fatal(err)
				}
				if _, err := format.DecodeRecordHeader(hdr, tr.p.sector, f.Header().Salt); err != nil {
					t.Fatalf("test setup: torn record at sector %d has no valid header: %v", tr.p.sector, err)
				}
			}
			got, st, err := scanAll(f)
			if tt.failAt != 0 {
				if !errors.Is(err, format.ErrCorrupted) {
					t.Fatalf("Scan: %v, want an error wrapping format.ErrCorrupted", err)
				}
				if want := fmt.Sprintf("offset %d ", tt.failAt); !strings.Contains(err.Error(), want) {
					t.Errorf("Scan error %q does not name %q", err, strings.TrimSpace(want))
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			checkFound(t, got, tt.valid)
			if st.Records != int64(len(tt.valid)) || st.Torn != int64(len(tt.torn)) || st.MaxBatch != maxBatch {
				t.Errorf("stats = {Records %d Torn %d MaxBatch %d}, want {%d %d %d}",
					st.Records, st.Torn, st.MaxBatch, len(tt.valid), len(tt.torn), maxBatch)
			}
			if fmt.Sprint(st.TornSectors) != fmt.Sprint(wantSectors) {
				t.Errorf("TornSectors = %v, want %v", st.TornSectors, wantSectors)
			}
		})
	}
}

// TestFile_Scan_TornHeaderOnly ensures a record of which only the first sector reached the file
// (the rest of its extent is zero) is torn, and that the valid records around it are found.
func TestFile_Scan_TornHeaderOnly(t *testing.T) {
	f := openNew(t, 0)
	torn := value(firstSector+5, 10, 3000, 10)
	writeRaw(t, f, torn.sector, encode(torn, f.Header().Salt)[:512])
	want := put(t, f, value(firstSector, 10, 10, 9), value(torn.sector+7, 10, 10, 8))
	got, st, err := scanAll(f)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	checkFound(t, got, want)
	if st.Torn != 1 || fmt.Sprint(st.TornSectors) != fmt.Sprint([]uint64{torn.sector}) || st.MaxBatch != 10 {
		t.Errorf("stats = {Torn %d TornSectors %v MaxBatch %d}, want {1 [%d] 10}", st.Torn, st.TornSectors, st.MaxBatch, torn.sector)
	}
}

// TestFile_Scan_Padding ensures bytes in a record's padding, which no checksum covers, do not
// make it torn.
func TestFile_Scan_Padding(t *testing.T) {
	f := openNew(t, 0)
	p := value(firstSector, 10, 100, 1)
	want := put(t, f, p)
	damage(t, f, p, 511)
	checkScan(t, f, want)
}

// TestFile_Scan_PastEnd ensures a record whose header claims more bytes than the file holds is
// not a record: it is neither reported nor counted as torn, even from an old batch, and the
// scan goes on with the next sector.
func TestFile_Scan_PastEnd(t *testing.T) {
	for _, extra := range []int{1, 2, 100} {
		t.Run(fmt.Sprintf("sectors=%d", extra), func(t *testing.T) {
			f := openNew(t, 0)
			end := uint64(f.Size() / format.SectorSize)
			// A record that would need extra sectors more than remain after its start; only its
			// first sector is written, and valid records follow it up to the end of the file.
			long := value(end-4, 10, (4+extra)*512-56-10, 1)
			writeRaw(t, f, long.sector, encode(long, f.Header().Salt)[:512])
			valid := put(t, f, value(firstSector, 10, 10, 10000), value(end-2, 10, 10, 2), value(end-1, 10, 10, 3))
			checkScan(t, f, valid)
		})
	}
}

// TestFile_Scan_CallbackError ensures an error from the callback stops the scan at once and is
// returned.
func TestFile_Scan_CallbackError(t *testing.T) {
	f := openNew(t, 0)
	var recs []placed
	for i := range uint64(6) {
		recs = append(recs, value(firstSector+3*i, 10, 10, i+1))
	}
	put(t, f, recs...)
	errStop := errors.New("stop here")
	calls := 0
	_, err := f.Scan(func(r *Found) error {
		calls++
		if r.Sector != recs[calls-1].sector {
			t.Errorf("call %d: sector %d, want %d", calls, r.Sector, recs[calls-1].sector)
		}
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Scan: %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback called %d times, want 3", calls)
	}
}

// BenchmarkFile_Scan measures a recovery scan of a file full of one-sector records, and of an
// empty one (every sector is a miss).
func BenchmarkFile_Scan(b *testing.B) {
	const size = 32 << 20
	for _, full := range []bool{true, false} {
		b.Run(fmt.Sprintf("size=32MiB/full=%v", full), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "data.feox")
			f, _, err := Open(path, size)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			records := 0
			if full {
				salt := f.Header().Salt
				buf := make([]byte, 0, 1<<20)
				for s := uint64(firstSector); s < size/format.SectorSize; s++ {
					buf = format.AppendRecord(buf, value(s, 16, 100, s).record(), s, salt)
					if len(buf) == cap(buf) || s == size/format.SectorSize-1 {
						writeRaw(b, f, s+1-uint64(len(buf)/format.SectorSize), buf)
						buf = buf[:0]
					}
				}
				records = size/format.SectorSize - firstSector
			}
			b.SetBytes(size - format.DataStart)
			b.ReportAllocs()
			for b.Loop() {
				st, err := f.Scan(func(*Found) error { return nil })
				if err != nil || st.Records != int64(records) {
					b.Fatalf("Scan: %d records, %v; want %d", st.Records, err, records)
				}
			}
		})
	}
}
