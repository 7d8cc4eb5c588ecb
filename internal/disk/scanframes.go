package disk

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
)

// FoundPacked is a valid packed record met by ScanFrames. Its Key and Value are valid only
// during the callback.
type FoundPacked struct {
	// Offset and Size are where the record lies: its file offset and its bytes, padding
	// included.
	Offset uint64
	Size   int
	// Batch is the number of the batch whose frame holds the record.
	Batch  uint64
	Record format.PackedRecord
}

// FrameScanStats summarizes a ScanFrames.
type FrameScanStats struct {
	Records  int64  // valid records
	Frames   int64  // frames whose header verifies, torn ones included
	Torn     int64  // frames with a torn record, skipped whole (all from the newest TornWindow batches)
	MaxBatch uint64 // largest batch number among the frames
	Bytes    int64  // bytes read
	// TornFrames are the offsets of the frames with a torn record. Their headers still
	// verify; the caller must erase them before the space is reused.
	TornFrames []uint64
}

// ScanFrames reads a data area of format version 2 from start to end and calls fn for every
// valid packed record, in file order. It steps from frame to frame: at a FrameAlign boundary
// that starts a valid frame header it decodes the frame's records and goes on after the frame;
// elsewhere it tries the next boundary. So it never looks for a frame inside one it has
// verified, and bytes in a value that look like a frame are never taken for one. A frame is
// all or nothing: one with a torn record (a crash cut its batch's writes short) is skipped
// whole when its batch is among the newest TornWindow of the file, and otherwise ScanFrames fails with an
// error wrapping format.ErrCorrupted that names its offset. An error from fn stops the scan and
// is returned. Holes (erased or never written space) are skipped without being read.
func (f *File) ScanFrames(fn func(r *FoundPacked) error) (FrameScanStats, error) {
	sc := &scanner{f: f, end: uint64(f.Size()), buf: make([]byte, scanChunk), off: format.DataStart}
	var st FrameScanStats
	var torn []tornFrame
	var recs []FoundPacked // a frame's records, reused: they are valid only during the callback
	salt := f.hdr.Salt
	for {
		at := sc.off + uint64(sc.pos)
		if sc.pos+format.FrameHeaderSize > sc.n {
			next, ok := sc.skip(at)
			if !ok {
				break
			}
			if err := sc.fill(next, format.FrameHeaderSize); err != nil {
				st.Bytes = sc.bytes
				return st, err
			}
			at = next
		}
		h, err := format.DecodeFrameHeader(sc.buf[sc.pos:sc.n], at, salt)
		if err != nil || uint64(h.Length) > sc.end-at {
			sc.pos += format.FrameAlign
			continue
		}
		if sc.pos+h.Length > sc.n {
			if err := sc.fill(at, h.Length); err != nil {
				st.Bytes = sc.bytes
				return st, err
			}
		}
		st.Frames++
		st.MaxBatch = max(st.MaxBatch, h.Batch)
		frame := sc.buf[sc.pos : sc.pos+h.Length]
		n, err := frameRecords(frame, at, salt, h, &recs, fn)
		st.Records += int64(n)
		switch {
		case err == errTornFrame:
			torn = append(torn, tornFrame{at, h.Batch})
		case err != nil:
			st.Bytes = sc.bytes
			return st, err
		}
		sc.pos += int(alignFrame(uint64(h.Length)))
	}
	st.Bytes = sc.bytes
	for _, t := range torn {
		if t.batch+TornWindow <= st.MaxBatch {
			return st, fmt.Errorf("%w: torn frame at offset %d from batch %d, older than the newest %d batches (newest %d)",
				format.ErrCorrupted, t.off, t.batch, TornWindow, st.MaxBatch)
		}
		st.TornFrames = append(st.TornFrames, t.off)
	}
	st.Torn = int64(len(torn))
	return st, nil
}

// errTornFrame reports a frame with a record that does not verify.
var errTornFrame = fmt.Errorf("%w: torn frame", format.ErrCorrupted)

// frameRecords verifies every record of frame, which lies at file offset at and has header h,
// then calls fn for each, and returns how many it handed over: a frame is all or nothing, as
// its batch's sync was. It returns errTornFrame, without calling fn, when a record does not
// verify or the records do not tile the frame as its header says. recs is scratch space.
func frameRecords(frame []byte, at, salt uint64, h format.FrameHeader, recs *[]FoundPacked,
	fn func(*FoundPacked) error) (int, error) {
	rs := (*recs)[:0]
	defer func() { clear(rs); *recs = rs[:0] }()
	pos := format.FrameHeaderSize
	for len(rs) < h.Count && pos < len(frame) {
		r, err := format.DecodePackedRecord(frame[pos:], at+uint64(pos), salt)
		if err != nil {
			return 0, errTornFrame
		}
		rs = append(rs, FoundPacked{Offset: at + uint64(pos), Size: r.Size, Batch: h.Batch, Record: r})
		pos += r.Size
	}
	if len(rs) != h.Count || pos != len(frame) {
		return 0, errTornFrame
	}
	for i := range rs {
		if err := fn(&rs[i]); err != nil {
			return i, err
		}
	}
	return len(rs), nil
}

// alignFrame rounds a file offset or length up to FrameAlign.
func alignFrame(n uint64) uint64 {
	return (n + format.FrameAlign - 1) / format.FrameAlign * format.FrameAlign
}
