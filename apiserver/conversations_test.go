package apiserver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/model"
)

type convBody struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Model        string `json:"model"`
	SystemPrompt string `json:"system_prompt"`
	MessageCount int    `json:"message_count"`
	Preview      string `json:"preview"`
	Tags         []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"tags"`
}

type convPage struct {
	Items      []convBody `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// addMessage stores a message as the chat service will, through the store.
func (e *env) addMessage(userID, convID, role, content string) model.Message {
	e.t.Helper()
	m := model.Message{ConversationID: convID, Role: role, Content: content}
	if role == model.MessageRoleAssistant {
		m.Model, m.Provider, m.FinishReason = "gpt-test", "mock", "stop"
		m.Usage = &model.Usage{PromptTokens: 12, CompletionTokens: 3, CostMicros: 1500}
	}
	if err := e.srv.DB.AppendMessage(context.Background(), userID, &m); err != nil {
		e.t.Fatalf("AppendMessage: %v", err)
	}
	return m
}

func (e *env) createConversation(token string, body map[string]any) convBody {
	e.t.Helper()
	var c convBody
	e.expect(e.do("POST", "/api/v1/conversations", token, body), 201).json(e.t, &c)
	return c
}

func TestConversationsAndTags(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.register("erin")

	var work, home struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	e.expect(e.do("POST", "/api/v1/tags", s.access, map[string]string{"name": "work", "color": "#00ff00"}), 201).json(t, &work)
	e.expect(e.do("POST", "/api/v1/tags", s.access, map[string]string{"name": "Home"}), 201).json(t, &home)
	e.expect(e.do("POST", "/api/v1/tags", s.access, map[string]string{"name": "WORK"}), 409)
	e.expect(e.do("POST", "/api/v1/tags", s.access, map[string]string{"name": "x", "color": "red"}), 422)
	e.expect(e.do("POST", "/api/v1/tags", s.access, map[string]string{"name": " "}), 422)

	a := e.createConversation(s.access, map[string]any{"model": "gpt-test", "system_prompt": "Be brief.", "tag_ids": []string{work.ID}})
	if a.Title != "New conversation" || len(a.Tags) != 1 || a.Tags[0].Name != "work" || a.SystemPrompt != "Be brief." {
		t.Errorf("created = %+v", a)
	}
	b := e.createConversation(s.access, map[string]any{"title": "Second", "model": "claude-test"})
	c := e.createConversation(s.access, map[string]any{"title": "Third", "model": "gemini-test"})
	e.expect(e.do("POST", "/api/v1/conversations", s.access, map[string]any{"title": "x"}), 422)
	e.expect(e.do("POST", "/api/v1/conversations", s.access, map[string]any{"model": "m", "title": strings.Repeat("t", 201)}), 422)
	e.expect(e.do("POST", "/api/v1/conversations", s.access, map[string]any{"model": "m", "tag_ids": []string{"00000000-0000-0000-0000-000000000000"}}), 404)
	e.expect(e.do("POST", "/api/v1/conversations", s.access, `{"model": ["m"]}`), 400)

	// Activity orders the list: a message in the first conversation moves it to the top.
	e.addMessage(s.userID, a.ID, "user", "How do I parse YAML in Go?")
	e.addMessage(s.userID, a.ID, "assistant", "Use sigs.k8s.io/yaml; it converts YAML to JSON first.")
	var page convPage
	e.expect(e.do("GET", "/api/v1/conversations?limit=2", s.access, nil), 200).json(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != a.ID || page.Items[1].ID != c.ID || page.NextCursor == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	if page.Items[0].MessageCount != 2 || !strings.HasPrefix(page.Items[0].Preview, "Use sigs.k8s.io/yaml") {
		t.Errorf("count/preview = %d %q", page.Items[0].MessageCount, page.Items[0].Preview)
	}
	next := page.NextCursor
	page = convPage{}
	e.expect(e.do("GET", "/api/v1/conversations?limit=2&cursor="+next, s.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != b.ID || page.NextCursor != "" {
		t.Errorf("page 2 = %+v", page)
	}

	// Rename, change the model, edit the system prompt; fields left out stay.
	var got convBody
	e.expect(e.do("PATCH", "/api/v1/conversations/"+b.ID, s.access, map[string]any{"title": "Renamed", "system_prompt": "New prompt"}), 200).json(t, &got)
	if got.Title != "Renamed" || got.SystemPrompt != "New prompt" || got.Model != "claude-test" {
		t.Errorf("patched = %+v", got)
	}
	e.expect(e.do("PATCH", "/api/v1/conversations/"+b.ID, s.access, map[string]any{"title": ""}), 422)
	e.expect(e.do("GET", "/api/v1/conversations/"+b.ID, s.access, nil), 200).json(t, &got)
	if got.Title != "Renamed" {
		t.Errorf("get after refused patch = %+v", got)
	}

	// Tags: attach (idempotent), filter by tag, detach, rename, delete.
	e.expect(e.do("PUT", "/api/v1/conversations/"+b.ID+"/tags/"+home.ID, s.access, nil), 204)
	e.expect(e.do("PUT", "/api/v1/conversations/"+b.ID+"/tags/"+home.ID, s.access, nil), 204)
	e.expect(e.do("PUT", "/api/v1/conversations/"+b.ID+"/tags/"+work.ID, s.access, nil), 204)
	e.expect(e.do("GET", "/api/v1/conversations?tag_id="+work.ID, s.access, nil), 200).json(t, &page)
	if len(page.Items) != 2 {
		t.Errorf("conversations tagged work = %d, want 2", len(page.Items))
	}
	e.expect(e.do("DELETE", "/api/v1/conversations/"+b.ID+"/tags/"+work.ID, s.access, nil), 204)
	e.expect(e.do("GET", "/api/v1/conversations/"+b.ID, s.access, nil), 200).json(t, &got)
	if len(got.Tags) != 1 || got.Tags[0].Name != "Home" {
		t.Errorf("tags after detach = %+v", got.Tags)
	}
	e.expect(e.do("GET", "/api/v1/conversations?tag_id=00000000-0000-0000-0000-000000000000", s.access, nil), 404)
	e.expect(e.do("PATCH", "/api/v1/tags/"+home.ID, s.access, map[string]string{"name": "House", "color": "#123456"}), 200).json(t, &home)
	if home.Name != "House" || home.Color != "#123456" {
		t.Errorf("tag = %+v", home)
	}
	e.expect(e.do("PATCH", "/api/v1/tags/"+home.ID, s.access, map[string]string{"name": "work"}), 409)
	var tags struct {
		Items []struct{ Name string } `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/tags", s.access, nil), 200).json(t, &tags)
	if len(tags.Items) != 2 || tags.Items[0].Name != "House" || tags.Items[1].Name != "work" {
		t.Errorf("tags = %+v", tags.Items)
	}
	e.expect(e.do("DELETE", "/api/v1/tags/"+home.ID, s.access, nil), 204)
	e.expect(e.do("GET", "/api/v1/tags/"+home.ID, s.access, nil), 404)
	e.expect(e.do("GET", "/api/v1/conversations/"+b.ID, s.access, nil), 200).json(t, &got)
	if len(got.Tags) != 0 {
		t.Errorf("deleted tag still on conversation: %+v", got.Tags)
	}

	// Messages, paginated oldest first.
	for i := range 3 {
		e.addMessage(s.userID, c.ID, "user", strings.Repeat("m", i+1))
	}
	var msgs struct {
		Items []struct {
			Content string `json:"content"`
			Usage   *struct {
				CostUSD string `json:"cost_usd"`
			} `json:"usage"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	e.expect(e.do("GET", "/api/v1/conversations/"+c.ID+"/messages?limit=2", s.access, nil), 200).json(t, &msgs)
	if len(msgs.Items) != 2 || msgs.Items[0].Content != "m" || msgs.NextCursor == "" {
		t.Fatalf("messages page 1 = %+v", msgs)
	}
	e.expect(e.do("GET", "/api/v1/conversations/"+c.ID+"/messages?limit=2&cursor="+msgs.NextCursor, s.access, nil), 200).json(t, &msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].Content != "mmm" {
		t.Errorf("messages page 2 = %+v", msgs)
	}
	e.expect(e.do("GET", "/api/v1/conversations/"+a.ID+"/messages", s.access, nil), 200).json(t, &msgs)
	if len(msgs.Items) != 2 || msgs.Items[1].Usage == nil || msgs.Items[1].Usage.CostUSD != "0.0015" {
		t.Errorf("assistant usage = %+v", msgs.Items)
	}

	// Sending is the chat service's (chat_test.go); this platform has no provider serving the model.
	if r := e.do("POST", "/api/v1/conversations/"+a.ID+"/messages", s.access, map[string]any{"content": "hi"}); r.status != 422 ||
		r.errCode(t) != "unknown_model" {
		t.Errorf("send = %d %s, want 422 unknown_model", r.status, r.body)
	}

	// Delete.
	e.expect(e.do("DELETE", "/api/v1/conversations/"+c.ID, s.access, nil), 204)
	e.expect(e.do("GET", "/api/v1/conversations/"+c.ID, s.access, nil), 404)
	e.expect(e.do("GET", "/api/v1/conversations/"+c.ID+"/messages", s.access, nil), 404)
}

func TestSearchAndExport(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.register("frank")
	a := e.createConversation(s.access, map[string]any{"title": "Kubernetes notes", "model": "gpt-test", "system_prompt": "You are terse."})
	b := e.createConversation(s.access, map[string]any{"title": "中文", "model": "gpt-test"})
	e.addMessage(s.userID, a.ID, "user", "How do Kubernetes operators reconcile state?")
	e.addMessage(s.userID, a.ID, "assistant", "An operator watches objects and reconciles the cluster toward the spec.")
	e.addMessage(s.userID, b.ID, "user", "请解释一下数据库的索引是如何工作的")

	type hits struct {
		Items []struct {
			ConversationID    string `json:"conversation_id"`
			ConversationTitle string `json:"conversation_title"`
			Role              string `json:"role"`
			Snippet           string `json:"snippet"`
		} `json:"items"`
	}
	var h hits
	e.expect(e.do("GET", "/api/v1/conversations/search?q=reconcile", s.access, nil), 200).json(t, &h)
	// "reconcile" is a whole word in the question only; the answer has "reconciles".
	if len(h.Items) != 1 || h.Items[0].Role != "user" || h.Items[0].ConversationTitle != "Kubernetes notes" {
		t.Errorf("q=reconcile = %+v", h.Items)
	}
	e.expect(e.do("GET", "/api/v1/conversations/search?q=operator+OR+operators", s.access, nil), 200).json(t, &h)
	if len(h.Items) != 2 || !strings.Contains(h.Items[0].Snippet, "operator") {
		t.Errorf("q=operator OR operators = %+v", h.Items)
	}
	e.expect(e.do("GET", "/api/v1/conversations/search?q=索引", s.access, nil), 200).json(t, &h)
	if len(h.Items) != 1 || h.Items[0].ConversationID != b.ID || !strings.Contains(h.Items[0].Snippet, "索引") {
		t.Errorf("q=索引 = %+v", h.Items)
	}
	e.expect(e.do("GET", "/api/v1/conversations/search?q=reconcile&conversation_id="+b.ID, s.access, nil), 200).json(t, &h)
	if len(h.Items) != 0 {
		t.Errorf("search scoped to another conversation found %+v", h.Items)
	}
	e.expect(e.do("GET", "/api/v1/conversations/search?q=", s.access, nil), 422)
	// Another user finds nothing of Frank's.
	other := e.register("grace")
	e.expect(e.do("GET", "/api/v1/conversations/search?q=reconcile", other.access, nil), 200).json(t, &h)
	if len(h.Items) != 0 {
		t.Errorf("another user's search found %+v", h.Items)
	}

	md := e.expect(e.do("GET", "/api/v1/conversations/"+a.ID+"/export", s.access, nil), 200)
	if ct := md.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/markdown") ||
		!strings.Contains(md.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("markdown export headers: %v", md.header)
	}
	for _, want := range []string{"# Kubernetes notes", "## System prompt\n\nYou are terse.", "## User", "## Assistant (gpt-test)", "reconciles the cluster"} {
		if !strings.Contains(string(md.body), want) {
			t.Errorf("markdown export lacks %q:\n%s", want, md.body)
		}
	}
	var export struct {
		Conversation convBody `json:"conversation"`
		Messages     []struct {
			Role, Content string
		} `json:"messages"`
	}
	js := e.expect(e.do("GET", "/api/v1/conversations/"+a.ID+"/export?format=json", s.access, nil), 200)
	if err := json.Unmarshal(js.body, &export); err != nil || export.Conversation.ID != a.ID || len(export.Messages) != 2 {
		t.Errorf("json export = %+v (%v)", export, err)
	}
	e.expect(e.do("GET", "/api/v1/conversations/"+a.ID+"/export?format=pdf", s.access, nil), 400)
}
