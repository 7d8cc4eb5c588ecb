package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// testHeader is a header with every field set to a distinctive value.
var testHeader = Header{Version: Version, Generation: 7, Salt: 0x0123456789abcdef, Created: 1700000000123456789}

// headerCopy returns the encoded copy of h after edit has changed it; when fixCRC is set the
// checksum is recomputed afterwards, so that only the edited fields are wrong.
func headerCopy(h Header, fixCRC bool, edit func(b []byte)) []byte {
	b := AppendHeader(nil, h)
	if edit != nil {
		edit(b)
	}
	if fixCRC {
		binary.LittleEndian.PutUint32(b[hdrCRC:], headerCRC(b))
	}
	return b
}

// withGen returns testHeader with the given generation.
func withGen(gen uint64) Header {
	h := testHeader
	h.Generation = gen
	return h
}

// TestHeader_RoundTrip ensures that DecodeHeader returns what AppendHeader encoded, that the
// copy is exactly HeaderSize bytes appended after the existing contents of dst, and that
// bytes left in dst's spare capacity do not leak into the copy.
func TestHeader_RoundTrip(t *testing.T) {
	f := func(name string, h Header) {
		t.Helper()
		prefix := []byte("prefix")
		dst := bytes.Repeat([]byte{0xAA}, len(prefix)+HeaderSize)
		copy(dst, prefix)
		dst = dst[:len(prefix)]
		out := AppendHeader(dst, h)
		if len(out) != len(prefix)+HeaderSize {
			t.Fatalf("%s: AppendHeader appended %d bytes, want %d", name, len(out)-len(prefix), HeaderSize)
		}
		if &out[0] != &dst[:1][0] {
			t.Errorf("%s: AppendHeader reallocated a buffer with enough room", name)
		}
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Errorf("%s: AppendHeader changed the existing bytes of dst", name)
		}
		copyBytes := out[len(prefix):]
		if !IsZeroed(copyBytes[hdrUsed:]) || !IsZeroed(copyBytes[hdrReserved:hdrCRC]) {
			t.Errorf("%s: reserved bytes of the copy are not zero", name)
		}
		got, err := DecodeHeader(copyBytes)
		if err != nil {
			t.Fatalf("%s: DecodeHeader: %v", name, err)
		}
		if got != h {
			t.Errorf("%s: DecodeHeader = %+v, want %+v", name, got, h)
		}
		// Bytes after the copy are ignored.
		if got, err := DecodeHeader(append(copyBytes, 1, 2, 3)); err != nil || got != h {
			t.Errorf("%s: DecodeHeader with trailing bytes = %+v, %v", name, got, err)
		}
	}
	f("typical", testHeader)
	f("new file", Header{Version: Version, Generation: 1, Salt: 1, Created: 1})
	f("zero salt and time", Header{Version: Version, Generation: 2})
	f("extremes", Header{Version: Version, Generation: ^uint64(0), Salt: ^uint64(0), Created: -1 << 63})
}

// TestDecodeHeader_Errors ensures that each invalid field is rejected with the right error,
// also when the checksum matches, and that an older or newer version is told apart from
// corruption, with a message that names the version found and the version this build reads.
func TestDecodeHeader_Errors(t *testing.T) {
	at := func(v uint32) []byte { return headerCopy(Header{Version: v, Generation: 1}, false, nil) }
	tests := []struct {
		name string
		b    []byte
		want error  // ErrCorrupted, ErrNewerVersion or ErrOlderVersion
		msg  string // a part of the message, if set
	}{
		{name: "nil", b: nil},
		{name: "short", b: AppendHeader(nil, testHeader)[:HeaderSize-1]},
		{name: "zeros", b: make([]byte, HeaderSize)},
		{name: "bad magic", b: headerCopy(testHeader, true, func(b []byte) { b[3] = 'Y' })},
		{name: "bad crc", b: headerCopy(testHeader, false, func(b []byte) { b[hdrCRC] ^= 1 })},
		{name: "version 0", b: at(0), msg: "version 0 is invalid"},
		{name: "version 0 other layout", b: headerCopy(Header{Generation: 1}, true, func(b []byte) { b[hdrFlags] = 1 })},
		{name: "version 1", b: at(1), want: ErrOlderVersion, msg: "version 1, this build reads version 2"},
		{name: "version Version-1", b: at(Version - 1), want: ErrOlderVersion},
		{name: "version 1 other layout", want: ErrOlderVersion, b: headerCopy(Header{Version: 1, Generation: 1}, true, func(b []byte) {
			binary.LittleEndian.PutUint32(b[hdrSectorSize:], 4096)
			b[hdrFlags] = 1
			b[HeaderSize-1] = 1
		})},
		{name: "version 1 bad crc", b: headerCopy(Header{Version: 1, Generation: 1}, false, func(b []byte) { b[hdrCRC] ^= 1 })},
		{name: "version 1 bad magic", b: headerCopy(Header{Version: 1, Generation: 1}, true, func(b []byte) { b[0] = 'f' })},
		{name: "version 3", b: at(3), want: ErrNewerVersion, msg: "version 3, this build reads version 2"},
		{name: "version Version+1", b: at(Version + 1), want: ErrNewerVersion},
		{name: "version max", b: at(^uint32(0)), want: ErrNewerVersion},
		{name: "version 3 other layout", want: ErrNewerVersion, b: headerCopy(Header{Version: 3, Generation: 1}, true, func(b []byte) {
			binary.LittleEndian.PutUint32(b[hdrBlockSize:], 8192)
			b[hdrFlags] = 1
			b[HeaderSize-1] = 1
		})},
		{name: "version 3 bad crc", b: headerCopy(Header{Version: 3, Generation: 1}, false, func(b []byte) { b[hdrCRC] ^= 1 })},
		{name: "block size", b: headerCopy(testHeader, true, func(b []byte) { binary.LittleEndian.PutUint32(b[hdrBlockSize:], 8192) })},
		{name: "sector size", b: headerCopy(testHeader, true, func(b []byte) { binary.LittleEndian.PutUint32(b[hdrSectorSize:], 4096) })},
		{name: "data start", b: headerCopy(testHeader, true, func(b []byte) { binary.LittleEndian.PutUint64(b[hdrDataStart:], 4096) })},
		{name: "flags", b: headerCopy(testHeader, true, func(b []byte) { b[hdrFlags+3] = 0x80 })},
		{name: "reserved first", b: headerCopy(testHeader, true, func(b []byte) { b[hdrReserved] = 1 })},
		{name: "reserved last", b: headerCopy(testHeader, true, func(b []byte) { b[hdrCRC-1] = 1 })},
		{name: "tail first", b: headerCopy(testHeader, false, func(b []byte) { b[hdrUsed] = 1 })},
		{name: "tail last", b: headerCopy(testHeader, false, func(b []byte) { b[HeaderSize-1] = 1 })},
		{name: "generation 0", b: headerCopy(withGen(0), false, nil)},
	}
	for _, tt := range tests {
		if tt.want == nil {
			tt.want = ErrCorrupted
		}
		_, err := DecodeHeader(tt.b)
		if err == nil {
			t.Errorf("%s: DecodeHeader succeeded", tt.name)
			continue
		}
		for _, sentinel := range []error{ErrCorrupted, ErrNewerVersion, ErrOlderVersion} {
			if got := errors.Is(err, sentinel); got != (sentinel == tt.want) {
				t.Errorf("%s: errors.Is(%v, %v) = %v, want %v", tt.name, err, sentinel, got, !got)
			}
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: DecodeHeader error %q does not contain %q", tt.name, err, tt.msg)
		}
	}
}

// TestDecodeHeader_EveryByteFlipped ensures that changing any single byte of a header copy,
// by inverting it or by flipping its lowest bit, makes DecodeHeader fail with ErrCorrupted.
func TestDecodeHeader_EveryByteFlipped(t *testing.T) {
	orig := AppendHeader(nil, testHeader)
	b := bytes.Clone(orig)
	for _, mask := range []byte{0xFF, 0x01} {
		for i := range b {
			b[i] ^= mask
			h, err := DecodeHeader(b)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: DecodeHeader succeeded with %+v", i, mask, h)
			}
			if !errors.Is(err, ErrCorrupted) || errors.Is(err, ErrNewerVersion) || errors.Is(err, ErrOlderVersion) {
				t.Fatalf("byte %d ^ %#x: error %v, want ErrCorrupted only", i, mask, err)
			}
			b[i] ^= mask
		}
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("test bug: buffer not restored")
	}
}

// TestHeaderCopyOffset ensures odd generations go to copy A and even ones to copy B.
func TestHeaderCopyOffset(t *testing.T) {
	tests := []struct {
		gen  uint64
		want int64
	}{
		{0, HeaderSize}, {1, 0}, {2, HeaderSize}, {3, 0}, {1 << 40, HeaderSize},
		{^uint64(0), 0}, {^uint64(0) - 1, HeaderSize},
	}
	for _, tt := range tests {
		if got := HeaderCopyOffset(tt.gen); got != tt.want {
			t.Errorf("HeaderCopyOffset(%d) = %d, want %d", tt.gen, got, tt.want)
		}
	}
}

// TestPickHeader ensures the governing copy is chosen as the format prescribes: newest valid
// copy wins, a torn newest copy falls back to the other, a newer version anywhere fails with
// ErrNewerVersion, and otherwise an older version anywhere with ErrOlderVersion.
func TestPickHeader(t *testing.T) {
	valid := func(gen uint64) []byte { return AppendHeader(nil, withGen(gen)) }
	// torn returns a copy of generation gen whose write stopped after n bytes, over old.
	torn := func(gen uint64, n int, old []byte) []byte {
		b := bytes.Clone(old)
		copy(b[:n], valid(gen))
		return b
	}
	zero := make([]byte, HeaderSize)
	newer := func(gen uint64) []byte { return AppendHeader(nil, Header{Version: Version + 1, Generation: gen}) }
	v1 := func(gen uint64) []byte { return AppendHeader(nil, Header{Version: 1, Generation: gen}) }
	v0 := func(gen uint64) []byte { return AppendHeader(nil, Header{Generation: gen}) }
	damaged := func(b []byte) []byte {
		b = bytes.Clone(b)
		b[hdrGeneration] ^= 1
		return b
	}
	otherSalt := func(gen uint64) []byte {
		h := withGen(gen)
		h.Salt++
		return AppendHeader(nil, h)
	}

	tests := []struct {
		name    string
		a, b    []byte
		wantGen uint64 // 0: an error is expected
		want    error  // the error expected: ErrCorrupted if nil
	}{
		{name: "new file", a: valid(1), b: valid(1), wantGen: 1},
		{name: "A newer", a: valid(3), b: valid(2), wantGen: 3},
		{name: "B newer", a: valid(3), b: valid(4), wantGen: 4},
		{name: "far apart", a: valid(1), b: valid(1 << 50), wantGen: 1 << 50},
		{name: "A torn in first sector falls back to B", a: torn(5, 100, valid(3)), b: valid(4), wantGen: 4},
		{name: "A torn at crc falls back to B", a: torn(5, hdrCRC+2, valid(3)), b: valid(4), wantGen: 4},
		{name: "B torn falls back to A", a: valid(5), b: torn(6, 64, valid(4)), wantGen: 5},
		{name: "B never written", a: valid(1), b: zero, wantGen: 1},
		{name: "A never written", a: zero, b: valid(1), wantGen: 1},
		{name: "A garbage", a: bytes.Repeat([]byte{0x5A}, HeaderSize), b: valid(8), wantGen: 8},
		{name: "B short", a: valid(9), b: valid(10)[:HeaderSize-1], wantGen: 9},
		{name: "neither valid", a: zero, b: zero},
		{name: "both torn", a: torn(1, 30, zero), b: torn(1, 10, zero)},
		{name: "both nil", a: nil, b: nil},
		{name: "equal generations differ", a: valid(1), b: otherSalt(1)},
		{name: "A newer version", a: newer(5), b: valid(4), want: ErrNewerVersion},
		{name: "B newer version, older generation", a: valid(5), b: newer(4), want: ErrNewerVersion},
		{name: "newer version, other invalid", a: zero, b: newer(1), want: ErrNewerVersion},
		{name: "newer version, other damaged", a: newer(3), b: damaged(valid(2)), want: ErrNewerVersion},
		{name: "both newer version", a: newer(3), b: newer(2), want: ErrNewerVersion},
		{name: "both older version", a: v1(1), b: v1(1), want: ErrOlderVersion},
		{name: "both older version, B newest", a: v1(3), b: v1(4), want: ErrOlderVersion},
		{name: "A older version, newer generation", a: v1(5), b: valid(4), want: ErrOlderVersion},
		{name: "B older version, older generation", a: valid(5), b: v1(4), want: ErrOlderVersion},
		{name: "older version, other invalid", a: zero, b: v1(1), want: ErrOlderVersion},
		{name: "older version, other damaged", a: v1(3), b: damaged(v1(2)), want: ErrOlderVersion},
		{name: "older version, other torn", a: torn(5, 100, v1(3)), b: v1(4), want: ErrOlderVersion},
		{name: "older version damaged, other valid", a: damaged(v1(5)), b: valid(4), wantGen: 4},
		{name: "newer and older version", a: v1(3), b: newer(2), want: ErrNewerVersion},
		{name: "older and newer version", a: newer(3), b: v1(4), want: ErrNewerVersion},
		{name: "A version 0, B valid", a: v0(5), b: valid(4), wantGen: 4},
		{name: "both version 0", a: v0(1), b: v0(1)},
		{name: "version 0 and older version", a: v0(1), b: v1(1), want: ErrOlderVersion},
	}
	for _, tt := range tests {
		if tt.want == nil {
			tt.want = ErrCorrupted
		}
		h, err := PickHeader(tt.a, tt.b)
		switch {
		case tt.wantGen != 0:
			if err != nil {
				t.Errorf("%s: PickHeader: %v", tt.name, err)
			} else if want := withGen(tt.wantGen); h != want {
				t.Errorf("%s: PickHeader = %+v, want %+v", tt.name, h, want)
			}
			continue
		case err == nil:
			t.Errorf("%s: PickHeader succeeded with %+v", tt.name, h)
			continue
		}
		for _, sentinel := range []error{ErrCorrupted, ErrNewerVersion, ErrOlderVersion} {
			if got := errors.Is(err, sentinel); got != (sentinel == tt.want) {
				t.Errorf("%s: PickHeader error %v: errors.Is(err, %v) = %v, want %v", tt.name, err, sentinel, got, !got)
			}
		}
	}
}

// TestPickHeader_VersionMessage ensures the error for a copy of another version names the
// copy, the version found and the version this build reads.
func TestPickHeader_VersionMessage(t *testing.T) {
	at := func(v uint32, gen uint64) []byte { return AppendHeader(nil, Header{Version: v, Generation: gen}) }
	valid := AppendHeader(nil, withGen(4))
	tests := []struct {
		name string
		a, b []byte
		want string
	}{
		{"older in A", at(1, 5), valid, "header copy A version 1, this build reads version 2"},
		{"older in B", valid, at(1, 3), "header copy B version 1, this build reads version 2"},
		{"newer in B", at(1, 5), at(3, 6), "header copy B version 3, this build reads version 2"},
	}
	for _, tt := range tests {
		if _, err := PickHeader(tt.a, tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: PickHeader error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestIsZeroed ensures IsZeroed finds a non-zero byte at any position and length.
func TestIsZeroed(t *testing.T) {
	if !IsZeroed(nil) {
		t.Error("IsZeroed(nil) = false")
	}
	for n := 1; n <= 100; n++ {
		b := make([]byte, n)
		if !IsZeroed(b) {
			t.Fatalf("IsZeroed(%d zeros) = false", n)
		}
		for i := range b {
			b[i] = 0x10
			if IsZeroed(b) {
				t.Fatalf("IsZeroed(%d bytes, byte %d set) = true", n, i)
			}
			b[i] = 0
		}
	}
}
