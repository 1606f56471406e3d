package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

func TestMain(m *testing.M) {
	openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.FileBodyDecoder)
	pgtest.Main(m)
}

const (
	adminUser = "root"
	adminPass = "admin-password-123"
	testKey   = "0123456789abcdef0123456789abcdef-test-signing-key"
)

// baseConfig is the platform.yaml of the tests: cheap argon2 so logins are fast.
const baseConfig = `platform: test
auth:
  registration: %s
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: %s
  encryptionKeyFile: /nonexistent/enc
  adminDir: %s
`

// env is one API server on a fresh database, served on 127.0.0.1.
type env struct {
	t       testing.TB
	dir     string
	dbURL   string
	srv     *apiserver.Server
	base    string
	router  routers.Router
	logs    *bytes.Buffer
	logMu   *sync.Mutex
	stopped chan error
	cancel  context.CancelFunc

	// metricsBase is the metrics listener's URL, with envOptions.separateMetrics.
	metricsBase string
}

type envOptions struct {
	registration string
	throttle     service.Throttle
	dbURL        string
	drain        time.Duration
	// separateMetrics serves /metrics on a listener of its own (--metrics-listen).
	separateMetrics bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.registration == "" {
		o.registration = "Open"
	}
	if o.dbURL == "" {
		o.dbURL = pgtest.NewDatabase(t)
	}
	e := &env{t: t, dir: t.TempDir(), dbURL: o.dbURL, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), testKey)
	writeFile(t, filepath.Join(e.dir, "admin", "username"), adminUser)
	writeFile(t, filepath.Join(e.dir, "admin", "password"), adminPass)
	e.writeConfig(o.registration)
	log := slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var metrics net.Listener
	if o.separateMetrics {
		ml, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		metrics, e.metricsBase = ml, "http://"+ml.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: filepath.Join(e.dir, "config", "platform.yaml"),
		DatabaseURL: o.dbURL, Log: log, Version: "test", Throttle: o.throttle, ShutdownTimeout: 5 * time.Second, DrainDelay: o.drain,
		MetricsListener: metrics})
	if err != nil {
		cancel()
		t.Fatalf("apiserver.New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.cancel, e.base, e.stopped = srv, cancel, "http://"+l.Addr().String(), make(chan error, 1)
	go func() { e.stopped <- srv.Serve(ctx, l) }()
	t.Cleanup(e.stop)
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: e.base}}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	// The client may hold connections it dialled but never sent a request on (it raced them against a
	// connection that came free). The server's Shutdown takes such a connection for idle only when it is 5 s
	// old, which is the shutdown timeout here: close them from this side, as a real client would go away.
	http.DefaultClient.CloseIdleConnections()
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.stopped:
		if err != nil {
			e.t.Errorf("Serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Error("Serve did not return within 10s of shutdown")
	}
	e.srv.Close()
}

// writeConfig replaces platform.yaml the way Kubernetes updates a mounted ConfigMap: a new timestamped
// directory, then an atomic swap of the ..data symlink.
func (e *env) writeConfig(registration string) {
	e.writeConfigText(fmt.Sprintf(baseConfig, registration, filepath.Join(e.dir, "secrets", "jwt"), filepath.Join(e.dir, "admin")))
}

func (e *env) writeConfigText(text string) {
	t := e.t
	dir := filepath.Join(e.dir, "config")
	ts := filepath.Join(dir, fmt.Sprintf("..%d", time.Now().UnixNano()))
	writeFile(t, filepath.Join(ts, "platform.yaml"), text)
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "platform.yaml")
	if _, err := os.Lstat(link); err != nil {
		if err := os.Symlink("..data/platform.yaml", link); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) logText() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.logs.String()
}

// resp is an answer read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r resp) errCode(t testing.TB) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	r.json(t, &b)
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("error body %s lacks code or message", r.body)
	}
	return b.Error.Code
}

// do sends a request with an optional bearer token and JSON body, and checks the answer against the
// OpenAPI document: the status must be documented and the body must match its schema.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req, raw)
}

func (e *env) send(req *http.Request, raw []byte) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	e.validate(req, raw, r)
	return r
}

// validate checks an /api answer against the document.
func (e *env) validate(req *http.Request, raw []byte, r resp) {
	e.t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return
	}
	if r.status >= 400 && r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		e.t.Errorf("%s %s: error with Content-Type %q, want JSON", req.Method, req.URL.Path, r.header.Get("Content-Type"))
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if r.status != http.StatusNotFound {
			e.t.Errorf("%s %s answered %d but is not in the OpenAPI document", req.Method, req.URL.Path, r.status)
		}
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Errorf("%s %s answered %d %s, which the OpenAPI document does not allow: %v", req.Method, req.URL.Path, r.status, truncate(r.body), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func (e *env) expect(r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, truncate(r.body))
	}
	return r
}

// session is a signed-in user.
type session struct {
	userID, username, access, refresh string
}

type authBody struct {
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

func (e *env) sessionFrom(r resp) session {
	var b authBody
	r.json(e.t, &b)
	if b.AccessToken == "" || b.RefreshToken == "" {
		e.t.Fatalf("no tokens in %s", r.body)
	}
	return session{userID: b.User.ID, username: b.User.Username, access: b.AccessToken, refresh: b.RefreshToken}
}

func (e *env) register(name string) session {
	e.t.Helper()
	r := e.expect(e.do("POST", "/api/v1/auth/register", "", map[string]string{
		"username": name, "email": name + "@example.com", "password": "password-of-" + name}), 201)
	return e.sessionFrom(r)
}

func (e *env) login(login, password string) session {
	e.t.Helper()
	r := e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": login, "password": password}), 200)
	return e.sessionFrom(r)
}

func (e *env) admin() session { return e.login(adminUser, adminPass) }
