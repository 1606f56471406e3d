// Package provider talks to LLM providers: one adapter per wire protocol (OpenAI chat completions, Anthropic
// Messages, Gemini generateContent, Ollama /api/chat, and OpenAI-compatible servers), a key pool that picks
// keys by weight and health, and the shared HTTP transport they use.
//
// Adapters stream in the caller's goroutine: Stream calls emit for every upstream chunk and returns when the
// upstream answer ends, the context is cancelled or a timeout fires. Chunks are handed over as bytes and only
// the fields metering needs (text, usage, finish reason) are sniffed out of them, without a full JSON decode.
// Usage is normalised across providers (see Usage); when a provider reports none, or the stream was cut, an
// estimate marked as such is returned. Errors are *Error values that never contain the API key or the
// upstream response body.
package provider

import (
	"context"
	"time"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	// Role is RoleSystem, RoleUser, RoleAssistant or RoleTool.
	Role string
	// Content is the turn's text.
	Content string
	// ToolCalls are the tools an assistant turn called.
	ToolCalls []ToolCall
	// ToolCallID is the call whose result a RoleTool turn carries.
	ToolCallID string
}

// Call is one request to a provider.
type Call struct {
	// Model is the upstream model name (the configured model's upstreamName, or its name).
	Model string
	// System is the system prompt. System messages inside Messages are added to it for the providers that
	// take the system prompt apart from the turns (Anthropic, Gemini).
	System string
	// Messages are the conversation's turns, oldest first.
	Messages []Message
	// Temperature is sent when not nil.
	Temperature *float64
	// MaxTokens bounds the answer's length when positive. Anthropic requires a bound: DefaultMaxTokens is sent
	// when MaxTokens is zero.
	MaxTokens int
	// TopP (nucleus sampling) and Stop (sequences that end the answer) are sent when set. Seed is sent to the
	// providers that take one (Gemini, Ollama); Anthropic has none, and callers refuse it for Anthropic.
	TopP *float64
	Stop []string
	Seed *int64
	// Tools are the functions the model may call, and ToolChoice whether and which it must (only for the
	// provider types that TakesTools).
	Tools      []Tool
	ToolChoice ToolChoice
	// Key is the API key. Provider.Stream sets it from the key pool; it may be empty for servers without
	// authentication (a local Ollama or vLLM).
	Key string
	// Raw is an OpenAI chat-completions request body to forward as it is (tools, response_format and every
	// other OpenAI parameter pass through). Only the OpenAI and OpenAICompatible adapters honour it: they
	// replace "model" with Model, set "stream" and "stream_options.include_usage", and bound the answer by
	// MaxTokens when it is positive; System, Messages and Temperature are then ignored except for estimating
	// usage. Other adapters ignore Raw.
	Raw []byte
	// PromptTokens is the caller's estimate of the prompt's tokens: the usage recorded when the provider
	// reports none. Zero: estimated from the call when it is sent.
	PromptTokens int64
	// Flush, when set, lets a streamed call's emit leave events in its writer's buffer: the stream calls
	// Flush before each read of the upstream that follows emitted events, as that read may wait for the
	// network. Events that arrived together go out together (one write instead of one per event), and none
	// waits for the upstream. A Flush error ends the stream with that error. The adapters ignore it when
	// not streaming.
	Flush func() error
}

// DefaultMaxTokens is the answer bound sent to providers that require one when the call sets none.
const DefaultMaxTokens = 4096

// Event is one upstream chunk of a streamed answer.
type Event struct {
	// Text is the chunk's answer text; it is empty for chunks that carry only a role, a finish reason, tool
	// calls or usage.
	Text string
	// Raw is the chunk's JSON payload exactly as the upstream sent it (the SSE data or NDJSON line). It is
	// only valid during the emit call: copy it to keep it. An OpenAI-compatible pass-through writes it to its
	// client as it is.
	Raw []byte
	// UsageOnly is true for a chunk that carries usage and no choices: the final chunk that
	// stream_options.include_usage asks for. A pass-through whose client did not ask for usage skips it.
	UsageOnly bool
	// ToolCalls are tool calls that arrived whole in this chunk (translated protocols); ToolIndex is the
	// first one's position among the answer's calls.
	ToolCalls []ToolCall
	ToolIndex int
}

// Usage is normalised token usage. Every count is a total of its kind: PromptTokens includes the cached and
// cache-write prompt tokens, CompletionTokens includes the reasoning tokens, whatever the provider's own
// convention (Anthropic reports cached input apart from input_tokens; Gemini reports thoughts apart from
// candidates).
type Usage struct {
	PromptTokens int64
	// CachedPromptTokens were read from the provider's prompt cache (billed at the cached-input price).
	CachedPromptTokens int64
	// CacheWriteTokens were written to the provider's prompt cache (Anthropic cache_creation_input_tokens).
	CacheWriteTokens int64
	CompletionTokens int64
	// ReasoningTokens were spent on hidden reasoning ("thinking").
	ReasoningTokens int64
	// Estimated is true when any count is an estimate rather than the provider's report: the provider
	// reported no usage, or the stream ended before the report arrived.
	Estimated bool
}

// TotalTokens is the prompt plus the completion.
func (u Usage) TotalTokens() int64 { return u.PromptTokens + u.CompletionTokens }

// Finish reasons, normalised across providers.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// Result is the outcome of a call. Stream and Complete return it even with an error: it then holds what had
// arrived (the partial text, the usage so far or an estimate), which is what gets stored and metered.
type Result struct {
	// Text is the answer text.
	Text string
	// ToolCalls are the tools the answer called (translated protocols; OpenAI's are in Raw or the chunks).
	ToolCalls []ToolCall
	// Usage is the provider-reported usage, or an estimate (Usage.Estimated).
	Usage Usage
	// FinishReason is FinishStop, FinishLength, FinishToolCalls, FinishContentFilter, the provider's own
	// reason when it has no equivalent, or empty when the answer did not finish.
	FinishReason string
	// Model is the model name the upstream reported, when it did.
	Model string
	// Raw is the upstream response body of a non-streamed OpenAI or OpenAICompatible call, for pass-through.
	Raw []byte
	// TimeToFirstByte is the time until the upstream's response headers arrived.
	TimeToFirstByte time.Duration
	// TimeToFirstToken is the time until the first answer text arrived; zero when none did.
	TimeToFirstToken time.Duration
	// Latency is the time the whole call took.
	Latency time.Duration
	// KeyID identifies the pool key that served the call (Provider only; empty without a pool).
	KeyID string
	// Attempts is the number of keys tried (Provider only).
	Attempts int
}

// Adapter speaks one provider's wire protocol. Implementations are safe for concurrent use.
type Adapter interface {
	// Stream sends call as a streamed request and calls emit, in order and in the caller's goroutine, for
	// every chunk of an OpenAI-protocol stream (so that a pass-through can forward each one) and for the
	// chunks with answer text of the other protocols. It stops at the first error emit returns and returns
	// that error.
	Stream(ctx context.Context, call *Call, emit func(Event) error) (Result, error)
	// Complete sends call as a non-streamed request.
	Complete(ctx context.Context, call *Call) (Result, error)
	// Models lists the model names the provider offers to key.
	Models(ctx context.Context, key string) ([]string, error)
}
