package mockprovider

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Ollama's native API: POST /api/chat streams newline-delimited JSON objects (streaming is the default) and
// reports prompt_eval_count and eval_count in the last one, which has "done":true.

type ollamaRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream  *bool `json:"stream"`
	Options *struct {
		Temperature *float64 `json:"temperature"`
		NumPredict  int      `json:"num_predict"`
	} `json:"options"`
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	rec := s.begin(w, r, "ollama", bearer(r), func(body []byte, rec *Request) error {
		var req ollamaRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return err
		}
		rec.Model, rec.Stream = req.Model, req.Stream == nil || *req.Stream
		for i, m := range req.Messages {
			if i == 0 && m.Role == "system" {
				rec.System = m.Content
				continue
			}
			rec.Messages = append(rec.Messages, Message{Role: m.Role, Content: m.Content})
		}
		if o := req.Options; o != nil {
			rec.Temperature, rec.MaxTokens = o.Temperature, o.NumPredict
		}
		for _, t := range req.Tools {
			rec.Tools = append(rec.Tools, t.Function.Name)
		}
		return nil
	})
	if rec == nil {
		return
	}
	a, e := s.prepare(r, rec)
	if e != nil {
		out, _ := json.Marshal(map[string]string{"error": e.message})
		writeError(w, a, rec, e, out)
		return
	}
	p := ollamaStream{createdAt: rec.Received.UTC().Format(time.RFC3339Nano)}
	if call := toolCallFor(rec); call != nil {
		p.writeToolCall(w, a, call)
		return
	}
	st := newStreamer(w, r, a)
	if rec.Stream {
		st.stream("application/x-ndjson", p)
		return
	}
	st.complete(func(b []byte, a *answer) []byte {
		return p.appendResponse(b, a, strings.Join(a.tokens, ""), true)
	})
}

type ollamaStream struct{ createdAt string }

func (ollamaStream) start(b []byte, _ *answer) []byte { return b }

func (p ollamaStream) chunk(b []byte, a *answer, tokens []string, _ int, _ bool) []byte {
	return p.appendResponse(b, a, strings.Join(tokens, ""), false)
}

func (p ollamaStream) end(b []byte, a *answer) []byte {
	return p.appendResponse(b, a, "", true)
}

// appendResponse writes one ChatResponse line; the last one (done) carries the finish reason and the counts.
func (p ollamaStream) appendResponse(b []byte, a *answer, text string, done bool) []byte {
	b = append(b, `{"model":`...)
	b = appendString(b, a.rec.Model)
	b = append(b, `,"created_at":"`+p.createdAt+`","message":{"role":"assistant","content":`...)
	b = appendString(b, text)
	if !done {
		return append(b, "},\"done\":false}\n"...)
	}
	b = append(b, `},"done":true,"done_reason":"`+a.finish+`","total_duration":1000,"load_duration":0`...)
	if !a.NoUsage {
		b = append(b, `,"prompt_eval_count":`...)
		b = appendInt(b, a.promptTokens)
		b = append(b, `,"eval_count":`...)
		b = appendInt(b, a.completionTokens())
	}
	return append(b, "}\n"...)
}

// writeToolCall answers with a call of the tool: streamed, one line with the call, then the final one with
// the counts; not streamed, one object with both.
func (p ollamaStream) writeToolCall(w http.ResponseWriter, a *answer, call *ToolCall) {
	a.tokens = Tokens(call.Arguments)
	msg := map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{
		"function": map[string]any{"name": call.Name, "arguments": json.RawMessage(call.Arguments)}}}}
	final := p.appendResponse(nil, a, "", true)
	var out []byte
	if a.rec.Stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		line, _ := json.Marshal(map[string]any{"model": a.rec.Model, "created_at": p.createdAt, "message": msg, "done": false})
		out = append(append(line, '\n'), final...)
	} else {
		w.Header().Set("Content-Type", "application/json")
		var obj map[string]any
		_ = json.Unmarshal(final, &obj)
		obj["message"] = msg
		out, _ = json.Marshal(obj)
	}
	_, _ = w.Write(out) //nolint:gosec // JSON the mock wrote itself, served as JSON or NDJSON
	a.rec.finish(http.StatusOK)
}

func (s *Server) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	models := make([]map[string]any, len(s.cfg.Models))
	for i, m := range s.cfg.Models {
		models[i] = map[string]any{
			"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 0,
			"digest": "0000000000000000000000000000000000000000000000000000000000000000", "details": map[string]any{},
		}
	}
	writeJSON(w, map[string]any{"models": models})
}
