package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// openAI speaks the OpenAI chat-completions protocol, for OpenAI itself and for OpenAI-compatible servers
// (vLLM, LocalAI, Ollama's /v1, other gateways). Its base URL includes the version ("https://api.openai.com/v1").
type openAI struct {
	base string
	http *httpClient
	// compatible servers get "max_tokens"; OpenAI itself wants "max_completion_tokens", which its reasoning
	// models require.
	compatible bool
}

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

func (a *openAI) body(call *Call, stream bool) ([]byte, error) {
	if len(call.Raw) > 0 {
		return a.rawBody(call, stream)
	}
	req := openAIRequest{Model: call.Model, Stream: stream, Temperature: call.Temperature}
	if stream {
		req.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if a.compatible {
		req.MaxTokens = call.MaxTokens
	} else {
		req.MaxCompletionTokens = call.MaxTokens
	}
	if call.System != "" {
		req.Messages = append(req.Messages, openAIMessage{Role: RoleSystem, Content: call.System})
	}
	for _, m := range call.Messages {
		req.Messages = append(req.Messages, openAIMessage{Role: m.Role, Content: m.Content})
	}
	return json.Marshal(req)
}

// rawBody forwards a caller's request body with the upstream model name and streaming set, usage asked for
// in streams (the caller drops the usage-only chunk when its client did not ask for it), and the answer
// bounded by call.MaxTokens when it is positive: max_completion_tokens for OpenAI itself (its reasoning
// models require it), max_tokens for compatible servers, and whichever the caller sent. The body is rewritten
// as text, member by member, after a check that it is a JSON object: decoding it into a map and encoding it
// again cost a tenth of a non-streamed call's CPU. The members it sets replace the caller's, every one of
// that name; the others are forwarded as they are.
func (a *openAI) rawBody(call *Call, stream bool) ([]byte, error) {
	raw := call.Raw[skipSpace(call.Raw, 0):]
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, &Error{Kind: ErrBadRequest, cause: errors.New("request body is not a JSON object")}
	}
	model, err := json.Marshal(call.Model)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(raw)+len(model)+96)
	out = append(append(out, `{"model":`...), model...)
	if stream {
		out = append(out, `,"stream":true,"stream_options":{"include_usage":true}`...)
	} else {
		out = append(out, `,"stream":false`...)
	}
	bound := call.MaxTokens > 0
	var hasMax, hasCompletion bool
	jsonMembers(raw, func(key, value []byte) bool {
		switch memberName(key) {
		case "model", "stream", "stream_options":
			return true
		case "max_tokens":
			hasMax = true
			if bound {
				return true
			}
		case "max_completion_tokens":
			hasCompletion = true
			if bound {
				return true
			}
		}
		out = append(append(append(append(out, ','), key...), ':'), value...)
		return true
	})
	if bound {
		if hasMax || (a.compatible && !hasCompletion) {
			out = strconv.AppendInt(append(out, `,"max_tokens":`...), int64(call.MaxTokens), 10)
		}
		if hasCompletion || (!a.compatible && !hasMax) {
			out = strconv.AppendInt(append(out, `,"max_completion_tokens":`...), int64(call.MaxTokens), 10)
		}
	}
	return append(out, '}'), nil
}

// memberName is a raw JSON key (with its quotes) as a string, unescaped.
func memberName(key []byte) string {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1 : len(key)-1])
	}
	s, _ := jsonString(key)
	return s
}

func (a *openAI) headers(key string) func(http.Header) {
	return func(h http.Header) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	}
}

func (a *openAI) Stream(ctx context.Context, call *Call, emit func(Event) error) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, true)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, joinURL(a.base, "/chat/completions"), body, true, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	return x.finish(x.stream(resp, newSSEReader, openAIChunk, emit))
}

// openAIChunk handles one chunk: {"choices":[{"delta":{"content":"..."},"finish_reason":null}],"usage":null}.
// The final chunk that stream_options.include_usage asks for has "choices":[] and the usage; some servers send
// cumulative usage on every chunk, so the last usage seen wins. Chunks without choices are not an error.
func openAIChunk(_, data []byte, st *streamState) (Event, bool, bool, error) {
	if string(data) == "[DONE]" {
		return Event{}, false, true, nil
	}
	ev := Event{Raw: data}
	choice := jsonGet(data, "choices", "0")
	if choice != nil {
		ev.Text, _ = jsonString(jsonGet(choice, "delta", "content"))
		if reason, ok := jsonString(jsonGet(choice, "finish_reason")); ok && reason != "" {
			st.finish = openAIFinish(reason)
		}
	} else if jsonGet(data, "error") != nil {
		return ev, false, false, streamError(data)
	}
	if bytes.Contains(data, usageKey) {
		if usage := jsonGet(data, "usage"); len(usage) > 0 && usage[0] == '{' {
			st.openAIUsage(usage)
			ev.UsageOnly = choice == nil
		}
	}
	st.setModel(data, "model")
	return ev, true, false, nil
}

// usageKey is looked for before the usage is: most chunks have none, and a byte search is cheap.
var usageKey = []byte(`"usage"`)

func openAIFinish(reason string) string {
	if reason == "function_call" {
		return FinishToolCalls
	}
	return reason // stop, length, tool_calls, content_filter
}

// openAIUsage reads {"prompt_tokens","completion_tokens","prompt_tokens_details":{"cached_tokens"},
// "completion_tokens_details":{"reasoning_tokens"}}: prompt tokens include cached ones and completion tokens
// include reasoning ones, as Usage counts them.
func (st *streamState) openAIUsage(u []byte) {
	if n, ok := jsonInt(jsonGet(u, "prompt_tokens")); ok {
		st.usage.PromptTokens = n
		st.promptReported = true
	}
	if n, ok := jsonInt(jsonGet(u, "completion_tokens")); ok {
		st.usage.CompletionTokens = n
		st.completionReported = true
	}
	st.usage.CachedPromptTokens, _ = jsonInt(jsonGet(u, "prompt_tokens_details", "cached_tokens"))
	st.usage.ReasoningTokens, _ = jsonInt(jsonGet(u, "completion_tokens_details", "reasoning_tokens"))
}

// streamError turns an error sent inside a stream ({"error":{...}}, or Anthropic's
// {"type":"error","error":{...}}) into an *Error, keeping only its safe code.
func streamError(data []byte) *Error {
	e := &Error{Kind: ErrUpstream, Code: errorCode(data)}
	switch e.Code {
	case "rate_limit_error", "rate_limit_exceeded", "RESOURCE_EXHAUSTED":
		e.Kind = ErrRateLimited
	case "context_length_exceeded":
		e.Kind = ErrContextWindow
	}
	return e
}

func (a *openAI) Complete(ctx context.Context, call *Call) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call, false)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, joinURL(a.base, "/chat/completions"), body, false, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	data, err := x.readAll(resp)
	if err != nil {
		return x.finish(err)
	}
	st := &x.state
	choice := jsonGet(data, "choices", "0")
	if text, _ := jsonString(jsonGet(choice, "message", "content")); text != "" {
		st.addText(text, time.Since(x.start))
	}
	if reason, ok := jsonString(jsonGet(choice, "finish_reason")); ok {
		st.finish = openAIFinish(reason)
	}
	if usage := jsonGet(data, "usage"); len(usage) > 0 && usage[0] == '{' {
		st.openAIUsage(usage)
	}
	st.setModel(data, "model")
	x.res.Raw = data
	return x.finish(nil)
}

func (a *openAI) Models(ctx context.Context, key string) ([]string, error) {
	return listModels(ctx, a.http, joinURL(a.base, "/models"), a.headers(key), func(data []byte) []string {
		return collectStrings(jsonGet(data, "data"), "id")
	})
}
