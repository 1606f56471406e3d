package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/settings"
)

// newTestRouter builds the router without services: enough for routing, middleware and binding.
func newTestRouter(t *testing.T, mutate func(*config.Config), mount ...func(Groups)) *gin.Engine {
	t.Helper()
	cfg := &config.Config{Platform: "t"}
	cfg.ApplyDefaults()
	if mutate != nil {
		mutate(cfg)
	}
	snap := &settings.Snapshot{Config: cfg, JWTKey: []byte("k")}
	r, err := New(Options{Settings: func() *settings.Snapshot { return snap }, Metrics: NewMetrics(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mount: mount})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEveryRouteIsDocumented: every registered route is an operation of the OpenAPI document, and every
// documented operation is routed.
func TestEveryRouteIsDocumented(t *testing.T) {
	r := newTestRouter(t, nil, (&ChatAPI{}).Mount, (&MeteringAPI{OpenAI: &service.OpenAI{}}).Mount)
	var routed []string
	for _, ri := range r.Routes() {
		op := ri.Method + " " + ri.Path
		if !undocumentedRoutes[op] {
			routed = append(routed, op)
		}
	}
	slices.Sort(routed)
	documented, err := openapi.Operations()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range routed {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is not in the OpenAPI document", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(routed, op) {
			t.Errorf("documented operation %s is not routed", op)
		}
	}
}

func serve(r http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

func TestPanicBecomesJSON500(t *testing.T) {
	r := newTestRouter(t, nil, func(g Groups) {
		g.Public.GET("/boom", func(*gin.Context) { panic("kaboom") })
	})
	rec := serve(r, httptest.NewRequest("GET", "/api/v1/boom", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal_error"`) ||
		!strings.Contains(rec.Body.String(), rec.Header().Get("X-Request-ID")) || strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("panic answered %d %s", rec.Code, rec.Body)
	}
}

func TestCORSFromConfig(t *testing.T) {
	r := newTestRouter(t, func(c *config.Config) { c.CORS.AllowedOrigins = []string{"https://app.example"} })
	pre := httptest.NewRequest("OPTIONS", "/api/v1/auth/login", nil)
	pre.Header.Set("Origin", "https://app.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	rec := serve(r, pre)
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed preflight = %d %v", rec.Code, rec.Header())
	}
	pre.Header.Set("Origin", "https://other.example")
	if rec := serve(r, pre); rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight = %d %v", rec.Code, rec.Header())
	}
	get := httptest.NewRequest("GET", "/api/v1/info", nil)
	get.Header.Set("Origin", "https://app.example")
	if rec := serve(newTestRouter(t, nil), get); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header sent with no origins configured")
	}
}

func TestClientAddressBehindTrustedProxies(t *testing.T) {
	cfg := &config.Config{}
	snap := &settings.Snapshot{Config: cfg}
	tp := &trustedProxies{current: func() *settings.Snapshot { return snap }}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.7")
	if got := tp.clientIP(req); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: %s, want the peer", got)
	}
	snap = &settings.Snapshot{Config: &config.Config{HTTP: config.HTTP{TrustedProxies: []string{"10.0.0.0/8"}}}}
	if got := tp.clientIP(req); got != "203.0.113.9" {
		t.Errorf("behind 10/8: %s, want the first untrusted hop from the right (a client cannot spoof past it)", got)
	}
	req.RemoteAddr = "192.0.2.1:1"
	if got := tp.clientIP(req); got != "192.0.2.1" {
		t.Errorf("untrusted peer with X-Forwarded-For: %s, want the peer", got)
	}
}

// TestHSTSOnlyThroughATrustedProxy: behind a TLS-terminating proxy the request arrives over plain HTTP, so
// HSTS is sent only when a trusted proxy reports https; a client cannot claim it for itself.
func TestHSTSOnlyThroughATrustedProxy(t *testing.T) {
	r := newTestRouter(t, func(c *config.Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "::1/128"} })
	tests := []struct {
		peer, proto string
		want        bool
	}{
		{"10.1.2.3:5555", "https", true},
		{"[::1]:5555", "https", true},
		{"10.1.2.3:5555", "http", false},
		{"10.1.2.3:5555", "", false},
		{"203.0.113.5:5555", "https", false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/api/v1/info", nil)
		req.RemoteAddr = tt.peer
		if tt.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		got := serve(r, req).Header().Get("Strict-Transport-Security") != ""
		if got != tt.want {
			t.Errorf("from %s with X-Forwarded-Proto %q: HSTS %v, want %v", tt.peer, tt.proto, got, tt.want)
		}
	}
}

func TestUnknownAPIPathsAreJSON404(t *testing.T) {
	r := newTestRouter(t, nil)
	for _, p := range []string{"/api/v1/nothing", "/v1/chat/completions", "/internal/v1/usage", "/api/v1/tags/"} {
		rec := serve(r, httptest.NewRequest("GET", p, nil))
		if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("GET %s = %d %s", p, rec.Code, rec.Body)
		}
	}
}
