package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// config is the parsed command line.
type config struct {
	addr        string
	path        string
	maxMemory   int64
	password    string
	fsync       string
	fsyncAlways bool
	maxClients  int
}

// newFlagSet returns the flag set, bound to cfg.
func newFlagSet(cfg *config, maxMemory *string) *flag.FlagSet {
	fs := flag.NewFlagSet("feox-server", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:6380", "`host:port` to listen on")
	fs.StringVar(&cfg.path, "path", "", "data `file` of a persistent store; empty keeps the data in memory only")
	fs.StringVar(maxMemory, "max-memory", "", "memory bound of the store (bytes, or with a suffix KiB, MiB, GiB); empty is feox's default, 4GiB")
	fs.StringVar(&cfg.password, "requirepass", "", "`password` clients must give with AUTH before any other command; empty needs none")
	fs.StringVar(&cfg.fsync, "fsync", "behind", "`mode`: always (a write is acknowledged once a store Flush covers it; concurrent clients share Flushes) or behind (acknowledged at once, on disk within the pipeline's flush interval)")
	fs.IntVar(&cfg.maxClients, "max-clients", 10000, "most connections served at once; 0 means no bound")
	return fs
}

// parseFlags parses args. It returns flag.ErrHelp for --help.
func parseFlags(args []string) (config, error) {
	var cfg config
	var maxMemory string
	fs := newFlagSet(&cfg, &maxMemory)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch cfg.fsync {
	case "always":
		cfg.fsyncAlways = true
	case "behind":
	default:
		return cfg, fmt.Errorf("--fsync %q: must be always or behind", cfg.fsync)
	}
	if cfg.maxClients < 0 {
		return cfg, errors.New("--max-clients must not be negative")
	}
	if maxMemory != "" {
		n, err := parseSize(maxMemory)
		if err != nil {
			return cfg, fmt.Errorf("--max-memory: %w", err)
		}
		cfg.maxMemory = n
	}
	return cfg, nil
}

// parseSize parses a byte count with an optional binary suffix: 1048576, 512MiB, 4GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return n * mult, nil
}

// writeUsage writes --help.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: feox-server [flags]

Serves a feox-go store over the Redis protocol (RESP2). See docs/SERVER.md.

Flags:
`)
	var cfg config
	var mm string
	fs := newFlagSet(&cfg, &mm)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
