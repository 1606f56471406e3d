package mockprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The Gemini API: POST models/{model}:generateContent returns a GenerateContentResponse;
// :streamGenerateContent?alt=sse streams them as SSE, each with the cumulative usageMetadata so far and the
// last one with the finishReason.

type geminiRequest struct {
	Contents []struct {
		Role  string `json:"role"`
		Parts []struct {
			Text             string           `json:"text"`
			FunctionResponse *json.RawMessage `json:"functionResponse"`
		} `json:"parts"`
	} `json:"contents"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	SystemInstruction *struct {
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"systemInstruction"`
	GenerationConfig *struct {
		Temperature     *float64 `json:"temperature"`
		MaxOutputTokens int      `json:"maxOutputTokens"`
	} `json:"generationConfig"`
}

func (s *Server) geminiGenerate(w http.ResponseWriter, r *http.Request) {
	model, method, _ := cutLast(r.PathValue("call"), ":")
	stream := method == "streamGenerateContent"
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	rec := s.begin(w, r, "gemini", key, func(body []byte, rec *Request) error {
		if method != "generateContent" && !stream {
			return fmt.Errorf("unknown method %q", method)
		}
		if stream && r.URL.Query().Get("alt") != "sse" {
			return fmt.Errorf("the mock streams only with alt=sse")
		}
		var req geminiRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return err
		}
		rec.Model, rec.Stream = model, stream
		if req.SystemInstruction != nil {
			for _, p := range req.SystemInstruction.Parts {
				rec.System += p.Text
			}
		}
		for _, c := range req.Contents {
			var text strings.Builder
			role := c.Role
			for _, p := range c.Parts {
				text.WriteString(p.Text)
				if p.FunctionResponse != nil {
					role = "tool" // a tool's result, as toolCallFor sees one
				}
			}
			rec.Messages = append(rec.Messages, Message{Role: role, Content: text.String()})
		}
		for _, t := range req.Tools {
			for _, f := range t.FunctionDeclarations {
				rec.Tools = append(rec.Tools, f.Name)
			}
		}
		if g := req.GenerationConfig; g != nil {
			rec.Temperature, rec.MaxTokens = g.Temperature, g.MaxOutputTokens
		}
		return nil
	})
	if rec == nil {
		return
	}
	a, e := s.prepare(r, rec)
	if e != nil {
		writeError(w, a, rec, e, geminiError(e))
		return
	}
	if call := toolCallFor(rec); call != nil {
		geminiWriteToolCall(w, a, call)
		return
	}
	st := newStreamer(w, r, a)
	if stream {
		st.stream("text/event-stream", geminiStream{})
		return
	}
	st.complete(func(b []byte, a *answer) []byte {
		return append(appendGeminiResponse(b, a, a.tokens, len(a.tokens), true, nil), '\n')
	})
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

type geminiStream struct{}

func (geminiStream) start(b []byte, _ *answer) []byte { return b }

func (geminiStream) chunk(b []byte, a *answer, tokens []string, sent int, last bool) []byte {
	b = append(b, "data: "...)
	b = appendGeminiResponse(b, a, tokens, sent, last, nil)
	return append(b, "\r\n\r\n"...)
}

// end sends the finish reason in an empty chunk only when there was no text to carry it.
func (p geminiStream) end(b []byte, a *answer) []byte {
	if len(a.tokens) > 0 {
		return b
	}
	return p.chunk(b, a, nil, 0, true)
}

// appendGeminiResponse writes a GenerateContentResponse with tokens as its text, or with a call of a function
// when functionCall (its JSON) is set; sent is the number of tokens so far, for the cumulative usage.
func appendGeminiResponse(b []byte, a *answer, tokens []string, sent int, last bool, functionCall []byte) []byte {
	if functionCall != nil {
		b = append(append(b, `{"candidates":[{"content":{"parts":[{"functionCall":`...), functionCall...)
	} else {
		b = append(b, `{"candidates":[{"content":{"parts":[{"text":`...)
		b = appendString(b, strings.Join(tokens, ""))
	}
	b = append(b, `}],"role":"model"}`...)
	if last {
		reason := "STOP"
		if a.finish == "length" {
			reason = "MAX_TOKENS"
		}
		b = append(b, `,"finishReason":"`+reason+`"`...)
	}
	b = append(b, `,"index":0}]`...)
	if !a.NoUsage {
		b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
		b = appendInt(b, a.promptTokens)
		b = append(b, `,"candidatesTokenCount":`...)
		b = appendInt(b, sent)
		b = append(b, `,"totalTokenCount":`...)
		b = appendInt(b, a.promptTokens+sent+a.ReasoningTokens)
		if a.CachedTokens > 0 {
			b = append(b, `,"cachedContentTokenCount":`...)
			b = appendInt(b, a.CachedTokens)
		}
		if a.ReasoningTokens > 0 {
			b = append(b, `,"thoughtsTokenCount":`...)
			b = appendInt(b, a.ReasoningTokens)
		}
		b = append(b, '}')
	}
	b = append(b, `,"modelVersion":`...)
	b = appendString(b, a.rec.Model)
	b = append(b, `,"responseId":"mock-`...)
	b = appendInt(b, int(a.rec.ID))
	return append(b, `"}`...)
}

// geminiWriteToolCall answers with a functionCall part: streamed, one event with the call, then the final one
// with the finish reason and the counts; not streamed, one response with both.
func geminiWriteToolCall(w http.ResponseWriter, a *answer, call *ToolCall) {
	a.tokens = Tokens(call.Arguments)
	fc, _ := json.Marshal(map[string]any{"name": call.Name, "args": json.RawMessage(call.Arguments)})
	var out []byte
	if a.rec.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		out = append(out, "data: "...)
		out = append(appendGeminiResponse(out, a, nil, 0, false, fc), "\r\n\r\ndata: "...)
		out = append(appendGeminiResponse(out, a, nil, len(a.tokens), true, nil), "\r\n\r\n"...)
	} else {
		w.Header().Set("Content-Type", "application/json")
		out = append(appendGeminiResponse(out, a, nil, len(a.tokens), true, fc), '\n')
	}
	_, _ = w.Write(out) //nolint:gosec // JSON the mock wrote itself, served as JSON or SSE
	a.rec.finish(http.StatusOK)
}

func geminiError(e *mockError) []byte {
	status := map[string]string{
		"auth": "UNAUTHENTICATED", "rate": "RESOURCE_EXHAUSTED", "server": "INTERNAL",
		"invalid": "INVALID_ARGUMENT", "context": "INVALID_ARGUMENT", "notfound": "NOT_FOUND",
	}[e.kind]
	if e.status == http.StatusForbidden {
		status = "PERMISSION_DENIED"
	}
	out, _ := json.Marshal(map[string]any{"error": map[string]any{"code": e.status, "message": e.message, "status": status}})
	return out
}

func (s *Server) geminiModels(w http.ResponseWriter, _ *http.Request) {
	models := make([]map[string]any, len(s.cfg.Models))
	for i, m := range s.cfg.Models {
		models[i] = map[string]any{
			"name": "models/" + m, "displayName": m, "version": "001",
			"supportedGenerationMethods": []string{"generateContent", "countTokens"},
		}
	}
	writeJSON(w, map[string]any{"models": models})
}
