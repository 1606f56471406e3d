package apiserver_test

import (
	"strings"
	"testing"
)

// TestOwnershipSweep: user B gets 404 for every id-bearing endpoint on user A's resources — conversations,
// messages (send, regenerate, edit, delete from here, stop), tags and A's own provider keys — and A's
// resources are unchanged afterwards; no provider was called and nothing was metered.
func TestOwnershipSweep(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	a := e.register("alice")
	b := e.register("bobby")
	var tag struct {
		ID string `json:"id"`
	}
	e.expect(e.do("POST", "/api/v1/tags", a.access, map[string]string{"name": "private"}), 201).json(t, &tag)
	conv := e.createConversation(a.access, map[string]any{"title": "Secret", "model": "oai/mock-chat", "tag_ids": []string{tag.ID}})
	question := e.addMessage(a.userID, conv.ID, "user", "my secret plan")
	answer := e.addMessage(a.userID, conv.ID, "assistant", "keep it secret")
	var key struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	e.expect(e.do("POST", "/api/v1/keys", a.access, map[string]any{"name": "My Ollama", "provider_type": "Ollama",
		"base_url": e.mockURL + "/ollama", "api_key": "sk-alice-own-0123456789", "models": []string{"mock-chat"}}), 201).json(t, &key)
	var bTag struct {
		ID string `json:"id"`
	}
	e.expect(e.do("POST", "/api/v1/tags", b.access, map[string]string{"name": "mine"}), 201).json(t, &bTag)
	bConv := e.createConversation(b.access, map[string]any{"model": "oai/mock-chat"})
	msgs := "/api/v1/conversations/" + conv.ID + "/messages/"
	bMsgs := "/api/v1/conversations/" + bConv.ID + "/messages/"

	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/conversations/" + conv.ID, nil},
		{"PATCH", "/api/v1/conversations/" + conv.ID, map[string]string{"title": "pwned"}},
		{"DELETE", "/api/v1/conversations/" + conv.ID, nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/messages", nil},
		{"POST", "/api/v1/conversations/" + conv.ID + "/messages", map[string]string{"content": "hi"}},
		{"POST", "/api/v1/conversations/" + conv.ID + "/messages", map[string]any{"content": "hi", "stream": false}},
		{"POST", msgs + answer.ID + "/regenerate", nil},
		{"POST", msgs + answer.ID + "/regenerate", map[string]any{"stream": false}},
		{"POST", msgs + question.ID + "/edit", map[string]string{"content": "pwned"}},
		{"POST", msgs + question.ID + "/edit", map[string]any{"content": "pwned", "stream": false}},
		{"DELETE", msgs + question.ID, nil},
		{"DELETE", msgs + answer.ID, nil},
		// A's messages through B's own conversation.
		{"POST", bMsgs + answer.ID + "/regenerate", nil},
		{"POST", bMsgs + question.ID + "/edit", map[string]string{"content": "pwned"}},
		{"DELETE", bMsgs + question.ID, nil},
		{"POST", "/api/v1/conversations/" + conv.ID + "/stop", nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/stats", nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/export", nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/export?format=json", nil},
		{"PUT", "/api/v1/conversations/" + conv.ID + "/tags/" + bTag.ID, nil},
		{"DELETE", "/api/v1/conversations/" + conv.ID + "/tags/" + tag.ID, nil},
		{"PUT", "/api/v1/conversations/" + bConv.ID + "/tags/" + tag.ID, nil},
		{"GET", "/api/v1/conversations?tag_id=" + tag.ID, nil},
		{"GET", "/api/v1/tags/" + tag.ID, nil},
		{"PATCH", "/api/v1/tags/" + tag.ID, map[string]string{"name": "pwned"}},
		{"DELETE", "/api/v1/tags/" + tag.ID, nil},
		{"POST", "/api/v1/conversations", map[string]any{"model": "oai/mock-chat", "tag_ids": []string{tag.ID}}},
		{"PATCH", "/api/v1/keys/" + key.ID, map[string]string{"name": "pwned"}},
		{"DELETE", "/api/v1/keys/" + key.ID, nil},
		{"POST", "/api/v1/keys/" + key.ID + "/test", nil},
	}
	for _, c := range calls {
		// The resource's 404, not the router's: a mistyped path must not pass.
		if r := e.do(c.method, c.path, b.access, c.body); r.status != 404 || strings.Contains(string(r.body), "no such endpoint") {
			t.Errorf("%s %s %v as another user = %d %s, want 404", c.method, c.path, c.body, r.status, truncate(r.body))
		}
	}

	var got convBody
	e.expect(e.do("GET", "/api/v1/conversations/"+conv.ID, a.access, nil), 200).json(t, &got)
	if got.Title != "Secret" || len(got.Tags) != 1 || got.MessageCount != 2 {
		t.Errorf("A's conversation changed: %+v", got)
	}
	if m := e.messages(a, conv.ID); len(m) != 2 || m[0].ID != question.ID || m[0].Content != "my secret plan" ||
		m[1].ID != answer.ID || m[1].Content != "keep it secret" {
		t.Errorf("A's messages changed: %+v", m)
	}
	var keys struct {
		Items []struct{ ID, Name string }
	}
	e.expect(e.do("GET", "/api/v1/keys", a.access, nil), 200).json(t, &keys)
	if len(keys.Items) != 1 || keys.Items[0].ID != key.ID || keys.Items[0].Name != "My Ollama" {
		t.Errorf("A's keys changed: %+v", keys.Items)
	}
	if n := len(e.mock.Requests()); n != 0 {
		t.Errorf("the provider was called %d times for another user's resources", n)
	}
	e.meter.mu.Lock()
	reserved := len(e.meter.requests)
	e.meter.mu.Unlock()
	if reserved != 0 {
		t.Errorf("%d calls metered for another user's resources", reserved)
	}
	var page convPage
	e.expect(e.do("GET", "/api/v1/conversations", b.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != bConv.ID {
		t.Errorf("B's list = %+v", page.Items)
	}
}
