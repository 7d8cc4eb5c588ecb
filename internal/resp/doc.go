// Package resp serves a feox.Store over the Redis protocol (RESP2).
//
// It has two layers. Handler is the command layer: Exec runs one command, given as its
// argument vector, against the store and writes the reply to a Writer; it knows nothing of the
// network, so it can be unit-tested and fuzzed with any Writer. Server is the network layer: it
// accepts connections, reads pipelined commands with redcon's RESP reader, runs them through a
// Handler and writes the replies back with redcon's RESP writer.
//
// Server runs its own accept loop and connection loop instead of redcon's, for two reasons:
// redcon's Server closes every connection the moment it is closed, so a request in flight
// would lose its reply, and it offers no point between a pipeline's last command and the write
// of its replies, which is where a server with FsyncAlways makes the pipeline's writes durable
// with one shared Flush.
//
// Writes of one key are serialized by a per-key stripe lock in Handler, so that commands built
// of several store calls (SET with NX/XX/GET/KEEPTTL, GETDEL, GETEX, GETSET, APPEND, INCR and
// INCRBYFLOAT keeping the key's expiry, PERSIST) are atomic with respect to every other client
// of the server. Reads take no lock. A multi-key write (MSET, MSETNX, DEL) takes the stripes of
// all its keys in stripe order and is atomic against other writers, but a concurrent read may
// see part of it.
package resp
