// Command feox-server serves a feox-go store over the Redis protocol (RESP2), so that Redis
// clients can use it:
//
//	feox-server --addr 127.0.0.1:6380 --path /var/lib/feox/data --fsync always
//	redis-cli -p 6380 SET greeting hello
//
// The commands and flags are documented in docs/SERVER.md and by --help; the command layer is
// package internal/resp. SIGINT, SIGTERM or the SHUTDOWN command stops the server gracefully:
// it stops accepting connections, finishes the requests in flight, closes the store (which
// flushes it) and exits with status 0. The exit status is 1 when the store cannot be opened or the address cannot be
// listened on, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/resp"
	"github.com/feoxdb/feox-go/pkg/feox"
)

// shutdownGrace bounds how long a shutdown waits for requests in flight.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run is the whole command: it parses args, opens the store, serves until ctx ends and closes
// the store. Logs go to stderr. When ready is not nil, run sends it the listening address once
// it accepts connections. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- net.Addr) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		writeUsage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "feox-server: %v\nRun 'feox-server --help' for the flags.\n", err)
		return 2
	}
	log := zerolog.New(stderr).With().Timestamp().Logger()
	storeLog := log.Level(zerolog.WarnLevel)
	store, err := feox.Open(feox.Options{Path: cfg.path, MaxMemory: cfg.maxMemory, Logger: &storeLog})
	if err != nil {
		log.Error().Err(err).Str("path", cfg.path).Msg("cannot open store")
		return 1
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Error().Err(err).Str("addr", cfg.addr).Msg("cannot listen")
		store.Close()
		return 1
	}
	// SHUTDOWN ends the server as a signal does.
	ctx, shutdown := context.WithCancel(ctx)
	defer shutdown()
	h := resp.NewHandler(store, resp.Config{Password: cfg.password, Shutdown: shutdown, Params: params(cfg, ln.Addr())})
	srv := resp.NewServer(h, resp.ServerConfig{MaxClients: cfg.maxClients, FsyncAlways: cfg.fsyncAlways, Logger: log})
	log.Info().Str("addr", ln.Addr().String()).Str("path", cfg.path).Str("fsync", cfg.fsync).
		Msg("feox-server started")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready <- ln.Addr()
	}
	code := 0
	select {
	case <-ctx.Done():
	case err := <-served:
		log.Error().Err(err).Msg("serve failed")
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("requests in flight cut short")
	}
	cancel()
	if err := store.Close(); err != nil {
		log.Error().Err(err).Msg("closing the store failed")
		code = 1
	}
	log.Info().Int("code", code).Msg("feox-server stopped")
	return code
}

// params are the settings CONFIG GET reports. The password is returned to an authenticated
// client, as Redis does.
func params(cfg config, addr net.Addr) map[string]string {
	port := ""
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
	}
	maxMemory := cfg.maxMemory
	if maxMemory == 0 {
		maxMemory = feox.DefaultMaxMemory
	}
	return map[string]string{
		"addr":        addr.String(),
		"port":        port,
		"path":        cfg.path,
		"maxmemory":   strconv.FormatInt(maxMemory, 10),
		"requirepass": cfg.password,
		"fsync":       cfg.fsync,
		"maxclients":  strconv.Itoa(cfg.maxClients),
	}
}
