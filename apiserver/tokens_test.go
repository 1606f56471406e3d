package apiserver_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPersonalAPITokens: a token's secret is shown once, in a recognisable format; lists never show it;
// expiry, revocation, other users and a deactivated owner all end its use.
func TestPersonalAPITokens(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	ann, bob := e.register("ann"), e.register("bob")
	e.expect(e.do("POST", "/api/v1/tokens", ann.access, map[string]any{"name": "old", "expires_at": time.Now().Add(-time.Hour)}), 422)
	e.expect(e.do("POST", "/api/v1/tokens", ann.access, map[string]any{"name": " "}), 422)

	var created struct {
		ID, Name, Prefix, Token string
		AllowedModels           []string `json:"allowed_models"`
	}
	r := e.expect(e.do("POST", "/api/v1/tokens", ann.access, map[string]any{"name": "laptop", "allowed_models": []string{"oai/*"},
		"expires_at": time.Now().Add(1500 * time.Millisecond)}), 201)
	r.json(t, &created)
	if !regexp.MustCompile(`^llmp_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$`).MatchString(created.Token) ||
		!strings.HasPrefix(created.Token, created.Prefix+"_") || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("created %+v (Cache-Control %q)", created, r.header.Get("Cache-Control"))
	}
	list := e.expect(e.do("GET", "/api/v1/tokens", ann.access, nil), 200)
	if strings.Contains(string(list.body), created.Token) || !strings.Contains(string(list.body), created.Prefix) {
		t.Errorf("the list shows the secret, or not the prefix: %s", list.body)
	}
	if n := e.scalar(`SELECT count(*) FROM api_tokens WHERE secret_hash = sha256($1::bytea)`, []byte(created.Token)); n != 1 {
		t.Error("the token is not stored as its SHA-256")
	}

	models := func(token string) int {
		req, _ := http.NewRequest("GET", e.base+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return e.send(req, nil).status
	}
	if models(created.Token) != 200 {
		t.Fatal("the new token does not work")
	}
	e.expect(e.do("DELETE", "/api/v1/tokens/"+created.ID, bob.access, nil), 404)
	e.waitFor("the token to expire", func() bool { return models(created.Token) == 401 })

	second := e.apiToken(ann, nil)
	if models(second) != 200 {
		t.Fatal("a second token does not work")
	}
	e.expect(e.do("POST", "/api/v1/admin/users/"+ann.userID+"/deactivate", e.admin().access, nil), 200)
	e.waitFor("the deactivated owner's token to stop", func() bool { return models(second) == 401 })
}
