package apiserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestSystemEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, p := range []string{"/healthz", "/readyz", "/health"} {
		if code, _, body := get(t, e.base+p); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("GET %s = %d %s", p, code, body)
		}
	}
	code, _, spec := get(t, e.base+"/openapi.json")
	want, _ := openapi.JSON()
	if code != 200 || spec != string(want) {
		t.Errorf("/openapi.json = %d, not the embedded document", code)
	}
	code, h, page := get(t, e.base+"/docs")
	if code != 200 || !strings.Contains(page, "/docs/assets/swagger-ui-bundle.js") || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("/docs = %d %q", code, page)
	}
	if code, h, js := get(t, e.base+"/docs/assets/swagger-ui-bundle.js"); code != 200 || len(js) < 100000 || !strings.Contains(h.Get("Content-Type"), "javascript") {
		t.Errorf("swagger bundle = %d, %d bytes, %s", code, len(js), h.Get("Content-Type"))
	}
	if code, _, js := get(t, e.base+"/docs/init.js"); code != 200 || !strings.Contains(js, "/openapi.json") {
		t.Errorf("/docs/init.js = %d %s", code, js)
	}
	var info struct {
		Platform, Registration, Version string
	}
	e.expect(e.do("GET", "/api/v1/info", "", nil), 200).json(t, &info)
	if info.Platform != "test" || info.Registration != "Open" || info.Version != "test" {
		t.Errorf("info = %+v", info)
	}

	// Unknown API paths are JSON 404s; other paths get the web UI (here: the not-built page).
	for _, p := range []string{"/api/v1/nope", "/v1/nope", "/internal/v1/x", "/api"} {
		code, h, body := get(t, e.base+p)
		if code != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
			t.Errorf("GET %s = %d %s %s", p, code, h.Get("Content-Type"), body)
		}
	}
	if code, h, body := get(t, e.base+"/chat/123"); code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("GET /chat/123 = %d %s", code, body)
	}

	// Security headers and request ids on every response; a sane caller id is kept, a bad one replaced.
	req, _ := http.NewRequest("GET", e.base+"/api/v1/info", nil)
	req.Header.Set("X-Request-ID", "trace-42")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	for k, v := range map[string]string{"X-Request-ID": "trace-42", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if res.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, res.Header.Get(k), v)
		}
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
	req.Header.Set("X-Request-ID", "bad id\x01")
	if res, err = http.DefaultClient.Do(req); err == nil {
		_ = res.Body.Close()
		if id := res.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
			t.Errorf("bad request id echoed as %q", id)
		}
	}
	// The /v1 API's answers keep the headers that matter to any response, without the document policies.
	if res, err = http.Post(e.base+"/v1/chat/completions", "application/json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	} else {
		_ = res.Body.Close()
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" ||
			res.Header.Get("Referrer-Policy") != "" || res.Header.Get("Permissions-Policy") != "" {
			t.Errorf("/v1 headers %v", res.Header)
		}
	}
	// CORS is off by default: a preflight from another origin is refused and gets no allow header.
	pre, _ := http.NewRequest("OPTIONS", e.base+"/api/v1/auth/login", nil)
	pre.Header.Set("Origin", "https://evil.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if res, err = http.DefaultClient.Do(pre); err == nil {
		_ = res.Body.Close()
		if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("foreign preflight = %d, allow-origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	// Access logs name the route and status, never bodies or secrets: passwords, access and refresh tokens,
	// personal API tokens on /v1 (accepted, forged or revoked).
	s := e.register("henry")
	e.login("henry", "password-of-henry")
	e.expect(e.do("GET", "/api/v1/auth/me", s.access, nil), 200)
	var tok struct{ ID, Token string }
	e.expect(e.do("POST", "/api/v1/tokens", s.access, map[string]any{"name": "cli"}), 201).json(t, &tok)
	forged := tok.Token[:len(tok.Token)-4] + "AAAA"
	v1 := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return e.send(req, nil).status
	}
	if c := v1("GET", "/v1/models", tok.Token, ""); c != 200 {
		t.Errorf("/v1/models with a personal API token = %d", c)
	}
	if c := v1("POST", "/v1/chat/completions", tok.Token, `{"model": "none/such", "messages": [{"role": "user", "content": "hi"}]}`); c < 400 {
		t.Errorf("/v1/chat/completions of an unknown model = %d", c)
	}
	if c := v1("GET", "/v1/models", forged, ""); c != 401 {
		t.Errorf("/v1/models with a forged token = %d", c)
	}
	e.expect(e.do("DELETE", "/api/v1/tokens/"+tok.ID, s.access, nil), 204)
	if c := v1("GET", "/v1/models", tok.Token, ""); c != 401 {
		t.Errorf("/v1/models with a revoked token = %d", c)
	}
	logs := e.logText()
	tokSecret := strings.SplitN(tok.Token, "_", 3)[2] // llmp_<visible prefix>_<secret>
	for _, secret := range []string{"password-of-henry", s.access, s.refresh, tok.Token, forged, tokSecret, tokSecret[:16]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %.12s…", secret)
		}
	}
	if !strings.Contains(logs, `"route":"/api/v1/auth/login"`) || !strings.Contains(logs, `"user_id":"`+s.userID+`"`) ||
		!strings.Contains(logs, `"route":"/v1/models"`) || !strings.Contains(logs, `"route":"/v1/chat/completions"`) {
		t.Errorf("access log lacks a route or the user id")
	}

	code, _, metrics := get(t, e.base+"/metrics")
	for _, m := range []string{`llmplatform_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}`,
		"llmplatform_http_request_duration_seconds_bucket", "llmplatform_db_pool_max_connections", "go_goroutines"} {
		if code != 200 || !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestMetricsOnTheirOwnListener is --metrics-listen: /metrics answers only on the metrics listener, the main
// one (where the Ingress routes every path) answers it with a JSON 404, never the web UI, and shutting down
// stops both.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	e := newEnv(t, envOptions{separateMetrics: true})
	e.expect(e.do("GET", "/api/v1/info", "", nil), 200)
	for _, p := range []string{"/metrics", "/metrics/", "/metrics/x"} {
		code, h, body := get(t, e.base+p)
		if code != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
			t.Errorf("main listener GET %s = %d %s %.80s, want a JSON 404", p, code, h.Get("Content-Type"), body)
		}
	}
	code, h, metrics := get(t, e.metricsBase+"/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics listener GET /metrics = %d %s", code, h.Get("Content-Type"))
	}
	// One registry: the main listener's requests and the database pool are counted there.
	for _, m := range []string{`llmplatform_http_requests_total{method="GET",route="/api/v1/info",status="200"} 1`,
		`llmplatform_http_requests_total{method="GET",route="unmatched",status="404"} 3`, "llmplatform_db_pool_max_connections"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if code, _, _ := get(t, e.metricsBase+"/api/v1/info"); code != 404 {
		t.Errorf("the metrics listener serves the API: GET /api/v1/info = %d", code)
	}
	e.stop()
	for _, base := range []string{e.base, e.metricsBase} {
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
			_ = conn.Close()
			t.Errorf("%s still accepts connections after shutdown", base)
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func reloads(t *testing.T, e *env, result string) string {
	_, _, m := get(t, e.base+"/metrics")
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, `llmplatform_config_reloads_total{result="`+result+`"}`) {
			return strings.Fields(line)[1]
		}
	}
	return "0"
}

func TestConfigAndSecretReload(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.register("ivan")
	tok := e.login("ivan", "password-of-ivan")

	// Closing registration in the mounted config takes effect without a restart.
	e.writeConfig("Closed")
	// An invalid registration answers 422 while registration is open and 403 once it is closed.
	probe := map[string]string{"username": "x"}
	waitFor(t, "registration to close", func() bool { return e.do("POST", "/api/v1/auth/register", "", probe).status == 403 })
	if got := reloads(t, e, "success"); got != "1" {
		t.Errorf("successful reloads = %s, want 1", got)
	}

	// A broken file keeps the running config and says why.
	e.writeConfigText("platform: test\nauth: {registration: Sometimes}\n")
	waitFor(t, "the failed reload", func() bool { return reloads(t, e, "failure") == "1" })
	if !strings.Contains(e.logText(), "auth.registration") {
		t.Error("the log does not say which field was wrong")
	}
	var info struct{ Registration string }
	e.expect(e.do("GET", "/api/v1/info", "", nil), 200).json(t, &info)
	if info.Registration != "Closed" {
		t.Errorf("after a bad reload registration = %s, want Closed kept", info.Registration)
	}
	e.writeConfig("Open")
	waitFor(t, "registration to reopen", func() bool { return e.do("POST", "/api/v1/auth/register", "", probe).status == 422 })
	e.register("judy")

	// Rotating the signing key in the Secret: old access tokens are refused (unknown kid), refresh tokens
	// (opaque, in the database) still work and yield tokens under the new key.
	e.expect(e.do("GET", "/api/v1/auth/me", tok.access, nil), 200)
	writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), "a-brand-new-signing-key-of-enough-length!")
	waitFor(t, "the key rotation", func() bool { return e.do("GET", "/api/v1/auth/me", tok.access, nil).status == 401 })
	fresh := e.sessionFrom(e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.refresh}), 200))
	e.expect(e.do("GET", "/api/v1/auth/me", fresh.access, nil), 200)

	// A too-short key is refused and the current one kept.
	writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), "short")
	waitFor(t, "the refused key", func() bool { return reloads(t, e, "failure") == "2" })
	e.expect(e.do("GET", "/api/v1/auth/me", fresh.access, nil), 200)
}

func TestTwoServersMigrateOneDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jwt"), testKey)
	writeFile(t, filepath.Join(dir, "admin", "username"), adminUser)
	writeFile(t, filepath.Join(dir, "admin", "password"), adminPass)
	cfg := filepath.Join(dir, "platform.yaml")
	writeFile(t, cfg, "platform: t\nauth: {passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}}\n"+
		"secrets: {jwtKeyFile: "+filepath.Join(dir, "jwt")+", encryptionKeyFile: /x, adminDir: "+filepath.Join(dir, "admin")+"}\n")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	servers := make([]*apiserver.Server, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = apiserver.New(context.Background(), apiserver.Options{ConfigPath: cfg, DatabaseURL: url,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		defer servers[i].Close()
		if err := servers[i].DB.Ready(context.Background()); err != nil {
			t.Errorf("server %d not ready: %v", i, err)
		}
	}
	// Both bootstrapped the same admin: exactly one exists.
	var n int
	if err := servers[0].DB.Pool().QueryRow(context.Background(), "SELECT count(*) FROM users WHERE role = 'admin'").Scan(&n); err != nil || n != 1 {
		t.Errorf("admins = %d (%v), want 1", n, err)
	}
}

func TestStartupFailsClearly(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "platform.yaml")
	writeFile(t, cfg, "platform: t\nauth: {registration: Maybe}\nsecrets: {jwtKeyFile: /x, encryptionKeyFile: /y}\n")
	_, err := apiserver.New(context.Background(), apiserver.Options{ConfigPath: cfg, DatabaseURL: "postgres://127.0.0.1:1/x",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "auth.registration") {
		t.Errorf("bad config: %v, want an error naming auth.registration", err)
	}
	t.Setenv("DATABASE_URL", "")
	writeFile(t, cfg, "platform: t\nsecrets: {jwtKeyFile: "+cfg+", encryptionKeyFile: /y}\n")
	_, err = apiserver.New(context.Background(), apiserver.Options{ConfigPath: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("no database: %v", err)
	}
}
