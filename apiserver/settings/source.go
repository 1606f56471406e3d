package settings

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
)

// debounce waits for a burst of file events (Kubernetes writes several per update) to end before reloading.
const debounce = 200 * time.Millisecond

// Source publishes the current Snapshot and reloads it when its files change.
type Source struct {
	opts    Options
	current atomic.Pointer[Snapshot]
	log     *slog.Logger
	reloads *prometheus.CounterVec

	mu        sync.Mutex
	listeners []func(context.Context, *Snapshot)
}

// Load reads the settings once; Watch keeps them current.
func Load(opts Options, log *slog.Logger, reg prometheus.Registerer) (*Source, error) {
	snap, err := load(opts)
	if err != nil {
		return nil, err
	}
	s := &Source{opts: opts, log: log, reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmplatform_config_reloads_total",
		Help: "Reloads of the config and secret files after a change on disk, by result (success or failure).",
	}, []string{"result"})}
	if reg != nil {
		if err := reg.Register(s.reloads); err != nil {
			return nil, fmt.Errorf("registering reload metric: %w", err)
		}
	}
	s.current.Store(snap)
	return s, nil
}

// Current returns the settings in force. Callers read it per request and keep no copy.
func (s *Source) Current() *Snapshot { return s.current.Load() }

// OnChange registers f to be called with each new snapshot after a successful reload.
func (s *Source) OnChange(f func(context.Context, *Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, f)
}

// DatabaseURL returns the database URL: the DATABASE_URL environment variable, else database.urlFile.
func (s *Source) DatabaseURL() (string, error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u, nil
	}
	f := s.Current().Config.Database.URLFile
	if f == "" {
		return "", fmt.Errorf("no database: set DATABASE_URL or database.urlFile in the config")
	}
	b, err := os.ReadFile(f) //nolint:gosec // the path is the operator's config, not a request's
	if err != nil {
		return "", fmt.Errorf("database.urlFile: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Reload reads the files again and publishes the result if it differs from the current snapshot. A failure
// keeps the current snapshot and is returned.
func (s *Source) Reload(ctx context.Context) error {
	snap, err := load(s.opts)
	if err != nil {
		s.reloads.WithLabelValues("failure").Inc()
		s.log.Error("Config reload failed; keeping the previous config", "error", err)
		return err
	}
	old := s.current.Load()
	if snap.fingerprint == old.fingerprint {
		return nil
	}
	s.current.Store(snap)
	s.reloads.WithLabelValues("success").Inc()
	if restart := restartOnly(old, snap); restart != "" {
		s.log.Warn("Config changed in a field that applies only at restart", "field", restart)
	}
	s.log.Info("Config reloaded")
	s.mu.Lock()
	listeners := append([]func(context.Context, *Snapshot){}, s.listeners...)
	s.mu.Unlock()
	for _, f := range listeners {
		f(ctx, snap)
	}
	return nil
}

// restartOnly names a changed field that a running server cannot apply.
func restartOnly(old, cur *Snapshot) string {
	switch {
	case old.Config.Database.URLFile != cur.Config.Database.URLFile:
		return "database.urlFile"
	case old.Config.Database.MaxConns != cur.Config.Database.MaxConns:
		return "database.maxConns"
	case old.Config.Database.StatementTimeout != cur.Config.Database.StatementTimeout:
		return "database.statementTimeout"
	}
	return ""
}

// Watch reloads on every change in the watched directories until ctx ends. It returns once watching has
// started; errors setting up the watcher are returned.
func (s *Source) Watch(ctx context.Context) error {
	if s.opts.ConfigPath == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("starting file watcher: %w", err)
	}
	watched := map[string]bool{}
	s.watchDirs(w, watched)
	go s.loop(ctx, w, watched)
	return nil
}

func (s *Source) watchDirs(w *fsnotify.Watcher, watched map[string]bool) {
	for _, d := range s.Current().watchedDirs(s.opts.ConfigPath) {
		if watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			s.log.Warn("Cannot watch a config directory; changes there need a restart", "dir", d, "error", err)
			continue
		}
		watched[d] = true
	}
}

func (s *Source) loop(ctx context.Context, w *fsnotify.Watcher, watched map[string]bool) {
	defer func() { _ = w.Close() }()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Warn("File watcher error", "error", err)
		case <-timer.C:
			if s.Reload(ctx) == nil {
				s.watchDirs(w, watched)
			}
		}
	}
}
