package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// OpenAIModels is what /v1 needs of the model registry.
type OpenAIModels interface {
	Resolve(ctx context.Context, userID, id string) (*llm.Model, error)
	Models() []llm.Model
	UserModels(ctx context.Context, userID string) ([]llm.Model, error)
}

// OpenAIMeter is what /v1 needs of the meter.
type OpenAIMeter interface {
	Reserve(ctx context.Context, req metering.Request) (metering.Reservation, error)
	ModelAllowed(c metering.Caller, provider, model string) bool
}

// OpenAI answers the OpenAI-compatible endpoint (/v1) for personal API tokens: the same models, quotas and
// metering as the web chat. Requests for OpenAI and OpenAI-compatible providers are passed through as they
// are (tools, response formats and every other parameter included); the others are translated to the
// provider's protocol and their answers shaped as OpenAI's.
type OpenAI struct {
	models OpenAIModels
	meter  OpenAIMeter
	now    func() time.Time
}

// NewOpenAI returns the /v1 service.
func NewOpenAI(models OpenAIModels, meter OpenAIMeter) *OpenAI {
	return &OpenAI{models: models, meter: meter, now: time.Now}
}

// caller is the meter's view of a token holder.
func caller(h *model.TokenHolder) metering.Caller {
	return metering.Caller{UserID: h.UserID, Username: h.Username, Email: h.Email, Role: h.Role, TokenID: h.TokenID}
}

// OpenAIModel is one entry of GET /v1/models.
type OpenAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ListModels lists the models the token may use: the platform's that its user's quotas allow and its own
// allow-list names, then its user's own keys' models.
func (s *OpenAI) ListModels(ctx context.Context, h *model.TokenHolder) ([]OpenAIModel, error) {
	own, err := s.models.UserModels(ctx, h.UserID)
	if err != nil {
		return nil, err
	}
	out := []OpenAIModel{}
	c := caller(h)
	for _, m := range append(s.models.Models(), own...) {
		if !tokenAllows(h, &m) || (m.UserKeyID == "" && !s.meter.ModelAllowed(c, m.Provider, m.Name)) {
			continue
		}
		out = append(out, OpenAIModel{ID: m.ID, Object: "model", OwnedBy: m.Provider})
	}
	return out, nil
}

// tokenAllows reports whether the token's allow-list (empty: everything) names the model.
func tokenAllows(h *model.TokenHolder, m *llm.Model) bool {
	if len(h.AllowedModels) == 0 {
		return true
	}
	for _, g := range h.AllowedModels {
		if g == m.ID || metering.GlobMatch(g, m.Provider, m.Name) {
			return true
		}
	}
	return false
}

// ChatRequest is a parsed POST /v1/chat/completions body.
type ChatRequest struct {
	// Model is the model id as the client wrote it.
	Model  string
	Stream bool
	// IncludeUsage is stream_options.include_usage: the client wants the final usage chunk.
	IncludeUsage bool
	// MaxTokens is max_completion_tokens or max_tokens; 0 when neither was given.
	MaxTokens   int64
	Temperature *float64
	// TopP, Stop and Seed are translated for providers of other protocols.
	TopP *float64
	Stop []string
	Seed *int64
	// Tools is set when the request uses tools or functions: definitions, tool calls or tool results in its
	// history (only the provider types that provider.TakesTools take them). ToolDefs and ToolChoice are the
	// tools and the choice, read only for the providers whose protocol they are translated to (OpenAI-protocol
	// providers take every kind of tool as it is).
	Tools      bool
	ToolDefs   []provider.Tool
	ToolChoice provider.ToolChoice
	// System and Messages are the conversation as text, for providers of other protocols and for the
	// prompt's estimate.
	System   string
	Messages []provider.Message
	// body is the client's body, forwarded to OpenAI-protocol providers as it is (the provider adapter sets
	// the model, the streaming members and the granted bound on the answer).
	body []byte
	// members are the raw values of the members the API server reads.
	members chatMembers
	// legacyFunctions is set by "functions", "function_call" or a "function" message: OpenAI-protocol
	// providers only.
	legacyFunctions bool
	// toolCallsErr says why a message's tool_calls do not decode, for the providers they are translated for.
	toolCallsErr error
}

// wireMessage is one message of a request body.
type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// chatMembers are the raw values of the members of a chat-completions body that the API server reads (nil
// when absent; the last one when a name repeats, as decoding into a map would give).
type chatMembers struct {
	model, stream, streamOptions, messages, temperature, n, maxTokens, maxCompletionTokens, topP, stop, seed []byte
	tools, toolChoice, functions, functionCall                                                               []byte
	// untranslatable holds the members named in untranslatableParams, in that order.
	untranslatable [len(untranslatableParams)][]byte
}

// untranslatableParams are the OpenAI parameters that providers of other protocols have no equivalent for.
var untranslatableParams = [...]string{"response_format", "logprobs", "top_logprobs", "logit_bias", "prediction", "audio"}

// set keeps the raw value of the member name when it is one the API server reads.
func (m *chatMembers) set(name string, value []byte) {
	switch name {
	case "model":
		m.model = value
	case "stream":
		m.stream = value
	case "stream_options":
		m.streamOptions = value
	case "messages":
		m.messages = value
	case "temperature":
		m.temperature = value
	case "n":
		m.n = value
	case "max_tokens":
		m.maxTokens = value
	case "max_completion_tokens":
		m.maxCompletionTokens = value
	case "top_p":
		m.topP = value
	case "stop":
		m.stop = value
	case "seed":
		m.seed = value
	case "tools":
		m.tools = value
	case "tool_choice":
		m.toolChoice = value
	case "functions":
		m.functions = value
	case "function_call":
		m.functionCall = value
	default:
		if i := slices.Index(untranslatableParams[:], name); i >= 0 {
			m.untranslatable[i] = value
		}
	}
}

// ParseChatRequest reads and checks a chat-completions body. It walks the body's members once and decodes
// only the values it reads; the body is forwarded as it is (decoding it whole into a map and encoding it
// again cost more than the rest of the request's handling).
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	r := &ChatRequest{body: body}
	if !json.Valid(body) || !provider.EachMember(body, func(name string, value []byte) bool {
		r.members.set(name, value)
		return true
	}) {
		return nil, apperr.Invalid("the body must be a JSON object")
	}
	var messages []wireMessage
	var opts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	var n, maxTokens, maxCompletion *int64
	var stop stopSequences
	m := &r.members
	for _, f := range []struct {
		name string
		raw  []byte
		dst  any
	}{{"model", m.model, &r.Model}, {"stream", m.stream, &r.Stream}, {"stream_options", m.streamOptions, &opts},
		{"messages", m.messages, &messages}, {"temperature", m.temperature, &r.Temperature}, {"n", m.n, &n},
		{"max_tokens", m.maxTokens, &maxTokens}, {"max_completion_tokens", m.maxCompletionTokens, &maxCompletion},
		{"top_p", m.topP, &r.TopP}, {"stop", m.stop, &stop}, {"seed", m.seed, &r.Seed}} {
		if f.raw == nil || string(f.raw) == "null" {
			continue
		}
		if err := json.Unmarshal(f.raw, f.dst); err != nil {
			return nil, apperr.Invalid("%s has the wrong type", f.name)
		}
	}
	r.IncludeUsage = opts.IncludeUsage
	r.Stop = stop
	r.legacyFunctions = present(m.functions) || present(m.functionCall)
	r.Tools = present(m.tools) || r.legacyFunctions
	var v apperr.Validation
	v.Check(r.Model != "", "model", "must be set")
	v.Check(r.TopP == nil || (*r.TopP >= 0 && *r.TopP <= 1), "top_p", "must be between 0 and 1")
	v.Check(!slices.Contains(r.Stop, ""), "stop", "sequences must not be empty")
	v.Check(len(messages) > 0, "messages", "must hold at least one message")
	v.Check(n == nil || *n == 1, "n", "only 1 choice per request is supported")
	for _, m := range []*int64{maxTokens, maxCompletion} {
		if m != nil {
			v.Check(*m > 0, "max_tokens", "must be positive")
			if r.MaxTokens == 0 || *m < r.MaxTokens {
				r.MaxTokens = *m
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r.translate(messages)
	return r, nil
}

// stopSequences is "stop": one string or an array of them.
type stopSequences []string

func (s *stopSequences) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// checkTranslatable refuses a request that a provider of another protocol than OpenAI's cannot honour: tools
// it does not take, tool calls whose arguments are not objects, parameters it has no equivalent for.
func (r *ChatRequest) checkTranslatable(m *llm.Model) error {
	if r.toolCallsErr != nil {
		return r.toolCallsErr
	}
	if err := r.parseTools(); err != nil {
		return err
	}
	if r.Tools && (r.legacyFunctions || !provider.TakesTools(m.ProviderType, r.ToolChoice)) {
		return r.toolsRefusal(r.Model, m.ProviderType)
	}
	if err := r.checkToolArguments(); err != nil {
		return err
	}
	if name := r.untranslatable(m.ProviderType); name != "" {
		return apperr.Invalid("model %q is served by a %s provider, which does not take %s", r.Model, m.ProviderType, name)
	}
	return nil
}

// untranslatable names the first parameter of the request that a provider of another protocol than OpenAI's
// cannot honour, or returns "". Such requests are refused rather than answered without it.
func (r *ChatRequest) untranslatable(providerType string) string {
	var format struct {
		Type string `json:"type"`
	}
	if raw := r.members.untranslatable[0]; raw != nil && string(raw) != "null" {
		if json.Unmarshal(raw, &format) != nil || format.Type != "text" {
			return untranslatableParams[0]
		}
	}
	for i, raw := range r.members.untranslatable[1:] {
		if raw != nil && string(raw) != "null" && string(raw) != "false" {
			return untranslatableParams[i+1]
		}
	}
	if r.Seed != nil && providerType == config.ProviderAnthropic {
		return "seed"
	}
	return ""
}

// present reports whether a member was given a value other than null or an empty array.
func present(raw []byte) bool {
	return raw != nil && string(raw) != "null" && string(raw) != "[]"
}

// translate keeps the messages' text, tool calls and tool results: system messages become the system prompt;
// tool results and tool calls mark the request as using tools. Tool calls that do not decode are refused
// only when the request is translated (checkTranslatable); OpenAI-protocol providers get the body as it is.
func (r *ChatRequest) translate(messages []wireMessage) {
	var system []string
	for _, m := range messages {
		text := contentText(m.Content)
		calls, err := toolCalls(m.ToolCalls)
		if err != nil {
			r.toolCallsErr, r.Tools = err, true
		}
		switch m.Role {
		case "system", "developer":
			system = append(system, text)
		case provider.RoleUser, provider.RoleAssistant:
			r.Messages = append(r.Messages, provider.Message{Role: m.Role, Content: text, ToolCalls: calls})
		case provider.RoleTool:
			r.Messages = append(r.Messages, provider.Message{Role: m.Role, Content: text, ToolCallID: m.ToolCallID})
			r.Tools = true
		default:
			r.Tools = true // "function", the legacy form: OpenAI-protocol providers only
			r.legacyFunctions = true
		}
		if len(calls) > 0 {
			r.Tools = true
		}
	}
	r.System = strings.Join(system, "\n\n")
}

// contentText reads a message content: a string, or an array of parts whose text parts are joined.
func contentText(raw json.RawMessage) string {
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
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// promptEstimate is the prompt's size in tokens before the call: the text plus a few tokens of framing per
// message, as provider.EstimateTokens counts.
func (r *ChatRequest) promptEstimate() int64 {
	n := provider.EstimateTokens(r.System) + 3
	for _, m := range r.Messages {
		n += provider.EstimateTokens(m.Content) + 4
	}
	if r.Tools {
		// Tool definitions and calls are part of the prompt too.
		n += provider.EstimateTokens(string(r.members.tools)) + provider.EstimateTokens(string(r.members.functions))
	}
	return n
}

// ChatCall is a reserved /v1 call, ready to send. Stream or Complete must be called once: they send the
// call and settle its reservation, whatever happens.
type ChatCall struct {
	s *OpenAI
	// clientModel is the model id as the client wrote it, and includeUsage whether it asked for the usage
	// chunk (the request itself is not kept while the answer streams).
	clientModel  string
	includeUsage bool
	model        *llm.Model
	res          metering.Reservation
	call         provider.Call
	// id and created name the answer in OpenAI's format.
	id      string
	created int64
}

// Prepare resolves the model for the token's holder, checks the token's allow-list and the quotas, and
// reserves the call. A refusal by a quota is a *metering.QuotaError (already recorded).
func (s *OpenAI) Prepare(ctx context.Context, h *model.TokenHolder, req *ChatRequest) (*ChatCall, error) {
	m, err := s.models.Resolve(ctx, h.UserID, req.Model)
	if err != nil {
		return nil, err
	}
	if !tokenAllows(h, m) {
		return nil, apperr.Forbidden(metering.CodeModelNotAllowed, "this API token may not use model "+strconv.Quote(req.Model))
	}
	openAIProtocol := isOpenAIProtocol(m)
	if !openAIProtocol {
		if err := req.checkTranslatable(m); err != nil {
			return nil, err
		}
	}
	prompt := req.promptEstimate()
	res, err := s.meter.Reserve(ctx, metering.Request{Caller: caller(h), Source: metering.SourceAPI, Provider: m.Provider,
		Model: m.Name, UserKeyID: m.UserKeyID, PromptTokens: prompt, MaxOutputTokens: req.MaxTokens})
	if err != nil {
		return nil, err
	}
	c := &ChatCall{s: s, clientModel: req.Model, includeUsage: req.IncludeUsage, model: m, res: res, id: newCompletionID(),
		created: s.now().Unix()}
	maxOut := res.Grant().MaxOutputTokens
	c.call = provider.Call{Model: m.Upstream, System: req.System, Messages: req.Messages, Temperature: req.Temperature,
		MaxTokens: int(maxOut), TopP: req.TopP, Stop: req.Stop, Seed: req.Seed, Tools: req.ToolDefs, ToolChoice: req.ToolChoice,
		PromptTokens: prompt}
	if openAIProtocol {
		c.call.Raw = req.body
	}
	return c, nil
}

// Grant is what the reservation allows (the counted limits, for rate-limit headers).
func (c *ChatCall) Grant() metering.Grant { return c.res.Grant() }

// Complete sends the call and hands the answer, in OpenAI's format, to deliver: the upstream's own body for
// OpenAI-protocol providers, one built from the result for the others. The call is settled after deliver
// returns, so that writing the books does not delay the answer; it is settled whatever happens.
func (c *ChatCall) Complete(ctx context.Context, deliver func(answer []byte)) error {
	result, err := c.model.Backend.Complete(ctx, c.call)
	defer c.settle(ctx, result, err)
	if err != nil {
		return callError(ctx, err, c.model)
	}
	if len(result.Raw) > 0 {
		deliver(result.Raw)
	} else {
		deliver(c.completionJSON(result))
	}
	return nil
}

// Stream sends the call streamed, handing each OpenAI chunk (a JSON object, without SSE framing) to emit,
// in order. The usage chunk is sent only when the client asked for it (and made up from the result when an
// OpenAI-protocol upstream sent none). emit may leave chunks in its buffer: flush is called before the
// stream waits for the upstream (provider.Call.Flush), and the caller sends what is left after Stream
// returns. The returned error is the call's failure; a failure of emit or flush (the client went away)
// stops the call, and what was generated is still metered.
func (c *ChatCall) Stream(ctx context.Context, emit func([]byte) error, flush func() error) error {
	st := &streamState{c: c, emit: emit}
	call := c.call
	// The conversation goes with the call; the provider lets go of it once the answer begins.
	c.call.Raw, c.call.System, c.call.Messages = nil, "", nil
	call.Flush = func() error { return st.check(flush()) }
	result, err := c.model.Backend.Stream(ctx, call, st.event)
	if err == nil && !isOpenAIProtocol(c.model) {
		err = st.finish(result)
	}
	if err == nil && c.includeUsage && !st.usageSent {
		err = emit(c.usageChunk(result.Usage))
	}
	if st.emitErr != nil {
		err = st.emitErr
	}
	c.settle(ctx, result, err)
	if err != nil && st.emitErr == nil {
		return callError(ctx, err, c.model)
	}
	return err
}

// streamState follows a stream: which chunks went out.
type streamState struct {
	c         *ChatCall
	emit      func([]byte) error
	started   bool
	usageSent bool
	emitErr   error
	buf       []byte
}

// event forwards one upstream event: OpenAI chunks as they are, other protocols' text as OpenAI chunks.
func (st *streamState) event(ev provider.Event) error {
	var chunk []byte
	switch {
	case ev.Raw != nil && isOpenAIProtocol(st.c.model):
		if !st.started {
			st.started = true
			st.c.adoptUpstreamID(ev.Raw)
		}
		if ev.UsageOnly {
			if !st.c.includeUsage {
				return nil
			}
			st.usageSent = true
		}
		chunk = ev.Raw
	case ev.Text == "" && len(ev.ToolCalls) == 0:
		return nil
	default:
		return st.translated(ev)
	}
	return st.send(chunk)
}

// translated sends another protocol's event as OpenAI chunks: the role first, then the text, then the tool
// calls.
func (st *streamState) translated(ev provider.Event) error {
	if !st.started {
		st.started = true
		if err := st.send(st.c.chunk(st.buf[:0], `{"role":"assistant","content":""}`, "")); err != nil {
			return err
		}
	}
	if ev.Text != "" {
		st.buf = st.c.chunk(st.buf[:0], textDelta(ev.Text), "")
		if err := st.send(st.buf); err != nil {
			return err
		}
	}
	if len(ev.ToolCalls) == 0 {
		return nil
	}
	st.buf = st.c.chunk(st.buf[:0], toolCallsDelta(ev.ToolCalls, ev.ToolIndex), "")
	return st.send(st.buf)
}

func (st *streamState) send(chunk []byte) error {
	return st.check(st.emit(chunk))
}

// check remembers a failure to write to the client.
func (st *streamState) check(err error) error {
	if err != nil {
		st.emitErr = err
	}
	return err
}

// adoptUpstreamID names the answer as the upstream's first chunk does, so that a usage chunk made up here
// belongs to the same answer for the client.
func (c *ChatCall) adoptUpstreamID(chunk []byte) {
	var head struct {
		ID      string `json:"id"`
		Created int64  `json:"created"`
	}
	if json.Unmarshal(chunk, &head) == nil && head.ID != "" {
		c.id, c.created = head.ID, head.Created
	}
}

// finish ends a translated stream with the finish reason.
func (st *streamState) finish(result provider.Result) error {
	reason := result.FinishReason
	if reason == "" {
		reason = provider.FinishStop
	}
	return st.send(st.c.chunk(st.buf[:0], "{}", reason))
}

func isOpenAIProtocol(m *llm.Model) bool {
	return m.ProviderType == config.ProviderOpenAI || m.ProviderType == config.ProviderOpenAICompatible
}

// settle records the call's outcome: ok, stopped (the client went away) or upstream_error.
func (c *ChatCall) settle(ctx context.Context, r provider.Result, err error) {
	s := metering.Settlement{Outcome: metering.OutcomeOK, Usage: r.Usage, KeyID: r.KeyID, Latency: r.Latency,
		TimeToFirstToken: r.TimeToFirstToken}
	switch {
	case err == nil:
	case ctx.Err() != nil || errors.Is(err, context.Canceled) || !isProviderError(err):
		s.Outcome, s.ErrorCode = metering.OutcomeStopped, "client_gone"
	default:
		s.Outcome, s.ErrorCode = metering.OutcomeUpstreamError, UpstreamError(err, c.model.UserKeyID != "").Code
	}
	_ = c.res.Settle(context.WithoutCancel(ctx), s)
}

func isProviderError(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && !errors.Is(err, provider.ErrCanceled)
}

// callError is the error to answer a failed call with.
func callError(ctx context.Context, err error, m *llm.Model) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return UpstreamError(err, m.UserKeyID != "")
}

// chunk appends a chat.completion.chunk with one choice: its delta (a JSON object) and finish reason
// (empty: null).
func (c *ChatCall) chunk(b []byte, delta, finish string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, c.id...)
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = strconv.AppendQuote(b, c.clientModel)
	b = append(b, `,"choices":[{"index":0,"delta":`...)
	b = append(b, delta...)
	b = append(b, `,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendQuote(b, finish)
	}
	return append(b, "}]}"...)
}

// textDelta is a delta object carrying text.
func textDelta(text string) string {
	b, _ := json.Marshal(struct {
		Content string `json:"content"`
	}{text})
	return string(b)
}

// openAIUsage is usage in OpenAI's shape.
type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func usageOf(u provider.Usage) openAIUsage {
	o := openAIUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens()}
	o.PromptTokensDetails.CachedTokens = u.CachedPromptTokens
	o.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return o
}

// usageChunk is the final chunk of a stream whose client asked for usage: no choices, the usage.
func (c *ChatCall) usageChunk(u provider.Usage) []byte {
	b, _ := json.Marshal(struct {
		ID      string      `json:"id"`
		Object  string      `json:"object"`
		Created int64       `json:"created"`
		Model   string      `json:"model"`
		Choices []struct{}  `json:"choices"`
		Usage   openAIUsage `json:"usage"`
	}{c.id, "chat.completion.chunk", c.created, c.clientModel, []struct{}{}, usageOf(u)})
	return b
}

// completionJSON is a non-streamed answer built from a result (providers of other protocols).
func (c *ChatCall) completionJSON(r provider.Result) []byte {
	type choice struct {
		Index        int               `json:"index"`
		Message      completionMessage `json:"message"`
		FinishReason string            `json:"finish_reason"`
	}
	reason := r.FinishReason
	if reason == "" {
		reason = provider.FinishStop
	}
	b, _ := json.Marshal(struct {
		ID      string      `json:"id"`
		Object  string      `json:"object"`
		Created int64       `json:"created"`
		Model   string      `json:"model"`
		Choices []choice    `json:"choices"`
		Usage   openAIUsage `json:"usage"`
	}{c.id, "chat.completion", c.created, c.clientModel,
		[]choice{{Message: messageOf(r), FinishReason: reason}}, usageOf(r.Usage)})
	return b
}

// completionMessage is a non-streamed answer's message: its text (null when it only calls tools) and tool calls.
type completionMessage struct {
	Role      string           `json:"role"`
	Content   *string          `json:"content"`
	ToolCalls []openAIToolCall `json:"tool_calls,omitempty"`
}

func messageOf(r provider.Result) completionMessage {
	m := completionMessage{Role: provider.RoleAssistant, Content: &r.Text}
	if len(r.ToolCalls) > 0 {
		m.ToolCalls = openAIToolCalls(r.ToolCalls, false, 0)
		if r.Text == "" {
			m.Content = nil
		}
	}
	return m
}

// newCompletionID names an answer ("chatcmpl-" and 24 random characters).
func newCompletionID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "chatcmpl-" + base64.RawURLEncoding.EncodeToString(b)
}
