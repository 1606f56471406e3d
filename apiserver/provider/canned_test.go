package provider_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// Streams that real providers send and the mock does not: filter chunks, reasoning parts, newer usage
// shapes, errors in the middle of a stream.
func TestCannedStreams(t *testing.T) {
	cases := []struct {
		name   string
		typ    string
		body   string
		text   string
		usage  provider.Usage
		finish string
		err    error
	}{
		{
			name: "openai filter chunk without choices (Azure)", typ: config.ProviderOpenAICompatible,
			body: `data: {"choices":[],"prompt_filter_results":[{"prompt_index":0}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}` + "\n\n" +
				`data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n" +
				`data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1}}` + "\n\ndata: [DONE]\n\n",
			text: "Hi", usage: provider.Usage{PromptTokens: 9, CompletionTokens: 1}, finish: provider.FinishStop,
		},
		{
			name: "openai cumulative usage on every chunk, no [DONE]", typ: config.ProviderOpenAICompatible,
			body: `data: {"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}` + "\n\n" +
				`data: {"choices":[{"delta":{"content":"b"},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}` + "\n\n",
			text: "ab", usage: provider.Usage{PromptTokens: 5, CompletionTokens: 2}, finish: provider.FinishToolCalls,
		},
		{
			name: "openai error in the stream", typ: config.ProviderOpenAI,
			body: `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n" +
				`data: {"error":{"message":"The server had an error","type":"server_error","code":"rate_limit_exceeded"}}` + "\n\n",
			text: "a", err: provider.ErrRateLimited,
		},
		{
			name: "anthropic thinking, cumulative input in message_delta", typ: config.ProviderAnthropic,
			body: "event: message_start\n" + `data: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":10,"cache_creation_input_tokens":4,"cache_read_input_tokens":0,"output_tokens":1}}}` + "\n\n" +
				`data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}` + "\n\n" +
				`data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Yes"}}` + "\n\n" +
				`data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":10,"cache_read_input_tokens":6,"output_tokens":20,"output_tokens_details":{"thinking_tokens":15}}}` + "\n\n" +
				`data: {"type":"message_stop"}` + "\n\n",
			text:   "Yes",
			usage:  provider.Usage{PromptTokens: 20, CachedPromptTokens: 6, CacheWriteTokens: 4, CompletionTokens: 20, ReasoningTokens: 15},
			finish: provider.FinishToolCalls,
		},
		{
			name: "anthropic overloaded in the stream", typ: config.ProviderAnthropic,
			body: `data: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}` + "\n\n" +
				"event: error\n" + `data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` + "\n\n",
			err: provider.ErrUpstream,
		},
		{
			name: "gemini thought parts and a blocked prompt", typ: config.ProviderGemini,
			body: `data: {"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"An"},{"text":"swer"}]}}],"usageMetadata":{"promptTokenCount":7,"toolUsePromptTokenCount":2,"thoughtsTokenCount":5}}` + "\r\n\r\n" +
				`data: {"candidates":[{"content":{"parts":[{"text":"."}]},"finishReason":"SAFETY"}],"usageMetadata":{"promptTokenCount":7,"toolUsePromptTokenCount":2,"candidatesTokenCount":3,"thoughtsTokenCount":5}}` + "\r\n\r\n",
			text: "Answer.", usage: provider.Usage{PromptTokens: 9, CompletionTokens: 8, ReasoningTokens: 5}, finish: provider.FinishContentFilter,
		},
		{
			name: "gemini stream cut before a finish reason", typ: config.ProviderGemini,
			body: `data: {"candidates":[{"content":{"parts":[{"text":"An"}]}}]}` + "\n\n",
			text: "An", err: provider.ErrUnavailable,
		},
		{
			name: "ollama error line", typ: config.ProviderOllama,
			body: `{"message":{"content":"a"},"done":false}` + "\n" + `{"error":"model runner has unexpectedly stopped"}` + "\n",
			text: "a", err: provider.ErrUpstream,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			a := newAdapter(t, c.typ, srv.URL, provider.Timeouts{}, newTransport(t))
			call := conversation("m")
			res, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
			if c.err != nil {
				if !errors.Is(err, c.err) || res.Text != c.text {
					t.Errorf("Stream = %q, %v; want %q, %v", res.Text, err, c.text, c.err)
				}
				return
			}
			if err != nil || res.Text != c.text || res.Usage != c.usage || res.FinishReason != c.finish {
				t.Errorf("Stream = %q, %+v, %q, %v; want %q, %+v, %q", res.Text, res.Usage, res.FinishReason, err, c.text, c.usage, c.finish)
			}
		})
	}
}

// TestGeminiToolCalls: parallel calls in the history become functionCall parts of one model turn and their
// results functionResponse parts of one user turn (named after the tool; an object result as it is, text in
// {"result"}); Gemini's functionCall parts come back as tool calls with its id or a made-up one, in the events
// and the result, and its STOP after them as the finish reason tool_calls.
func TestGeminiToolCalls(t *testing.T) {
	var sent []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, `data: {"candidates":[{"content":{"parts":[{"text":"Let me look."}],"role":"model"}}]}`+"\r\n\r\n"+
			`data: {"candidates":[{"content":{"parts":[{"functionCall":{"id":"fc1","name":"lookup","args":{"q":"a"}}},{"functionCall":{"name":"now"}}],"role":"model"}}]}`+"\r\n\r\n"+
			`data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}`+"\r\n\r\n")
	}))
	defer srv.Close()
	a := newAdapter(t, config.ProviderGemini, srv.URL, provider.Timeouts{}, newTransport(t))
	call := provider.Call{Model: "m", Messages: []provider.Message{
		{Role: provider.RoleUser, Content: "Look up a, and the time."},
		{Role: provider.RoleAssistant, ToolCalls: []provider.ToolCall{
			{ID: "c1", Name: "lookup", Arguments: `{"q":"a"}`}, {ID: "c2", Name: "now", Arguments: `{}`}}},
		{Role: provider.RoleTool, ToolCallID: "c1", Content: `{"found":true}`},
		{Role: provider.RoleTool, ToolCallID: "c2", Content: "noon"},
	}, Tools: []provider.Tool{{Name: "lookup", Parameters: json.RawMessage(`{"type":"object","additionalProperties":false}`)}, {Name: "now"}},
		ToolChoice: provider.ToolChoice{Mode: provider.ToolChoiceRequired}}

	var events []provider.Event
	res, err := a.Stream(ctxFor(t), &call, func(ev provider.Event) error {
		if len(ev.ToolCalls) > 0 {
			events = append(events, provider.Event{ToolCalls: ev.ToolCalls, ToolIndex: ev.ToolIndex})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Let me look." || res.FinishReason != provider.FinishToolCalls || len(res.ToolCalls) != 2 ||
		res.ToolCalls[0] != (provider.ToolCall{ID: "fc1", Name: "lookup", Arguments: `{"q":"a"}`}) ||
		res.ToolCalls[1].ID == "" || res.ToolCalls[1].Name != "now" || res.ToolCalls[1].Arguments != "{}" {
		t.Errorf("result %q, %q, %+v", res.Text, res.FinishReason, res.ToolCalls)
	}
	if len(events) != 1 || events[0].ToolIndex != 0 || len(events[0].ToolCalls) != 2 {
		t.Errorf("tool call events %+v, want one with both calls", events)
	}

	var body map[string]any
	if err := json.Unmarshal(sent, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"contents": `[{"parts":[{"text":"Look up a, and the time."}],"role":"user"},` +
			`{"parts":[{"functionCall":{"args":{"q":"a"},"id":"c1","name":"lookup"}},{"functionCall":{"args":{},"id":"c2","name":"now"}}],"role":"model"},` +
			`{"parts":[{"functionResponse":{"id":"c1","name":"lookup","response":{"found":true}}},{"functionResponse":{"id":"c2","name":"now","response":{"result":"noon"}}}],"role":"user"}]`,
		"tools":      `[{"functionDeclarations":[{"name":"lookup","parametersJsonSchema":{"additionalProperties":false,"type":"object"}},{"name":"now"}]}]`,
		"toolConfig": `{"functionCallingConfig":{"mode":"ANY"}}`,
	}
	for field, w := range want {
		if got, _ := json.Marshal(body[field]); string(got) != w {
			t.Errorf("%s = %s\nwant %s", field, got, w)
		}
	}
}

// TestAnthropicToolCalls: a canned Messages stream with text, then two tool_use blocks whose inputs arrive in
// fragments (one has none): each call is emitted whole when its block stops, in order, and the stream ends
// with the finish reason tool_calls.
func TestAnthropicToolCalls(t *testing.T) {
	event := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":12,"output_tokens":1}}}`)+
			event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`)+
			event("content_block_stop", `{"type":"content_block_stop","index":0}`)+
			event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"a\"}"}}`)+
			event("content_block_stop", `{"type":"content_block_stop","index":1}`)+
			event("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}`)+
			event("content_block_stop", `{"type":"content_block_stop","index":2}`)+
			event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}`)+
			event("message_stop", `{"type":"message_stop"}`))
	}))
	defer srv.Close()
	a := newAdapter(t, config.ProviderAnthropic, srv.URL, provider.Timeouts{}, newTransport(t))
	call := provider.Call{Model: "claude", Messages: []provider.Message{{Role: provider.RoleUser, Content: "Look up a, and the time."}},
		Tools: []provider.Tool{{Name: "lookup"}, {Name: "now"}}}
	var events []provider.Event
	res, err := a.Stream(ctxFor(t), &call, func(ev provider.Event) error {
		if len(ev.ToolCalls) > 0 {
			events = append(events, provider.Event{ToolCalls: slices.Clone(ev.ToolCalls), ToolIndex: ev.ToolIndex})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.ToolCall{{ID: "toolu_1", Name: "lookup", Arguments: `{"q":"a"}`}, {ID: "toolu_2", Name: "now", Arguments: "{}"}}
	if res.Text != "Checking." || res.FinishReason != provider.FinishToolCalls || !slices.Equal(res.ToolCalls, want) {
		t.Errorf("result %q, %q, %+v; want the text, tool_calls and %+v", res.Text, res.FinishReason, res.ToolCalls, want)
	}
	if len(events) != 2 || events[0].ToolIndex != 0 || !slices.Equal(events[0].ToolCalls, want[:1]) ||
		events[1].ToolIndex != 1 || !slices.Equal(events[1].ToolCalls, want[1:]) {
		t.Errorf("tool call events %+v, want each call whole, in order", events)
	}
	if res.Usage.PromptTokens != 12 || res.Usage.CompletionTokens != 30 {
		t.Errorf("usage %+v", res.Usage)
	}
}
