package resp

// Writer receives the reply of a command. *redcon.Writer implements it.
type Writer interface {
	// WriteString writes a simple string: +OK.
	WriteString(s string)
	// WriteError writes an error; msg starts with its code: ERR, WRONGPASS, NOAUTH.
	WriteError(msg string)
	// WriteBulk writes a bulk string.
	WriteBulk(b []byte)
	// WriteBulkString writes a bulk string.
	WriteBulkString(s string)
	// WriteInt64 writes an integer.
	WriteInt64(n int64)
	// WriteNull writes a null bulk string.
	WriteNull()
	// WriteArray writes the header of an array of n elements, which the next n replies fill.
	WriteArray(n int)
}
