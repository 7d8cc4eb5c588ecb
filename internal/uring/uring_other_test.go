//go:build !linux

package uring

import (
	"errors"
	"syscall"
	"testing"
)

// TestNew_Unsupported ensures New fails outside Linux with an error that sends the caller to
// the pwrite fallback, and that the setup-failure test hook still sets the errno.
func TestNew_Unsupported(t *testing.T) {
	r, err := New(Options{})
	if r != nil || !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("New = %v, %v; want ErrUnsupported", r, err)
	}
	if _, err := New(Options{forceErrno: 38}); !errors.Is(err, syscall.Errno(38)) {
		t.Errorf("forced errno: %v", err)
	}
	if _, err := NewBuffers(1, 1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewBuffers: %v", err)
	}
}
