//go:build linux

package uring

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSetupError_Classify ensures the errnos by which the kernel refuses io_uring map to
// ErrUnsupported (and errors.ErrUnsupported), while resource errors do not, and that the errno
// stays reachable with errors.Is.
func TestSetupError_Classify(t *testing.T) {
	tests := []struct {
		errno       unix.Errno
		unsupported bool
		hint        string
	}{
		{unix.ENOSYS, true, "without io_uring"},
		{unix.EPERM, true, "io_uring_disabled"},
		{unix.EACCES, true, "io_uring_disabled"},
		{unix.EINVAL, true, "entry count"},
		{unix.ENOMEM, true, "RLIMIT_MEMLOCK"},
		{unix.EOPNOTSUPP, true, "feature"},
		{unix.EMFILE, false, ""},
		{unix.ENFILE, false, ""},
		{unix.EFAULT, false, ""},
	}
	for _, tt := range tests {
		t.Run("errno="+tt.errno.Error(), func(t *testing.T) {
			err := error(setupError("io_uring_setup", tt.errno))
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
			if got := errors.Is(err, errors.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, errors.ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("errors.Is(err, %v) = false", tt.errno)
			}
			if !strings.Contains(err.Error(), tt.hint) || !strings.Contains(err.Error(), "io_uring_setup") {
				t.Errorf("message %q lacks %q or the step", err, tt.hint)
			}
		})
	}
}

// TestNew_ForcedSetupFailure ensures New returns the classified *SetupError when
// io_uring_setup fails, through the test hook that fakes the failure.
func TestNew_ForcedSetupFailure(t *testing.T) {
	for _, tt := range []struct {
		errno       unix.Errno
		unsupported bool
	}{{unix.ENOSYS, true}, {unix.EPERM, true}, {unix.ENOMEM, true}, {unix.EMFILE, false}} {
		r, err := New(Options{forceErrno: uintptr(tt.errno)})
		if r != nil || err == nil {
			t.Fatalf("errno %v: New = %v, %v; want a failure", tt.errno, r, err)
		}
		var se *SetupError
		if !errors.As(err, &se) || se.Op != "io_uring_setup" || se.Err != tt.errno {
			t.Errorf("errno %v: err = %#v, want a *SetupError of io_uring_setup", tt.errno, err)
		}
		if errors.Is(err, ErrUnsupported) != tt.unsupported {
			t.Errorf("errno %v: errors.Is(err, ErrUnsupported) = %v", tt.errno, !tt.unsupported)
		}
	}
}

// TestNew_KernelRejectsEntries ensures a real io_uring_setup failure (more entries than the
// kernel's limit of 32768) comes back as an unsupported *SetupError wrapping EINVAL.
func TestNew_KernelRejectsEntries(t *testing.T) {
	r, err := New(Options{Entries: 1 << 20})
	if err == nil {
		r.Close()
		t.Fatal("New with 1<<20 entries succeeded")
	}
	if !errors.Is(err, unix.EINVAL) || !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want EINVAL matching ErrUnsupported", err)
	}
}

// TestNew_Features ensures a Ring maps its rings consistently and logs what this kernel
// offers.
func TestNew_Features(t *testing.T) {
	r := newRing(t, Options{Entries: 100})
	if r.sqEntries != 128 || r.cqEntries != 256 {
		t.Errorf("entries = %d/%d, want 128/256 (rounded up, CQ twice SQ)", r.sqEntries, r.cqEntries)
	}
	if r.sqMask != r.sqEntries-1 || r.cqMask != r.cqEntries-1 {
		t.Errorf("masks %#x/%#x do not match the entries", r.sqMask, r.cqMask)
	}
	single := r.features&featSingleMmap != 0
	if single != (r.cqMem == nil) {
		t.Errorf("single mmap feature %v but separate CQ mapping %v", single, r.cqMem != nil)
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	var lim unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim)
	t.Logf("kernel %s: features %#x, single mmap %v, nodrop %v, sqpoll nonfixed %v, RLIMIT_MEMLOCK %d",
		unix.ByteSliceToString(u.Release[:]), r.features, single, r.features&featNoDrop != 0,
		r.features&featSQPollNonfixed != 0, lim.Cur)
}
