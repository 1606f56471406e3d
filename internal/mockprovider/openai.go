package mockprovider

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The OpenAI chat-completions protocol: SSE chunks of "chat.completion.chunk" objects ending in
// "data: [DONE]", with the usage in a last chunk with empty choices when stream_options.include_usage asks
// for it.

type openAIRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64 `json:"temperature"`
	MaxTokens           int      `json:"max_tokens"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
}

// textContent reads a message content that is a string or an array of {"type":"text","text":...} parts.
func textContent(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) {
	includeUsage := false
	rec := s.begin(w, r, "openai", bearer(r), func(body []byte, rec *Request) error {
		var req openAIRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return err
		}
		rec.Model, rec.Stream, rec.Temperature = req.Model, req.Stream, req.Temperature
		rec.MaxTokens = max(req.MaxTokens, req.MaxCompletionTokens)
		for i, m := range req.Messages {
			if i == 0 && m.Role == "system" {
				rec.System = textContent(m.Content)
				continue
			}
			rec.Messages = append(rec.Messages, Message{Role: m.Role, Content: textContent(m.Content)})
		}
		includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		return nil
	})
	if rec == nil {
		return
	}
	a, e := s.prepare(r, rec)
	if e != nil {
		writeError(w, a, rec, e, openAIError(e))
		return
	}
	p := &openAIStream{includeUsage: includeUsage}
	p.prefix = append(p.prefix, `{"id":"chatcmpl-mock-`...)
	p.prefix = appendInt(p.prefix, int(rec.ID))
	p.prefix = append(p.prefix, `","object":"chat.completion.chunk","created":`...)
	p.prefix = appendInt(p.prefix, int(rec.Received.Unix()))
	p.prefix = append(p.prefix, `,"model":`...)
	p.prefix = appendString(p.prefix, rec.Model)
	p.prefix = append(p.prefix, ',')
	st := newStreamer(w, r, a)
	if rec.Stream {
		st.stream("text/event-stream", p)
		return
	}
	st.complete(openAICompletion)
}

type openAIStream struct {
	prefix       []byte // {"id":...,"object":...,"created":...,"model":...,
	includeUsage bool
}

func (p *openAIStream) start(b []byte, _ *answer) []byte {
	b = append(b, "data: "...)
	b = append(b, p.prefix...)
	return append(b, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"...)
}

func (p *openAIStream) chunk(b []byte, _ *answer, tokens []string, _ int, _ bool) []byte {
	b = append(b, "data: "...)
	b = append(b, p.prefix...)
	b = append(b, `"choices":[{"index":0,"delta":{"content":`...)
	b = appendString(b, strings.Join(tokens, ""))
	return append(b, `},"finish_reason":null}]}`+"\n\n"...)
}

func (p *openAIStream) end(b []byte, a *answer) []byte {
	b = append(b, "data: "...)
	b = append(b, p.prefix...)
	b = append(b, `"choices":[{"index":0,"delta":{},"finish_reason":"`+a.finish+`"}]}`+"\n\n"...)
	if p.includeUsage && !a.NoUsage {
		b = append(b, "data: "...)
		b = append(b, p.prefix...)
		b = append(b, `"choices":[],"usage":`...)
		b = appendOpenAIUsage(b, a)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

func appendOpenAIUsage(b []byte, a *answer) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, a.promptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, a.completionTokens())
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, a.promptTokens+a.completionTokens())
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, a.CachedTokens)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, a.ReasoningTokens)
	return append(b, "}}"...)
}

func openAICompletion(b []byte, a *answer) []byte {
	b = append(b, `{"id":"chatcmpl-mock-`...)
	b = appendInt(b, int(a.rec.ID))
	b = append(b, `","object":"chat.completion","created":`...)
	b = appendInt(b, int(a.rec.Received.Unix()))
	b = append(b, `,"model":`...)
	b = appendString(b, a.rec.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendString(b, strings.Join(a.tokens, ""))
	b = append(b, `},"finish_reason":"`+a.finish+`"}]`...)
	if !a.NoUsage {
		b = append(b, `,"usage":`...)
		b = appendOpenAIUsage(b, a)
	}
	return append(b, "}\n"...)
}

func openAIError(e *mockError) []byte {
	typ, code := "invalid_request_error", ""
	switch e.kind {
	case "auth":
		code = "invalid_api_key"
	case "rate":
		typ, code = "requests", "rate_limit_exceeded"
	case "server":
		typ = "server_error"
	case "context":
		code = "context_length_exceeded"
	case "notfound":
		code = "model_not_found"
	}
	body := map[string]any{"error": map[string]any{"message": e.message, "type": typ, "param": nil, "code": nil}}
	if code != "" {
		body["error"].(map[string]any)["code"] = code
	}
	out, _ := json.Marshal(body)
	return out
}

func (s *Server) openAIModels(w http.ResponseWriter, _ *http.Request) {
	data := make([]map[string]any, len(s.cfg.Models))
	for i, m := range s.cfg.Models {
		data[i] = map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"}
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
