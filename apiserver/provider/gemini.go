package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// gemini speaks the Gemini API (generateContent and streamGenerateContent). Its base URL is the host
// ("https://generativelanguage.googleapis.com"); a trailing /v1beta is tolerated. The key travels in the
// x-goog-api-key header, never in the URL.
type gemini struct {
	base string
	http *httpClient
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiRequest struct {
	Contents          []geminiContent   `json:"contents"`
	SystemInstruction *geminiContent    `json:"systemInstruction,omitempty"`
	GenerationConfig  *geminiGeneration `json:"generationConfig,omitempty"`
	Tools             []geminiTool      `json:"tools,omitempty"`
	ToolConfig        *geminiToolConfig `json:"toolConfig,omitempty"`
}

type geminiGeneration struct {
	Temperature     *float64 `json:"temperature,omitempty"`
	TopP            *float64 `json:"topP,omitempty"`
	StopSequences   []string `json:"stopSequences,omitempty"`
	Seed            *int64   `json:"seed,omitempty"`
	MaxOutputTokens int      `json:"maxOutputTokens,omitempty"`
}

// body builds the request: the system prompt goes into systemInstruction (the original app dropped it), the
// assistant's turns have the role "model", and tools are function declarations.
func (a *gemini) body(call *Call) ([]byte, error) {
	system, _ := splitSystem(call)
	req := geminiRequest{Contents: geminiContents(call)}
	req.Tools, req.ToolConfig = geminiTools(call)
	if system != "" {
		req.SystemInstruction = &geminiContent{Parts: []geminiPart{geminiText(system)}}
	}
	gen := geminiGeneration{Temperature: call.Temperature, TopP: call.TopP, StopSequences: call.Stop, Seed: call.Seed,
		MaxOutputTokens: call.MaxTokens}
	if gen.Temperature != nil || gen.TopP != nil || len(gen.StopSequences) > 0 || gen.Seed != nil || gen.MaxOutputTokens > 0 {
		req.GenerationConfig = &gen
	}
	return json.Marshal(req)
}

func (a *gemini) url(model, method string) string {
	model = strings.TrimPrefix(model, "models/")
	return a.base + "/v1beta/models/" + url.PathEscape(model) + ":" + method
}

func (a *gemini) headers(key string) func(http.Header) {
	return func(h http.Header) {
		if key != "" {
			h.Set("X-Goog-Api-Key", key)
		}
	}
}

func (a *gemini) Stream(ctx context.Context, call *Call, emit func(Event) error) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.url(call.Model, "streamGenerateContent?alt=sse"), body, true, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	return x.finish(x.stream(resp, newSSEReader, geminiChunk, emit))
}

// geminiChunk handles one GenerateContentResponse of a stream. Its usageMetadata is cumulative (every chunk
// repeats the totals so far), so each replaces the one before; summing them would over-count.
func geminiChunk(_, data []byte, st *streamState) (Event, bool, bool, error) {
	if jsonGet(data, "error") != nil {
		return Event{}, false, false, streamError(data)
	}
	start := len(st.toolCalls)
	text := st.geminiResponse(data)
	ev := Event{Text: text, Raw: data, ToolCalls: st.toolCalls[start:], ToolIndex: start}
	return ev, text != "" || len(ev.ToolCalls) > 0, false, nil
}

// geminiResponse reads a GenerateContentResponse into the state and returns its answer text: the text parts
// of the first candidate, without "thought" parts (reasoning summaries). Its functionCall parts are the
// answer's tool calls.
func (st *streamState) geminiResponse(data []byte) string {
	candidate := jsonGet(data, "candidates", "0")
	text, parts := "", 0
	jsonEach(jsonGet(candidate, "content", "parts"), func(part []byte) bool {
		if call, ok := geminiToolCall(part); ok {
			st.toolCalls = append(st.toolCalls, call)
		} else if !jsonTrue(jsonGet(part, "thought")) {
			s, _ := jsonString(jsonGet(part, "text"))
			if parts++; parts == 1 {
				text = s
			} else {
				text += s // rare: most chunks have one part
			}
		}
		return true
	})
	if reason, ok := jsonString(jsonGet(candidate, "finishReason")); ok && reason != "" {
		st.finish = geminiFinish(reason)
		if len(st.toolCalls) > 0 && st.finish == FinishStop {
			st.finish = FinishToolCalls // Gemini says STOP after calling tools
		}
	} else if candidate == nil && jsonGet(data, "promptFeedback", "blockReason") != nil {
		st.finish = FinishContentFilter
	}
	if usage := jsonGet(data, "usageMetadata"); len(usage) > 0 && usage[0] == '{' {
		st.geminiUsage(usage)
	}
	st.setModel(data, "modelVersion")
	return text
}

func geminiFinish(reason string) string {
	switch reason {
	case "STOP":
		return FinishStop
	case "MAX_TOKENS":
		return FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return FinishContentFilter
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL":
		return FinishToolCalls
	}
	return strings.ToLower(reason)
}

// geminiUsage reads {"promptTokenCount","cachedContentTokenCount","toolUsePromptTokenCount",
// "candidatesTokenCount","thoughtsTokenCount"}. Gemini counts thoughts apart from candidates but bills both as
// output; Usage's completion includes them.
func (st *streamState) geminiUsage(u []byte) {
	if n, ok := jsonInt(jsonGet(u, "promptTokenCount")); ok {
		tool, _ := jsonInt(jsonGet(u, "toolUsePromptTokenCount"))
		st.usage.PromptTokens = n + tool
		st.usage.CachedPromptTokens, _ = jsonInt(jsonGet(u, "cachedContentTokenCount"))
		st.promptReported = true
	}
	candidates, okC := jsonInt(jsonGet(u, "candidatesTokenCount"))
	thoughts, okT := jsonInt(jsonGet(u, "thoughtsTokenCount"))
	if okC || okT {
		st.usage.CompletionTokens = candidates + thoughts
		st.usage.ReasoningTokens = thoughts
		st.completionReported = true
	}
}

func (a *gemini) Complete(ctx context.Context, call *Call) (Result, error) {
	x := a.http.begin(ctx, call)
	body, err := a.body(call)
	if err != nil {
		return x.finish(err)
	}
	resp, err := a.http.post(x, a.url(call.Model, "generateContent"), body, false, a.headers(call.Key))
	if err != nil {
		return x.finish(err)
	}
	data, err := x.readAll(resp)
	if err != nil {
		return x.finish(err)
	}
	if text := x.state.geminiResponse(data); text != "" {
		x.state.addText(text, time.Since(x.start))
	}
	return x.finish(nil)
}

func (a *gemini) Models(ctx context.Context, key string) ([]string, error) {
	return listModels(ctx, a.http, a.base+"/v1beta/models?pageSize=1000", a.headers(key), func(data []byte) []string {
		var names []string
		jsonEach(jsonGet(data, "models"), func(m []byte) bool {
			generates := false
			jsonEach(jsonGet(m, "supportedGenerationMethods"), func(method []byte) bool {
				generates = string(method) == `"generateContent"`
				return !generates
			})
			if name, ok := jsonString(jsonGet(m, "name")); ok && generates {
				names = append(names, strings.TrimPrefix(name, "models/"))
			}
			return true
		})
		return names
	})
}
