package disk

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/feoxdb/feox-go/internal/format"
)

// frameFile is a data file of format version 2 under construction: frames written at chosen
// offsets, and the records a scan must find, in file order.
type frameFile struct {
	t    *testing.T
	f    *File
	want []string // "offset key seq" of each record a scan must return
}

// frame writes a frame of batch holding recs at offset at and returns its bytes (padded).
func (ff *frameFile) frame(at uint64, batch uint64, recs []format.Record, expect bool) []byte {
	ff.t.Helper()
	var w format.FrameWriter
	w.Begin(nil, at, ff.f.Header().Salt, batch)
	var offs []uint64
	for i := range recs {
		o, _ := w.Add(&recs[i])
		offs = append(offs, o)
	}
	b := w.Finish(format.FrameAlign)
	if err := ff.f.WriteAt([][]byte{b}, int64(at)); err != nil {
		ff.t.Fatal(err)
	}
	if expect {
		for i, r := range recs {
			ff.want = append(ff.want, fmt.Sprintf("%d %s %d", offs[i], r.Key, r.Seq))
		}
	}
	return b
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
		t.Errorf("stats %+v, want one torn frame at %d, batch 6 newest, 5 valid frames", st, at)
	}
	// CountFrames counts the records the frame headers announce, the torn frame's included,
	// and steps over the frame inside a value as the scan does.
	if n, err := f.CountFrames(); err != nil || n != int64(len(got)+len(torn)) {
		t.Errorf("CountFrames = %d, %v; want %d", n, err, len(got)+len(torn))
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

// FuzzScanFrames scans files whose frames the fuzzer damaged (bytes overwritten at a chosen
// place): never a panic, and every record returned verifies where it was found.
func FuzzScanFrames(f *testing.F) {
	f.Add(uint16(40), []byte{0xff})
	f.Add(uint16(0), []byte("FXF2"))
	f.Add(uint16(600), bytes.Repeat([]byte{0}, 512))
	f.Fuzz(func(t *testing.T, at uint16, patch []byte) {
		file := openNew(t, 1<<20)
		ff := &frameFile{t: t, f: file}
		b := ff.frame(format.DataStart, 1, recs("f", 8, 60), false)
		ff.frame(format.DataStart+uint64(len(b)), 2, recs("g", 4, 10), false)
		if len(patch) > 2048 {
			patch = patch[:2048]
		}
		if err := file.WriteAt([][]byte{patch}, format.DataStart+int64(at)); err != nil {
			t.Fatal(err)
		}
		_, err := file.ScanFrames(func(r *FoundPacked) error {
			buf := make([]byte, r.Size)
			if err := file.ReadAt(buf, int64(r.Offset)); err != nil {
				return err
			}
			if _, err := format.DecodePackedRecord(buf, r.Offset, file.Header().Salt); err != nil {
				return fmt.Errorf("returned a record that does not verify at %d: %w", r.Offset, err)
			}
			return nil
		})
		if err != nil && !errors.Is(err, format.ErrCorrupted) {
			t.Fatal(err)
		}
	})
}
