package format

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// headerMagic is the first 8 bytes of a header copy.
const headerMagic = "FEOX-GO\x00"

// Offsets of the header fields within a header copy.
const (
	hdrMagic      = 0
	hdrVersion    = 8
	hdrBlockSize  = 12
	hdrSectorSize = 16
	hdrFlags      = 20
	hdrGeneration = 24
	hdrSalt       = 32
	hdrCreated    = 40
	hdrDataStart  = 48
	hdrReserved   = 56
	hdrCRC        = 124
	hdrUsed       = 128 // bytes hdrUsed..HeaderSize of a copy are zero
)

// Header is the content of one header copy.
type Header struct {
	// Version is the format version; AppendHeader writes it as given, so a writer sets it to
	// Version. DecodeHeader only returns headers of this version.
	Version uint32
	// Generation is 1 for a new file and grows by one at every header write. It is never 0
	// in a valid header. HeaderCopyOffset tells which copy a generation is written to.
	Generation uint64
	// Salt is chosen at random when the file is created and never changes. It is mixed into
	// the checksums of every frame header and packed record.
	Salt uint64
	// Created is the file's creation time in Unix nanoseconds.
	Created int64
}

// HeaderCopyOffset returns the file offset of the header copy that the header of the given
// generation is written to: copy A (offset 0) for an odd generation, copy B (offset
// HeaderSize) for an even one. A header write thus never overwrites the copy holding the
// previous generation. A new file is the exception: generation 1 goes to both copies.
func HeaderCopyOffset(generation uint64) int64 {
	if generation%2 == 1 {
		return 0
	}
	return HeaderSize
}

// AppendHeader appends the HeaderSize bytes of one header copy holding h to dst and returns
// the extended buffer. It does not allocate when dst has room for HeaderSize more bytes. The
// fields are written as given: a Version other than Version or a Generation of 0 gives a copy
// that DecodeHeader rejects.
func AppendHeader(dst []byte, h Header) []byte {
	off := len(dst)
	dst = slices.Grow(dst, HeaderSize)[:off+HeaderSize]
	b := dst[off:]
	clear(b)
	copy(b[hdrMagic:], headerMagic)
	binary.LittleEndian.PutUint32(b[hdrVersion:], h.Version)
	binary.LittleEndian.PutUint32(b[hdrBlockSize:], BlockSize)
	binary.LittleEndian.PutUint32(b[hdrSectorSize:], SectorSize)
	// flags (hdrFlags) and the reserved bytes stay zero.
	binary.LittleEndian.PutUint64(b[hdrGeneration:], h.Generation)
	binary.LittleEndian.PutUint64(b[hdrSalt:], h.Salt)
	binary.LittleEndian.PutUint64(b[hdrCreated:], uint64(h.Created))
	binary.LittleEndian.PutUint64(b[hdrDataStart:], DataStart)
	binary.LittleEndian.PutUint32(b[hdrCRC:], headerCRC(b))
	return dst
}

// headerCRC returns the checksum of a header copy: CRC-32C of its bytes 0 to 123.
func headerCRC(b []byte) uint32 {
	return crc32.Checksum(b[:hdrCRC], castagnoli())
}

// DecodeHeader decodes one header copy from the first HeaderSize bytes of b; later bytes are
// ignored. The copy is accepted when its magic and checksum are right, its version is
// Version, its block size, sector size and data start are those of the format, its flags and
// reserved bytes are zero, the rest of the copy after the first 128 bytes is zero, and its
// generation is not 0.
//
// An intact copy of another version (magic and checksum right) gives an error wrapping
// ErrNewerVersion for a version above Version, or ErrOlderVersion for a version from 1 to
// Version-1, whatever its other fields hold, since another format version may define them
// differently; the message names the version found and Version. Version 0 was never written:
// it is corrupted. Every other failure wraps ErrCorrupted.
func DecodeHeader(b []byte) (Header, error) {
	h, reason, err := checkHeader(b)
	if err != nil {
		return Header{}, fmt.Errorf("%w: header %s", err, reason)
	}
	return h, nil
}

// checkHeader decodes one header copy. On failure it returns ErrCorrupted, ErrNewerVersion or
// ErrOlderVersion and a short reason.
func checkHeader(b []byte) (Header, string, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Sprintf("copy is %d bytes, want %d", len(b), HeaderSize), ErrCorrupted
	}
	b = b[:HeaderSize]
	if string(b[hdrMagic:hdrMagic+len(headerMagic)]) != headerMagic {
		return Header{}, "magic is wrong", ErrCorrupted
	}
	if got, want := binary.LittleEndian.Uint32(b[hdrCRC:]), headerCRC(b); got != want {
		return Header{}, fmt.Sprintf("checksum %#08x, computed %#08x", got, want), ErrCorrupted
	}
	h := Header{
		Version:    binary.LittleEndian.Uint32(b[hdrVersion:]),
		Generation: binary.LittleEndian.Uint64(b[hdrGeneration:]),
		Salt:       binary.LittleEndian.Uint64(b[hdrSalt:]),
		Created:    int64(binary.LittleEndian.Uint64(b[hdrCreated:])),
	}
	switch {
	case h.Version > Version:
		return Header{}, fmt.Sprintf("version %d, this build reads version %d", h.Version, Version), ErrNewerVersion
	case h.Version == 0:
		return Header{}, "version 0 is invalid", ErrCorrupted
	case h.Version < Version:
		return Header{}, fmt.Sprintf("version %d, this build reads version %d", h.Version, Version), ErrOlderVersion
	}
	if v := binary.LittleEndian.Uint32(b[hdrBlockSize:]); v != BlockSize {
		return Header{}, fmt.Sprintf("block size %d, want %d", v, BlockSize), ErrCorrupted
	}
	if v := binary.LittleEndian.Uint32(b[hdrSectorSize:]); v != SectorSize {
		return Header{}, fmt.Sprintf("sector size %d, want %d", v, SectorSize), ErrCorrupted
	}
	if v := binary.LittleEndian.Uint64(b[hdrDataStart:]); v != DataStart {
		return Header{}, fmt.Sprintf("data start %d, want %d", v, DataStart), ErrCorrupted
	}
	if v := binary.LittleEndian.Uint32(b[hdrFlags:]); v != 0 {
		return Header{}, fmt.Sprintf("flags %#x, want 0", v), ErrCorrupted
	}
	if !IsZeroed(b[hdrReserved:hdrCRC]) || !IsZeroed(b[hdrUsed:]) {
		return Header{}, "reserved bytes are not zero", ErrCorrupted
	}
	if h.Generation == 0 {
		return Header{}, "generation is 0", ErrCorrupted
	}
	return h, "", nil
}

// PickHeader decodes both header copies, a (copy A, at offset 0) and b (copy B, at offset
// HeaderSize), and returns the one that governs the file:
//
//   - if either copy is an intact header of a newer version, an error wrapping
//     ErrNewerVersion, whatever the other copy holds: a newer feox-go has written to the
//     file, and only such a build can tell what it holds;
//   - otherwise, if either copy is an intact header of an older version, an error wrapping
//     ErrOlderVersion, whatever the other copy holds: this package never writes an older
//     version and never converts a file in place, so such a copy means that at least part of
//     the file has an earlier layout, and the file is refused as it is rather than read with
//     the wrong one;
//   - if both are valid, the one with the larger generation; if their generations are equal
//     their contents must be too (as after creation), otherwise an error wrapping
//     ErrCorrupted, since nothing tells which one is right;
//   - if only one is valid, that one (the other was torn while being written);
//   - if neither is valid, an error wrapping ErrCorrupted that gives both reasons. The caller
//     decides whether the file is a fresh one (see IsZeroed) or a damaged one.
func PickHeader(a, b []byte) (Header, error) {
	ha, reasonA, errA := checkHeader(a)
	hb, reasonB, errB := checkHeader(b)
	switch {
	case errA == ErrNewerVersion:
		return Header{}, fmt.Errorf("%w: header copy A %s", errA, reasonA)
	case errB == ErrNewerVersion:
		return Header{}, fmt.Errorf("%w: header copy B %s", errB, reasonB)
	case errA == ErrOlderVersion:
		return Header{}, fmt.Errorf("%w: header copy A %s", errA, reasonA)
	case errB == ErrOlderVersion:
		return Header{}, fmt.Errorf("%w: header copy B %s", errB, reasonB)
	case errA == nil && errB == nil:
		switch {
		case ha.Generation > hb.Generation:
			return ha, nil
		case hb.Generation > ha.Generation:
			return hb, nil
		case ha != hb:
			return Header{}, fmt.Errorf("%w: header copies differ at generation %d", ErrCorrupted, ha.Generation)
		}
		return ha, nil
	case errA == nil:
		return ha, nil
	case errB == nil:
		return hb, nil
	}
	return Header{}, fmt.Errorf("%w: no valid header copy (A: %s; B: %s)", ErrCorrupted, reasonA, reasonB)
}
