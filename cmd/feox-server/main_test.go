package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestFlags_Help ensures --help documents every flag.
func TestFlags_Help(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-addr", "-path", "-max-memory", "-requirepass", "-fsync", "-max-clients"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help lacks %s", f)
		}
	}
}

// TestFlags_Bad ensures bad flag values are usage errors (exit 2).
func TestFlags_Bad(t *testing.T) {
	for _, args := range [][]string{{"--fsync", "never"}, {"--max-memory", "lots"}, {"--max-clients", "-1"}, {"extra"}} {
		if code := run(context.Background(), args, io.Discard, io.Discard, nil); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// buildServer builds the command into a temporary directory and returns the binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "feox-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var addrRE = regexp.MustCompile(`"addr":"([^"]+)"`)

// startProcess starts the binary with args on a free port and returns the process and a client.
func startProcess(t *testing.T, bin string, args ...string) (*exec.Cmd, *redis.Client) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "started") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			c := redis.NewClient(&redis.Options{Addr: m[1], Protocol: 2, DisableIdentity: true})
			t.Cleanup(func() { c.Close() })
			return cmd, c
		}
	}
	t.Fatal("server did not start")
	return nil, nil
}

// TestProcess_Restart ensures an acknowledged write survives SIGKILL with --fsync always, and
// a graceful SIGTERM stop with --fsync behind.
func TestProcess_Restart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildServer(t)
	ctx := context.Background()
	for _, tc := range []struct {
		fsync string
		sig   os.Signal
	}{{"always", syscall.SIGKILL}, {"behind", syscall.SIGTERM}} {
		t.Run(tc.fsync, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data")
			cmd, c := startProcess(t, bin, "--path", path, "--fsync", tc.fsync)
			if err := c.Set(ctx, "k", "survives", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if tc.sig == syscall.SIGTERM && err != nil {
				t.Fatalf("SIGTERM: exit %v, want 0", err)
			}
			_, c2 := startProcess(t, bin, "--path", path, "--fsync", tc.fsync)
			deadline := time.Now().Add(5 * time.Second)
			for {
				v, err := c2.Get(ctx, "k").Result()
				if err == nil && v == "survives" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("after restart: %q, %v", v, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestRun_Shutdown ensures SHUTDOWN stops the server as a signal does (exit 0, store closed
// after a flush, so the write survives), and CONFIG GET reports the flags.
func TestRun_Shutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	ready := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"--addr", "127.0.0.1:0", "--path", path, "--requirepass", "pw", "--max-clients", "7"}, io.Discard, io.Discard, ready)
	}()
	addr := (<-ready).String()
	ctx := context.Background()
	// No retries: SHUTDOWN ends the connection, which go-redis would otherwise retry.
	c := redis.NewClient(&redis.Options{Addr: addr, Password: "pw", Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"addr": addr, "path": path, "requirepass": "pw", "fsync": "behind", "maxclients": "7", "maxmemory": "4294967296"}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("config get %s: %q, want %q", k, cfg[k], v)
		}
	}
	if m, err := c.ConfigGet(ctx, "max*").Result(); err != nil || len(m) != 2 {
		t.Errorf("config get max*: %v, %v", m, err)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "shutdown", "bogus").Err(); err == nil || err.Error() != "ERR syntax error" {
		t.Fatalf("shutdown bogus: %v", err)
	}
	if err := c.Shutdown(ctx).Err(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server still running after SHUTDOWN")
	}
	store, err := feox.Open(feox.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if v, err := store.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("after SHUTDOWN: %q, %v", v, err)
	}
}
