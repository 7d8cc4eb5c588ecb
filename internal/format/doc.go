// Package format encodes and decodes the bytes of a feox-go data file: the two header copies at
// the start of the file and the frames of packed records in the data area. It is the executable
// form of the format specification in docs/FORMAT.md (version 2); where the two disagree, that
// document is the authority and this package has a bug.
//
// The package only turns values into bytes and bytes into values. It opens no files, does no
// I/O and keeps no state, so every function is safe for concurrent use.
//
// # Layout
//
// A file starts with two header copies of HeaderSize bytes each (copy A at offset 0, copy B at
// offset HeaderSize), followed by the data area at DataStart. The data area holds frames: a
// frame holds the records of one batch that lie in one segment of the store's log, and starts
// at a multiple of FrameAlign (a writer may use a multiple of it, such as a page with O_DIRECT).
// A frame is a FrameHeaderSize-byte header giving its length, its record count and its batch
// number, then its records packed back to back, each starting at a multiple of RecordAlign,
// then zero padding up to the writer's alignment. A packed record holds its checksum, kind,
// flags and timestamp, then the key length, value length, sequence number and, when it has
// one, expiry as varints, then the key and the value: a 16-byte key with a 100-byte value
// takes 136 bytes when its sequence number is below 2^21 and it has no expiry (PackedSize). All fixed-size integers are little-endian and all checksums
// are CRC-32C (Castagnoli).
//
// The checksum of every frame header and of every packed record is bound to its file offset
// and to the store's salt, which is chosen at creation and kept in the header. The same bytes
// found at another offset, copied from another store or held in a value do not verify.
//
// Version 1, which gave every record whole 512-byte sectors and a header of its own, is not
// read: its header copies give ErrOlderVersion.
//
// # Encoding
//
// AppendHeader and FrameWriter append to a caller's buffer and do not allocate when it has
// room. They write exactly what they are given; FrameWriter.Add panics on a record that could
// not be decoded again (an empty or oversized key, an oversized value, an unknown kind, or a
// deletion with a value), because writing it would lose data silently.
//
// # Decoding
//
// The decoders never panic, whatever their input, and never allocate memory in proportion to
// a length read from the input. Every decoding failure is an error for which
// errors.Is(err, ErrCorrupted) holds, with two exceptions: an intact header copy of a newer
// format version gives ErrNewerVersion, and one of an earlier version (from 1 to Version-1)
// ErrOlderVersion. Neither wraps ErrCorrupted, because such a file is not damaged and must
// not be treated as such (for example mistaken for a fresh, all-zero file).
//
// A frame is read in steps, which lets the recovery scan look at every FrameAlign boundary
// cheaply and the cleaner skip the records it does not move:
//
//   - DecodeFrameHeader checks the magic (first, so that bytes holding no frame are rejected
//     after one comparison), the flags, the reserved bytes, the length and count, and the
//     checksum. Any failure is ErrNoFrame: no frame starts here. It neither allocates nor
//     wraps the error.
//   - PeekPackedRecord reads a record's fields, key and size without checking its checksum.
//   - DecodePackedRecord checks the record's fields, its padding and its checksum. A checksum
//     that does not match is ErrTorn: the fields are possible but the bytes are not the ones
//     written here, which is what an interrupted write leaves behind. The key and value it
//     returns are subslices of the caller's buffer.
//
// Whether a frame is whole (every record verifies and the records tile the frame as its header
// says) is the caller's question: the recovery scan (disk.File.ScanFrames) takes a frame's
// records all or none. Bytes that no checksum covers are checked where the format fixes them:
// the 3968 bytes after the 128-byte header must be zero, and so must a record's padding. The
// padding after a frame's last record is not checked.
package format
