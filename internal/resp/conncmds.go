package resp

// Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO.

func (h *Handler) ping(_ *Session, w Writer, args [][]byte) {
	switch len(args) {
	case 1:
		w.WriteString("PONG")
	case 2:
		w.WriteBulk(args[1])
	default:
		w.WriteError("ERR wrong number of arguments for 'ping' command")
	}
}

func (h *Handler) echo(_ *Session, w Writer, args [][]byte) { w.WriteBulk(args[1]) }

func (h *Handler) quit(s *Session, w Writer, _ [][]byte) {
	s.quit = true
	w.WriteString("OK")
}

func (h *Handler) selectDB(_ *Session, w Writer, args [][]byte) {
	n, ok := parseInt(args[1])
	switch {
	case !ok:
		w.WriteError(errNotInteger)
	case n != 0:
		w.WriteError("ERR DB index is out of range")
	default:
		w.WriteString("OK")
	}
}

func (h *Handler) auth(s *Session, w Writer, args [][]byte) {
	if len(args) > 3 {
		w.WriteError(errSyntax)
		return
	}
	if h.cfg.Password == "" {
		w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if h.login(s, args[1:]) {
		w.WriteString("OK")
		return
	}
	w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
}

// login authenticates s with [user] password, where the only user is "default", and reports
// whether it succeeded.
func (h *Handler) login(s *Session, cred [][]byte) bool {
	pw := cred[0]
	if len(cred) == 2 {
		if string(cred[0]) != "default" {
			return false
		}
		pw = cred[1]
	}
	if !h.passwordOK(pw) {
		return false
	}
	s.authed = true
	return true
}

// hello implements HELLO [protover [AUTH username password] [SETNAME clientname]] for RESP2
// only: a client asking for RESP3 gets NOPROTO and, as Redis clients do, falls back to RESP2.
func (h *Handler) hello(s *Session, w Writer, args [][]byte) {
	if len(args) > 1 {
		v, ok := parseInt(args[1])
		if !ok {
			w.WriteError("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 {
			w.WriteError("NOPROTO unsupported protocol version")
			return
		}
	}
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "auth") && i+2 < len(args):
			if h.cfg.Password == "" || !h.login(s, args[i+1:i+3]) {
				w.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			i += 2
		case equalFold(args[i], "setname") && i+1 < len(args):
			i++
		default:
			w.WriteError(errSyntax)
			return
		}
	}
	if h.cfg.Password != "" && !s.authed {
		w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	w.WriteArray(12)
	w.WriteBulkString("server")
	w.WriteBulkString("feox")
	w.WriteBulkString("version")
	w.WriteBulkString("0.1.0")
	w.WriteBulkString("proto")
	w.WriteInt64(2)
	w.WriteBulkString("mode")
	w.WriteBulkString("standalone")
	w.WriteBulkString("role")
	w.WriteBulkString("master")
	w.WriteBulkString("modules")
	w.WriteArray(0)
}
