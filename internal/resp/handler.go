package resp

import (
	"bytes"
	"crypto/subtle"
	"strings"
	"sync/atomic"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// Config configures a Handler.
type Config struct {
	// Password, when not empty, must be given with AUTH (or HELLO ... AUTH) before any command
	// other than AUTH, HELLO and QUIT.
	Password string
	// Shutdown, when not nil, is called by SHUTDOWN to stop the server as a signal would: it
	// should start a graceful Server.Shutdown (which lets the SHUTDOWN reply be written) and
	// close the store, without waiting for them. Without it SHUTDOWN gets an error.
	Shutdown func()
	// Params are the settings CONFIG GET reports, by name (addr, path, maxmemory,
	// requirepass, fsync, maxclients).
	Params map[string]string
}

// Handler runs Redis commands against a feox.Store. It is safe for concurrent use by any number
// of connections, each with its own Session.
type Handler struct {
	store *feox.Store
	cfg   Config
	locks keyLocks
	// cursors are the SCAN cursors handed out.
	cursors scanCursors
	// clients are the registered sessions.
	clients clientTable
	// started is when the Handler was made; commandsRun counts the commands Exec ran.
	started     time.Time
	commandsRun atomic.Int64
}

// NewHandler returns a Handler that serves store. The store stays the caller's to close.
func NewHandler(store *feox.Store, cfg Config) *Handler {
	h := &Handler{store: store, cfg: cfg, started: time.Now()}
	h.locks.init()
	return h
}

// Session is the state of one client connection. The zero value is a new connection.
type Session struct {
	// authed is set once the client has authenticated (it is not consulted without a
	// password).
	authed bool
	// quit is set by QUIT: the connection closes once the reply is written.
	quit bool
	// wrote is set by every command that may have changed the store since the last TakeWrote.
	wrote bool
	// id, addr, laddr and created describe the connection of a session from NewSession (id
	// 0 otherwise).
	id          uint64
	addr, laddr string
	created     time.Time
	// name is the CLIENT SETNAME name, guarded by the Handler's clients.mu.
	name string
}

// Quit reports whether the client asked to close the connection.
func (s *Session) Quit() bool { return s.quit }

// TakeWrote reports whether a command may have changed the store since the last call, and
// clears the mark.
func (s *Session) TakeWrote() bool {
	w := s.wrote
	s.wrote = false
	return w
}

// command is one entry of the command table.
type command struct {
	// arity is the number of arguments, the name included; a negative arity -n means at
	// least n.
	arity int
	// write marks commands that may change the store.
	write bool
	// noAuth marks commands allowed before authentication.
	noAuth bool
	run    func(h *Handler, s *Session, w Writer, args [][]byte)
}

// commands is the command table, by lower-case name.
var commands map[string]command

func init() {
	commands = commandTable
	// COMMAND lists the table, so it is added here to break the initialization cycle.
	commands["command"] = command{arity: -1, run: (*Handler).commandCmd}
}

// commandTable is the command table without COMMAND.
var commandTable = map[string]command{
	"ping":        {arity: -1, run: (*Handler).ping},
	"echo":        {arity: 2, run: (*Handler).echo},
	"quit":        {arity: -1, noAuth: true, run: (*Handler).quit},
	"select":      {arity: 2, run: (*Handler).selectDB},
	"auth":        {arity: -2, noAuth: true, run: (*Handler).auth},
	"hello":       {arity: -1, noAuth: true, run: (*Handler).hello},
	"get":         {arity: 2, run: (*Handler).get},
	"set":         {arity: -3, write: true, run: (*Handler).set},
	"setnx":       {arity: 3, write: true, run: (*Handler).setnx},
	"setex":       {arity: 4, write: true, run: (*Handler).setex},
	"psetex":      {arity: 4, write: true, run: (*Handler).psetex},
	"getdel":      {arity: 2, write: true, run: (*Handler).getdel},
	"getex":       {arity: -2, write: true, run: (*Handler).getex},
	"getset":      {arity: 3, write: true, run: (*Handler).getset},
	"msetnx":      {arity: -3, write: true, run: (*Handler).msetnx},
	"incrbyfloat": {arity: 3, write: true, run: (*Handler).incrbyfloat},
	"mget":        {arity: -2, run: (*Handler).mget},
	"mset":        {arity: -3, write: true, run: (*Handler).mset},
	"del":         {arity: -2, write: true, run: (*Handler).del},
	"unlink":      {arity: -2, write: true, run: (*Handler).del},
	"exists":      {arity: -2, run: (*Handler).exists},
	"type":        {arity: 2, run: (*Handler).typeOf},
	"expire":      {arity: 3, write: true, run: (*Handler).expire},
	"expireat":    {arity: 3, write: true, run: (*Handler).expireat},
	"pexpireat":   {arity: 3, write: true, run: (*Handler).pexpireat},
	"scan":        {arity: -2, run: (*Handler).scan},
	"keys":        {arity: 2, run: (*Handler).keys},
	"randomkey":   {arity: 1, run: (*Handler).randomkey},
	"flushdb":     {arity: -1, write: true, run: (*Handler).flushdb},
	"flushall":    {arity: -1, write: true, run: (*Handler).flushdb},
	"pexpire":     {arity: 3, write: true, run: (*Handler).pexpire},
	"ttl":         {arity: 2, run: (*Handler).ttl},
	"pttl":        {arity: 2, run: (*Handler).pttl},
	"persist":     {arity: 2, write: true, run: (*Handler).persist},
	"incr":        {arity: 2, write: true, run: (*Handler).incr},
	"incrby":      {arity: 3, write: true, run: (*Handler).incrby},
	"decr":        {arity: 2, write: true, run: (*Handler).decr},
	"decrby":      {arity: 3, write: true, run: (*Handler).decrby},
	"strlen":      {arity: 2, run: (*Handler).strlen},
	"append":      {arity: 3, write: true, run: (*Handler).append},
	"dbsize":      {arity: 1, run: (*Handler).dbsize},
	"flush":       {arity: 1, run: (*Handler).flush},
	"cas":         {arity: 4, write: true, run: (*Handler).cas},
	"json.patch":  {arity: 3, write: true, run: (*Handler).jsonPatch},
	"client":      {arity: -2, run: (*Handler).client},
	"time":        {arity: 1, run: (*Handler).time},
	"save":        {arity: 1, run: (*Handler).save},
	"shutdown":    {arity: -1, run: (*Handler).shutdown},
	"config":      {arity: -2, run: (*Handler).config},
	"info":        {arity: -1, run: (*Handler).info},
}

// Exec runs the command args (its name first) for session s and writes exactly one reply to w,
// except for a SHUTDOWN that succeeds: it writes none and marks s to quit, as Redis closes the
// connection without a reply.
// The slices of args are not retained. An empty args writes an error.
func (h *Handler) Exec(s *Session, w Writer, args [][]byte) {
	if len(args) == 0 {
		w.WriteError("ERR empty command")
		return
	}
	name := strings.ToLower(string(args[0]))
	cmd, ok := commands[name]
	if !ok {
		w.WriteError(unknownCommand(args))
		return
	}
	if h.cfg.Password != "" && !s.authed && !cmd.noAuth {
		w.WriteError("NOAUTH Authentication required.")
		return
	}
	if (cmd.arity > 0 && len(args) != cmd.arity) || (cmd.arity < 0 && len(args) < -cmd.arity) {
		w.WriteError("ERR wrong number of arguments for '" + name + "' command")
		return
	}
	if cmd.write {
		s.wrote = true
	}
	h.commandsRun.Add(1)
	cmd.run(h, s, w, args)
}

// unknownCommand is Redis's error for a command it does not know.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(clip(args[0]))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:] {
		b.WriteString("'")
		b.WriteString(clip(a))
		b.WriteString("' ")
	}
	return b.String()
}

// clip returns a printable prefix of b for an error message: at most 128 bytes, with line
// breaks (which would end a RESP error) replaced by spaces.
func clip(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, string(b))
}

// passwordOK reports whether pw is the configured password, in constant time.
func (h *Handler) passwordOK(pw []byte) bool {
	return subtle.ConstantTimeCompare(pw, []byte(h.cfg.Password)) == 1
}

// equalFold reports whether b, ASCII case folded, is word (lower case).
func equalFold(b []byte, word string) bool { return bytes.EqualFold(b, []byte(word)) }
