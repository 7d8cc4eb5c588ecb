package disk

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpen_Locked ensures a second Open of an open data file gives ErrLocked, whether it names
// the same path, a hard link or a symbolic link, leaves the file and the first File alone, and
// that the file can be opened again once the first File is closed.
func TestOpen_Locked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.feox")
	hard := filepath.Join(dir, "hard.feox")
	soft := filepath.Join(dir, "soft.feox")
	first, _, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(path, soft); err != nil {
		t.Fatal(err)
	}
	before := fileBytes(t, path)
	for _, p := range []string{path, hard, soft} {
		f, _, err := Open(p, 8<<20)
		if err == nil {
			f.Close()
			t.Errorf("second Open(%q) succeeded while the file is open", p)
			continue
		}
		if !errors.Is(err, ErrLocked) {
			t.Errorf("second Open(%q): %v, want ErrLocked", p, err)
		}
	}
	if !bytes.Equal(fileBytes(t, path), before) {
		t.Errorf("a refused Open changed the file")
	}
	// The refused Opens must not have released or disturbed the first File's lock or descriptor.
	if err := first.WriteAt([][]byte{[]byte("still mine")}, 1<<19); err != nil {
		t.Errorf("first File after refused Opens: %v", err)
	}
	if f, _, err := Open(path, 0); !errors.Is(err, ErrLocked) {
		if err == nil {
			f.Close()
		}
		t.Errorf("Open after refused Opens: %v, want ErrLocked still", err)
	}
	hdr := first.Header()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, hard, soft} {
		f, created, err := Open(p, 0)
		if err != nil {
			t.Fatalf("Open(%q) after Close: %v", p, err)
		}
		if created || f.Header() != hdr {
			t.Errorf("Open(%q) after Close: created = %v, header = %+v, want false, %+v", p, created, f.Header(), hdr)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// childEnv names the environment variable that turns TestChild_Open into the child side of
// TestOpen_LockedAcrossProcesses: it holds the path the child opens.
const childEnv = "FEOX_DISK_TEST_CHILD_PATH"

// Exit codes of the child process.
const (
	childOpened = 10
	childLocked = 11
	childFailed = 12
)

// TestChild_Open is the child side of TestOpen_LockedAcrossProcesses: with childEnv set it opens
// that path and reports the outcome through its exit code. Without childEnv it has nothing to
// do; the parent test is what checks the outcome.
func TestChild_Open(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	f, _, err := Open(path, 0)
	switch {
	case err == nil:
		f.Close()
		os.Exit(childOpened)
	case errors.Is(err, ErrLocked):
		os.Exit(childLocked)
	}
	os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(childFailed)
}

// TestOpen_LockedAcrossProcesses ensures another process cannot open a data file this process
// holds open (it gets ErrLocked), and can once this process closes it.
func TestOpen_LockedAcrossProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "data.feox")
	child := func() int {
		t.Helper()
		cmd := exec.Command(exe, "-test.run=^TestChild_Open$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("child process: %v (want it to exit with a status code); stderr: %s", err, stderr.Bytes())
		}
		if exit.ExitCode() == childFailed {
			t.Logf("child stderr: %s", stderr.Bytes())
		}
		return exit.ExitCode()
	}
	f, _, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if code := child(); code != childLocked {
		t.Errorf("child opening the file while this process holds it: exit code %d, want %d (ErrLocked)", code, childLocked)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if code := child(); code != childOpened {
		t.Errorf("child opening the file after this process closed it: exit code %d, want %d (opened)", code, childOpened)
	}
}

// TestOpen_NotRegular ensures Open refuses a path that is not a regular file, here a named pipe,
// and leaves it as it was.
func TestOpen_NotRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := unix.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, _, err := Open(path, 0); err == nil {
		f.Close()
		t.Fatalf("Open(%q) of a named pipe succeeded", path)
	}
	if st, err := os.Lstat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the named pipe was changed by Open: %v", err)
	}
}
