package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/load/host"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// storeHandle is the store under test and where its data lives.
type storeHandle struct {
	st   *feox.Store
	opts feox.Options
	// path is the data file, "" for a memory-only store.
	path string
	// tempDir is the temporary directory holding path, removed by cleanup; "" when the
	// file is the user's (--path).
	tempDir string
}

// openStore opens the store cfg describes: memory-only, the user's file, or a new temporary
// file. A bad option gives an error wrapping errInvalidConfig; an I/O backend the system
// lacks gives one that says so and wraps the store's error (which wraps
// errors.ErrUnsupported). A data file of another format version, which matches
// errors.ErrUnsupported too, is reported as the store reports it.
func openStore(cfg *config, stderr io.Writer) (*storeHandle, error) {
	h := &storeHandle{opts: cfg.opts}
	if lvl := logLevels()[cfg.logLevel]; lvl != zerolog.Disabled {
		l := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05.000"}).Level(lvl).With().Timestamp().Logger()
		h.opts.Logger = &l
	}
	switch {
	case cfg.mem:
	case cfg.path != "":
		h.path = cfg.path
	default:
		dir, err := os.MkdirTemp("", "loadgen-")
		if err != nil {
			return nil, fmt.Errorf("cannot create a temporary directory: %w", err)
		}
		h.tempDir, h.path = dir, filepath.Join(dir, "data.feox")
	}
	h.opts.Path = h.path
	if err := h.open(); err != nil {
		h.cleanup()
		return nil, err
	}
	return h, nil
}

// open opens the store with h's options.
func (h *storeHandle) open() error {
	st, err := feox.Open(h.opts)
	switch {
	case err == nil:
		h.st = st
		return nil
	case errors.Is(err, errors.ErrUnsupported) && h.opts.Pipeline.IO == feox.IOUring && !errors.Is(err, feox.ErrOlderFormat):
		// Only IOUring refuses a system without io_uring; the other modes fall back to pwrite.
		return fmt.Errorf("cannot open the store: --io %s is not supported on this system (use --io auto or --io pwrite): %w",
			h.opts.Pipeline.IO, err)
	case errors.Is(err, feox.ErrInvalidOption):
		return fmt.Errorf("%w: the store refuses an option: %w", errInvalidConfig, err)
	}
	where := "memory-only store"
	if h.path != "" {
		where = fmt.Sprintf("store at %s", h.path)
	}
	return fmt.Errorf("cannot open the %s: %w", where, err)
}

// close closes the store and returns how long Close took (its final flush, mostly).
func (h *storeHandle) close() (time.Duration, error) {
	if h.st == nil {
		return 0, nil
	}
	start := time.Now()
	err := h.st.Close()
	h.st = nil
	if err != nil {
		return time.Since(start), fmt.Errorf("cannot close the store: %w", err)
	}
	return time.Since(start), nil
}

// reopen closes the store and opens it again from its file (a memory-only store comes back
// empty). It returns the time Close and Open took.
func (h *storeHandle) reopen() (closeDur, openDur time.Duration, err error) {
	if closeDur, err = h.close(); err != nil {
		return closeDur, 0, err
	}
	start := time.Now()
	err = h.open()
	return closeDur, time.Since(start), err
}

// fileSize returns the data file's size, 0 for a memory-only store or when it cannot be read.
func (h *storeHandle) fileSize() int64 {
	if h.path == "" {
		return 0
	}
	fi, err := os.Stat(h.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// describe returns where the data lives, for the report.
func (h *storeHandle) describe() string {
	switch {
	case h.path == "":
		return "memory-only"
	case h.tempDir != "":
		return "temporary file " + h.path + fsNote(h.tempDir)
	}
	return "file " + h.path + fsNote(filepath.Dir(h.path))
}

// cleanup closes the store if it is open and removes the temporary directory.
func (h *storeHandle) cleanup() {
	if h.st != nil {
		_ = h.st.Close() // an error here was or will be reported by close
		h.st = nil
	}
	if h.tempDir != "" {
		_ = os.RemoveAll(h.tempDir) // best effort: a leftover in the temp dir is harmless
		h.tempDir = ""
	}
}

// fsNote returns a warning to print after the path of a data file in dir when its file
// system makes the measurement unrepresentative, else "".
func fsNote(dir string) string {
	if host.FileSystem(dir) == host.Tmpfs {
		return " (tmpfs: syncs cost nothing here; use --path on a disk)"
	}
	return ""
}
