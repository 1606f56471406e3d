package apiserver_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// anthropicSent is the part of a Messages request that carries tools, their calls and their results.
type anthropicSent struct {
	ToolChoice json.RawMessage `json:"tool_choice"`
	Tools      json.RawMessage `json:"tools"`
	Messages   []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"` // text, or anthropicBlocks
	} `json:"messages"`
}

// anthropicBlocks are a turn's content blocks (none when its content is plain text).
type anthropicBlocks []struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   string          `json:"content"`
}

func (e *meterEnv) anthropicSent(t *testing.T) anthropicSent {
	t.Helper()
	var sent anthropicSent
	if err := json.Unmarshal(e.mock.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	return sent
}

// TestV1TranslatesToolCallsForAnthropic: with the official OpenAI client, a model on an Anthropic provider
// takes tools, answers with a tool call in OpenAI's shape (streamed and not: id, name, arguments, finish
// reason tool_calls), and takes the tool's result back in the next turn, which reaches Anthropic as a
// tool_result block answering the tool_use block of the assistant's turn; the turns keep alternating.
func TestV1TranslatesToolCallsForAnthropic(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	var sent anthropicSent
	if err := json.Unmarshal(toolCallRoundTrip(t, e, "ant/mock-chat"), &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent.Tools) != `[{"name":"get_weather","input_schema":{"type":"object"}}]` || sent.ToolChoice != nil {
		t.Errorf("Anthropic was offered tools %s, tool choice %s", sent.Tools, sent.ToolChoice)
	}
	roles := []string{}
	for _, m := range sent.Messages {
		roles = append(roles, m.Role)
	}
	var call, result anthropicBlocks
	if !slices.Equal(roles, []string{"user", "assistant", "user"}) || json.Unmarshal(sent.Messages[1].Content, &call) != nil ||
		json.Unmarshal(sent.Messages[2].Content, &result) != nil {
		t.Fatalf("Anthropic got %s", e.mock.LastRequest().Body)
	}
	if len(call) != 1 || call[0].Type != "tool_use" || call[0].ID == "" || call[0].Name != "get_weather" ||
		string(call[0].Input) != toolCallArgs {
		t.Errorf("the assistant's turn reached Anthropic as %+v", call)
	}
	if len(result) != 1 || result[0].Type != "tool_result" || result[0].ToolUseID != call[0].ID || result[0].Content != "sunny" {
		t.Errorf("the tool's result reached Anthropic as %+v", result)
	}

	tok := e.apiToken(e.register("bob"), nil)
	// Parallel calls' results, and the user's next words, make one user turn.
	r := e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":"Let me look.","tool_calls":[
			{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
			{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c1","content":"one"},{"role":"tool","tool_call_id":"c2","content":"two"},
		{"role":"user","content":"and?"}]}`)
	if r.status != 200 {
		t.Fatalf("parallel results: %d %s", r.status, r.body)
	}
	sent = e.anthropicSent(t)
	call, result = nil, nil
	if len(sent.Messages) != 3 || sent.Messages[2].Role != "user" || json.Unmarshal(sent.Messages[1].Content, &call) != nil ||
		json.Unmarshal(sent.Messages[2].Content, &result) != nil {
		t.Fatalf("Anthropic got %s", e.mock.LastRequest().Body)
	}
	if len(call) != 3 || call[0].Type != "text" || call[0].Text != "Let me look." || call[1].ID != "c1" ||
		string(call[1].Input) != `{"a":1}` || call[2].ID != "c2" || call[2].Name != "g" {
		t.Errorf("the assistant's turn reached Anthropic as %+v", call)
	}
	if len(result) != 3 || result[0].ToolUseID != "c1" || result[0].Content != "one" || result[1].ToolUseID != "c2" ||
		result[1].Content != "two" || result[2].Type != "text" || result[2].Text != "and?" {
		t.Errorf("the results reached Anthropic as %+v", result)
	}
}

// TestV1TranslatesToolChoicesForAnthropic: each of OpenAI's tool choices reaches Anthropic as its own, and a
// tool without parameters gets the empty object schema Anthropic requires.
func TestV1TranslatesToolChoicesForAnthropic(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	tok := e.apiToken(e.register("ann"), nil)
	for choice, want := range map[string]string{
		`"auto"`: `{"type":"auto"}`, `"none"`: `{"type":"none"}`, `"required"`: `{"type":"any"}`,
		`{"type":"function","function":{"name":"f"}}`: `{"type":"tool","name":"f"}`,
	} {
		r := e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"}],
			"tools":[{"type":"function","function":{"name":"f","description":"Does f."}}],"tool_choice":`+choice+`}`)
		if r.status != 200 {
			t.Fatalf("tool_choice %s: %d %s", choice, r.status, r.body)
		}
		sent := e.anthropicSent(t)
		if string(sent.ToolChoice) != want || string(sent.Tools) != `[{"name":"f","description":"Does f.","input_schema":{"type":"object"}}]` {
			t.Errorf("tool_choice %s reached Anthropic as %s, tools %s; want %s", choice, sent.ToolChoice, sent.Tools, want)
		}
	}
}
