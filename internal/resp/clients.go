package resp

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clientTable tracks the sessions a Server registered, for CLIENT and INFO.
type clientTable struct {
	mu       sync.Mutex
	sessions map[uint64]*Session
	lastID   atomic.Uint64
	// received counts the sessions ever registered.
	received atomic.Int64
}

// NewSession returns the Session of a new connection from remote to local (printable
// addresses), registered for CLIENT LIST and INFO until EndSession.
func (h *Handler) NewSession(remote, local string) *Session {
	s := &Session{id: h.clients.lastID.Add(1), addr: remote, laddr: local, created: time.Now()}
	h.clients.received.Add(1)
	h.clients.mu.Lock()
	if h.clients.sessions == nil {
		h.clients.sessions = map[uint64]*Session{}
	}
	h.clients.sessions[s.id] = s
	h.clients.mu.Unlock()
	return s
}

// EndSession unregisters s once its connection has closed.
func (h *Handler) EndSession(s *Session) {
	h.clients.mu.Lock()
	delete(h.clients.sessions, s.id)
	h.clients.mu.Unlock()
}

// connected returns the number of registered sessions.
func (h *Handler) connected() int {
	h.clients.mu.Lock()
	defer h.clients.mu.Unlock()
	return len(h.clients.sessions)
}

// clientInfo is the CLIENT INFO line of s, without its line break. The caller holds
// h.clients.mu (a session's name is guarded by it).
func clientInfo(s *Session, now time.Time) string {
	age := int64(0)
	if !s.created.IsZero() {
		age = int64(now.Sub(s.created) / time.Second)
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 tot-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 events=r cmd=client user=default redir=-1 resp=2 lib-name= lib-ver=",
		s.id, s.addr, s.laddr, s.name, age)
}

// client implements CLIENT SETNAME name, GETNAME, ID, INFO and LIST.
func (h *Handler) client(s *Session, w Writer, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	wrongArgs := func() {
		w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + clip(args[1]) + "'. Try CLIENT HELP.")
	}
	switch sub {
	case "setname":
		if len(args) != 3 {
			wrongArgs()
			return
		}
		for _, c := range args[2] {
			if c <= ' ' || c > '~' {
				w.WriteError("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
		}
		h.clients.mu.Lock()
		s.name = string(args[2])
		h.clients.mu.Unlock()
		w.WriteString("OK")
	case "getname":
		if len(args) != 2 {
			wrongArgs()
			return
		}
		h.clients.mu.Lock()
		name := s.name
		h.clients.mu.Unlock()
		if name == "" {
			w.WriteNull()
			return
		}
		w.WriteBulkString(name)
	case "id":
		if len(args) != 2 {
			wrongArgs()
			return
		}
		w.WriteInt64(int64(s.id))
	case "info":
		if len(args) != 2 {
			wrongArgs()
			return
		}
		h.clients.mu.Lock()
		line := clientInfo(s, time.Now())
		h.clients.mu.Unlock()
		w.WriteBulkString(line + "\n")
	case "list":
		if len(args) != 2 {
			w.WriteError(errSyntax)
			return
		}
		now := time.Now()
		var b strings.Builder
		h.clients.mu.Lock()
		ids := make([]uint64, 0, len(h.clients.sessions))
		for id := range h.clients.sessions {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			b.WriteString(clientInfo(h.clients.sessions[id], now))
			b.WriteByte('\n')
		}
		h.clients.mu.Unlock()
		w.WriteBulkString(b.String())
	default:
		wrongArgs()
	}
}
