package resp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/tidwall/redcon"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// MaxClients bounds the connections served at once; 0 means no bound. A client past it gets
	// an error and is disconnected.
	MaxClients int
	// FsyncAlways makes a connection's replies wait until a store Flush covers the writes of
	// the commands they answer; one Flush serves every connection waiting at the time.
	FsyncAlways bool
	// MaxQueryBytes bounds the bytes a connection may send towards commands it has not
	// completed (0 means DefaultMaxQueryBytes): past it, the client gets a protocol error and is
	// disconnected, so that an endless or oversized request cannot exhaust memory.
	MaxQueryBytes int64
	// Logger receives connection errors; the zero value is silent.
	Logger zerolog.Logger
}

// DefaultMaxQueryBytes is the default ServerConfig.MaxQueryBytes, Redis's default bound on a
// bulk string: enough for several values of feox.MaxValueSize in one command.
const DefaultMaxQueryBytes = 512 << 20

// errQueryLimit ends a connection that passed ServerConfig.MaxQueryBytes.
var errQueryLimit = errors.New("query buffer limit exceeded")

// limitedConn is a connection whose reads fail once more than limit bytes have been read since
// the last reset.
type limitedConn struct {
	net.Conn
	n, limit int64
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, errQueryLimit
	}
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// Server serves a Handler's commands to RESP clients.
type Server struct {
	h      *Handler
	cfg    ServerConfig
	syncer *Syncer

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// NewServer returns a Server for h.
func NewServer(h *Handler, cfg ServerConfig) *Server {
	return &Server{h: h, cfg: cfg, syncer: NewSyncer(h.store.Flush), conns: map[net.Conn]struct{}{}}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("resp: server closed")

// Serve accepts connections on ln and serves each on its own goroutine until Shutdown, then
// returns ErrServerClosed. It closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		switch {
		case s.closing:
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		case s.cfg.MaxClients > 0 && len(s.conns) >= s.cfg.MaxClients:
			s.mu.Unlock()
			refuse(c)
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// refuse tells a client past MaxClients so and disconnects it.
func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	w := redcon.NewWriter(c)
	w.WriteError("ERR max number of clients reached")
	_ = w.Flush()
	c.Close()
}

// serveConn runs the commands of one connection until it closes, QUIT, or Shutdown. Each
// batch of pipelined commands that arrived together is run in order, then (with FsyncAlways)
// made durable, then its replies are written at once.
func (s *Server) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	limit := s.cfg.MaxQueryBytes
	if limit <= 0 {
		limit = DefaultMaxQueryBytes
	}
	lc := &limitedConn{Conn: c, limit: limit}
	rd, wr := redcon.NewReader(lc), redcon.NewWriter(c)
	sess := s.h.NewSession(c.RemoteAddr().String(), c.LocalAddr().String())
	defer s.h.EndSession(sess)
	for {
		cmds, err := rd.ReadCommands()
		// The reader may keep the start of a command it has not completed: a connection can
		// buffer up to twice the limit.
		lc.n = 0
		if err != nil {
			if !isDisconnect(err) {
				// A malformed request: say so before closing, as Redis does.
				wr.WriteError("ERR Protocol error: " + clip([]byte(err.Error())))
				_ = wr.Flush()
			}
			return
		}
		for _, cmd := range cmds {
			s.h.Exec(sess, wr, cmd.Args)
			if sess.Quit() {
				break
			}
		}
		if sess.TakeWrote() && s.cfg.FsyncAlways {
			if err := s.syncer.Sync(); err != nil {
				// The writes are not durable: close without acknowledging them.
				s.cfg.Logger.Error().Err(err).Str("client", c.RemoteAddr().String()).Msg("flush failed; closing connection")
				return
			}
		}
		if err := wr.Flush(); err != nil || sess.Quit() || s.isClosing() {
			return
		}
	}
}

// isDisconnect reports whether err ends a connection without a protocol error: the client
// went away, or Shutdown interrupted the read.
func isDisconnect(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting connections, lets every connection finish the commands it has
// received (their replies are written), closes the connections and waits for them. If ctx ends
// first, it closes the remaining connections at once and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		// Wakes a connection waiting for a request; one running commands finishes its batch
		// and writes the replies first (only reads are interrupted).
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
