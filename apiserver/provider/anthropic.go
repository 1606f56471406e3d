package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// anthropicVersion is the Messages API version the adapter speaks.
const anthropicVersion = "2023-06-01"

// anthropic speaks the Anthropic Messages API. Its base URL is the host ("https://api.anthropic.com"); a
// trailing /v1 is tolerated.
type anthropic struct {
	base string
	http *httpClient
}

type anthropicRequest struct {
	Model       string               `json:"model"`
	MaxTokens   int                  `json:"max_tokens"`
	System      string               `json:"system,omitempty"`
	Messages    []anthropicMessage   `json:"messages"`
	Tools       []anthropicTool      `json:"tools,omitempty"`
	ToolChoice  *anthropicToolChoice `json:"tool_choice,omitempty"`
	Temperature *float64             `json:"temperature,omitempty"`
	TopP        *float64             `json:"top_p,omitempty"`
	Stop        []string             `json:"stop_sequences,omitempty"`
	Stream      bool                 `json:"stream,omitempty"`
}

func (a *anthropic) body(call *Call, stream bool) ([]byte, error) {
	req := anthropicRequest{Model: call.Model, MaxTokens: call.MaxTokens, Temperature: call.Temperature, TopP: call.TopP,
		Stop: call.Stop, Stream: stream}
	if req.MaxTokens <= 0 {
		req.MaxTokens = DefaultMaxTokens
	}
	system, turns := splitSystem(call)
	req.System, req.Messages = system, anthropicMessages(turns)
	req.Tools, req.ToolChoice = anthropicTools(call)
	return json.Marshal(req)
}

// splitSystem gathers the system prompt and any system messages into one system text, for the protocols that
// take it apart from the turns, and returns the other turns.
func splitSystem(call *Call) (string, []Message) {
	system := []string{}
	if call.System != "" {
		system = append(system, call.System)
	}
	turns := make([]Message, 0, len(call.Messages))
	for _, m := range call.Messages {
		if m.Role == RoleSystem {
			system = append(system, m.Content)
			continue
		}
		turns = append(turns, m)
	}
	return strings.Join(system, "\n\n"), turns
}

func (a *anthropic) headers(key string) func(http.Header) {
	return func(h http.Header) {
		if key != "" {
			h.Set("X-Api-Key", key)
		}
		h.Set("Anthropic-Version", anthropicVersion)
	}
}

func (a *anthropic) Stream(ctx context.Context, call *Call, emit func(Event) error) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, true)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.base+"/v1/messages", body, true, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	return x.finish(x.stream(resp, newSSEReader, anthropicChunk, emit))
}

// anthropicChunk handles one event of a Messages stream. Usage arrives in two parts: message_start carries
// the input tokens (and a first output count), message_delta the cumulative output tokens (and, from newer
// API versions, cumulative input counts too): each reported count replaces the one before. A tool_use
// block's input arrives in fragments (input_json_delta); the call is emitted whole when its block stops.
func anthropicChunk(_, data []byte, st *streamState) (Event, bool, bool, error) {
	switch string(jsonGet(data, "type")) { // compared raw: no string is made per chunk
	case `"content_block_delta"`:
		if string(jsonGet(data, "delta", "type")) == `"input_json_delta"` {
			st.anthropicInputDelta(data)
		} else if text, ok := jsonString(jsonGet(data, "delta", "text")); ok && text != "" {
			return Event{Text: text, Raw: data}, true, false, nil
		}
	case `"content_block_start"`:
		st.anthropicBlockStart(data)
	case `"content_block_stop"`:
		ev, ok := st.anthropicBlockStop(data)
		return ev, ok, false, nil
	case `"message_start"`:
		msg := jsonGet(data, "message")
		st.setModel(msg, "model")
		st.anthropicUsage(jsonGet(msg, "usage"), false)
	case `"message_delta"`:
		if reason, ok := jsonString(jsonGet(data, "delta", "stop_reason")); ok {
			st.finish = anthropicFinish(reason)
		}
		st.anthropicUsage(jsonGet(data, "usage"), true)
	case `"message_stop"`:
		if st.finish == "" {
			st.finish = FinishStop
		}
		return Event{}, false, true, nil
	case `"error"`:
		return Event{}, false, false, streamError(data)
	}
	return Event{}, false, false, nil
}

func anthropicFinish(reason string) string {
	switch reason {
	case "end_turn", "stop_sequence":
		return FinishStop
	case "max_tokens":
		return FinishLength
	case "tool_use":
		return FinishToolCalls
	case "refusal":
		return FinishContentFilter
	}
	return reason
}

// anthropicUsage reads {"input_tokens","cache_read_input_tokens","cache_creation_input_tokens",
// "output_tokens","output_tokens_details":{"thinking_tokens"}}. Anthropic's input_tokens excludes the cached
// and cache-write tokens; Usage includes them. Only a final report's output count (message_delta, or a whole
// message) is the answer's: message_start's is a placeholder.
func (st *streamState) anthropicUsage(u []byte, final bool) {
	if len(u) == 0 || u[0] != '{' {
		return
	}
	if n, ok := jsonInt(jsonGet(u, "input_tokens")); ok {
		st.anthropicInput = n
		st.promptReported = true
	}
	if n, ok := jsonInt(jsonGet(u, "cache_read_input_tokens")); ok {
		st.usage.CachedPromptTokens = n
	}
	if n, ok := jsonInt(jsonGet(u, "cache_creation_input_tokens")); ok {
		st.usage.CacheWriteTokens = n
	}
	st.usage.PromptTokens = st.anthropicInput + st.usage.CachedPromptTokens + st.usage.CacheWriteTokens
	if n, ok := jsonInt(jsonGet(u, "output_tokens_details", "thinking_tokens")); ok {
		st.usage.ReasoningTokens = n
	}
	if n, ok := jsonInt(jsonGet(u, "output_tokens")); ok {
		st.usage.CompletionTokens = n
		st.completionReported = final
	}
}

func (a *anthropic) Complete(ctx context.Context, call *Call) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, false)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.base+"/v1/messages", body, false, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	data, err := x.readAll(resp)
	if err != nil {
		return x.finish(err)
	}
	st := &x.state
	jsonEach(jsonGet(data, "content"), func(block []byte) bool {
		switch typ, _ := jsonString(jsonGet(block, "type")); typ {
		case "text":
			if text, _ := jsonString(jsonGet(block, "text")); text != "" {
				st.addText(text, time.Since(x.start))
			}
		case "tool_use":
			st.toolCalls = append(st.toolCalls, anthropicToolCall(block))
		}
		return true
	})
	if reason, ok := jsonString(jsonGet(data, "stop_reason")); ok {
		st.finish = anthropicFinish(reason)
	}
	st.anthropicUsage(jsonGet(data, "usage"), true)
	st.setModel(data, "model")
	return x.finish(nil)
}

func (a *anthropic) Models(ctx context.Context, key string) ([]string, error) {
	return listModels(ctx, a.http, a.base+"/v1/models?limit=1000", a.headers(key), func(data []byte) []string {
		return collectStrings(jsonGet(data, "data"), "id")
	})
}
