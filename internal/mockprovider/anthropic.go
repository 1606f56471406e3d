package mockprovider

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Anthropic Messages protocol: named SSE events message_start (with the input usage),
// content_block_start, content_block_delta (text), content_block_stop, message_delta (stop reason and the
// cumulative output usage) and message_stop. A call of a tool is a tool_use block, whose input a stream
// sends in fragments (input_json_delta), with the stop reason tool_use.

type anthropicRequest struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	Temperature *float64 `json:"temperature"`
	Stream      bool     `json:"stream"`
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = bearer(r) // the SDK's API version 2026-10-21 sends the key as a bearer token
	}
	rec := s.begin(w, r, "anthropic", key, func(body []byte, rec *Request) error {
		var req anthropicRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return err
		}
		if req.MaxTokens <= 0 {
			return errors.New("max_tokens: field required")
		}
		if r.Header.Get("Anthropic-Version") == "" {
			return errors.New("anthropic-version: header is required")
		}
		rec.Model, rec.Stream, rec.Temperature, rec.MaxTokens = req.Model, req.Stream, req.Temperature, req.MaxTokens
		if len(req.System) > 0 {
			rec.System = textContent(req.System)
		}
		for _, m := range req.Messages {
			rec.Messages = append(rec.Messages, anthropicTurn(m.Role, m.Content))
		}
		for _, t := range req.Tools {
			rec.Tools = append(rec.Tools, t.Name)
		}
		return nil
	})
	if rec == nil {
		return
	}
	a, e := s.prepare(r, rec)
	if e != nil {
		writeError(w, a, rec, e, anthropicError(e))
		return
	}
	if call := toolCallFor(rec); call != nil {
		writeAnthropicToolCall(w, a, call)
		return
	}
	st := newStreamer(w, r, a)
	if rec.Stream {
		st.stream("text/event-stream", anthropicStream{})
		return
	}
	st.complete(anthropicMessage)
}

type anthropicStream struct{}

func (anthropicStream) start(b []byte, a *answer) []byte {
	b = append(b, "event: message_start\ndata: "...)
	b = appendAnthropicMessage(b, a, false)
	b = append(b, "\n\nevent: content_block_start\n"+
		`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`+"\n\n"+
		"event: ping\n"+`data: {"type": "ping"}`+"\n\n"...)
	return b
}

func (anthropicStream) chunk(b []byte, _ *answer, tokens []string, _ int, _ bool) []byte {
	b = append(b, "event: content_block_delta\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`...)
	b = appendString(b, strings.Join(tokens, ""))
	return append(b, "}}\n\n"...)
}

func (anthropicStream) end(b []byte, a *answer) []byte {
	b = append(b, "event: content_block_stop\n"+`data: {"type":"content_block_stop","index":0}`+"\n\n"...)
	b = append(b, "event: message_delta\n"+`data: {"type":"message_delta","delta":{"stop_reason":"`...)
	b = append(b, anthropicStop(a)...)
	b = append(b, `","stop_sequence":null}`...)
	if !a.NoUsage {
		b = append(b, `,"usage":{"output_tokens":`...)
		b = appendAnthropicOutput(b, a)
	}
	return append(b, "}\n\nevent: message_stop\n"+`data: {"type":"message_stop"}`+"\n\n"...)
}

func anthropicStop(a *answer) string {
	switch a.finish {
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	}
	return "end_turn"
}

// appendAnthropicMessage writes a Message object: empty with the input usage at the start of a stream
// (complete=false), or whole.
func appendAnthropicMessage(b []byte, a *answer, complete bool) []byte {
	if !complete {
		b = append(b, `{"type":"message_start","message":`...)
	}
	b = append(b, `{"id":"msg_mock_`...)
	b = appendInt(b, int(a.rec.ID))
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = appendString(b, a.rec.Model)
	if complete {
		b = append(b, `,"content":[{"type":"text","text":`...)
		b = appendString(b, strings.Join(a.tokens, ""))
		b = append(b, `}],"stop_reason":"`+anthropicStop(a)+`","stop_sequence":null`...)
	} else {
		b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null`...)
	}
	if !a.NoUsage {
		// Anthropic's input_tokens excludes the tokens read from the cache.
		b = append(b, `,"usage":{"input_tokens":`...)
		b = appendInt(b, a.promptTokens-a.CachedTokens)
		b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":`...)
		b = appendInt(b, a.CachedTokens)
		b = append(b, `,"output_tokens":`...)
		if complete {
			b = appendAnthropicOutput(b, a)
		} else {
			b = append(b, "1}"...)
		}
	}
	b = append(b, '}')
	if !complete {
		b = append(b, '}')
	}
	return b
}

// appendAnthropicOutput writes the output count, reasoning included, and its breakdown, and closes the usage.
func appendAnthropicOutput(b []byte, a *answer) []byte {
	b = appendInt(b, a.completionTokens())
	b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
	b = appendInt(b, a.ReasoningTokens)
	return append(b, "}}"...)
}

func anthropicMessage(b []byte, a *answer) []byte {
	return append(appendAnthropicMessage(b, a, true), '\n')
}

// anthropicTurn reads a turn; a user turn made of tool results only is recorded as a "tool" turn with their
// text, so that the mock answers it in text.
func anthropicTurn(role string, content json.RawMessage) Message {
	var blocks []struct {
		Type    string          `json:"type"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(content, &blocks) != nil || len(blocks) == 0 {
		return Message{Role: role, Content: textContent(content)}
	}
	var text strings.Builder
	for _, b := range blocks {
		if b.Type != "tool_result" {
			return Message{Role: role, Content: textContent(content)}
		}
		if len(b.Content) > 0 {
			text.WriteString(textContent(b.Content))
		}
	}
	return Message{Role: "tool", Content: text.String()}
}

// writeAnthropicToolCall answers with a tool_use block: streamed, the events of a real stream, the input in
// fragments; not streamed, one message. Either way the stop reason is tool_use.
func writeAnthropicToolCall(w http.ResponseWriter, a *answer, call *ToolCall) {
	a.tokens, a.finish = Tokens(call.Arguments), "tool_calls"
	id := "toolu_mock_" + strconv.FormatInt(a.rec.ID, 10)
	var out []byte
	if a.rec.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		out = append(out, "event: message_start\ndata: "...)
		out = appendAnthropicMessage(out, a, false)
		start, _ := json.Marshal(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{
			"type": "tool_use", "id": id, "name": call.Name, "input": map[string]any{}}})
		out = append(append(append(out, "\n\nevent: content_block_start\ndata: "...), start...), "\n\n"...)
		for _, part := range fragments(call.Arguments, 3) {
			out = append(out, "event: content_block_delta\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":`...)
			out = appendString(out, part)
			out = append(out, "}}\n\n"...)
		}
		out = anthropicStream{}.end(out, a)
	} else {
		w.Header().Set("Content-Type", "application/json")
		var msg map[string]any
		_ = json.Unmarshal(appendAnthropicMessage(nil, a, true), &msg)
		msg["content"] = []any{map[string]any{"type": "tool_use", "id": id, "name": call.Name, "input": json.RawMessage(call.Arguments)}}
		out, _ = json.Marshal(msg)
	}
	_, _ = w.Write(out) //nolint:gosec // JSON the mock wrote itself, served as JSON or SSE
	a.rec.finish(http.StatusOK)
}

// fragments splits s into n parts of about the same length, cut between characters.
func fragments(s string, n int) []string {
	out := make([]string, 0, n)
	for i := n; i > 1; i-- {
		cut := len(s) / i
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

func anthropicError(e *mockError) []byte {
	typ := map[string]string{
		"auth": "authentication_error", "rate": "rate_limit_error", "server": "api_error",
		"invalid": "invalid_request_error", "context": "invalid_request_error", "notfound": "not_found_error",
	}[e.kind]
	if e.status == http.StatusForbidden {
		typ = "permission_error"
	}
	if e.status == 529 {
		typ = "overloaded_error"
	}
	out, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": e.message}})
	return out
}

func (s *Server) anthropicModels(w http.ResponseWriter, _ *http.Request) {
	data := make([]map[string]string, len(s.cfg.Models))
	for i, m := range s.cfg.Models {
		data[i] = map[string]string{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
	}
	body := map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		body["first_id"], body["last_id"] = data[0]["id"], data[len(data)-1]["id"]
	}
	writeJSON(w, body)
}
