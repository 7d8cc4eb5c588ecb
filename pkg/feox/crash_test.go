package feox_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// The crash test runs a child process (this test binary, re-executed) that applies a seeded,
// deterministic sequence of writes to a persistent store and calls Flush every crashFlushEvery
// operations, printing "F <n>" after each Flush that returned nil: operations 0..n-1 are then
// durable. The parent kills the child with SIGKILL at a random moment, reopens the file, and
// checks every key against the sequence: a key whose last write before n was not followed by
// another write before the kill must hold exactly that state; a key written after n may hold
// its state at n or any state written later; nothing else may appear.

const (
	crashEnvPath     = "FEOX_CRASH_CHILD_PATH"
	crashEnvSeed     = "FEOX_CRASH_CHILD_SEED"
	crashEnvKills    = "FEOX_CRASH_KILLS" // more iterations than the default, for long runs
	crashKeys        = 200
	crashFlushEvery  = 150
	crashDefaultRuns = 50
)

// crashOp is operation i of the sequence for seed.
type crashOp struct {
	key   string
	del   bool
	value string // empty for a delete
	ttl   time.Duration
}

func crashOps(seed uint64) func() crashOp {
	r := rand.New(rand.NewPCG(seed, 99))
	i := 0
	return func() crashOp {
		defer func() { i++ }()
		k := fmt.Sprintf("key-%03d", r.IntN(crashKeys))
		switch p := r.IntN(100); {
		case p < 20:
			return crashOp{key: k, del: true}
		case p < 30:
			return crashOp{key: k, value: fmt.Sprintf("ttl-%d-%s", i, strings.Repeat("t", r.IntN(300))), ttl: time.Hour}
		default:
			return crashOp{key: k, value: fmt.Sprintf("v-%d-%s", i, strings.Repeat("x", r.IntN(3000)))}
		}
	}
}

// TestCrashChild is the child's body; it only runs when the parent sets its environment.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnvPath)
	if path == "" {
		return // not a child: nothing to do (the parent is TestCrash_SIGKILL)
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnvSeed), 10, 64)
	// Batches of up to 256 entries: with IOAuto a shard then has an io_uring, and the batches a
	// Flush or the 5 ms timer closes with fewer than 64 records go through pwrite beside it, so
	// the kills land in both paths.
	st, err := openIO(feox.Options{Path: path, FileSize: 1 << 20,
		Pipeline: feox.PipelineOptions{FlushInterval: 5 * time.Millisecond, BatchEntries: 256}})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(3)
	}
	next := crashOps(seed)
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		op := next()
		switch {
		case op.del:
			if err := st.Delete([]byte(op.key)); err != nil && !errors.Is(err, feox.ErrNotFound) {
				fmt.Println("E", err)
				os.Exit(3)
			}
		case op.ttl > 0:
			_, err = st.InsertWithTTL([]byte(op.key), []byte(op.value), op.ttl)
		default:
			_, err = st.Insert([]byte(op.key), []byte(op.value))
		}
		if err != nil {
			fmt.Println("E", err)
			os.Exit(3)
		}
		if (i+1)%crashFlushEvery == 0 {
			if err := st.Flush(); err != nil {
				fmt.Println("E", err)
				os.Exit(3)
			}
			fmt.Fprintf(out, "F %d\n", i+1)
			out.Flush()
		}
	}
}

// TestCrash_SIGKILL kills a writing child process at random moments and checks recovery.
func TestCrash_SIGKILL(t *testing.T) {
	if os.Getenv(crashEnvPath) != "" {
		return
	}
	runs := crashDefaultRuns
	if n, err := strconv.Atoi(os.Getenv(crashEnvKills)); err == nil && n > 0 {
		runs = n
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for run := range runs {
		seed := r.Uint64()
		path := filepath.Join(dir, fmt.Sprintf("crash-%d.feox", run))
		flushed := crashRunChild(t, exe, path, seed, time.Duration(20+r.IntN(180))*time.Millisecond)
		crashVerify(t, path, seed, flushed)
		os.Remove(path)
	}
}

// crashRunChild starts the child, kills it after d and returns the last flushed count.
func crashRunChild(t *testing.T, exe, path string, seed uint64, d time.Duration) int {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvSeed+"="+strconv.FormatUint(seed, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	flushed := 0
	for line := range lines {
		switch {
		case strings.HasPrefix(line, "F "):
			flushed, _ = strconv.Atoi(line[2:])
		case strings.HasPrefix(line, "E "):
			t.Errorf("child (seed %d) failed: %s", seed, line)
		}
	}
	timer.Stop()
	_ = cmd.Wait()
	return flushed
}

// crashVerify reopens the store and checks it against the operation sequence.
func crashVerify(t *testing.T, path string, seed uint64, flushed int) {
	t.Helper()
	// State of every key after the first flushed operations, and the states written after.
	type state struct {
		present bool
		value   string
	}
	at := map[string]state{}
	later := map[string][]state{}
	next := crashOps(seed)
	for i := 0; i < flushed+2*crashFlushEvery; i++ {
		op := next()
		s := state{present: !op.del, value: op.value}
		if i < flushed {
			at[op.key] = s
		} else {
			later[op.key] = append(later[op.key], s)
		}
	}
	st, err := openIO(feox.Options{Path: path})
	if err != nil {
		t.Fatalf("seed %d: reopen after SIGKILL failed: %v", seed, err)
	}
	defer st.Close()
	for i := range crashKeys {
		k := fmt.Sprintf("key-%03d", i)
		v, err := st.Get([]byte(k))
		got := state{present: err == nil, value: string(v)}
		if err != nil && !errors.Is(err, feox.ErrNotFound) {
			t.Fatalf("seed %d: Get(%s): %v", seed, k, err)
		}
		ok := got == at[k]
		for _, s := range later[k] {
			ok = ok || got == s
		}
		if !ok {
			t.Fatalf("seed %d, %d ops flushed: key %s recovered as %+.40v; flushed state %+.40v, later states %d",
				seed, flushed, k, got, at[k], len(later[k]))
		}
	}
}
