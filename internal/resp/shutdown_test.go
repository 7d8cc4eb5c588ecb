package resp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestServer_Shutdown_FinishesInFlight ensures a write whose reply waits on a flush when
// Shutdown starts still gets its reply, and Shutdown then returns.
func TestServer_Shutdown_FinishesInFlight(t *testing.T) {
	store, err := feox.Open(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := NewServer(NewHandler(store, Config{}), ServerConfig{FsyncAlways: true})
	inFlush := make(chan struct{}, 1)
	srv.syncer = NewSyncer(func() error {
		inFlush <- struct{}{}
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	c := newClient(t, ln.Addr().String(), "")
	reply := make(chan error, 1)
	go func() { reply <- c.Set(context.Background(), "k", "v", 0).Err() }()
	<-inFlush
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-reply; err != nil {
		t.Fatalf("in-flight SET: %v", err)
	}
	if v, err := store.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("store: %q, %v", v, err)
	}
}

// TestServer_FsyncAlways_Persistent ensures concurrent pipelining clients of a persistent
// store with FsyncAlways all get their replies and their writes.
func TestServer_FsyncAlways_Persistent(t *testing.T) {
	store, err := feox.Open(feox.Options{Path: filepath.Join(t.TempDir(), "data"), FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := NewServer(NewHandler(store, Config{}), ServerConfig{FsyncAlways: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(context.Background())
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 5 {
		wg.Go(func() {
			c := newClient(t, ln.Addr().String(), "")
			for i := range 10 {
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for j := range 5 {
						p.Set(ctx, fmt.Sprint(g, ":", i, ":", j), "v", 0)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := store.Len(); n != 250 {
		t.Fatalf("%d keys, want 250", n)
	}
}

// TestServer_Hello ensures HELLO 2 answers, HELLO 3 is refused with NOPROTO, and HELLO AUTH
// authenticates.
func TestServer_Hello(t *testing.T) {
	c := startServer(t, Config{Password: "pw"}, ServerConfig{})
	anon := newClient(t, c.Options().Addr, "")
	runSteps(t, anon, []step{
		{[]any{"hello", "3"}, e("NOPROTO unsupported protocol version")},
		{[]any{"hello", "2", "auth", "default", "bad"}, e("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]any{"ping"}, e("NOAUTH Authentication required.")},
	})
	got, err := anon.Do(context.Background(), "hello", "2", "auth", "default", "pw", "setname", "x").Slice()
	if err != nil || len(got) != 12 || got[0] != "server" {
		t.Fatalf("HELLO: %v, %v", got, err)
	}
	runSteps(t, anon, []step{{[]any{"ping"}, "PONG"}})
}

// TestServer_QueryLimit ensures a request past MaxQueryBytes gets a protocol error and is cut
// off, and the server keeps serving others.
func TestServer_QueryLimit(t *testing.T) {
	c := startServer(t, Config{}, ServerConfig{MaxQueryBytes: 1 << 20})
	raw, err := net.Dial("tcp", c.Options().Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	go func() {
		// A bulk string announced at 1 GiB: the server must not wait for all of it.
		fmt.Fprintf(raw, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 1<<30)
		chunk := strings.Repeat("x", 64<<10)
		for range 64 {
			if _, err := raw.Write([]byte(chunk)); err != nil {
				return
			}
		}
	}()
	line, _ := bufio.NewReader(raw).ReadString('\n')
	if !strings.HasPrefix(line, "-ERR Protocol error: query buffer limit exceeded") {
		t.Fatalf("reply %q", line)
	}
	runSteps(t, c, []step{{[]any{"ping"}, "PONG"}})
}
