package resp

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/redcon"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// execOne runs one command on a fresh session of h and returns the raw RESP reply.
func execOne(h *Handler, args ...[]byte) string {
	var buf bytes.Buffer
	w := redcon.NewWriter(&buf)
	var s Session
	h.Exec(&s, w, args)
	_ = w.Flush()
	return buf.String()
}

func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	store, err := feox.Open(feox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return NewHandler(store, Config{})
}

// TestHandler_BadInput ensures oversized values and keys, and empty commands, give an error
// reply rather than a crash or a write.
func TestHandler_BadInput(t *testing.T) {
	h := newTestHandler(t)
	big := make([]byte, feox.MaxValueSize+1)
	bigKey := bytes.Repeat([]byte("k"), feox.MaxKeySize+1)
	b := func(s string) []byte { return []byte(s) }
	for _, args := range [][][]byte{
		{b("set"), b("k"), big},
		{b("setnx"), b("k"), big},
		{b("setex"), b("k"), b("10"), big},
		{b("mset"), b("a"), b("1"), b("k"), big},
		{b("append"), b("k"), big},
		{b("cas"), b("k"), b("x"), big},
		{b("get"), bigKey},
		{b("set"), bigKey, b("v")},
		{b("incr"), b("")},
		{b("del"), b("a"), b("")},
		{b("exists"), b("")},
		{b("json.patch"), b(""), b("[]")},
	} {
		if got := execOne(h, args...); got[0] != '-' {
			t.Errorf("%s: reply %.40q, want an error", args[0], got)
		}
	}
	if got := execOne(h); got != "-ERR empty command\r\n" {
		t.Errorf("empty command: %q", got)
	}
	if h.store.Len() != 0 {
		t.Errorf("bad input wrote %d keys", h.store.Len())
	}
}

// TestSyncer_Shares ensures concurrent Syncs share flushes: ten callers arriving together
// need at most two flushes (the one they find running, if any, and the next).
func TestSyncer_Shares(t *testing.T) {
	var flushes atomic.Int32
	s := NewSyncer(func() error {
		flushes.Add(1)
		time.Sleep(50 * time.Millisecond)
		return nil
	})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 10 {
		wg.Go(func() {
			<-start
			if err := s.Sync(); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := flushes.Load(); n < 1 || n > 3 {
		t.Fatalf("%d flushes for 10 concurrent syncs", n)
	}
}

// FuzzHandler_Exec ensures arbitrary argument vectors never panic and always get one reply.
func FuzzHandler_Exec(f *testing.F) {
	for _, seed := range []string{"set\x00k\x00v\x00ex\x0010", "incr\x00n", "set\x00k\x00v\x00get\x00keepttl", "json.patch\x00k\x00[]", "mset\x00a\x00b", "expire\x00k\x00-1", "hello\x002\x00auth\x00a\x00b", "auth\x00x"} {
		f.Add([]byte(seed))
	}
	h := newTestHandler(f)
	pw := NewHandler(h.store, Config{Password: "pw"})
	f.Fuzz(func(t *testing.T, raw []byte) {
		args := bytes.Split(raw, []byte{0})
		for _, hh := range []*Handler{h, pw} {
			var s Session
			w := redcon.NewWriter(io.Discard)
			hh.Exec(&s, w, args)
			if len(w.Buffer()) == 0 {
				t.Fatalf("%q: no reply", args)
			}
		}
	})
}
