package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// padHeader returns data as a full header copy: cut or zero-extended to HeaderSize bytes,
// with its checksum made to match when fix is set. The fuzz inputs thus need to hold only the
// 128 bytes that matter, which keeps mutation and minimization fast, and with fix set the
// fuzzer reaches the checks behind the checksum.
func padHeader(data []byte, fix bool) []byte {
	b := make([]byte, HeaderSize)
	copy(b, data)
	if fix {
		binary.LittleEndian.PutUint32(b[hdrCRC:], headerCRC(b))
	}
	return b
}

// checkDecodedHeader fails t unless the outcome of DecodeHeader(b) is consistent: an error is
// exactly one of ErrCorrupted, ErrNewerVersion and ErrOlderVersion, and a decoded header
// encodes back to the same bytes.
func checkDecodedHeader(t *testing.T, b []byte) {
	h, err := DecodeHeader(b)
	if err != nil {
		n := 0
		for _, sentinel := range []error{ErrCorrupted, ErrNewerVersion, ErrOlderVersion} {
			if errors.Is(err, sentinel) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("DecodeHeader error %v is not exactly one of ErrCorrupted, ErrNewerVersion, ErrOlderVersion", err)
		}
		return
	}
	if h.Version != Version || h.Generation == 0 {
		t.Fatalf("DecodeHeader accepted %+v", h)
	}
	if again := AppendHeader(nil, h); !bytes.Equal(again, b[:HeaderSize]) {
		t.Fatalf("header %+v re-encodes to other bytes", h)
	}
}

// FuzzDecodeHeader checks that DecodeHeader never panics and that whatever it accepts is
// exactly what AppendHeader writes, on the raw input and on the input made a full copy (see
// padHeader).
func FuzzDecodeHeader(f *testing.F) {
	f.Add(AppendHeader(nil, testHeader)[:hdrUsed], false)
	f.Add(AppendHeader(nil, testHeader)[:hdrUsed], true)
	f.Add(AppendHeader(nil, Header{Version: Version + 1, Generation: 1})[:hdrUsed], true)
	f.Add(AppendHeader(nil, Header{Version: 1, Generation: 1})[:hdrUsed], true)
	f.Add([]byte(headerMagic), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		checkDecodedHeader(t, data)
		checkDecodedHeader(t, padHeader(data, fix))
	})
}

// checkPickHeader fails t unless PickHeader(a, b) agrees with a model built from DecodeHeader
// of each copy.
func checkPickHeader(t *testing.T, a, b []byte) {
	h, err := PickHeader(a, b)
	ha, errA := DecodeHeader(a)
	hb, errB := DecodeHeader(b)
	var want Header
	var wantErr error
	switch {
	case errors.Is(errA, ErrNewerVersion) || errors.Is(errB, ErrNewerVersion):
		wantErr = ErrNewerVersion
	case errors.Is(errA, ErrOlderVersion) || errors.Is(errB, ErrOlderVersion):
		wantErr = ErrOlderVersion
	case errA == nil && errB == nil && ha.Generation == hb.Generation && ha != hb:
		wantErr = ErrCorrupted
	case errA == nil && (errB != nil || ha.Generation >= hb.Generation):
		want = ha
	case errB == nil:
		want = hb
	default:
		wantErr = ErrCorrupted
	}
	switch {
	case wantErr == nil && (err != nil || h != want):
		t.Fatalf("PickHeader = %+v, %v; want %+v", h, err, want)
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Fatalf("PickHeader = %+v, %v; want an error wrapping %v", h, err, wantErr)
	case errors.Is(err, ErrCorrupted) && errors.Is(err, ErrNewerVersion),
		errors.Is(err, ErrCorrupted) && errors.Is(err, ErrOlderVersion),
		errors.Is(err, ErrNewerVersion) && errors.Is(err, ErrOlderVersion):
		t.Fatalf("PickHeader error %v wraps more than one of ErrCorrupted, ErrNewerVersion, ErrOlderVersion", err)
	}
}

// FuzzPickHeader checks PickHeader against a model built from DecodeHeader of each copy, on
// the raw inputs and on the inputs made full copies (see padHeader).
func FuzzPickHeader(f *testing.F) {
	short := func(h Header) []byte { return AppendHeader(nil, h)[:hdrUsed] }
	f.Add(short(withGen(1)), short(withGen(1)), false, false)
	f.Add(short(withGen(3)), short(withGen(4)), false, false)
	f.Add(short(withGen(3)), short(withGen(2))[:100], false, false)
	f.Add(short(Header{Version: Version + 1, Generation: 5}), short(withGen(4)), false, false)
	f.Add(short(withGen(5)), short(Header{Version: 1, Generation: 4}), false, false)
	f.Add(short(withGen(1)), short(Header{Version: Version, Generation: 1, Salt: 5}), true, true)
	f.Add([]byte{}, []byte(headerMagic), false, true)
	f.Fuzz(func(t *testing.T, a, b []byte, fixA, fixB bool) {
		checkPickHeader(t, a, b)
		checkPickHeader(t, padHeader(a, fixA), padHeader(b, fixB))
	})
}
