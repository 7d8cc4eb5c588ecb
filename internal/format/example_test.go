package format_test

import (
	"fmt"

	"github.com/feoxdb/feox-go/internal/format"
)

// Example shows a record written at a sector and read back the way the recovery scanner does.
func Example() {
	const salt = 0x5eed
	sector := uint64(format.DataStart / format.SectorSize) // the first sector of the data area

	r := &format.Record{Kind: format.KindValue, Key: []byte("greeting"), Value: []byte("hello"), Seq: 1, Batch: 1}
	buf := format.AppendRecord(nil, r, sector, salt)
	fmt.Println("record size:", len(buf))

	h, err := format.DecodeRecordHeader(buf, sector, salt)
	if err != nil {
		fmt.Println(err)
		return
	}
	key, value, err := format.VerifyRecord(buf, h, sector, salt)
	fmt.Printf("%s %q=%q seq=%d err=%v\n", h.Kind, key, value, h.Seq, err)

	// The same bytes one sector further on are not a record.
	_, err = format.DecodeRecordHeader(buf, sector+1, salt)
	fmt.Println(err)
	// Output:
	// record size: 512
	// value "greeting"="hello" seq=1 err=<nil>
	// format: corrupted: no record
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
