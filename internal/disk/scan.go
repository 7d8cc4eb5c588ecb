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
	sc := &scanner{f: f, end: uint64(f.Size()), buf: make([]byte, scanChunk), off: format.DataStart}
	st := &sc.st
	salt := f.hdr.Salt
	var torn []tornRecord
	var found Found // reused for every record: it is valid only during the callback
	if at, ok := sc.skip(sc.off); ok {
		if err := sc.fill(at, format.RecordHeaderSize); err != nil {
			return *st, err
		}
	}
	for sc.off+uint64(sc.pos) < sc.end {
		if sc.pos+format.RecordHeaderSize > sc.n {
			at, ok := sc.skip(sc.off + uint64(sc.pos))
			if !ok {
				break
			}
			if err := sc.fill(at, format.RecordHeaderSize); err != nil {
				return *st, err
			}
		}
		sector := (sc.off + uint64(sc.pos)) / format.SectorSize
		h, err := format.DecodeRecordHeader(sc.buf[sc.pos:sc.n], sector, salt)
		if err != nil || uint64(h.Size) > sc.end-(sc.off+uint64(sc.pos)) {
			sc.pos += format.SectorSize // not a record, or one claiming to run past the file's end
			continue
		}
		if sc.pos+h.Size > sc.n {
			if err := sc.fill(sc.off+uint64(sc.pos), h.Size); err != nil {
				return *st, err
			}
		}
		key, value, err := format.VerifyRecord(sc.buf[sc.pos:sc.pos+h.Size], h, sector, salt)
		st.MaxBatch = max(st.MaxBatch, h.Batch)
		if err != nil {
			torn = append(torn, tornRecord{sector, h.Batch})
			sc.pos += format.SectorSize
			continue
		}
		found = Found{Sector: sector, Header: h, Key: key, Value: value}
		if err := fn(&found); err != nil {
			return *st, err
		}
		st.Records++
		sc.pos += h.Size
	}
	err := st.addTorn(torn)
	return *st, err
}

// scanner is Scan's position in the file: buf holds n bytes read from file offset off, and
// the scan is at buf[pos] (a multiple of the sector size).
type scanner struct {
	f      *File
	end    uint64 // the file's size
	buf    []byte
	off    uint64
	n, pos int
	st     ScanStats
}

// fill reads the file from offset at into buf, at least need bytes; the caller has checked
// that the file holds them. It reads up to the next hole: space never written holds no record,
// reading a hole costs time, and on some filesystems leaves pages that make it look like data.
func (sc *scanner) fill(at uint64, need int) error {
	if need > len(sc.buf) {
		sc.buf = make([]byte, need)
	}
	stop := max(uint64(nextHole(sc.f.f, int64(at), int64(sc.end))), at+uint64(need))
	cnt := int(min(uint64(len(sc.buf)), min(stop, sc.end)-at))
	if err := sc.f.ReadAt(sc.buf[:cnt], int64(at)); err != nil {
		return err
	}
	sc.st.Bytes += int64(cnt)
	sc.off, sc.pos, sc.n = at, 0, cnt
	return nil
}

// skip returns the next sector that may hold data from file offset at; it reports false at
// the end of the file.
func (sc *scanner) skip(at uint64) (uint64, bool) {
	next, err := nextData(sc.f.f, int64(at), int64(sc.end))
	if err == nil && uint64(next) > at {
		at = uint64(next) / format.SectorSize * format.SectorSize // holes are block-aligned
	}
	return at, sc.end-at >= format.RecordHeaderSize && at < sc.end
}

// addTorn records the torn records a scan skipped, and fails with an error wrapping
// format.ErrCorrupted if one of them is older than a crash explains.
func (st *ScanStats) addTorn(torn []tornRecord) error {
	for _, t := range torn {
		if t.batch+TornWindow <= st.MaxBatch {
			return fmt.Errorf("%w: torn record at offset %d from batch %d, older than the newest %d batches (newest %d)",
				format.ErrCorrupted, t.sector*format.SectorSize, t.batch, TornWindow, st.MaxBatch)
		}
	}
	st.Torn = int64(len(torn))
	for _, t := range torn {
		st.TornSectors = append(st.TornSectors, t.sector)
	}
	return nil
}
