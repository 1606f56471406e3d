package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/settings"
	"github.com/llmplatform/llmplatform/internal/version"
)

const apiserverUsage = `Usage: llmplatform apiserver [--config FILE] [--listen ADDR] [--metrics-listen ADDR] [--log-level LEVEL] [--pprof-listen ADDR]

Runs a tenant's API server: the REST API under /api/v1, the web UI at /, Swagger UI at /docs,
/healthz, /readyz and /metrics (on --listen, or only on --metrics-listen when that is set).

Configuration comes from --config (platform.yaml as the operator renders it) and the secret files it names;
both are reloaded when they change. Without --config the server runs with defaults, open registration and a
signing key that dies with the process (for development only).

Environment:
  DATABASE_URL   PostgreSQL URL; overrides database.urlFile in the config

Flags:
`

func runAPIServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("apiserver", flag.ContinueOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), apiserverUsage)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "", "path of platform.yaml")
	listen := fs.String("listen", ":8080", "address to serve HTTP on")
	metricsAddr := fs.String("metrics-listen", "", "serve /metrics only on this separate address, e.g. :9090, and answer it with 404 on --listen; empty serves it on --listen")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default: the config's logLevel, else info)")
	drain := fs.Duration("drain-delay", 5*time.Second, "on SIGTERM, keep serving this long with /readyz failing before closing the listener")
	shutdown := fs.Duration("shutdown-timeout", 25*time.Second, "then wait this long for open requests (streams) to finish")
	pprofAddr := fs.String("pprof-listen", "", "serve Go's profiles (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; off when empty (never expose it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	level := *logLevel
	if level == "" && *configPath != "" {
		if c, err := config.Load(*configPath); err == nil {
			level = c.LogLevel
		}
	}
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(orDefault(level, "info"))); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	var metrics net.Listener
	if *metricsAddr != "" {
		// Bound before the database is reached, so that a busy port fails at once; Serve closes it.
		ml, err := new(net.ListenConfig).Listen(ctx, "tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer func() { _ = ml.Close() }()
		metrics = ml
	}
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: *configPath, Log: log, Version: version.String(),
		DrainDelay: *drain, ShutdownTimeout: *shutdown, MetricsListener: metrics})
	if err != nil {
		return err
	}
	defer srv.Close() //nolint:contextcheck // runs after ctx ended (shutdown): the last usage writes get their own deadline
	if *logLevel == "" {
		// The config's logLevel follows reloads; a --log-level flag pins it.
		srv.Settings.OnChange(func(_ context.Context, s *settings.Snapshot) { _ = lv.UnmarshalText([]byte(s.Config.LogLevel)) })
	}
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, l)
}

// servePprof serves net/http/pprof on its own listener until ctx ends, for profiling (make bench). It is a
// separate address so that the profiles are never reachable through the API's route.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(l) }()
	log.Warn("Serving Go profiles", "address", l.Addr().String())
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
