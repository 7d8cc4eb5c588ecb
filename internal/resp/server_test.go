package resp

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// startServer serves a new memory-only store on a free port and returns a client for it.
func startServer(t *testing.T, cfg Config, scfg ServerConfig) *redis.Client {
	t.Helper()
	store, err := feox.Open(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(NewHandler(store, cfg), scfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		store.Close()
	})
	return newClient(t, ln.Addr().String(), cfg.Password)
}

// newClient returns a RESP2 go-redis client of addr.
func newClient(t *testing.T, addr, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// step is one command and the reply expected: a value, or an error message.
type step struct {
	args []any
	want any // string, int64, nil (null), []any; or error text with errPrefix
}

const errPrefix = "error: "

// runSteps runs steps in order on c and checks every reply.
func runSteps(t *testing.T, c *redis.Client, steps []step) {
	t.Helper()
	ctx := context.Background()
	for i, s := range steps {
		got, err := c.Do(ctx, s.args...).Result()
		if err == redis.Nil {
			got, err = nil, nil
		}
		if err != nil {
			got = errPrefix + err.Error()
		}
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("step %d %q: got %#v, want %#v", i, s.args, got, s.want)
		}
	}
}

func e(msg string) string { return errPrefix + msg }

// TestServer_Commands ensures every command gives Redis's reply, errors included, in sequences
// that exercise each option.
func TestServer_Commands(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"Ping", []step{{[]any{"ping"}, "PONG"}, {[]any{"PING", "hi"}, "hi"}, {[]any{"echo", "a\r\nb\x00"}, "a\r\nb\x00"}}},
		{"Select", []step{{[]any{"select", "0"}, "OK"}, {[]any{"select", "1"}, e("ERR DB index is out of range")}}},
		{"Unknown", []step{{[]any{"nosuch", "a"}, e("ERR unknown command 'nosuch', with args beginning with: 'a' ")}, {[]any{"ping"}, "PONG"}}},
		{"Arity", []step{{[]any{"get"}, e("ERR wrong number of arguments for 'get' command")}, {[]any{"mset", "a"}, e("ERR wrong number of arguments for 'mset' command")}, {[]any{"mset", "a", "1", "b"}, e("ERR wrong number of arguments for 'mset' command")}}},
		{"Auth_NoPassword", []step{{[]any{"auth", "x"}, e("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")}}},
		{"Set_Get", []step{{[]any{"get", "k"}, nil}, {[]any{"set", "k", "v\x00\xff"}, "OK"}, {[]any{"get", "k"}, "v\x00\xff"}, {[]any{"set", "k", ""}, "OK"}, {[]any{"get", "k"}, ""}}},
		{"Set_NX", []step{{[]any{"set", "k", "1", "nx"}, "OK"}, {[]any{"set", "k", "2", "NX"}, nil}, {[]any{"get", "k"}, "1"}}},
		{"Set_XX", []step{{[]any{"set", "k", "1", "xx"}, nil}, {[]any{"get", "k"}, nil}, {[]any{"set", "k", "1"}, "OK"}, {[]any{"set", "k", "2", "xx"}, "OK"}, {[]any{"get", "k"}, "2"}}},
		{"Set_NX_XX", []step{{[]any{"set", "k", "1", "nx", "xx"}, e("ERR syntax error")}}},
		{"Set_GET", []step{{[]any{"set", "k", "1", "get"}, nil}, {[]any{"set", "k", "2", "get"}, "1"}, {[]any{"set", "k", "3", "nx", "get"}, "2"}, {[]any{"get", "k"}, "2"}, {[]any{"set", "j", "3", "xx", "get"}, nil}}},
		{"Set_EX", []step{{[]any{"set", "k", "1", "ex", "100"}, "OK"}, {[]any{"ttl", "k"}, int64(100)}, {[]any{"set", "k", "1", "px", "50000"}, "OK"}, {[]any{"pttl", "k"}, "~"}}},
		{"Set_BadExpiry", []step{{[]any{"set", "k", "1", "ex", "0"}, e("ERR invalid expire time in 'set' command")}, {[]any{"set", "k", "1", "px", "-5"}, e("ERR invalid expire time in 'set' command")}, {[]any{"set", "k", "1", "ex", "x"}, e("ERR value is not an integer or out of range")}, {[]any{"set", "k", "1", "ex"}, e("ERR syntax error")}, {[]any{"set", "k", "1", "ex", "1", "px", "1"}, e("ERR syntax error")}, {[]any{"set", "k", "1", "ex", "99999999999999999"}, e("ERR invalid expire time in 'set' command")}, {[]any{"set", "k", "1", "bogus"}, e("ERR syntax error")}}},
		{"Set_EXAT_Past", []step{{[]any{"set", "k", "1"}, "OK"}, {[]any{"set", "k", "2", "exat", "1"}, "OK"}, {[]any{"get", "k"}, nil}}},
		{"Set_PXAT", []step{{[]any{"set", "k", "1", "pxat", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)}, "OK"}, {[]any{"ttl", "k"}, int64(3600)}}},
		{"Set_EXAT", []step{{[]any{"set", "k", "1", "exat", strconv.FormatInt(time.Now().Add(time.Hour).Unix()+1, 10)}, "OK"}, {[]any{"get", "k"}, "1"}}},
		{"Set_KEEPTTL", []step{{[]any{"set", "k", "1", "ex", "100"}, "OK"}, {[]any{"set", "k", "2", "keepttl"}, "OK"}, {[]any{"ttl", "k"}, int64(100)}, {[]any{"set", "k", "3"}, "OK"}, {[]any{"ttl", "k"}, int64(-1)}, {[]any{"set", "k", "1", "keepttl", "ex", "5"}, e("ERR syntax error")}}},
		{"SetNX", []step{{[]any{"setnx", "k", "1"}, int64(1)}, {[]any{"setnx", "k", "2"}, int64(0)}, {[]any{"get", "k"}, "1"}}},
		{"SetEX", []step{{[]any{"setex", "k", "100", "v"}, "OK"}, {[]any{"ttl", "k"}, int64(100)}, {[]any{"setex", "k", "0", "v"}, e("ERR invalid expire time in 'setex' command")}, {[]any{"psetex", "k", "100000", "w"}, "OK"}, {[]any{"get", "k"}, "w"}, {[]any{"ttl", "k"}, int64(100)}, {[]any{"psetex", "k", "x", "w"}, e("ERR value is not an integer or out of range")}}},
		{"GetDel", []step{{[]any{"getdel", "k"}, nil}, {[]any{"set", "k", "1"}, "OK"}, {[]any{"getdel", "k"}, "1"}, {[]any{"get", "k"}, nil}}},
		{"MSet_MGet", []step{{[]any{"mset", "a", "1", "b", "2"}, "OK"}, {[]any{"mget", "a", "x", "b"}, []any{"1", nil, "2"}}}},
		{"Del_Exists", []step{{[]any{"mset", "a", "1", "b", "2"}, "OK"}, {[]any{"exists", "a", "b", "a", "c"}, int64(3)}, {[]any{"del", "a", "c"}, int64(1)}, {[]any{"unlink", "b", "b"}, int64(1)}, {[]any{"exists", "a", "b"}, int64(0)}, {[]any{"dbsize"}, int64(0)}}},
		{"Expire", []step{{[]any{"expire", "k", "10"}, int64(0)}, {[]any{"set", "k", "1"}, "OK"}, {[]any{"ttl", "k"}, int64(-1)}, {[]any{"expire", "k", "10"}, int64(1)}, {[]any{"ttl", "k"}, int64(10)}, {[]any{"pexpire", "k", "20000"}, int64(1)}, {[]any{"ttl", "k"}, int64(20)}, {[]any{"persist", "k"}, int64(1)}, {[]any{"persist", "k"}, int64(0)}, {[]any{"ttl", "k"}, int64(-1)}, {[]any{"expire", "k", "0"}, int64(1)}, {[]any{"ttl", "k"}, int64(-2)}, {[]any{"pttl", "k"}, int64(-2)}, {[]any{"expire", "k", "x"}, e("ERR value is not an integer or out of range")}}},
		{"Incr", []step{{[]any{"incr", "n"}, int64(1)}, {[]any{"incrby", "n", "41"}, int64(42)}, {[]any{"decr", "n"}, int64(41)}, {[]any{"decrby", "n", "50"}, int64(-9)}, {[]any{"get", "n"}, "-9"}, {[]any{"incrby", "n", "x"}, e("ERR value is not an integer or out of range")}}},
		{"Incr_NotInteger", []step{{[]any{"set", "n", " 1"}, "OK"}, {[]any{"incr", "n"}, e("ERR value is not an integer or out of range")}, {[]any{"set", "n", "abc"}, "OK"}, {[]any{"decr", "n"}, e("ERR value is not an integer or out of range")}}},
		{"Incr_Overflow", []step{{[]any{"set", "n", "9223372036854775807"}, "OK"}, {[]any{"incr", "n"}, e("ERR increment or decrement would overflow")}, {[]any{"decrby", "n", "-9223372036854775808"}, e("ERR decrement would overflow")}, {[]any{"get", "n"}, "9223372036854775807"}}},
		{"Incr_KeepsTTL", []step{{[]any{"set", "n", "1", "ex", "100"}, "OK"}, {[]any{"incr", "n"}, int64(2)}, {[]any{"ttl", "n"}, int64(100)}}},
		{"Strlen_Append", []step{{[]any{"strlen", "k"}, int64(0)}, {[]any{"append", "k", "ab"}, int64(2)}, {[]any{"append", "k", "cd"}, int64(4)}, {[]any{"get", "k"}, "abcd"}, {[]any{"strlen", "k"}, int64(4)}}},
		{"Flush", []step{{[]any{"set", "k", "1"}, "OK"}, {[]any{"flush"}, "OK"}}},
		{"CAS", []step{{[]any{"cas", "k", "a", "b"}, int64(0)}, {[]any{"set", "k", "a"}, "OK"}, {[]any{"cas", "k", "x", "b"}, int64(0)}, {[]any{"cas", "k", "a", "b"}, int64(1)}, {[]any{"get", "k"}, "b"}}},
		{"JSONPatch", []step{{[]any{"json.patch", "j", `[]`}, nil}, {[]any{"set", "j", `{"a":1}`}, "OK"}, {[]any{"json.patch", "j", `[{"op":"replace","path":"/a","value":2}]`}, "OK"}, {[]any{"get", "j"}, `{"a":2}`}, {[]any{"json.patch", "j", `nope`}, "~err"}}},
		{"Type", []step{{[]any{"type", "k"}, "none"}, {[]any{"set", "k", "v"}, "OK"}, {[]any{"type", "k"}, "string"}, {[]any{"type", ""}, e(errInvalidKey)}}},
		{"ExpireAt", []step{{[]any{"expireat", "k", strconv.FormatInt(time.Now().Unix()+100, 10)}, int64(0)}, {[]any{"set", "k", "1"}, "OK"}, {[]any{"expireat", "k", strconv.FormatInt(time.Now().Unix()+101, 10)}, int64(1)}, {[]any{"get", "k"}, "1"}, {[]any{"expireat", "k", "1"}, int64(1)}, {[]any{"get", "k"}, nil}, {[]any{"expireat", "k", "x"}, e("ERR value is not an integer or out of range")}, {[]any{"expireat", "k", "99999999999999999"}, e("ERR invalid expire time in 'expireat' command")}}},
		{"PExpireAt", []step{{[]any{"set", "k", "1"}, "OK"}, {[]any{"pexpireat", "k", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)}, int64(1)}, {[]any{"ttl", "k"}, int64(3600)}, {[]any{"pexpireat", "k", "1000"}, int64(1)}, {[]any{"exists", "k"}, int64(0)}, {[]any{"pexpireat", "k", "1000"}, int64(0)}}},
		{"Keys", []step{{[]any{"keys", "*"}, []any{}}, {[]any{"mset", "user:1", "a", "user:2", "b", "user:10", "c", "h\x00", "d", "x\x00\xff", "e"}, "OK"}, {[]any{"keys", "user:?"}, []any{"user:1", "user:2"}}, {[]any{"keys", "user:*"}, []any{"user:1", "user:10", "user:2"}}, {[]any{"keys", "user:[^1]"}, []any{"user:2"}}, {[]any{"keys", "user:[0-1]*"}, []any{"user:1", "user:10"}}, {[]any{"keys", "h\x00"}, []any{"h\x00"}}, {[]any{"keys", "h\\\x00"}, []any{"h\x00"}}, {[]any{"keys", "x?\xff"}, []any{"x\x00\xff"}}, {[]any{"keys"}, e("ERR wrong number of arguments for 'keys' command")}}},
		{"Scan_Args", []step{{[]any{"mset", "a", "1", "b", "2", "c", "3"}, "OK"}, {[]any{"scan", "0", "count", "10"}, []any{"0", []any{"a", "b", "c"}}}, {[]any{"scan", "0", "match", "[ac]"}, []any{"0", []any{"a", "c"}}}, {[]any{"scan", "0", "type", "hash"}, []any{"0", []any{}}}, {[]any{"scan", "x"}, e("ERR invalid cursor")}, {[]any{"scan", "987654321"}, e("ERR invalid cursor")}, {[]any{"scan", "0", "count", "0"}, e("ERR syntax error")}, {[]any{"scan", "0", "count", "x"}, e("ERR value is not an integer or out of range")}, {[]any{"scan", "0", "match"}, e("ERR syntax error")}, {[]any{"scan", "0", "bogus", "1"}, e("ERR syntax error")}}},
		{"RandomKey", []step{{[]any{"randomkey"}, nil}, {[]any{"set", "only\x00", "1"}, "OK"}, {[]any{"randomkey"}, "only\x00"}}},
		{"FlushDB", []step{{[]any{"mset", "a", "1", "b", "2"}, "OK"}, {[]any{"flushdb"}, "OK"}, {[]any{"dbsize"}, int64(0)}, {[]any{"set", "a", "1"}, "OK"}, {[]any{"flushall", "async"}, "OK"}, {[]any{"get", "a"}, nil}, {[]any{"flushdb", "bogus"}, e("ERR syntax error")}, {[]any{"flushall", "sync"}, "OK"}}},
		{"GetEx", []step{{[]any{"getex", "k"}, nil}, {[]any{"getex", "k", "ex", "10"}, nil}, {[]any{"exists", "k"}, int64(0)}, {[]any{"set", "k", "v\x00"}, "OK"}, {[]any{"getex", "k"}, "v\x00"}, {[]any{"ttl", "k"}, int64(-1)}, {[]any{"getex", "k", "ex", "100"}, "v\x00"}, {[]any{"ttl", "k"}, int64(100)}, {[]any{"getex", "k", "px", "200000"}, "v\x00"}, {[]any{"ttl", "k"}, int64(200)}, {[]any{"getex", "k", "exat", strconv.FormatInt(time.Now().Unix()+301, 10)}, "v\x00"}, {[]any{"getex", "k", "pxat", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)}, "v\x00"}, {[]any{"ttl", "k"}, int64(3600)}, {[]any{"getex", "k", "persist"}, "v\x00"}, {[]any{"ttl", "k"}, int64(-1)}, {[]any{"getex", "k", "ex", "0"}, e("ERR invalid expire time in 'getex' command")}, {[]any{"getex", "k", "ex", "x"}, e("ERR value is not an integer or out of range")}, {[]any{"getex", "k", "ex"}, e("ERR syntax error")}, {[]any{"getex", "k", "persist", "1"}, e("ERR syntax error")}, {[]any{"getex", "k", "bogus"}, e("ERR syntax error")}, {[]any{"getex", "k", "exat", "1"}, "v\x00"}, {[]any{"get", "k"}, nil}}},
		{"GetSet", []step{{[]any{"getset", "k", "1"}, nil}, {[]any{"getset", "k", ""}, "1"}, {[]any{"getset", "k", "2"}, ""}, {[]any{"set", "k", "3", "ex", "100"}, "OK"}, {[]any{"getset", "k", "4"}, "3"}, {[]any{"ttl", "k"}, int64(-1)}}},
		{"MSetNX", []step{{[]any{"msetnx", "a", "1", "b", "2"}, int64(1)}, {[]any{"msetnx", "c", "3", "a", "9"}, int64(0)}, {[]any{"mget", "a", "b", "c"}, []any{"1", "2", nil}}, {[]any{"msetnx", "a"}, e("ERR wrong number of arguments for 'msetnx' command")}, {[]any{"msetnx", "a", "1", "b"}, e("ERR wrong number of arguments for 'msetnx' command")}, {[]any{"msetnx", "c", "3", "c", "4"}, int64(1)}, {[]any{"get", "c"}, "4"}}},
		{"IncrByFloat", []step{{[]any{"incrbyfloat", "f", "10.5"}, "10.5"}, {[]any{"incrbyfloat", "f", "0.1"}, "10.6"}, {[]any{"incrbyfloat", "f", "-5"}, "5.6"}, {[]any{"set", "g", "5.0e3"}, "OK"}, {[]any{"incrbyfloat", "g", "2.0e2"}, "5200"}, {[]any{"set", "h", "0.1"}, "OK"}, {[]any{"incrbyfloat", "h", "0.2"}, "0.3"}, {[]any{"incrbyfloat", "h", "-0.3"}, "0"}, {[]any{"set", "i", "1"}, "OK"}, {[]any{"incrbyfloat", "i", "1e17"}, "100000000000000001"}, {[]any{"incrbyfloat", "f", "x"}, e("ERR value is not a valid float")}, {[]any{"incrbyfloat", "f", " 1"}, e("ERR value is not a valid float")}, {[]any{"incrbyfloat", "f", "inf"}, e("ERR value is not a valid float")}, {[]any{"set", "s", "abc"}, "OK"}, {[]any{"incrbyfloat", "s", "1"}, e("ERR value is not a valid float")}, {[]any{"set", "big", "1e4932"}, "OK"}, {[]any{"incrbyfloat", "big", "1e4932"}, e("ERR increment would produce NaN or Infinity")}, {[]any{"set", "t", "1", "ex", "100"}, "OK"}, {[]any{"incrbyfloat", "t", "1.5"}, "2.5"}, {[]any{"ttl", "t"}, int64(100)}}},
		{"Save", []step{{[]any{"set", "k", "1"}, "OK"}, {[]any{"save"}, "OK"}, {[]any{"save", "x"}, e("ERR wrong number of arguments for 'save' command")}}},
		{"Shutdown_NoHook", []step{{[]any{"shutdown"}, e("ERR SHUTDOWN is not enabled on this server")}, {[]any{"shutdown", "nosave", "x"}, e("ERR syntax error")}, {[]any{"ping"}, "PONG"}}},
		{"Config", []step{{[]any{"config", "get", "nosuch"}, []any{}}, {[]any{"config", "set", "a", "b"}, e("ERR unknown subcommand 'set'. Try CONFIG HELP.")}, {[]any{"config", "get"}, e("ERR wrong number of arguments for 'config|get' command")}}},
		{"Command", []step{{[]any{"command", "count"}, int64(len(commands))}, {[]any{"command", "docs"}, []any{}}, {[]any{"command", "info", "get", "nosuch"}, []any{[]any{"get", int64(2), []any{"readonly"}, int64(1), int64(1), int64(1), []any{}, []any{}, []any{}, []any{}}, nil}}, {[]any{"command", "info", "mset"}, []any{[]any{"mset", int64(-3), []any{"write"}, int64(1), int64(-1), int64(2), []any{}, []any{}, []any{}, []any{}}}}, {[]any{"command", "bogus"}, e("ERR unknown subcommand or wrong number of arguments for 'bogus'. Try COMMAND HELP.")}}},
		{"Client", []step{{[]any{"client", "getname"}, nil}, {[]any{"client", "setname", "worker-1"}, "OK"}, {[]any{"client", "getname"}, "worker-1"}, {[]any{"client", "setname", "a b"}, e("ERR Client names cannot contain spaces, newlines or special characters.")}, {[]any{"client", "setname"}, e("ERR unknown subcommand or wrong number of arguments for 'setname'. Try CLIENT HELP.")}, {[]any{"client", "bogus"}, e("ERR unknown subcommand or wrong number of arguments for 'bogus'. Try CLIENT HELP.")}}},
		{"BadKey", []step{{[]any{"get", ""}, e(errInvalidKey)}, {[]any{"set", "", "v"}, e(errInvalidKey)}, {[]any{"set", string(make([]byte, feox.MaxKeySize+1)), "v"}, e(errInvalidKey)}, {[]any{"ping"}, "PONG"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startServer(t, Config{}, ServerConfig{})
			var exact []step
			for _, s := range tt.steps {
				switch s.want {
				case "~": // PTTL near its value, checked loosely
					n, err := c.Do(context.Background(), s.args...).Int64()
					if err != nil || n < 49000 || n > 50000 {
						t.Fatalf("%q: %d, %v", s.args, n, err)
					}
					continue
				case "~err":
					if err := c.Do(context.Background(), s.args...).Err(); err == nil {
						t.Fatalf("%q: no error", s.args)
					}
					continue
				}
				exact = append(exact[:0], s)
				runSteps(t, c, exact)
			}
		})
	}
}

// TestServer_TTL_Expires ensures a key with a short expiry disappears for every read.
func TestServer_TTL_Expires(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	runSteps(t, c, []step{{[]any{"set", "k", "v", "px", "100"}, "OK"}, {[]any{"psetex", "j", "100", "v"}, "OK"}})
	time.Sleep(250 * time.Millisecond)
	runSteps(t, c, []step{{[]any{"get", "k"}, nil}, {[]any{"exists", "k", "j"}, int64(0)}, {[]any{"ttl", "k"}, int64(-2)}, {[]any{"set", "k", "w", "nx"}, "OK"}})
}

// TestServer_Pipeline ensures pipelined commands are answered in order.
func TestServer_Pipeline(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	ctx := context.Background()
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 200 {
			p.Set(ctx, fmt.Sprint("k", i), i, 0)
			p.Incr(ctx, "n")
			p.Get(ctx, fmt.Sprint("k", i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if n := cmds[3*i+1].(*redis.IntCmd).Val(); n != int64(i+1) {
			t.Fatalf("incr %d: %d", i, n)
		}
		if v := cmds[3*i+2].(*redis.StringCmd).Val(); v != strconv.Itoa(i) {
			t.Fatalf("get %d: %q", i, v)
		}
	}
}

// TestServer_RequirePass ensures commands are refused until AUTH succeeds.
func TestServer_RequirePass(t *testing.T) {
	c := startServer(t, Config{Password: "s3cret"}, ServerConfig{})
	addr := c.Options().Addr
	anon := newClient(t, addr, "")
	runSteps(t, anon, []step{
		{[]any{"get", "k"}, e("NOAUTH Authentication required.")},
		{[]any{"auth", "wrong"}, e("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]any{"auth", "other", "s3cret"}, e("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]any{"auth", "default", "s3cret"}, "OK"},
		{[]any{"set", "k", "v"}, "OK"},
	})
	runSteps(t, c, []step{{[]any{"get", "k"}, "v"}}) // go-redis authenticates itself
}

// TestServer_MaxClients ensures a client past --max-clients is refused.
func TestServer_MaxClients(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{MaxClients: 1})
	runSteps(t, c, []step{{[]any{"ping"}, "PONG"}})
	raw, err := net.Dial("tcp", c.Options().Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	line, err := bufio.NewReader(raw).ReadString('\n')
	if line != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client: %q, %v", line, err)
	}
}

// TestServer_FsyncAlways ensures writes under FsyncAlways are acknowledged, pipelined and not.
func TestServer_FsyncAlways(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{FsyncAlways: true})
	runSteps(t, c, []step{{[]any{"set", "k", "v"}, "OK"}, {[]any{"get", "k"}, "v"}})
}

// TestServer_Concurrent_Model ensures 20 concurrent clients, each on its own keys plus shared
// counters, leave the store as a model predicts.
func TestServer_Concurrent_Model(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	addr := c.Options().Addr
	ctx := context.Background()
	const clients, ops = 20, 300
	models := make([]map[string]string, clients)
	var wg sync.WaitGroup
	for g := range clients {
		models[g] = map[string]string{}
		wg.Go(func() {
			cl := newClient(t, addr, "")
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			m := models[g]
			for range ops {
				k := fmt.Sprintf("g%d:%d", g, rng.IntN(10))
				var err error
				switch rng.IntN(5) {
				case 0:
					v := fmt.Sprint(rng.Int())
					err = cl.Set(ctx, k, v, 0).Err()
					m[k] = v
				case 1:
					var n int64
					n, err = cl.Del(ctx, k).Result()
					if _, ok := m[k]; ok != (n == 1) {
						t.Errorf("del %s: %d", k, n)
					}
					delete(m, k)
				case 2:
					err = cl.Incr(ctx, "shared").Err()
				case 3:
					var v string
					v, err = cl.Get(ctx, k).Result()
					if err == redis.Nil {
						err = nil
						v = "<nil>"
					}
					want, ok := m[k]
					if !ok {
						want = "<nil>"
					}
					if v != want {
						t.Errorf("get %s: %q, want %q", k, v, want)
					}
				case 4:
					ok, serr := cl.SetNX(ctx, k, "nx", 0).Result()
					err = serr
					if _, had := m[k]; had == ok {
						t.Errorf("setnx %s: %v", k, ok)
					}
					if ok {
						m[k] = "nx"
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n, err := c.Get(ctx, "shared").Int64()
	var incrs int64
	for g := range clients {
		rng := rand.New(rand.NewPCG(uint64(g), 1))
		for range ops {
			rng.IntN(10)
			switch rng.IntN(5) {
			case 0:
				rng.Int()
			case 2:
				incrs++
			}
		}
	}
	if err != nil || n != incrs {
		t.Fatalf("shared counter %d, %v; want %d", n, err, incrs)
	}
}

// TestServer_Scan_Full ensures a SCAN iteration over 10,000 keys returns each exactly once,
// while other keys are written and deleted meanwhile, and that every stable key is seen.
func TestServer_Scan_Full(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	ctx := context.Background()
	const n = 10000
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			p.Set(ctx, fmt.Sprintf("stable:%d", i), i, 0)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var cursor uint64
	calls := 0
	for {
		keys, next, err := c.Scan(ctx, cursor, "", 97).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			seen[k]++
		}
		// Churn: keys that come and go during the iteration.
		if err := c.Set(ctx, fmt.Sprintf("churn:%d", calls), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Del(ctx, fmt.Sprintf("churn:%d", calls-1)).Err(); err != nil {
			t.Fatal(err)
		}
		calls++
		if cursor = next; cursor == 0 {
			break
		}
	}
	for k, m := range seen {
		if m != 1 {
			t.Fatalf("%q returned %d times", k, m)
		}
	}
	for i := range n {
		if seen[fmt.Sprintf("stable:%d", i)] != 1 {
			t.Fatalf("stable:%d not returned", i)
		}
	}
	if calls < n/97 {
		t.Fatalf("%d calls for %d keys at COUNT 97", calls, n)
	}
	// go-redis's iterator, with MATCH.
	it := c.Scan(ctx, 0, "stable:1*", 500).Iterator()
	m := 0
	for it.Next(ctx) {
		m++
	}
	if err := it.Err(); err != nil || m != 1111 {
		t.Fatalf("iterator: %d keys, %v", m, err)
	}
}

// TestServer_MSetNX_Atomic ensures concurrent MSETNX calls on overlapping keys are
// all-or-nothing: exactly one wins each round and every key holds the winner's value.
func TestServer_MSetNX_Atomic(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	addr := c.Options().Addr
	ctx := context.Background()
	for round := range 20 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for g := range 8 {
			wg.Go(func() {
				cl := newClient(t, addr, "")
				v := fmt.Sprint(g)
				ok, err := cl.MSetNX(ctx, fmt.Sprint("a", round), v, fmt.Sprint("b", round), v, fmt.Sprint("c", round), v).Result()
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		vals, err := c.MGet(ctx, fmt.Sprint("a", round), fmt.Sprint("b", round), fmt.Sprint("c", round)).Result()
		if err != nil || winners != 1 || vals[0] != vals[1] || vals[1] != vals[2] {
			t.Fatalf("round %d: %d winners, values %v, %v", round, winners, vals, err)
		}
	}
}

// TestServer_ServerCommands ensures TIME, INFO, COMMAND and CLIENT give replies go-redis
// accepts, with the content Redis gives.
func TestServer_ServerCommands(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{})
	ctx := context.Background()
	now, err := c.Time(ctx).Result()
	if err != nil || time.Until(now).Abs() > 5*time.Second {
		t.Fatalf("time: %v, %v", now, err)
	}
	if err := c.Set(ctx, "k", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	all, err := c.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Server\r\n", "redis_version:", "# Clients\r\nconnected_clients:1\r\n", "# Memory\r\nused_memory:", "# Persistence\r\n", "# Stats\r\n", "total_commands_processed:", "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n", "# Feox\r\nkeys:1\r\nmemory_bytes:", "get_p99_us:", "ttl_keys:1\r\n", "direct_io:0\r\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("INFO lacks %q:\n%s", want, all)
		}
	}
	one, err := c.Info(ctx, "keyspace").Result()
	if err != nil || one != "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n" {
		t.Fatalf("info keyspace: %q, %v", one, err)
	}
	if s, err := c.Info(ctx, "nosuch").Result(); err != nil || s != "" {
		t.Fatalf("info nosuch: %q, %v", s, err)
	}
	info, err := c.Command(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != len(commands) || !info["get"].ReadOnly || info["set"].ReadOnly || info["mget"].LastKeyPos != -1 || info["ping"].FirstKeyPos != 0 {
		t.Fatalf("command: %d entries, get %+v", len(info), info["get"])
	}
	id, err := c.ClientID(ctx).Result()
	if err != nil || id <= 0 {
		t.Fatalf("client id: %d, %v", id, err)
	}
	if err := c.Do(ctx, "client", "setname", "me").Err(); err != nil {
		t.Fatal(err)
	}
	ci, err := c.ClientInfo(ctx).Result()
	if err != nil || ci.ID != id || ci.Name != "me" {
		t.Fatalf("client info: %+v, %v", ci, err)
	}
	other := newClient(t, c.Options().Addr, "")
	if err := other.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	list, err := c.ClientList(ctx).Result()
	if err != nil || strings.Count(list, "\n") != 2 || !strings.Contains(list, fmt.Sprintf("id=%d ", id)) || !strings.Contains(list, "name=me ") {
		t.Fatalf("client list: %q, %v", list, err)
	}
}
