package disk

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
)

// TornWindow is how many of the newest batch numbers in a file may hold torn records that a
// crash explains; a torn record from an older batch is damage a crash cannot explain.
const TornWindow = 4096

// scanChunk is how much of the file a scan reads at once.
const scanChunk = 8 << 20

// Found is a valid record met by Scan. Key and Value are valid only during the callback.
type Found struct {
	Sector uint64 // first sector of the record
	Header format.RecordHeader
	Key    []byte
	Value  []byte
}

// ScanStats summarizes a scan.
type ScanStats struct {
	Records  int64  // valid records
	Torn     int64  // torn records skipped (all from the newest TornWindow batches)
	MaxBatch uint64 // largest batch number among valid and torn records
	Bytes    int64  // bytes read
	// TornSectors are the first sectors of the torn records skipped. Their headers still
	// verify; the caller must erase them before the space is reused.
	TornSectors []uint64
}

type tornRecord struct {
	sector, batch uint64
}

// Scan reads the data area from start to end and calls fn for every valid record, in file
// order. A torn record is skipped when its batch number is among the newest TornWindow of the
// file; an older one makes Scan fail with an error wrapping format.ErrCorrupted that names its
// offset. An error from fn stops the scan and is returned.
func (f *File) Scan(fn func(r *Found) error) (ScanStats, error) {
	var st ScanStats
	salt := f.hdr.Salt
	end := uint64(f.Size())
	buf := make([]byte, scanChunk)
	var torn []tornRecord
	var found Found                 // reused for every record: it is valid only during the callback
	off := uint64(format.DataStart) // file offset of buf[0]
	n := 0                          // valid bytes in buf
	pos := 0                        // scan position in buf, a multiple of the sector size
	// fill reads the file from offset at into buf, at least need bytes; the caller has checked
	// that the file holds them.
	fill := func(at uint64, need int) error {
		if need > len(buf) {
			buf = make([]byte, need)
		}
		// Read up to the next hole (space never written holds no record): reading a hole
		// costs time, and on some filesystems leaves pages that make it look like data.
		stop := max(uint64(nextHole(f.f, int64(at), int64(end))), at+uint64(need))
		cnt := int(min(uint64(len(buf)), min(stop, end)-at))
		if err := f.ReadAt(buf[:cnt], int64(at)); err != nil {
			return err
		}
		st.Bytes += int64(cnt)
		off, pos, n = at, 0, cnt
		return nil
	}
	// skip moves the scan to the next sector that may hold data, from the scan position at;
	// it reports false at the end of the file.
	skip := func(at uint64) (uint64, bool) {
		next, err := nextData(f.f, int64(at), int64(end))
		if err == nil && uint64(next) > at {
			at = uint64(next) / format.SectorSize * format.SectorSize // holes are block-aligned
		}
		return at, end-at >= format.RecordHeaderSize && at < end
	}
	if at, ok := skip(off); ok {
		if err := fill(at, format.RecordHeaderSize); err != nil {
			return st, err
		}
	}
	for off+uint64(pos) < end {
		if pos+format.RecordHeaderSize > n {
			at, ok := skip(off + uint64(pos))
			if !ok {
				break
			}
			if err := fill(at, format.RecordHeaderSize); err != nil {
				return st, err
			}
		}
		sector := (off + uint64(pos)) / format.SectorSize
		h, err := format.DecodeRecordHeader(buf[pos:n], sector, salt)
		if err != nil {
			pos += format.SectorSize
			continue
		}
		if uint64(h.Size) > end-(off+uint64(pos)) {
			pos += format.SectorSize // claims to run past the end of the file: not a record
			continue
		}
		if pos+h.Size > n {
			if err := fill(off+uint64(pos), h.Size); err != nil {
				return st, err
			}
		}
		key, value, err := format.VerifyRecord(buf[pos:pos+h.Size], h, sector, salt)
		st.MaxBatch = max(st.MaxBatch, h.Batch)
		if err != nil {
			torn = append(torn, tornRecord{sector, h.Batch})
			pos += format.SectorSize
			continue
		}
		found = Found{Sector: sector, Header: h, Key: key, Value: value}
		if err := fn(&found); err != nil {
			return st, err
		}
		st.Records++
		pos += h.Size
	}
	for _, t := range torn {
		if t.batch+TornWindow <= st.MaxBatch {
			return st, fmt.Errorf("%w: torn record at offset %d from batch %d, older than the newest %d batches (newest %d)",
				format.ErrCorrupted, t.sector*format.SectorSize, t.batch, TornWindow, st.MaxBatch)
		}
	}
	st.Torn = int64(len(torn))
	for _, t := range torn {
		st.TornSectors = append(st.TornSectors, t.sector)
	}
	return st, nil
}
