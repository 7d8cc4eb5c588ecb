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
	// katRecord is the header, key and value of katRecordValue at sector 17 with salt
	// 0x0123456789abcdef; zero padding follows up to 512 bytes.
	katRecord = "46585231010009000b0000003fdcf47201002a36fe9c97172a00000000000000" +
		"0000b49376e2fa180900000000000000beb4383200000000757365723a303030" +
		"3168656c6c6f2c2066656f78"
	// katDelete is the deletion record katDeleteValue at sector 18 with the same salt.
	katDelete = "465852310200090000000000ef3cf24502002a36fe9c97172b00000000000000" +
		"00000000000000000a000000000000004d3e779100000000757365723a303030" +
		"31"
)

var (
	katHeaderValue = Header{Version: 2, Generation: 7, Salt: 0x0123456789abcdef, Created: 1700000000123456789}
	katRecordValue = Record{Kind: KindValue, Key: []byte("user:0001"), Value: []byte("hello, feox"),
		TS: 1700000000000000001, Seq: 42, Expiry: 1800000000000000000, Batch: 9}
	katDeleteValue = Record{Kind: KindDelete, Key: []byte("user:0001"),
		TS: 1700000000000000002, Seq: 43, Batch: 10}
)

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

// TestKnownAnswer_Record pins the exact bytes of one value record and one deletion record,
// both ways.
func TestKnownAnswer_Record(t *testing.T) {
	tests := []struct {
		name   string
		hex    string
		r      *Record
		sector uint64
	}{
		{"value", katRecord, &katRecordValue, 17},
		{"delete", katDelete, &katDeleteValue, 18},
	}
	for _, tt := range tests {
		want := make([]byte, SectorSize)
		copy(want, mustHex(t, tt.hex))
		if got := AppendRecord(nil, tt.r, tt.sector, 0x0123456789abcdef); !bytes.Equal(got, want) {
			t.Errorf("%s: AppendRecord:\n got %x\nwant %x", tt.name, got, want)
		}
		got, _, err := decodeRecord(want, tt.sector, 0x0123456789abcdef)
		if err != nil || !sameRecord(&got, tt.r) {
			t.Errorf("%s: decode = %+v, %v; want %+v", tt.name, got, err, tt.r)
		}
	}
}
