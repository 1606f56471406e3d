package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ollama speaks Ollama's native API (/api/chat, /api/tags), which streams newline-delimited JSON and reports
// prompt_eval_count and eval_count in its last object. Its base URL is the server ("http://ollama:11434"); a
// trailing /api is tolerated. A key, when set, is sent as a bearer token (for servers behind a proxy).
type ollama struct {
	base string
	http *httpClient
}

type ollamaRequest struct {
	Model    string          `json:"model"`
	Messages []ollamaMessage `json:"messages"`
	Tools    []ollamaTool    `json:"tools,omitempty"`
	Stream   bool            `json:"stream"`
	Options  *ollamaOptions  `json:"options,omitempty"`
}

type ollamaOptions struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	Stop        []string `json:"stop,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	NumPredict  int      `json:"num_predict,omitempty"`
}

func (a *ollama) body(call *Call, stream bool) ([]byte, error) {
	req := ollamaRequest{Model: call.Model, Stream: stream, Messages: ollamaMessages(call), Tools: ollamaTools(call)}
	opts := ollamaOptions{Temperature: call.Temperature, TopP: call.TopP, Stop: call.Stop, Seed: call.Seed, NumPredict: call.MaxTokens}
	if opts.Temperature != nil || opts.TopP != nil || len(opts.Stop) > 0 || opts.Seed != nil || opts.NumPredict > 0 {
		req.Options = &opts
	}
	return json.Marshal(req)
}

func (a *ollama) headers(key string) func(http.Header) {
	return func(h http.Header) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	}
}

func (a *ollama) Stream(ctx context.Context, call *Call, emit func(Event) error) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, true)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.base+"/api/chat", body, true, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	return x.finish(x.stream(resp, newNDJSONReader, ollamaChunk, emit))
}

// ollamaChunk handles one line: {"message":{"content":"..."},"done":false}, and at the end
// {"done":true,"done_reason":"stop","prompt_eval_count":N,"eval_count":M}. An {"error":"..."} line is a
// failure in the middle of the stream.
func ollamaChunk(_, data []byte, st *streamState) (Event, bool, bool, error) {
	if jsonGet(data, "error") != nil {
		return Event{}, false, false, &Error{Kind: ErrUpstream}
	}
	start := len(st.toolCalls)
	text, done := st.ollamaResponse(data)
	ev := Event{Text: text, Raw: data, ToolCalls: st.toolCalls[start:], ToolIndex: start}
	return ev, text != "" || len(ev.ToolCalls) > 0, done, nil
}

// ollamaResponse reads one chat response object into the state and returns its text and whether it is the
// last one.
func (st *streamState) ollamaResponse(data []byte) (string, bool) {
	text, _ := jsonString(jsonGet(data, "message", "content"))
	st.toolCalls = append(st.toolCalls, ollamaToolCalls(data)...)
	st.setModel(data, "model")
	if !jsonTrue(jsonGet(data, "done")) {
		return text, false
	}
	st.finish = FinishStop
	if reason, ok := jsonString(jsonGet(data, "done_reason")); ok && reason != "" {
		st.finish = reason // "stop" or "length", as normalised
	}
	if len(st.toolCalls) > 0 && st.finish == FinishStop {
		st.finish = FinishToolCalls // Ollama says "stop" after calling tools
	}
	if n, ok := jsonInt(jsonGet(data, "prompt_eval_count")); ok {
		st.usage.PromptTokens = n
		st.promptReported = true
	}
	if n, ok := jsonInt(jsonGet(data, "eval_count")); ok {
		st.usage.CompletionTokens = n
		st.completionReported = true
	}
	return text, true
}

func (a *ollama) Complete(ctx context.Context, call *Call) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, false)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.base+"/api/chat", body, false, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	data, err := x.readAll(resp)
	if err != nil {
		return x.finish(err)
	}
	if text, _ := x.state.ollamaResponse(data); text != "" {
		x.state.addText(text, time.Since(x.start))
	}
	return x.finish(nil)
}

func (a *ollama) Models(ctx context.Context, key string) ([]string, error) {
	return listModels(ctx, a.http, a.base+"/api/tags", a.headers(key), func(data []byte) []string {
		return collectStrings(jsonGet(data, "models"), "name")
	})
}
