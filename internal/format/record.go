package format

import "strconv"

// Kind says what a record holds.
type Kind uint8

// The kinds of record.
const (
	// KindValue is a record holding a key and its value.
	KindValue Kind = 1
	// KindDelete is a deletion record: the key is absent from its sequence number on. It
	// holds no value.
	KindDelete Kind = 2
)

// String returns "value", "delete", or "kind(N)" for an unknown kind.
func (k Kind) String() string {
	switch k {
	case KindValue:
		return "value"
	case KindDelete:
		return "delete"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Record is one version of a key, as FrameWriter.Add writes it into a frame. The number of the
// batch that wrote it is the frame's (FrameWriter.Begin).
type Record struct {
	// Kind is KindValue or KindDelete.
	Kind Kind
	// Key is 1 to MaxKeyLen bytes.
	Key []byte
	// Value is 0 to MaxValueLen bytes; always empty for a deletion.
	Value []byte
	// TS is the record's timestamp in nanoseconds.
	TS uint64
	// Seq is the sequence number that orders the versions of one key; larger is newer.
	Seq uint64
	// Expiry is the Unix time in nanoseconds after which the key is absent; 0 means never.
	Expiry int64
}

// checkRecord panics if r cannot be encoded as a record that decodes again.
func checkRecord(r *Record) {
	var why string
	switch {
	case r.Kind != KindValue && r.Kind != KindDelete:
		why = "unknown kind " + r.Kind.String()
	case len(r.Key) == 0:
		why = "empty key"
	case len(r.Key) > MaxKeyLen:
		why = "key of " + strconv.Itoa(len(r.Key)) + " bytes"
	case len(r.Value) > MaxValueLen:
		why = "value of " + strconv.Itoa(len(r.Value)) + " bytes"
	case r.Kind == KindDelete && len(r.Value) != 0:
		why = "deletion with a value"
	default:
		return
	}
	panic("format: FrameWriter.Add: invalid record: " + why)
}
