package disk

import "github.com/feoxdb/feox-go/internal/format"

// CountFrames reads a data area of format version 2 as ScanFrames does and returns the number
// of records its valid frame headers announce, without decoding a record: an upper bound on
// the records ScanFrames will find (a torn frame counts in full), cheap enough to size the
// structures a rebuild fills before the scan that fills them.
func (f *File) CountFrames() (int64, error) {
	sc := &scanner{f: f, end: uint64(f.Size()), buf: make([]byte, scanChunk), off: format.DataStart}
	salt := f.hdr.Salt
	var n int64
	for {
		at := sc.off + uint64(sc.pos)
		if at >= sc.end || sc.end-at < format.FrameHeaderSize {
			return n, nil
		}
		if sc.pos+format.FrameHeaderSize > sc.n {
			next, ok := sc.skip(at)
			if !ok {
				return n, nil
			}
			if next = alignFrame(next); next+format.FrameHeaderSize > sc.end {
				return n, nil
			}
			if err := sc.fill(next, format.FrameHeaderSize); err != nil {
				return n, err
			}
			continue
		}
		h, err := format.DecodeFrameHeader(sc.buf[sc.pos:sc.n], at, salt)
		if err != nil || uint64(h.Length) > sc.end-at {
			sc.pos += format.FrameAlign
			continue
		}
		n += int64(h.Count)
		// The next frame header may lie past the buffer: sc.pos then passes sc.n, and the next
		// round reads from there.
		sc.pos += int(alignFrame(uint64(h.Length)))
	}
}
