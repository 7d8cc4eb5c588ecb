package resp

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Server commands: TIME, SAVE, SHUTDOWN, CONFIG GET, INFO, COMMAND.

func (h *Handler) time(_ *Session, w Writer, _ [][]byte) {
	now := time.Now()
	w.WriteArray(2)
	w.WriteBulkString(strconv.FormatInt(now.Unix(), 10))
	w.WriteBulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

// save implements SAVE: a store Flush, which makes every accepted write durable.
func (h *Handler) save(_ *Session, w Writer, _ [][]byte) {
	if err := h.store.Flush(); err != nil {
		storeError(w, err)
		return
	}
	w.WriteString("OK")
}

// shutdown implements SHUTDOWN [NOSAVE|SAVE]: it flushes the store (SAVE and no option; with
// NOSAVE the writes still reach disk when the store closes), calls the Config.Shutdown hook,
// which stops the server as a signal does, and closes the connection without a reply, as Redis
// does: clients take the end of the connection for success.
func (h *Handler) shutdown(s *Session, w Writer, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "nosave") && !equalFold(args[1], "save")) {
		w.WriteError(errSyntax)
		return
	}
	if h.cfg.Shutdown == nil {
		w.WriteError("ERR SHUTDOWN is not enabled on this server")
		return
	}
	if len(args) == 1 || equalFold(args[1], "save") {
		if err := h.store.Flush(); err != nil {
			w.WriteError("ERR Errors trying to SHUTDOWN. Check logs.")
			return
		}
	}
	s.quit = true
	h.cfg.Shutdown()
}

// config implements CONFIG GET pattern [pattern ...]: the Config.Params whose names match a
// pattern, as name-value pairs sorted by name. Other subcommands get an error.
func (h *Handler) config(_ *Session, w Writer, args [][]byte) {
	if !equalFold(args[1], "get") {
		w.WriteError("ERR unknown subcommand '" + clip(args[1]) + "'. Try CONFIG HELP.")
		return
	}
	if len(args) < 3 {
		w.WriteError("ERR wrong number of arguments for 'config|get' command")
		return
	}
	names := make([]string, 0, len(h.cfg.Params))
	for name := range h.cfg.Params {
		for _, p := range args[2:] {
			if globMatch([]byte(strings.ToLower(string(p))), []byte(name)) {
				names = append(names, name)
				break
			}
		}
	}
	slices.Sort(names)
	w.WriteArray(2 * len(names))
	for _, name := range names {
		w.WriteBulkString(name)
		w.WriteBulkString(h.cfg.Params[name])
	}
}

// infoSections are INFO's sections, in order.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "keyspace", "feox"}

// info implements INFO [section ...]: the named sections, or all of them for none, all,
// everything or default. An unknown section adds nothing.
func (h *Handler) info(_ *Session, w Writer, args [][]byte) {
	want := map[string]bool{}
	for _, a := range args[1:] {
		sec := strings.ToLower(string(a))
		if sec == "all" || sec == "everything" || sec == "default" {
			want = map[string]bool{}
			break
		}
		want[sec] = true
	}
	st := h.store.Stats()
	var b strings.Builder
	for _, sec := range infoSections {
		if len(want) > 0 && !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + string(unicode.ToUpper(rune(sec[0]))) + sec[1:] + "\r\n")
		field := func(name string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", name, v) }
		switch sec {
		case "server":
			field("redis_version", "7.0.0")
			field("feox_version", "0.1.0")
			field("redis_mode", "standalone")
			field("process_id", os.Getpid())
			field("tcp_port", h.cfg.Params["port"])
			field("uptime_in_seconds", int64(time.Since(h.started)/time.Second))
			field("uptime_in_days", int64(time.Since(h.started)/(24*time.Hour)))
		case "clients":
			field("connected_clients", h.connected())
			field("maxclients", h.cfg.Params["maxclients"])
		case "memory":
			field("used_memory", st.MemoryBytes)
			field("maxmemory", h.cfg.Params["maxmemory"])
		case "persistence":
			field("loading", 0)
			field("fsync", h.cfg.Params["fsync"])
			field("persistent", boolInt(h.cfg.Params["path"] != ""))
			field("disk_bytes", st.DiskBytes)
		case "stats":
			field("total_connections_received", h.clients.received.Load())
			field("total_commands_processed", h.commandsRun.Load())
			field("expired_keys", st.Expired)
			field("evicted_keys", 0)
			field("keyspace_hits", st.Gets-st.GetMisses)
			field("keyspace_misses", st.GetMisses)
		case "keyspace":
			if st.Keys > 0 {
				fmt.Fprintf(&b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", st.Keys, st.TTLKeys)
			}
		case "feox":
			writeStats(&b, st)
		}
	}
	w.WriteBulkString(b.String())
}

// writeStats writes every field of a feox.Stats as name:value, names in snake case.
func writeStats(b *strings.Builder, st any) {
	v := reflect.ValueOf(st)
	t := v.Type()
	for i := range t.NumField() {
		f := v.Field(i)
		val := f.Interface()
		if d, ok := val.(time.Duration); ok {
			val = d.Microseconds() // durations in microseconds, as Redis reports latencies
			fmt.Fprintf(b, "%s_us:%v\r\n", snakeCase(t.Field(i).Name), val)
			continue
		}
		if bv, ok := val.(bool); ok {
			val = boolInt(bv)
		}
		fmt.Fprintf(b, "%s:%v\r\n", snakeCase(t.Field(i).Name), val)
	}
}

// snakeCase turns a Go field name into snake case: GetP99 is get_p99, DiskBytes disk_bytes,
// TTLKeys ttl_keys, DirectIO direct_io.
func snakeCase(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// keyPositions returns the first key argument, the last (negative counts from the end) and the
// step between keys of a command, as COMMAND reports them; 0, 0, 0 for a command without keys.
func keyPositions(name string) (first, last, step int) {
	switch name {
	case "mget", "del", "unlink", "exists":
		return 1, -1, 1
	case "mset", "msetnx":
		return 1, -1, 2
	case "ping", "echo", "quit", "select", "auth", "hello", "dbsize", "flush", "scan", "keys",
		"randomkey", "flushdb", "flushall", "time", "save", "shutdown", "config", "info",
		"command", "client":
		return 0, 0, 0
	}
	return 1, 1, 1
}

// writeCommandInfo writes the COMMAND INFO entry of name in Redis 7's form: name, arity,
// flags, first key, last key, step, ACL categories, tips, key specifications, subcommands.
func writeCommandInfo(w Writer, name string, cmd command) {
	w.WriteArray(10)
	w.WriteBulkString(name)
	w.WriteInt64(int64(cmd.arity))
	flags := []string{"readonly"}
	if cmd.write {
		flags = []string{"write"}
	}
	if cmd.noAuth {
		flags = append(flags, "no_auth")
	}
	w.WriteArray(len(flags))
	for _, f := range flags {
		w.WriteString(f)
	}
	first, last, step := keyPositions(name)
	w.WriteInt64(int64(first))
	w.WriteInt64(int64(last))
	w.WriteInt64(int64(step))
	w.WriteArray(0)
	w.WriteArray(0)
	w.WriteArray(0)
	w.WriteArray(0)
}

// commandNames returns the names of the command table, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// commandCmd implements COMMAND, COMMAND COUNT, COMMAND INFO [name ...] and COMMAND DOCS
// [name ...] (an empty map: no documentation is kept).
func (h *Handler) commandCmd(_ *Session, w Writer, args [][]byte) {
	if len(args) == 1 {
		names := commandNames()
		w.WriteArray(len(names))
		for _, name := range names {
			writeCommandInfo(w, name, commands[name])
		}
		return
	}
	switch strings.ToLower(string(args[1])) {
	case "count":
		if len(args) != 2 {
			break
		}
		w.WriteInt64(int64(len(commands)))
		return
	case "info":
		names := commandNames()
		if len(args) > 2 {
			names = names[:0]
			for _, a := range args[2:] {
				names = append(names, strings.ToLower(string(a)))
			}
		}
		w.WriteArray(len(names))
		for _, name := range names {
			if cmd, ok := commands[name]; ok {
				writeCommandInfo(w, name, cmd)
			} else {
				w.WriteNull()
			}
		}
		return
	case "docs":
		w.WriteArray(0)
		return
	}
	w.WriteError("ERR unknown subcommand or wrong number of arguments for '" + clip(args[1]) + "'. Try COMMAND HELP.")
}
