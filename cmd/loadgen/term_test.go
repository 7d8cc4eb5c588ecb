package main

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestIsTerminal ensures buffers and pipes are not taken for terminals, so that redirected
// output never receives the progress line.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, out := range map[string]io.Writer{"buffer": new(bytes.Buffer), "pipe": w, "file": f} {
		if isTerminal(out) {
			t.Errorf("isTerminal(%s) = true", name)
		}
	}
}
