package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestUserKeys: a user adds their own keys, tests them, chats with their models and sees them in the model
// listing; nobody else can; the secret never comes back in any answer or log line; a key the provider
// rejects tests as failed with a clear message.
func TestUserKeys(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s, other := e.register("kai"), e.register("lea")
	mockURL := e.mockURL
	const secret = "sk-user-own-secret-abcdef987654"
	const badSecret = "sk-user-revoked-secret-0000111122"
	var bodies []string
	record := func(r resp) resp { bodies = append(bodies, string(r.body)); return r }

	r := record(e.expect(e.do("POST", "/api/v1/keys", s.access, map[string]any{
		"name": "My Ollama", "provider_type": "Ollama", "base_url": mockURL + "/ollama", "api_key": secret,
		"models": []any{"mock-chat", map[string]any{"name": "mock-fast", "pricing": map[string]string{"input": "1", "output": "4"}}},
	}), 201))
	var key struct {
		ID, Name, Hint string
		Models         []struct{ Name string } `json:"models"`
	}
	r.json(t, &key)
	if key.Hint != "…7654" || len(key.Models) != 2 || key.Models[0].Name != "mock-chat" {
		t.Errorf("created %s", r.body)
	}
	for _, tc := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"name": "x", "provider_type": "OpenAICompatible", "models": []string{"m"}}, "validation_failed"},                   // no base URL
		{map[string]any{"name": "x", "provider_type": "OpenAI", "models": []string{"m"}}, "validation_failed"},                             // no key
		{map[string]any{"name": "x", "provider_type": "Nope", "models": []string{"m"}, "api_key": "k"}, "validation_failed"},               // bad type
		{map[string]any{"name": "My Ollama", "provider_type": "Ollama", "base_url": mockURL, "models": []string{"m"}}, "key_name_taken"},   // same name
		{map[string]any{"name": "y", "provider_type": "Ollama", "base_url": "http://u:p@h", "models": []string{"m"}}, "validation_failed"}, // credentials
		{map[string]any{"name": "z", "provider_type": "OpenAI", "api_key": "k", "models": []any{map[string]any{"name": "m",
			"pricing": map[string]string{"input": "cheap"}}}}, "validation_failed"}, // bad price
	} {
		r := record(e.do("POST", "/api/v1/keys", s.access, tc.body))
		if r.status < 400 || !strings.Contains(string(r.body), `"code":"`+tc.code+`"`) {
			t.Errorf("creating %v: %d %s, want %s", tc.body, r.status, r.body, tc.code)
		}
	}
	r = record(e.expect(e.do("POST", "/api/v1/keys/"+key.ID+"/test", s.access, nil), 200))
	if !strings.Contains(string(r.body), `"ok":true`) || !strings.Contains(string(r.body), "mock-chat") {
		t.Errorf("testing a good key: %s", r.body)
	}
	record(e.expect(e.do("POST", "/api/v1/keys/"+key.ID+"/test", other.access, nil), 404))
	record(e.expect(e.do("GET", "/api/v1/keys", other.access, nil), 200))

	// Chatting with the key's model, priced as the user declared.
	conv := e.conversation(s, "key:"+key.ID+"/mock-fast", "")
	st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "mine"})
	if st.status != 200 || st.text() != mockprovider.ReplyText(chatReply) {
		t.Fatalf("chat with an own key: %d %s", st.status, st.body)
	}
	bodies = append(bodies, string(st.body))
	for _, ev := range st.events {
		bodies = append(bodies, ev.data)
	}
	up := e.mock.LastRequest()
	if up.Key != secret || up.Protocol != "ollama" || up.Model != "mock-fast" {
		t.Errorf("upstream got key %q protocol %s model %s", up.Key, up.Protocol, up.Model)
	}
	set := e.waitSettled(1)[0]
	req := e.meter.requests[0]
	if set.Outcome != metering.OutcomeOK || req.UserKeyID != key.ID || req.Provider != "key:"+key.ID || req.Model != "mock-fast" {
		t.Errorf("metered as %+v / %+v", req, set)
	}
	msgs := e.messages(s, conv)
	if msgs[1].Provider != "key:"+key.ID || msgs[1].Usage == nil || msgs[1].Usage.CostUSD == "0" {
		t.Errorf("stored answer %+v", msgs[1])
	}
	convOther := e.conversation(other, "key:"+key.ID+"/mock-fast", "")
	st = e.stream("/api/v1/conversations/"+convOther+"/messages", other.access, map[string]any{"content": "steal"})
	if st.status != 422 || !strings.Contains(string(st.body), "unknown_model") {
		t.Errorf("another user using the key: %d %s", st.status, st.body)
	}

	// The listing has the key's models after the platform's, for its owner only.
	r = record(e.expect(e.do("GET", "/api/v1/models", s.access, nil), 200))
	if !strings.Contains(string(r.body), `"id":"key:`+key.ID+`/mock-fast","name":"mock-fast","provider":"My Ollama","provider_type":"Ollama","source":"user"`) {
		t.Errorf("models lack the own key's: %s", r.body)
	}
	if r = record(e.expect(e.do("GET", "/api/v1/models", other.access, nil), 200)); strings.Contains(string(r.body), key.ID) {
		t.Error("another user sees the key's models")
	}

	// A key the provider rejects (its error quotes the key, as OpenAI's does): the test says so, without it.
	rejecter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","code":"invalid_api_key"}}`,
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer rejecter.Close()
	r = record(e.expect(e.do("POST", "/api/v1/keys", s.access, map[string]any{
		"name": "Revoked", "provider_type": "OpenAI", "base_url": rejecter.URL + "/v1", "api_key": badSecret, "models": []string{"mock-chat"},
	}), 201))
	var bad struct{ ID string }
	r.json(t, &bad)
	r = record(e.expect(e.do("POST", "/api/v1/keys/"+bad.ID+"/test", s.access, nil), 200))
	if !strings.Contains(string(r.body), `"ok":false`) || !strings.Contains(string(r.body), "rejected your API key") {
		t.Errorf("testing a rejected key: %s", r.body)
	}

	// Updating: rename, replace the secret; the provider type cannot change.
	r = record(e.expect(e.do("PATCH", "/api/v1/keys/"+bad.ID, s.access, map[string]any{"name": "Renewed", "api_key": secret + "-new",
		"base_url": mockURL + "/openai/v1"}), 200))
	if !strings.Contains(string(r.body), `"name":"Renewed"`) || !strings.Contains(string(r.body), `"hint":"…-new"`) {
		t.Errorf("updated %s", r.body)
	}
	record(e.expect(e.do("PATCH", "/api/v1/keys/"+bad.ID, s.access, map[string]any{"provider_type": "Gemini"}), 422))
	r = record(e.expect(e.do("POST", "/api/v1/keys/"+bad.ID+"/test", s.access, nil), 200))
	if !strings.Contains(string(r.body), `"ok":true`) {
		t.Errorf("testing the renewed key: %s", r.body)
	}
	r = record(e.expect(e.do("GET", "/api/v1/keys", s.access, nil), 200))
	var list struct{ Items []json.RawMessage }
	r.json(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("listed %s", r.body)
	}
	e.expect(e.do("DELETE", "/api/v1/keys/"+bad.ID, s.access, nil), 204)
	e.expect(e.do("DELETE", "/api/v1/keys/"+bad.ID, s.access, nil), 404)

	for _, b := range append(bodies, e.logText()) {
		for _, sec := range []string{secret, badSecret, secret + "-new"} {
			if strings.Contains(b, sec) {
				t.Fatalf("a user's key leaked into an answer or a log line: %.200s", b)
			}
		}
	}
}
