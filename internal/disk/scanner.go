package disk

import "github.com/feoxdb/feox-go/internal/format"

// TornWindow is how many of the newest batch numbers in a file may hold torn frames that a
// crash explains; a torn frame from an older batch is damage a crash cannot explain.
const TornWindow = 4096

// scanChunk is how much of the file a scan reads at once.
const scanChunk = 8 << 20

// scanner is ScanFrames's position in the file: buf holds n bytes read from file offset off,
// and the scan is at buf[pos], a multiple of format.FrameAlign in the file.
type scanner struct {
	f      *File
	end    uint64 // the file's size
	buf    []byte
	off    uint64
	n, pos int
	bytes  int64 // bytes read so far
}

// fill reads the file from offset at into buf, at least need bytes; the caller has checked
// that the file holds them. It reads up to the next hole: space never written holds no frame,
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
	sc.bytes += int64(cnt)
	sc.off, sc.pos, sc.n = at, 0, cnt
	return nil
}

// skip returns the first format.FrameAlign boundary at or after file offset at (itself such a
// boundary) that may start a frame, skipping holes; it reports false when no frame header
// fits between there and the end of the file.
func (sc *scanner) skip(at uint64) (uint64, bool) {
	next, err := nextData(sc.f.f, int64(at), int64(sc.end))
	if err == nil && uint64(next) > at {
		// Holes are block-aligned, so this is next itself on the filesystems that report them.
		at = uint64(next) / format.FrameAlign * format.FrameAlign
	}
	return at, at < sc.end && sc.end-at >= format.FrameHeaderSize
}

// tornFrame is a frame ScanFrames found torn: its file offset and its batch number.
type tornFrame struct {
	off, batch uint64
}
