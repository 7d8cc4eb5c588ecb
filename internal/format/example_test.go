package format_test

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
)

// Example shows a batch's records written as a frame at the start of the data area and read
// back the way the recovery scan does: the frame header, then each record in turn.
func Example() {
	const salt, batch = 0x5eed, 1
	off := uint64(format.DataStart) // the first FrameAlign boundary of the data area

	var w format.FrameWriter
	w.Begin(nil, off, salt, batch)
	w.Add(&format.Record{Kind: format.KindValue, Key: []byte("greeting"), Value: []byte("hello"), Seq: 1})
	w.Add(&format.Record{Kind: format.KindDelete, Key: []byte("farewell"), Seq: 2})
	buf := w.Finish(format.FrameAlign)
	fmt.Println("frame size:", len(buf))

	h, err := format.DecodeFrameHeader(buf, off, salt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("batch %d: %d records in %d bytes\n", h.Batch, h.Count, h.Length)
	for pos := format.FrameHeaderSize; pos < h.Length; {
		r, err := format.DecodePackedRecord(buf[pos:h.Length], off+uint64(pos), salt)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %q=%q seq=%d\n", r.Kind, r.Key, r.Value, r.Seq)
		pos += r.Size
	}

	// The same bytes at the next boundary are not a frame.
	_, err = format.DecodeFrameHeader(buf, off+format.FrameAlign, salt)
	fmt.Println(err)
	// Output:
	// frame size: 512
	// batch 1: 2 records in 96 bytes
	// value "greeting"="hello" seq=1
	// delete "farewell"="" seq=2
	// format: corrupted: no frame
}

// ExamplePickHeader shows a torn header write falling back to the previous generation.
func ExamplePickHeader() {
	hdr := format.Header{Version: format.Version, Generation: 1, Salt: 0x5eed, Created: 1}
	file := format.AppendHeader(nil, hdr) // copy A
	file = format.AppendHeader(file, hdr) // copy B: a new file has generation 1 in both

	hdr.Generation = 2 // goes to copy B
	next := format.AppendHeader(nil, hdr)
	off := format.HeaderCopyOffset(hdr.Generation)
	copy(file[off:off+100], next) // the write is torn after 100 bytes

	got, err := format.PickHeader(file[:format.HeaderSize], file[format.HeaderSize:])
	fmt.Println(got.Generation, err)
	// Output:
	// 1 <nil>
}
