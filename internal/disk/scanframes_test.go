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

// frameFile is a data file of format version 2 under construction: frames written at chosen
// offsets, and the records a scan must find, in file order.
type frameFile struct {
	t    testing.TB
	f    *File
	want []string // "offset key seq" of each record a scan must return
}

// encodeFrame returns the bytes (padded to format.FrameAlign) of a frame of batch holding recs,
// as written at file offset at of a store with the given salt, and the offset of each record.
func encodeFrame(at, salt, batch uint64, recs []format.Record) ([]byte, []uint64) {
	var w format.FrameWriter
	w.Begin(nil, at, salt, batch)
	offs := make([]uint64, len(recs))
	for i := range recs {
		offs[i], _ = w.Add(&recs[i])
	}
	return w.Finish(format.FrameAlign), offs
}

// frame writes a frame of batch holding recs at offset at and returns its bytes (padded); with
// expect set, its records join the ones a scan must find.
func (ff *frameFile) frame(at uint64, batch uint64, recs []format.Record, expect bool) []byte {
	ff.t.Helper()
	b, offs := encodeFrame(at, ff.f.Header().Salt, batch, recs)
	ff.write(at, b)
	if expect {
		for i, r := range recs {
			ff.want = append(ff.want, fmt.Sprintf("%d %s %d", offs[i], r.Key, r.Seq))
		}
	}
	return b
}

// write writes b at file offset at.
func (ff *frameFile) write(at uint64, b []byte) {
	ff.t.Helper()
	if err := ff.f.WriteAt([][]byte{b}, int64(at)); err != nil {
		ff.t.Fatal(err)
	}
}

// flip flips the bits of mask in the byte at file offset at.
func (ff *frameFile) flip(at uint64, mask byte) {
	ff.t.Helper()
	b := make([]byte, 1)
	if err := ff.f.ReadAt(b, int64(at)); err != nil {
		ff.t.Fatal(err)
	}
	ff.write(at, []byte{b[0] ^ mask})
}

// scanAll scans ff's file and returns "offset key seq" of each record, in order.
func (ff *frameFile) scanAll() ([]string, FrameScanStats, error) {
	var got []string
	st, err := ff.f.ScanFrames(func(r *FoundPacked) error {
		got = append(got, fmt.Sprintf("%d %s %d", r.Offset, r.Record.Key, r.Record.Seq))
		return nil
	})
	return got, st, err
}

// check scans ff's file and checks that it returns exactly the records of ff.want, in order,
// with no error, and returns the scan's statistics.
func (ff *frameFile) check() FrameScanStats {
	ff.t.Helper()
	got, st, err := ff.scanAll()
	if err != nil {
		ff.t.Fatalf("ScanFrames: %v", err)
	}
	if len(got) != len(ff.want) || st.Records != int64(len(ff.want)) {
		ff.t.Fatalf("scan found %d records (counted %d), want %d:\n%.2000q\nwant\n%.2000q", len(got), st.Records, len(ff.want), got, ff.want)
	}
	for i := range got {
		if got[i] != ff.want[i] {
			ff.t.Fatalf("record %d: scan found %q, want %q", i, got[i], ff.want[i])
		}
	}
	return st
}

func recs(prefix string, n int, size int) []format.Record {
	out := make([]format.Record, n)
	for i := range out {
		out[i] = format.Record{Kind: format.KindValue, Key: fmt.Appendf(nil, "%s%03d", prefix, i),
			Value: bytes.Repeat([]byte{byte(i)}, size), TS: uint64(i + 1), Seq: uint64(i + 1)}
	}
	return out
}

// TestFile_ScanFrames ensures the scan finds exactly the records of the valid frames, in order:
// frames back to back, after a hole, after a frame whose header was zeroed (a failed batch),
// a frame larger than a scan chunk, and a value that holds a frame valid where it lies; a torn
// frame of a recent batch is skipped whole and reported.
func TestFile_ScanFrames(t *testing.T) {
	f := openNew(t, 32<<20)
	ff := &frameFile{t: t, f: f}
	at := uint64(format.DataStart)
	b := ff.frame(at, 1, recs("a", 10, 100), true)
	at += uint64(len(b))
	b = ff.frame(at, 2, recs("b", 3, 2000), true)
	at += uint64(len(b))
	// A failed batch: its frame is written, then its header zeroed by the next batch.
	failed := ff.frame(at, 3, recs("x", 5, 50), false)
	if err := f.WriteAt([][]byte{make([]byte, format.FrameAlign)}, int64(at)); err != nil {
		t.Fatal(err)
	}
	at += uint64(len(failed))
	// A value that embeds a frame valid where it lies, salt and offset included: only a scan
	// that steps over verified frames, never probing inside one, leaves it alone.
	valueAt := at + format.FrameHeaderSize + 14 + 1 + 2 + 1 + 4 // fixed part, varints, "host"
	lead := (format.FrameAlign - valueAt%format.FrameAlign) % format.FrameAlign
	var w format.FrameWriter
	w.Begin(make([]byte, lead), valueAt+lead, f.Header().Salt, 4)
	for _, r := range recs("evil", 2, 10) {
		w.Add(&r)
	}
	embed := w.Finish(format.FrameAlign)
	ff.frame(at, 4, []format.Record{{Kind: format.KindValue, Key: []byte("host"), Value: embed, TS: 1, Seq: 1}}, true)
	// Past a hole of several MiB, a frame larger than a scan chunk.
	at = format.DataStart + 3<<20
	b = ff.frame(at, 5, []format.Record{{Kind: format.KindValue, Key: []byte("big"), Value: bytes.Repeat([]byte{7}, 9<<20), TS: 1, Seq: 9}}, true)
	at += uint64(len(b))
	// A torn frame of the newest batch: its third record is damaged, and none of its records
	// is reported (a frame is all or nothing).
	torn := recs("t", 5, 100)
	tb := ff.frame(at, 6, torn, false)
	third := format.FrameHeaderSize + 2*format.PackedSize(&torn[0]) + 20
	if err := f.WriteAt([][]byte{{tb[third] ^ 0xff}}, int64(at)+int64(third)); err != nil {
		t.Fatal(err)
	}
	got, st, err := ff.scanAll()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(ff.want) {
		t.Fatalf("scan found\n%q\nwant\n%q", got, ff.want)
	}
	if st.Torn != 1 || len(st.TornFrames) != 1 || st.TornFrames[0] != at || st.MaxBatch != 6 || st.Frames != 5 {
		t.Errorf("stats %+v, want one torn frame at %d, batch 6 newest, 5 frames with a valid header", st, at)
	}
	// CountFrames counts the records the frame headers announce, the torn frame's included,
	// and steps over the frame inside a value as the scan does.
	if n, err := f.CountFrames(); err != nil || n != int64(len(got)+len(torn)) {
		t.Errorf("CountFrames = %d, %v; want %d", n, err, len(got)+len(torn))
	}
}

// TestFile_ScanFrames_Empty ensures a new store holds no frame, and that the scan of its
// unwritten data area reads nothing.
func TestFile_ScanFrames_Empty(t *testing.T) {
	ff := &frameFile{t: t, f: openNew(t, 0)}
	if st := ff.check(); st.Frames != 0 || st.Torn != 0 || st.MaxBatch != 0 || st.Bytes != 0 || st.TornFrames != nil {
		t.Errorf("stats of an empty store %+v, want all zero", st)
	}
}

// TestFile_ScanFrames_SkipsHoles checks that a scan does not read the space a file reserved but
// never wrote, nor space punched: frames at the start of a large file, then nothing; and
// frames on either side of several MiB of frames erased by holes punched over them.
func TestFile_ScanFrames_SkipsHoles(t *testing.T) {
	t.Run("never written", func(t *testing.T) {
		ff := &frameFile{t: t, f: openNew(t, 256<<20)}
		at := uint64(format.DataStart)
		for i := range uint64(100) {
			at += uint64(len(ff.frame(at, i+1, recs(fmt.Sprintf("k%d-", i), 3, 100), true)))
		}
		if st := ff.check(); st.Bytes > 1<<20 {
			t.Errorf("scan of 100 frames in a 256 MiB file read %d bytes: the unwritten space was read", st.Bytes)
		}
	})
	t.Run("punched", func(t *testing.T) {
		f := openNew(t, 16<<20)
		ff := &frameFile{t: t, f: f}
		ff.frame(format.DataStart, 1, recs("before", 3, 100), true)
		// Erased frames: 8 MiB of them, then holes punched over them, as the cleaner erases.
		from := uint64(format.DataStart + 64<<10)
		at := from
		for i := uint64(0); at < from+8<<20; i++ {
			at += uint64(len(ff.frame(at, 2+i, recs("gone", 20, 3000), false)))
		}
		if err := f.Punch(int64(from), int64(at-from)); errors.Is(err, errors.ErrUnsupported) {
			t.Skip("the filesystem cannot punch holes")
		} else if err != nil {
			t.Fatal(err)
		}
		// The first frame after the hole starts where it ends, at a block boundary.
		ff.frame(at, 1000, recs("after", 3, 100), true)
		if st := ff.check(); st.Bytes > 1<<20 || st.MaxBatch != 1000 || st.Frames != 2 {
			t.Errorf("stats %+v: want 2 frames, batch 1000 newest, less than 1 MiB read", st)
		}
	})
}

// TestFile_ScanFrames_HoleInsideFrame ensures a frame is read whole across a hole inside it: a
// value holding a block of zeros that was made sparse (as cp --sparse does to a copy of the
// file) still verifies, although the scan's reads otherwise stop at holes.
func TestFile_ScanFrames_HoleInsideFrame(t *testing.T) {
	f := openNew(t, 8<<20)
	ff := &frameFile{t: t, f: f}
	// A first frame fills the scan's buffer with other bytes where the second one's hole lands.
	ff.frame(format.DataStart, 1, []format.Record{{Kind: format.KindValue, Key: []byte("a"), Value: bytes.Repeat([]byte{0xab}, 256<<10), TS: 1, Seq: 1}}, true)
	at := uint64(format.DataStart + 2<<20)
	ff.frame(at, 2, []format.Record{{Kind: format.KindValue, Key: []byte("zeros"), Value: make([]byte, 256<<10), TS: 2, Seq: 2}}, true)
	if err := f.Punch(int64(at)+64<<10, 64<<10); errors.Is(err, errors.ErrUnsupported) {
		t.Skip("the filesystem cannot punch holes")
	} else if err != nil {
		t.Fatal(err)
	}
	if st := ff.check(); st.Torn != 0 || st.Frames != 2 {
		t.Errorf("stats %+v, want 2 frames, none torn", st)
	}
}

// fillTo writes non-frame bytes from the start of the data area up to file offset end, so
// that the scan's first chunk is read whole, from the data area's start (no hole to skip).
func (ff *frameFile) fillTo(end uint64) {
	ff.t.Helper()
	junk := bytes.Repeat([]byte("not a frame, just bytes. "), 1<<16)
	for at := uint64(format.DataStart); at < end; {
		n := min(uint64(len(junk)), end-at)
		ff.write(at, junk[:n])
		at += n
	}
}

// TestFile_ScanFrames_ChunkBoundary ensures frames that end at, start at, straddle or hold a
// record across the end of the scan's first chunk, or are larger than a chunk, are each
// reported once, also with a neighbour on the other side. The data area is written up to the
// first frame, so that the first chunk ends exactly at chunkEnd.
func TestFile_ScanFrames_ChunkBoundary(t *testing.T) {
	const chunkEnd = format.DataStart + scanChunk
	const fa = format.FrameAlign
	// frameLen returns the padded length of a frame of rs.
	frameLen := func(rs []format.Record) uint64 {
		b, _ := encodeFrame(0, 1, 1, rs)
		return uint64(len(b))
	}
	small := recs("s", 2, 100)         // one FrameAlign unit
	many := recs("m", 200, 77)         // many records of 104 bytes: the boundary falls inside one
	large := recs("l", 3, 5000)        // several units
	huge := recs("h", 1, scanChunk+fa) // larger than a chunk
	tests := []struct {
		name   string
		at     uint64            // where the first frame starts; the others follow it
		frames [][]format.Record // each frame's records
	}{
		{"ends at the boundary", chunkEnd - frameLen(large), [][]format.Record{large, small}},
		{"header in the last unit", chunkEnd - fa, [][]format.Record{large, small}},
		{"records across the boundary", chunkEnd - frameLen(many)/2/fa*fa, [][]format.Record{many, small}},
		{"starts at the boundary", chunkEnd - fa, [][]format.Record{small, large}},
		{"larger than a chunk from the boundary", chunkEnd - fa, [][]format.Record{small, huge, small}},
		{"larger than a chunk across it", chunkEnd - 3*fa, [][]format.Record{huge, small}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ff := &frameFile{t: t, f: openNew(t, 20<<20)}
			ff.fillTo(tt.at)
			at := tt.at
			for i, rs := range tt.frames {
				at += uint64(len(ff.frame(at, uint64(i+1), rs, true)))
			}
			ff.check()
		})
	}
}

// TestFile_ScanFrames_Model ensures random layouts of frames of random sizes, with gaps, garbage,
// frames written for another offset, frames whose header was zeroed and torn frames between
// them, are scanned as written, across more than one scan chunk.
func TestFile_ScanFrames_Model(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 77))
			const size = 12 << 20
			f := openNew(t, size)
			ff := &frameFile{t: t, f: f}
			salt := f.Header().Salt
			end := uint64(f.Size())
			var wantTorn []uint64
			var maxBatch uint64
			frames := 0
			at := uint64(format.DataStart)
			for batch := uint64(1); ; batch++ {
				at += format.FrameAlign * uint64(rng.IntN(3)) // gaps never written
				rs := make([]format.Record, 1+rng.IntN(20))
				for i := range rs {
					var valueLen int
					switch r := rng.IntN(40); {
					case r == 0:
						valueLen = rng.IntN(2 << 20)
					case r < 5:
						valueLen = rng.IntN(64 << 10)
					default:
						valueLen = rng.IntN(1500)
					}
					rs[i] = format.Record{Kind: format.KindValue, Key: fmt.Appendf(nil, "b%d-r%d-%s", batch, i, strings.Repeat("k", rng.IntN(300))),
						Value: pattern(valueLen, byte(batch)), TS: batch, Seq: batch<<8 | uint64(i)}
					switch rng.IntN(10) {
					case 0:
						rs[i].Kind, rs[i].Value = format.KindDelete, nil
					case 1:
						rs[i].Expiry = int64(batch) << 20
					}
				}
				b, offs := encodeFrame(at, salt, batch, rs)
				if at+uint64(len(b)) > end {
					break
				}
				h, err := format.DecodeFrameHeader(b, at, salt)
				if err != nil {
					t.Fatal(err)
				}
				valid := true
				switch rng.IntN(10) {
				case 0: // a failed batch: its first unit zeroed
					clear(b[:format.FrameAlign])
					valid = false
				case 1: // a byte damaged past the header: torn, unless in the frame's padding
					i := format.FrameHeaderSize + rng.IntN(len(b)-format.FrameHeaderSize)
					b[i] ^= 0x10
					frames++
					maxBatch = batch
					if i < h.Length {
						wantTorn = append(wantTorn, at)
						valid = false
					}
				default:
					frames++
					maxBatch = batch
				}
				if valid {
					for i, r := range rs {
						ff.want = append(ff.want, fmt.Sprintf("%d %s %d", offs[i], r.Key, r.Seq))
					}
				}
				ff.write(at, b)
				at += uint64(len(b))
				if rng.IntN(4) == 0 && at+format.FrameAlign <= end {
					// A unit that starts no frame: garbage, or the start of a frame written for
					// the next unit.
					if rng.IntN(2) == 0 {
						ff.write(at, pattern(format.FrameAlign, byte(batch)))
					} else {
						moved, _ := encodeFrame(at+format.FrameAlign, salt, batch, rs[:1])
						ff.write(at, moved[:format.FrameAlign])
					}
					at += format.FrameAlign
				}
			}
			if len(ff.want) < 200 || len(wantTorn) == 0 {
				t.Fatalf("layout holds only %d records and %d torn frames", len(ff.want), len(wantTorn))
			}
			st := ff.check()
			if st.Torn != int64(len(wantTorn)) || fmt.Sprint(st.TornFrames) != fmt.Sprint(wantTorn) ||
				st.Frames != int64(frames) || st.MaxBatch != maxBatch {
				t.Errorf("stats {Frames %d Torn %d TornFrames %v MaxBatch %d}, want {%d %d %v %d}",
					st.Frames, st.Torn, st.TornFrames, st.MaxBatch, frames, len(wantTorn), wantTorn, maxBatch)
			}
		})
	}
}

// TestFile_ScanFrames_Torn ensures a frame whose header verifies but one of whose records does
// not is skipped whole and counted when its batch is among the newest TornWindow batches of
// the file, that the scan goes on right after it, and that an older one makes the scan fail
// with format.ErrCorrupted naming its offset.
func TestFile_ScanFrames_Torn(t *testing.T) {
	const first = format.DataStart
	const chunkEnd = format.DataStart + scanChunk
	type frameAt struct {
		at    uint64
		batch uint64
		rs    []format.Record
		// damage, for a torn frame: the byte of the frame to flip (0: a valid frame).
		damage int
	}
	small, long := recs("s", 3, 10), recs("l", 4, 2000)
	tests := []struct {
		name   string
		frames []frameAt
		fill   bool   // write the data area up to the first frame (see fillTo)
		failAt uint64 // offset an error must name; 0: the scan must succeed
	}{
		{name: "newest batch", frames: []frameAt{{first, 5000, small, 0}, {first + 2048, 5001, small, 60}}},
		{name: "oldest batch of the window", frames: []frameAt{{first, 5000, small, 0}, {first + 2048, 5000 - TornWindow + 1, small, 60}}},
		{name: "just outside the window", frames: []frameAt{{first, 5000, small, 0}, {first + 2048, 5000 - TornWindow, small, 60}},
			failAt: first + 2048},
		{name: "far outside the window, after the newest frame", frames: []frameAt{{first + 4608, 1 << 40, small, 0}, {first + 10240, 1, small, 70}},
			failAt: first + 10240},
		{name: "only torn frames", frames: []frameAt{{first + 512, 3, small, 40}, {first + 1536, 4000, small, 33}}},
		{name: "several, damage in the first record, a value and the last record's padding", frames: []frameAt{
			{first, 100, small, 0},
			{first + 1024, 99, long, format.FrameHeaderSize},
			{first + 10240, 98, long, 5000},
			{first + 20480, 98, long, format.FrameHeaderSize + 4*format.PackedSize(&long[0]) - 1},
			{first + 40960, 90, small, 0},
		}},
		{name: "across the chunk boundary", fill: true, frames: []frameAt{{chunkEnd - 2048, 7, long, 3000}, {chunkEnd + 10240, 7, small, 0}}},
		{name: "valid frame right after a torn one", frames: []frameAt{{first, 9, long, 100}, {first + 8192, 8, small, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := openNew(t, 12<<20)
			ff := &frameFile{t: t, f: f}
			if tt.fill {
				ff.fillTo(tt.frames[0].at)
			}
			var wantTorn []uint64
			var maxBatch uint64
			for _, fr := range tt.frames {
				ff.frame(fr.at, fr.batch, fr.rs, fr.damage == 0)
				if fr.damage != 0 {
					ff.flip(fr.at+uint64(fr.damage), 0x40)
					wantTorn = append(wantTorn, fr.at)
				}
				maxBatch = max(maxBatch, fr.batch)
			}
			// Each torn frame still has a header that verifies, and the frames do not overlap.
			for i, fr := range tt.frames {
				b := make([]byte, format.FrameHeaderSize)
				if err := f.ReadAt(b, int64(fr.at)); err != nil {
					t.Fatal(err)
				}
				if _, err := format.DecodeFrameHeader(b, fr.at, f.Header().Salt); err != nil {
					t.Fatalf("test setup: frame %d has no valid header: %v", i, err)
				}
				if fb, _ := encodeFrame(fr.at, 1, 1, fr.rs); i+1 < len(tt.frames) && fr.at+uint64(len(fb)) > tt.frames[i+1].at {
					t.Fatalf("test setup: frame %d overlaps the next", i)
				}
			}
			got, st, err := ff.scanAll()
			if tt.failAt != 0 {
				if !errors.Is(err, format.ErrCorrupted) {
					t.Fatalf("ScanFrames: %v, want an error wrapping format.ErrCorrupted", err)
				}
				if want := fmt.Sprintf("offset %d ", tt.failAt); !strings.Contains(err.Error(), want) {
					t.Errorf("ScanFrames error %q does not name %q", err, strings.TrimSpace(want))
				}
				return
			}
			if err != nil {
				t.Fatalf("ScanFrames: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(ff.want) {
				t.Errorf("scan found\n%q\nwant\n%q", got, ff.want)
			}
			if st.Torn != int64(len(wantTorn)) || fmt.Sprint(st.TornFrames) != fmt.Sprint(wantTorn) || st.MaxBatch != maxBatch ||
				st.Frames != int64(len(tt.frames)) {
				t.Errorf("stats {Frames %d Torn %d TornFrames %v MaxBatch %d}, want {%d %d %v %d}",
					st.Frames, st.Torn, st.TornFrames, st.MaxBatch, len(tt.frames), len(wantTorn), wantTorn, maxBatch)
			}
		})
	}
}

// TestFile_ScanFrames_OldTornFrame ensures a torn frame from a batch older than the newest
// TornWindow makes the scan fail with an error wrapping format.ErrCorrupted.
func TestFile_ScanFrames_OldTornFrame(t *testing.T) {
	f := openNew(t, 4<<20)
	ff := &frameFile{t: t, f: f}
	b := ff.frame(format.DataStart, 1, recs("o", 3, 100), false)
	if err := f.WriteAt([][]byte{{b[format.FrameHeaderSize+30] ^ 1}}, format.DataStart+format.FrameHeaderSize+30); err != nil {
		t.Fatal(err)
	}
	ff.frame(format.DataStart+uint64(len(b)), TornWindow+1, recs("n", 1, 10), true)
	if _, _, err := ff.scanAll(); !errors.Is(err, format.ErrCorrupted) {
		t.Fatalf("scan = %v, want an error wrapping ErrCorrupted", err)
	}
}

// TestFile_ScanFrames_FirstUnitOnly ensures a frame of which only the first FrameAlign bytes
// reached the file (the rest is zero, or a hole) is torn, and that the frames around it are
// found.
func TestFile_ScanFrames_FirstUnitOnly(t *testing.T) {
	f := openNew(t, 0)
	ff := &frameFile{t: t, f: f}
	b := ff.frame(format.DataStart, 9, recs("a", 2, 10), true)
	tornAt := format.DataStart + uint64(len(b))
	tb, _ := encodeFrame(tornAt, f.Header().Salt, 10, recs("t", 5, 1000))
	ff.write(tornAt, tb[:format.FrameAlign])
	ff.frame(tornAt+uint64(len(tb)), 8, recs("c", 2, 10), true)
	st := ff.check()
	if st.Torn != 1 || fmt.Sprint(st.TornFrames) != fmt.Sprint([]uint64{tornAt}) || st.MaxBatch != 10 {
		t.Errorf("stats {Torn %d TornFrames %v MaxBatch %d}, want {1 [%d] 10}", st.Torn, st.TornFrames, st.MaxBatch, tornAt)
	}
}

// TestFile_ScanFrames_Padding ensures bytes in the padding after a frame's length, which nothing
// covers, do not tear it, while a non-zero byte in a record's own padding, which the format
// fixes at zero, does.
func TestFile_ScanFrames_Padding(t *testing.T) {
	f := openNew(t, 0)
	ff := &frameFile{t: t, f: f}
	rs := []format.Record{{Kind: format.KindValue, Key: []byte("key"), Value: []byte("12345"), TS: 1, Seq: 1}} // 7 bytes of record padding
	b := ff.frame(format.DataStart, 1, rs, true)
	h, err := format.DecodeFrameHeader(b, format.DataStart, f.Header().Salt)
	if err != nil {
		t.Fatal(err)
	}
	ff.flip(format.DataStart+uint64(h.Length)+3, 0x20) // frame padding
	ff.flip(format.DataStart+uint64(len(b))-1, 0x20)
	ff.check()
	ff.flip(format.DataStart+uint64(h.Length)-1, 0x01) // the record's padding
	ff.want = nil
	if st := ff.check(); st.Torn != 1 {
		t.Errorf("a non-zero byte in a record's padding: %d torn frames, want 1", st.Torn)
	}
}

// TestFile_ScanFrames_PastEnd ensures a frame whose header claims more bytes than the file holds
// (the file ends in part of a frame) is not a frame: it is neither reported nor counted as
// torn, even from an old batch, and the scan goes on with the next FrameAlign boundary, where a
// frame that ends exactly at the end of the file is found.
func TestFile_ScanFrames_PastEnd(t *testing.T) {
	for _, extra := range []int{1, 2, 100} {
		t.Run(fmt.Sprintf("units=%d", extra), func(t *testing.T) {
			f := openNew(t, 0)
			ff := &frameFile{t: t, f: f}
			end := uint64(f.Size())
			ff.frame(format.DataStart, 10000, recs("a", 2, 10), true)
			// A frame that needs extra units more than remain after its start; only its first
			// unit is written, and a valid frame follows it up to the end of the file.
			at := end - 4*format.FrameAlign
			long, _ := encodeFrame(at, f.Header().Salt, 1, []format.Record{{Kind: format.KindValue, Key: []byte("long"),
				Value: make([]byte, (4+extra)*format.FrameAlign-100), TS: 1, Seq: 1}})
			ff.write(at, long[:format.FrameAlign])
			last := recs("z", 2, 100)
			if lb, _ := encodeFrame(0, 1, 1, last); len(lb) != format.FrameAlign {
				t.Fatal("test bug: the last frame is not one unit")
			}
			ff.frame(end-format.FrameAlign, 2, last, true)
			if st := ff.check(); st.Torn != 0 || st.Frames != 2 {
				t.Errorf("stats %+v, want 2 frames, none torn", st)
			}
		})
	}
}

// TestFile_ScanFrames_CallbackError ensures an error from the callback stops the scan at once
// and is returned.
func TestFile_ScanFrames_CallbackError(t *testing.T) {
	f := openNew(t, 0)
	ff := &frameFile{t: t, f: f}
	at := uint64(format.DataStart)
	for i := range uint64(3) {
		at += uint64(len(ff.frame(at, i+1, recs(fmt.Sprint(i), 2, 10), true))) + format.FrameAlign
	}
	errStop := errors.New("stop here")
	calls := 0
	_, err := f.ScanFrames(func(r *FoundPacked) error {
		calls++
		if got := fmt.Sprintf("%d %s %d", r.Offset, r.Record.Key, r.Record.Seq); got != ff.want[calls-1] {
			t.Errorf("call %d: %q, want %q", calls, got, ff.want[calls-1])
		}
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("ScanFrames: %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback called %d times, want 3", calls)
	}
}

// BenchmarkFile_ScanFrames measures a recovery scan of a file full of frames of 1,000 records
// of a 16-byte key and a 100-byte value, and of an empty one written with zeros (every
// FrameAlign boundary a miss).
func BenchmarkFile_ScanFrames(b *testing.B) {
	const size = 32 << 20
	for _, full := range []bool{true, false} {
		b.Run(fmt.Sprintf("size=32MiB/full=%v", full), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "data.feox")
			f, _, err := Open(path, size)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ff := &frameFile{t: b, f: f}
			records := 0
			at := uint64(format.DataStart)
			for batch := uint64(1); ; batch++ {
				rs := make([]format.Record, 1000)
				for i := range rs {
					rs[i] = format.Record{Kind: format.KindValue, Key: fmt.Appendf(nil, "key-%012d", records+i),
						Value: make([]byte, 100), TS: batch, Seq: uint64(records + i)}
				}
				fb, _ := encodeFrame(at, f.Header().Salt, batch, rs)
				if at+uint64(len(fb)) > size {
					break
				}
				if !full {
					clear(fb)
				} else {
					records += len(rs)
				}
				ff.write(at, fb)
				at += uint64(len(fb))
			}
			b.SetBytes(int64(at - format.DataStart))
			b.ReportAllocs()
			for b.Loop() {
				st, err := f.ScanFrames(func(*FoundPacked) error { return nil })
				if err != nil || st.Records != int64(records) {
					b.Fatalf("ScanFrames: %d records, %v; want %d", st.Records, err, records)
				}
			}
		})
	}
}
