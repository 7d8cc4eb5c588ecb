// Package format encodes and decodes the bytes of a feox-go data file: the two header copies at
// the start of the file and the records of the data area. It is the executable form of the
// format specification in docs/FORMAT.md (version 1); where the two disagree, that document
// is the authority and this package has a bug.
//
// The package only turns values into bytes and bytes into values. It opens no files, does no
// I/O and keeps no state, so every function is safe for concurrent use.
//
// # Layout
//
// A file starts with two header copies of HeaderSize bytes each (copy A at offset 0, copy B at
// offset HeaderSize), followed by the data area at DataStart. Records in the data area start
// on SectorSize boundaries and occupy RecordSize(keyLen, valueLen) bytes: a RecordHeaderSize
// byte record header, the key, the value and zero padding up to the next sector boundary.
// All integers are little-endian and all checksums are CRC-32C (Castagnoli).
//
// Both checksums of a record are bound to the record's sector number (its file offset divided
// by SectorSize) and to the store's salt, which is chosen at creation and kept in the header.
// The same record bytes found at another offset, or copied from another store, do not verify.
//
// # Version 2: packed records in frames
//
// The package also encodes and decodes the data area of format version 2 (frame.go), which the
// data file is moving to: records packed back to back, 8-byte aligned, inside frames that start
// at FrameAlign boundaries. A frame's 32-byte header gives its length, record count and batch
// number; every frame header and every packed record carries a CRC-32C bound to its file
// offset and the salt, like version 1's records. FrameWriter encodes a frame into a caller's
// buffer; DecodeFrameHeader, PeekPackedRecord and DecodePackedRecord read one.
//
// # Encoding
//
// AppendHeader and AppendRecord append to a caller's buffer and do not allocate when it has
// room. They write exactly what they are given; AppendRecord panics on a record that could not
// be decoded again (an empty or oversized key, an oversized value, an unknown kind, or a
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
// A record is read in two steps, which lets the recovery scanner look at every sector cheaply:
//
//   - DecodeRecordHeader checks the first RecordHeaderSize bytes: the magic (first, so that a
//     sector holding no record is rejected after one comparison), the kind, the flags, the
//     lengths, the reserved bytes and the header checksum. Any failure is ErrNoRecord: there is
//     no record at this sector. It neither allocates nor wraps the error.
//   - VerifyRecord checks the record checksum over the header, key and value. A failure is
//     ErrTorn: the header is intact but the rest is not, which is what an interrupted write
//     leaves behind. The key and value it returns are subslices of the caller's buffer.
//
// Bytes that no checksum covers are checked where the format fixes them: the 3968 bytes after
// the 128-byte header must be zero. The padding after a record's value is not checked (the
// format's definition of a valid record does not include it); a decoder that is given it
// ignores it.
package format
