package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// The known answers below were computed from the specification in docs/FORMAT.md by an
// independent implementation (a bitwise CRC-32C over the fields as the document lists them),
// not by this package. A change to any of them is a change of the on-disk format.
const (
	// katHeader is the first 128 bytes of the copy of katHeaderValue; the rest is zero.
	katHeader = "46454f582d474f00020000000010000000020000000000000700000000000000" +
		"efcdab896745230115cd853dfe9c971700200000000000000000000000000000" +
		"0000000000000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000bf08e272"
	// katHeaderV1 is the same copy as format version 1 wrote it, which this build refuses.
	katHeaderV1 = "46454f582d474f00010000000010000000020000000000000700000000000000" +
		"efcdab896745230115cd853dfe9c971700200000000000000000000000000000" +
		"0000000000000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000659f5e49"
)

var katHeaderValue = Header{Version: 2, Generation: 7, Salt: 0x0123456789abcdef, Created: 1700000000123456789}

// mustHex decodes a hex constant of this file.
func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex constant: %v", err)
	}
	return b
}

// TestKnownAnswer_Header pins the exact bytes of one header copy, both ways.
func TestKnownAnswer_Header(t *testing.T) {
	want := make([]byte, HeaderSize)
	copy(want, mustHex(t, katHeader))
	if got := AppendHeader(nil, katHeaderValue); !bytes.Equal(got, want) {
		t.Errorf("AppendHeader:\n got %x\nwant %x", got[:hdrUsed], want[:hdrUsed])
	}
	if h, err := DecodeHeader(want); err != nil || h != katHeaderValue {
		t.Errorf("DecodeHeader = %+v, %v; want %+v", h, err, katHeaderValue)
	}
	v1 := make([]byte, HeaderSize)
	copy(v1, mustHex(t, katHeaderV1))
	old := katHeaderValue
	old.Version = 1
	if got := AppendHeader(nil, old); !bytes.Equal(got, v1) {
		t.Errorf("AppendHeader of version 1:\n got %x\nwant %x", got[:hdrUsed], v1[:hdrUsed])
	}
	if h, err := DecodeHeader(v1); !errors.Is(err, ErrOlderVersion) || errors.Is(err, ErrCorrupted) {
		t.Errorf("DecodeHeader of version 1 = %+v, %v; want ErrOlderVersion", h, err)
	}
}

// knownFrame is a frame of batch 99 at offset 8192 of a store with salt 0x0123456789abcdef,
// holding knownFrameRecords; zero padding follows up to 512 bytes.
const knownFrame = "" +
	// header: "FXF2", flags 0, reserved 0, length 80, count 2, batch 99, CRC, reserved 0
	"46584632" + "0000" + "0000" + "50000000" + "02000000" + "6300000000000000" + "07d258be" + "00000000" +
	// record 1: CRC, kind 1, flags 0, ts, klen 3, vlen 3, seq 5, "key", "val", 1 byte of padding
	"3e638ff4" + "01" + "00" + "8877665544332211" + "03" + "03" + "05" + "6b6579" + "76616c" + "00" +
	// record 2: CRC, kind 2, flags 1, ts 2, klen 2, vlen 0, seq 300, expiry 7, "dk", 3 bytes
	// of padding
	"bb5792c3" + "02" + "01" + "0200000000000000" + "02" + "00" + "ac02" + "07" + "646b" + "000000"

var knownFrameRecords = []Record{
	{Kind: KindValue, Key: []byte("key"), Value: []byte("val"), TS: 0x1122334455667788, Seq: 5},
	{Kind: KindDelete, Key: []byte("dk"), TS: 2, Seq: 300, Expiry: 7},
}

// TestFrame_KnownAnswer pins the exact bytes of a frame (its header and two packed records),
// both ways.
func TestFrame_KnownAnswer(t *testing.T) {
	const off, salt, batch = 8192, 0x0123456789abcdef, 99
	want := make([]byte, FrameAlign)
	copy(want, mustHex(t, knownFrame))
	var w FrameWriter
	w.Begin(nil, off, salt, batch)
	for i := range knownFrameRecords {
		w.Add(&knownFrameRecords[i])
	}
	if got := w.Finish(FrameAlign); !bytes.Equal(got, want) {
		t.Errorf("FrameWriter:\n got %x\nwant %x", got, want)
	}
	h, err := DecodeFrameHeader(want, off, salt)
	if err != nil || h != (FrameHeader{Length: 80, Count: 2, Batch: batch}) {
		t.Fatalf("DecodeFrameHeader = %+v, %v; want length 80, 2 records, batch %d", h, err, batch)
	}
	pos := FrameHeaderSize
	for i, r := range knownFrameRecords {
		got, err := DecodePackedRecord(want[pos:h.Length], off+uint64(pos), salt)
		if err != nil || got.Kind != r.Kind || got.TS != r.TS || got.Seq != r.Seq || got.Expiry != r.Expiry ||
			!bytes.Equal(got.Key, r.Key) || !bytes.Equal(got.Value, r.Value) || got.Size != 24 {
			t.Errorf("record %d: DecodePackedRecord = %+v, %v; want %+v in 24 bytes", i, got, err, r)
		}
		pos += got.Size
	}
}
