//go:build linux

package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// modelSpace is the size of the file the model test writes in.
const modelSpace = 192 << 10

// TestRing_Model issues random pipelined batches of writes, random ReadAt calls and random
// low-level fixed-buffer writes and plain reads against a real file, and compares every read
// and finally the whole file with an in-memory model. The same seeds run under several ring
// configurations: a tiny ring (batches split over many enters), a roomy one, and SQPoll.
func TestRing_Model(t *testing.T) {
	configs := []struct {
		name string
		opts Options
	}{
		{"entries=4", Options{Entries: 4}},
		{"entries=64", Options{Entries: 64}},
		{"entries=16/sqpoll=true", Options{Entries: 16, SQPoll: true, SQThreadIdle: time.Millisecond}},
	}
	for _, c := range configs {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", c.name, seed), func(t *testing.T) {
				runModel(t, seed, c.opts)
			})
		}
	}
}

// span is a byte range [off, off+n) of the file.
type span struct{ off, n int }

func (a span) overlaps(b span) bool { return a.off < b.off+b.n && b.off < a.off+a.n }

// modelRun is the state of one model test run.
type modelRun struct {
	t      *testing.T
	rng    *rand.Rand
	r      *Ring
	fd     int
	model  []byte   // what the file must hold once every submitted write has completed
	flight []flight // batches submitted and not completed
	fixed  *Buffers // registered buffers for the low-level writes
	reads  int      // reads compared, for the log
}

// flight is a submitted batch and the ranges its writes cover.
type flight struct {
	b     *Batch
	ws    []Write
	spans []span
}

// busy reports whether s overlaps a write in flight.
func (m *modelRun) busy(s span) bool {
	for _, f := range m.flight {
		for _, w := range f.spans {
			if w.overlaps(s) {
				return true
			}
		}
	}
	return false
}

func runModel(t *testing.T, seed uint64, opts Options) {
	m := &modelRun{t: t, rng: rand.New(rand.NewPCG(seed, seed*7919)), r: newRing(t, opts), model: make([]byte, modelSpace)}
	f := tempFile(t, modelSpace)
	m.fd = int(f.Fd())
	var err error
	if m.fixed, err = NewBuffers(4, 8192); err != nil {
		t.Fatal(err)
	}
	defer m.fixed.Close()
	if err := m.r.RegisterBuffers(m.fixed); err != nil {
		t.Fatal(err)
	}
	for range 600 {
		switch k := m.rng.IntN(10); {
		case k < 4 && len(m.flight) < 3:
			m.submit()
		case k < 7 && len(m.flight) > 0:
			m.complete(m.rng.IntN(len(m.flight)))
		case k < 9:
			m.readAt()
		default:
			m.lowLevel()
		}
	}
	for len(m.flight) > 0 {
		m.complete(0)
	}
	if err := m.r.UnregisterBuffers(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, m.model) {
		t.Fatalf("file (%d bytes) differs from the model at byte %d", len(got), firstDiff(got, m.model))
	}
	st := m.r.Stats()
	t.Logf("%d reads compared; stats %+v", m.reads, st)
	if st.Submitted != st.Completed {
		t.Errorf("submitted %d, completed %d", st.Submitted, st.Completed)
	}
}

// submit submits a batch of random writes that overlap neither each other nor writes in
// flight.
func (m *modelRun) submit() {
	n := 1 + m.rng.IntN(40)
	var ws []Write
	var spans []span
	for range n {
		var bufs [][]byte
		total := 0
		for range 1 + m.rng.IntN(3) {
			p := make([]byte, m.rng.IntN(1500))
			for i := range p {
				p[i] = byte(m.rng.Uint32())
			}
			bufs = append(bufs, p)
			total += len(p)
		}
		s := span{off: m.rng.IntN(modelSpace - total), n: total}
		clash := m.busy(s)
		for _, o := range spans {
			clash = clash || o.overlaps(s)
		}
		if clash {
			continue
		}
		ws = append(ws, Write{Bufs: bufs, Off: int64(s.off)})
		spans = append(spans, s)
	}
	b, err := m.r.SubmitBatch(m.fd, ws, m.rng.IntN(3) == 0)
	if err != nil {
		m.t.Fatal(err)
	}
	m.flight = append(m.flight, flight{b: b, ws: ws, spans: spans})
}

// complete completes batch i of those in flight and applies its writes to the model.
func (m *modelRun) complete(i int) {
	f := m.flight[i]
	if err := m.r.CompleteBatch(f.b); err != nil {
		m.t.Fatal(err)
	}
	for _, w := range f.ws {
		copy(m.model[w.Off:], bytes.Join(w.Bufs, nil))
	}
	m.flight = append(m.flight[:i], m.flight[i+1:]...)
}

// readAt reads a random range that no write in flight touches (possibly across the end of
// the file) with ReadAt and compares it with the model.
func (m *modelRun) readAt() {
	s := span{off: m.rng.IntN(modelSpace + 100), n: m.rng.IntN(6000)}
	if m.busy(s) {
		return
	}
	buf := make([]byte, s.n)
	n, err := m.r.ReadAt(m.fd, buf, int64(s.off))
	want := max(0, min(s.n, modelSpace-s.off))
	switch {
	case n != want:
		m.t.Fatalf("ReadAt(%d bytes at %d) = %d, want %d (err %v)", s.n, s.off, n, want, err)
	case want < s.n && err != io.EOF, want == s.n && err != nil:
		m.t.Fatalf("ReadAt(%d bytes at %d): err %v", s.n, s.off, err)
	case n > 0 && !bytes.Equal(buf[:n], m.model[s.off:s.off+n]):
		m.t.Fatalf("ReadAt(%d bytes at %d) differs from the model", s.n, s.off)
	}
	m.reads++
}

// lowLevel writes random bytes from a registered buffer with WRITE_FIXED, or reads a range
// with READ, through NextSQE, Wait and Reap, while batches may be in flight.
func (m *modelRun) lowLevel() {
	i := m.rng.IntN(m.fixed.Len())
	s := span{off: m.rng.IntN(modelSpace - 8192), n: 1 + m.rng.IntN(8192)}
	if m.busy(s) {
		return
	}
	buf := m.fixed.Buf(i)[:s.n]
	write := m.rng.IntN(2) == 0
	if write {
		for j := range buf {
			buf[j] = byte(m.rng.Uint32())
		}
	}
	sqe, err := m.r.NextSQE()
	if errors.Is(err, ErrRingFull) {
		return // batches in flight hold the ring
	}
	if err != nil {
		m.t.Fatal(err)
	}
	if write {
		sqe.PrepWriteFixed(m.fd, buf, int64(s.off), uint16(i))
	} else {
		sqe.PrepRead(m.fd, buf, int64(s.off))
	}
	sqe.SetUserData(uint64(s.off))
	if err := m.r.Wait(1); err != nil {
		m.t.Fatal(err)
	}
	got := m.r.Reap(nil)
	if len(got) != 1 || got[0].UserData != uint64(s.off) || got[0].Res != int32(s.n) {
		m.t.Fatalf("low-level request of %d bytes at %d: completions %+v", s.n, s.off, got)
	}
	if write {
		copy(m.model[s.off:], buf)
	} else if !bytes.Equal(buf, m.model[s.off:s.off+s.n]) {
		m.t.Fatalf("READ of %d bytes at %d differs from the model", s.n, s.off)
	}
	m.reads++
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
