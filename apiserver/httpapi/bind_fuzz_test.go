package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
)

// bindEngine binds one request type per route and echoes it, so the fuzzer drives the real JSON binding.
func bindEngine(t testing.TB) *gin.Engine {
	r := gin.New()
	r.Use(bodyLimitBytes(64 << 10))
	route := func(path string, newReq func() any) {
		r.POST(path, func(c *gin.Context) {
			req := newReq()
			if !bindJSON(c, req) {
				return
			}
			c.JSON(http.StatusOK, req)
		})
	}
	route("/register", func() any { return &RegisterRequest{} })
	route("/login", func() any { return &LoginRequest{} })
	route("/refresh", func() any { return &RefreshRequest{} })
	route("/change-password", func() any { return &ChangePasswordRequest{} })
	route("/conversations", func() any { return &CreateConversationRequest{} })
	route("/conversation", func() any { return &UpdateConversationRequest{} })
	route("/tags", func() any { return &TagRequest{} })
	return r
}

// bodyLimitBytes is bodyLimit with a fixed size, for tests without settings.
func bodyLimitBytes(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

var fuzzPaths = []string{"/register", "/login", "/refresh", "/change-password", "/conversations", "/conversation", "/tags"}

// checkBinding asserts what a client may see from the binding: 200 with a JSON object, or a 400/413 JSON
// error with a code and a message — never a panic or a 500.
func checkBinding(t *testing.T, r *gin.Engine, path string, body []byte) {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK:
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %q: 200 with a body that is not an object: %s", path, body, rec.Body)
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %q: %d with a malformed error %s", path, body, rec.Code, rec.Body)
		}
	default:
		t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
	}
}

func addSeeds(f *testing.F) {
	for i := range fuzzPaths {
		for _, s := range []string{
			`{"username":"ada","email":"ada@example.com","password":"secret-secret"}`,
			`{"login":"ada","password":"x"}`, `{"refresh_token":"rt_abc"}`,
			`{"model":"gpt","title":"t","tag_ids":["00000000-0000-0000-0000-000000000000"]}`,
			`{"title":null,"system_prompt":"\u0000"}`, `{"name":"work","color":"#ff0000"}`,
			`[]`, `null`, `"str"`, `{"username":5}`, `{"tag_ids":{}}`, `{} {}`, ``, `{"a":`,
		} {
			f.Add(uint8(i), []byte(s))
		}
	}
}

// FuzzAuthBinding fuzzes the JSON binding of the auth endpoints' bodies.
func FuzzAuthBinding(f *testing.F) {
	addSeeds(f)
	r := bindEngine(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		checkBinding(t, r, fuzzPaths[int(which)%4], body)
	})
}

// FuzzConversationBinding fuzzes the JSON binding of the conversation and tag endpoints' bodies.
func FuzzConversationBinding(f *testing.F) {
	addSeeds(f)
	r := bindEngine(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		checkBinding(t, r, fuzzPaths[4+int(which)%3], body)
	})
}

func TestBindingRefusals(t *testing.T) {
	r := bindEngine(t)
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"username":"a"}`, 200}, {`{"username":1}`, 400}, {`{"username":"a"} x`, 400}, {``, 400},
		{`{"model":"` + string(bytes.Repeat([]byte("a"), 70<<10)) + `"}`, 413},
	} {
		req := httptest.NewRequest("POST", "/register", bytes.NewReader([]byte(c.body)))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%.40q: %d, want %d", c.body, rec.Code, c.want)
		}
	}
	if statusOf(apperr.NotFound("x")) != 404 || statusOf(apperr.Conflict("c", "m")) != 409 {
		t.Error("statusOf maps kinds wrongly")
	}
}
