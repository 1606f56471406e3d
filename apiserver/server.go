// Package apiserver runs a tenant's API server: it loads the settings, connects to PostgreSQL and migrates
// it, bootstraps the admin, serves HTTP (the API, the docs and the web UI) and shuts down gracefully.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmplatform/llmplatform/apiserver/httpapi"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/security"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/settings"
	"github.com/llmplatform/llmplatform/apiserver/store"
	"github.com/llmplatform/llmplatform/apiserver/webui"
)

// Options configure a Server.
type Options struct {
	// ConfigPath is platform.yaml; empty runs with defaults (development).
	ConfigPath string
	// DatabaseURL, when set, overrides DATABASE_URL and database.urlFile.
	DatabaseURL string
	// Log receives the server's logs.
	Log *slog.Logger
	// Version is reported by /api/v1/info.
	Version string
	// Throttle overrides the login throttling (tests); zero uses service.DefaultThrottle.
	Throttle service.Throttle
	// Meter replaces the server's meter for chat calls (tests); nil uses the server's own.
	Meter service.Meter
	// KeyPool tunes the providers' key pools (tests shorten the back-offs); its Limiter defaults to the
	// database's, which holds requestsPerMinute across replicas.
	KeyPool provider.PoolOptions
	// HashConcurrency bounds concurrent password hashes; zero means 4.
	HashConcurrency int
	// DrainDelay is how long the server keeps serving after it was told to stop, with /readyz failing, so
	// that load balancers stop sending it requests before it closes its listener. Zero stops at once.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for open requests at shutdown; zero means 25 s.
	ShutdownTimeout time.Duration
	// MetricsListener, when set, is where /metrics is served, by an HTTP server of its own that Serve runs
	// and shuts down with the main one; the main listener then answers /metrics with a JSON 404, so that the
	// routes to the API never expose it. Nil serves /metrics on the main listener (standalone use).
	MetricsListener net.Listener
}

// Server is a running API server's parts.
type Server struct {
	Settings *settings.Source
	DB       *store.DB
	Auth     *service.Auth
	Metrics  *httpapi.Metrics
	// Registry resolves model ids to providers and models; rebuilt on every config or Secret reload.
	Registry *llm.Registry
	// Chat sends conversations to their models.
	Chat *service.Chat
	// Meter reserves quota for provider calls and records their usage; Usage answers the statistics.
	Meter    *metering.Meter
	Usage    *service.Usage
	Handler  http.Handler
	log      *slog.Logger
	opts     Options
	stopping atomic.Bool
}

// New loads the settings, connects and migrates the database, bootstraps the admin and builds the handler.
// Close releases what it opened.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Server{log: o.Log, opts: o, Metrics: httpapi.NewMetrics()}
	var err error
	if s.Settings, err = settings.Load(settings.Options{ConfigPath: o.ConfigPath}, o.Log, s.Metrics.Registry); err != nil {
		return nil, err
	}
	if o.ConfigPath == "" {
		o.Log.Warn("Running without a config file: defaults, open registration and a signing key that dies with the process")
	}
	if err := s.openDB(ctx); err != nil {
		return nil, err
	}
	if err := s.build(ctx); err != nil {
		s.closeMeter(ctx)
		s.DB.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) openDB(ctx context.Context) error {
	url := s.opts.DatabaseURL
	if url == "" {
		var err error
		if url, err = s.Settings.DatabaseURL(); err != nil {
			return err
		}
	}
	db := s.Settings.Current().Config.Database
	var err error
	s.DB, err = store.Open(ctx, url, store.Options{MaxConns: db.MaxConns, StatementTimeout: db.StatementTimeout.Duration})
	if err != nil {
		return err
	}
	if err := s.waitForDB(ctx); err != nil {
		s.DB.Close()
		return err
	}
	start := time.Now()
	n, err := s.DB.Migrate(ctx)
	if err != nil {
		s.DB.Close()
		return err
	}
	s.log.Info("Database migrated", "applied", n, "version", store.LatestVersion(), "duration", time.Since(start).Round(time.Millisecond).String())
	s.Metrics.Registry.MustRegister(newPoolCollector(s.DB))
	return nil
}

// dbWait bounds how long a starting server waits for its database (a managed PostgreSQL may start after it).
const dbWait = 2 * time.Minute

// waitForDB pings the database until it answers, backing off up to 5 s between tries, for at most dbWait.
func (s *Server) waitForDB(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbWait)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		err := s.DB.Pool().Ping(ctx)
		if err == nil {
			return nil
		}
		s.log.Warn("Waiting for the database", "error", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return fmt.Errorf("database unreachable for %s: %w", dbWait, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (s *Server) build(ctx context.Context) error {
	current := s.Settings.Current
	concurrency := s.opts.HashConcurrency
	if concurrency == 0 {
		concurrency = 4
	}
	hasher := security.NewHasher(func() security.Argon2Params { return service.Argon2From(current().Config) }, concurrency)
	throttle := s.opts.Throttle
	if throttle == (service.Throttle{}) {
		throttle = service.DefaultThrottle
	}
	s.Auth = service.NewAuth(s.DB, current, hasher, throttle, s.log)
	if err := s.Auth.Bootstrap(ctx, current().Admin); err != nil {
		return fmt.Errorf("creating the bootstrap admin: %w", err)
	}
	s.buildRegistry(ctx)
	metered, err := s.buildMetering(ctx)
	if err != nil {
		return err
	}
	var meter service.Meter = s.Meter
	if s.opts.Meter != nil {
		meter = s.opts.Meter
	}
	s.Chat = service.NewChat(s.DB, s.Registry, meter, s.log)
	chat := &httpapi.ChatAPI{Chat: s.Chat, Keys: service.NewKeys(s.DB, s.Registry),
		Models: service.NewModels(s.Registry, s.Usage.AllowedModels), Providers: s.Registry.Health}
	s.Settings.OnChange(func(ctx context.Context, snap *settings.Snapshot) {
		bctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := s.Auth.Bootstrap(bctx, snap.Admin); err != nil {
			s.log.Error("Creating the bootstrap admin after a reload failed", "error", err)
		}
	})
	h, err := httpapi.New(httpapi.Options{ //nolint:contextcheck // handlers use each request's own context
		Auth:            s.Auth,
		Users:           service.NewUsers(s.DB, hasher, s.Auth, s.log),
		Conversations:   service.NewConversations(s.DB),
		Settings:        current,
		Ready:           s.ready,
		Metrics:         s.Metrics,
		SeparateMetrics: s.opts.MetricsListener != nil,
		Log:             s.log,
		Version:         s.opts.Version,
		WebUI:           webui.New(),
		SendMessage:     chat.SendMessage,
		Mount:           []func(httpapi.Groups){chat.Mount, metered.Mount},
	})
	if err != nil {
		return err
	}
	s.Handler = h
	return nil
}

// buildRegistry makes the model registry, applies the current settings and every reload to it, and exports
// its key health.
func (s *Server) buildRegistry(ctx context.Context) {
	pool := s.opts.KeyPool
	if pool.Limiter == nil {
		pool.Limiter = s.DB.KeyLimiter()
	}
	s.Registry = llm.New(llm.Options{Log: s.log, UserKeys: s.DB, Pool: pool, Metrics: s.Metrics.Registry})
	apply := func(ctx context.Context, snap *settings.Snapshot) {
		if err := s.Registry.Apply(snap.Config); err != nil {
			s.log.ErrorContext(ctx, "Some provider keys or the encryption key could not be loaded", "error", err)
		}
	}
	apply(ctx, s.Settings.Current())
	s.Settings.OnChange(apply)
	s.Metrics.Registry.MustRegister(llm.NewCollector(s.Registry))
}

func (s *Server) ready(ctx context.Context) error {
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	return s.DB.Ready(ctx)
}

// Serve answers HTTP on l (and /metrics on Options.MetricsListener) until ctx ends, watching the settings
// files meanwhile; then it stops taking new connections (readiness fails first), waits for open requests up
// to the shutdown timeout and returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if err := s.Settings.Watch(ctx); err != nil {
		return err
	}
	go s.janitor(ctx)
	go s.DB.ListenStops(ctx, s.Chat.StopLocal, func(err error) {
		s.log.Warn("Listening for chat stops failed; stops from other replicas are missed until it reconnects", "error", err)
	})
	// The main server first: the shutdown waits for its open requests (streams) while /metrics still answers.
	servers := []*http.Server{s.httpServer(s.Handler)}
	listeners := []net.Listener{l}
	if ml := s.opts.MetricsListener; ml != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.Metrics.Handler())
		servers, listeners = append(servers, s.httpServer(mux)), append(listeners, ml)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	s.log.Info("API server listening", "address", l.Addr().String())
	if len(listeners) > 1 {
		s.log.Info("Serving metrics", "address", listeners[1].Addr().String())
	}
	select {
	case err := <-errc:
		return closeAll(servers, err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	if d := s.opts.DrainDelay; d > 0 {
		s.log.Info("Draining: readiness fails, still serving", "delay", d.String())
		select {
		case err := <-errc:
			return closeAll(servers, err)
		case <-time.After(d):
		}
	}
	timeout := s.opts.ShutdownTimeout
	if timeout == 0 {
		timeout = 25 * time.Second
	}
	// ctx is done; the wait for open requests gets its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	s.log.Info("Shutting down", "timeout", timeout.String())
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	for range servers {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// httpServer serves h with the API server's timeouts.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Request bodies are small (a chat turn at most); answers are not bounded here.
		ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute,
		// No WriteTimeout: answers stream for minutes.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// closeAll closes every server after one of them failed with err, and returns err.
func closeAll(servers []*http.Server, err error) error {
	for _, srv := range servers {
		_ = srv.Close()
	}
	return err
}

// janitor deletes long-ended sessions and stale throttle rows every hour.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.DB.DeleteExpired(ctx, 24*time.Hour); err != nil {
				s.log.Warn("Deleting expired sessions failed", "error", err)
			} else if n > 0 {
				s.log.Info("Deleted expired sessions", "count", n)
			}
		}
	}
}

// Close writes the usage records still queued and closes the database pool.
func (s *Server) Close() {
	s.closeMeter(context.Background()) //nolint:contextcheck // Close has no context: the last writes get their own deadline
	s.DB.Close()
}

// poolCollector exports the pgx pool's statistics.
type poolCollector struct {
	db                                   *store.DB
	total, idle, inUse, max, waits, wait *prometheus.Desc
}

func newPoolCollector(db *store.DB) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("llmplatform_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{db: db,
		total: d("connections", "Open database connections."),
		idle:  d("idle_connections", "Idle database connections."),
		inUse: d("in_use_connections", "Database connections in use."),
		max:   d("max_connections", "Largest pool size allowed."),
		waits: d("acquire_waits_total", "Acquires that had to wait for a connection."),
		wait:  d("acquire_wait_seconds_total", "Time spent waiting for a connection."),
	}
}

// Describe sends the descriptors.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.inUse, c.max, c.waits, c.wait} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.Pool().Stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, st.AcquireDuration().Seconds())
}
