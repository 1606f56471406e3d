package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestServesFilesAndFallsBackToIndex(t *testing.T) {
	h := NewFS(fstest.MapFS{
		"index.html":      {Data: []byte("<html>app</html>")},
		"assets/app-1.js": {Data: []byte("console.log(1)")},
		"favicon.svg":     {Data: []byte("<svg/>")},
	})
	if rec := get(t, h, "/assets/app-1.js"); rec.Code != 200 || rec.Body.String() != "console.log(1)" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("asset: %d %q cache %q", rec.Code, rec.Body, rec.Header().Get("Cache-Control"))
	}
	for _, p := range []string{"/", "/chat/123", "/settings", "/assets/missing.js", "/../../etc/passwd"} {
		rec := get(t, h, p)
		if rec.Code != 200 || rec.Body.String() != "<html>app</html>" {
			t.Errorf("GET %s = %d %q, want index.html", p, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
}

func TestNotBuiltPage(t *testing.T) {
	h := NewFS(fstest.MapFS{".keep": {}})
	if h.Built() {
		t.Fatal("Built() = true without index.html")
	}
	rec := get(t, h, "/chat")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "was not built") {
		t.Errorf("GET /chat = %d %q, want the not-built page", rec.Code, rec.Body)
	}
}
