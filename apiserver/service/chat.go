package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// Meter reserves quota before a provider call and settles it after (apiserver/metering's contract: Reserve,
// then Settle exactly once, even on failure). A refusal is a *metering.QuotaError.
type Meter interface {
	Reserve(ctx context.Context, req metering.Request) (metering.Reservation, error)
}

// ModelResolver resolves the model ids users write (the llm registry).
type ModelResolver interface {
	Resolve(ctx context.Context, userID, id string) (*llm.Model, error)
}

// ChatStore is what the chat needs from the database. Every method acts only on the given user's rows.
type ChatStore interface {
	ChatTarget(ctx context.Context, userID, conversationID string) (*store.ChatTarget, error)
	History(ctx context.Context, conversationID string, before int64) ([]store.Turn, error)
	Turn(ctx context.Context, userID, conversationID, id string) (*store.Turn, error)
	AppendChatMessage(ctx context.Context, userID string, m *store.ChatMessage) error
	RewindTo(ctx context.Context, userID, conversationID, turnID string, content *string) (*model.Message, error)
	DeleteFrom(ctx context.Context, userID, conversationID, id string) (int64, error)
	NotifyStop(ctx context.Context, conversationID string) error
}

// Sink receives an answer's text as it streams (the SSE writer). Delta may keep the text in a buffer: Flush
// is called before the stream waits for the upstream (provider.Call.Flush). An error stops the answer: the
// client is gone.
type Sink interface {
	Delta(text string) error
	Flush() error
}

// ChatOptions tune one answer.
type ChatOptions struct {
	// Model overrides the conversation's model for this answer; empty keeps it.
	Model string
	// Temperature is sent when set.
	Temperature *float64
	// MaxTokens bounds the answer when positive (the model's maximum and quotas may lower it).
	MaxTokens int
}

// Exchange is a user turn and its answer, both stored.
type Exchange struct {
	UserMessage *model.Message
	// Answer is nil only when it could not be stored (Err says why).
	Answer *model.Message
	// FinishReason is stop, length, stopped (client gone or stop pressed) or error.
	FinishReason string
	// Err is why the answer failed after the user turn was stored; nil when it finished or was stopped.
	Err *apperr.Error
}

// Chat sends conversations to their models and stores the answers: sending, regenerating, editing and
// resending, deleting from a message on, and stopping an answer from any replica.
type Chat struct {
	store   ChatStore
	models  ModelResolver
	meter   Meter
	streams *streams
	log     *slog.Logger
}

// NewChat returns the chat service. A nil meter sends without quotas or usage records.
func NewChat(st ChatStore, models ModelResolver, meter Meter, log *slog.Logger) *Chat {
	return &Chat{store: st, models: models, meter: meter, streams: newStreams(), log: log}
}

// Limits of a chat request.
const (
	MaxContentLen   = 200_000
	MaxTemperature  = 2.0
	MaxAnswerTokens = 1_000_000
)

func checkChat(v *apperr.Validation, content *string, o ChatOptions) {
	if content != nil {
		v.Check(strings.TrimSpace(*content) != "" && runes(*content) <= MaxContentLen, "content", "must be 1 to 200000 characters, not only spaces")
	}
	if o.Model != "" {
		checkModel(v, o.Model)
	}
	v.Check(o.Temperature == nil || (*o.Temperature >= 0 && *o.Temperature <= MaxTemperature), "temperature", "must be between 0 and 2")
	v.Check(o.MaxTokens >= 0 && o.MaxTokens <= MaxAnswerTokens, "max_tokens", "must be between 1 and 1000000")
}

// Send stores a user turn in the caller's conversation and answers it, streaming to sink (nil: no
// streaming). Errors before the user turn was stored (validation, refusal by a quota, unknown model) are
// returned; failures of the answer are in Exchange.Err.
func (c *Chat) Send(ctx context.Context, p model.Principal, conversationID, content string, o ChatOptions, sink Sink) (*Exchange, error) {
	var v apperr.Validation
	checkChat(&v, &content, o)
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := c.store.ChatTarget(ctx, p.UserID, conversationID)
	if err != nil {
		return nil, err
	}
	pl, err := c.plan(ctx, p, t, 0, content, o)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, pl, func(ctx context.Context) (*model.Message, error) {
		m := &store.ChatMessage{Message: model.Message{ConversationID: conversationID, Role: model.MessageRoleUser, Content: content}}
		return &m.Message, c.store.AppendChatMessage(ctx, p.UserID, m)
	}, sink)
}

// Regenerate answers a user turn again (messageID may also name its answer): every later message is
// replaced by the new answer. The user turn is not stored again.
func (c *Chat) Regenerate(ctx context.Context, p model.Principal, conversationID, messageID string, o ChatOptions, sink Sink) (*Exchange, error) {
	return c.rewind(ctx, p, conversationID, messageID, nil, o, sink)
}

// Edit replaces the text of a user turn, drops every later message and answers the turn again.
func (c *Chat) Edit(ctx context.Context, p model.Principal, conversationID, messageID, content string, o ChatOptions, sink Sink) (*Exchange, error) {
	return c.rewind(ctx, p, conversationID, messageID, &content, o, sink)
}

func (c *Chat) rewind(ctx context.Context, p model.Principal, conversationID, messageID string, content *string, o ChatOptions, sink Sink) (*Exchange, error) {
	var v apperr.Validation
	checkChat(&v, content, o)
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := c.store.ChatTarget(ctx, p.UserID, conversationID)
	if err != nil {
		return nil, err
	}
	turn, err := c.userTurn(ctx, p, conversationID, messageID, content != nil)
	if err != nil {
		return nil, err
	}
	text := turn.Content
	if content != nil {
		text = *content
	}
	pl, err := c.plan(ctx, p, t, turn.Seq, text, o)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, pl, func(ctx context.Context) (*model.Message, error) {
		return c.store.RewindTo(ctx, p.UserID, conversationID, turn.ID, content)
	}, sink)
}

// userTurn finds the user turn a regenerate or edit names: the turn itself, or (to regenerate) its answer.
func (c *Chat) userTurn(ctx context.Context, p model.Principal, conversationID, id string, edit bool) (*store.Turn, error) {
	turn, err := c.store.Turn(ctx, p.UserID, conversationID, id)
	if err != nil {
		return nil, err
	}
	if turn.Role == model.MessageRoleAssistant && turn.ReplyTo != "" && !edit {
		return c.store.Turn(ctx, p.UserID, conversationID, turn.ReplyTo)
	}
	if turn.Role != model.MessageRoleUser {
		what := "regenerated (name a user message or its answer)"
		if edit {
			what = "edited"
		}
		return nil, apperr.New(apperr.ErrValidation, "not_a_user_message", "only your own messages can be %s", what)
	}
	return turn, nil
}

// DeleteFrom deletes a message of the caller's conversation and every later one.
func (c *Chat) DeleteFrom(ctx context.Context, p model.Principal, conversationID, messageID string) error {
	_, err := c.store.DeleteFrom(ctx, p.UserID, conversationID, messageID)
	return err
}

// Stop stops the answers being generated in the caller's conversation, on every replica: this one at once,
// the others through a database notification (see StopLocal). Stopped answers are kept, marked stopped.
func (c *Chat) Stop(ctx context.Context, p model.Principal, conversationID string) error {
	if _, err := c.store.ChatTarget(ctx, p.UserID, conversationID); err != nil {
		return err
	}
	c.streams.stop(conversationID)
	return c.store.NotifyStop(ctx, conversationID)
}

// StopLocal stops the answers being generated in a conversation on this replica; the database's stop
// notifications call it.
func (c *Chat) StopLocal(conversationID string) { c.streams.stop(conversationID) }

// ActiveStreams is the number of answers being generated on this replica.
func (c *Chat) ActiveStreams() int { return c.streams.count() }

// plan is a turn ready to be sent: its model, the history that fits and the estimated prompt.
type plan struct {
	p         model.Principal
	target    *store.ChatTarget
	model     *llm.Model
	history   []provider.Message
	turn      provider.Message
	prompt    int64
	maxOutput int64
	opts      ChatOptions
}

// plan resolves the model and builds the history before the sequence number before (0: all), trimmed to
// the model's context window.
func (c *Chat) plan(ctx context.Context, p model.Principal, t *store.ChatTarget, before int64, text string, o ChatOptions) (*plan, error) {
	id := o.Model
	if id == "" {
		id = t.Model
	}
	m, err := c.models.Resolve(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	turns, err := c.store.History(ctx, t.ConversationID, before)
	if err != nil {
		return nil, err
	}
	maxOut := m.MaxOutputTokens
	if o.MaxTokens > 0 && (maxOut == 0 || int64(o.MaxTokens) < maxOut) {
		maxOut = int64(o.MaxTokens)
	}
	room := maxOut
	if room == 0 {
		room = provider.DefaultMaxTokens
	}
	turn := provider.Message{Role: provider.RoleUser, Content: text}
	history, prompt, fits := trim(pairs(turns), t.SystemPrompt, turn, m.ContextWindow, room)
	if !fits {
		return nil, apperr.New(apperr.ErrValidation, "context_window_exceeded",
			"the message and system prompt (about %d tokens) do not fit %s's context window of %d tokens with room for the answer",
			prompt, m.ID, m.ContextWindow)
	}
	return &plan{p: p, target: t, model: m, history: history, turn: turn, prompt: prompt, maxOutput: maxOut, opts: o}, nil
}

// run reserves quota, stores the user turn (storeTurn) and answers it.
func (c *Chat) run(ctx context.Context, pl *plan, storeTurn func(context.Context) (*model.Message, error), sink Sink) (*Exchange, error) {
	res, err := c.reserve(ctx, pl)
	if err != nil {
		return nil, err
	}
	user, err := storeTurn(ctx)
	if err != nil {
		c.settle(ctx, res, metering.Settlement{Outcome: metering.OutcomeUpstreamError, ErrorCode: "not_sent",
			Usage: provider.Usage{PromptTokens: pl.prompt, Estimated: true}, ConversationID: pl.target.ConversationID})
		return nil, err
	}
	return c.answer(ctx, pl, user, res, sink), nil
}

// reserve asks the meter for the call; without a meter, the plan's bound holds.
func (c *Chat) reserve(ctx context.Context, pl *plan) (metering.Reservation, error) {
	if c.meter == nil {
		return nil, nil
	}
	m := pl.model
	res, err := c.meter.Reserve(ctx, metering.Request{
		Caller: metering.Caller{UserID: pl.p.UserID, Username: pl.p.Username, Email: pl.target.Email, Role: pl.p.Role},
		Source: metering.SourceChat, Provider: m.Provider, Model: m.Name, UserKeyID: m.UserKeyID,
		PromptTokens: pl.prompt, MaxOutputTokens: pl.maxOutput, ConversationID: pl.target.ConversationID,
	})
	if err != nil {
		return nil, metering.AppError(err)
	}
	return res, nil
}

func (c *Chat) settle(ctx context.Context, res metering.Reservation, s metering.Settlement) {
	if res == nil {
		return
	}
	if err := res.Settle(context.WithoutCancel(ctx), s); err != nil {
		c.log.ErrorContext(ctx, "Settling a chat call failed", "conversation_id", s.ConversationID, "error", err)
	}
}

// answer streams the model's answer to the stored user turn, stores it whatever happened, and settles.
func (c *Chat) answer(ctx context.Context, pl *plan, user *model.Message, res metering.Reservation, sink Sink) *Exchange {
	m := pl.model
	maxOut := pl.maxOutput
	if res != nil {
		if g := res.Grant().MaxOutputTokens; g > 0 {
			maxOut = g
		}
	}
	call := provider.Call{Model: m.Upstream, System: pl.target.SystemPrompt, Messages: append(pl.history, pl.turn),
		Temperature: pl.opts.Temperature, MaxTokens: int(maxOut), PromptTokens: pl.prompt}
	sctx, end := c.streams.start(ctx, pl.target.ConversationID)
	var sinkErr error
	if sink != nil {
		call.Flush = func() error {
			sinkErr = sink.Flush()
			return sinkErr
		}
	}
	result, callErr := m.Backend.Stream(sctx, call, func(ev provider.Event) error {
		if ev.Text == "" || sink == nil {
			return nil
		}
		sinkErr = sink.Delta(ev.Text)
		return sinkErr
	})
	stopped := errors.Is(context.Cause(sctx), errStopRequested)
	end()
	finish, outcome, code, fail := outcomeOf(result, callErr, sinkErr != nil || ctx.Err() != nil || stopped, m.UserKeyID != "")
	if fail != nil {
		c.log.WarnContext(ctx, "Chat call failed", "conversation_id", pl.target.ConversationID, "model", m.ID, "error", callErr)
	}
	ans := c.storeAnswer(ctx, pl, user, result, finish, code)
	ex := &Exchange{UserMessage: user, FinishReason: finish, Err: fail}
	s := metering.Settlement{Outcome: outcome, Usage: result.Usage, KeyID: result.KeyID, Latency: result.Latency,
		TimeToFirstToken: result.TimeToFirstToken, ErrorCode: code, ConversationID: pl.target.ConversationID}
	if ans.err != nil {
		ex.Err = ans.err
	} else {
		ex.Answer, s.MessageID = &ans.Message, ans.ID
	}
	c.settle(ctx, res, s)
	return ex
}

// outcomeOf classifies a finished call: the finish reason to store, the metering outcome, the error code
// and, for a failure, the client's error.
func outcomeOf(r provider.Result, err error, stopped, userKey bool) (finish, outcome, code string, fail *apperr.Error) {
	switch {
	case err == nil:
		finish = r.FinishReason
		if finish == "" {
			finish = provider.FinishStop
		}
		return finish, metering.OutcomeOK, "", nil
	case stopped:
		return FinishStopped, metering.OutcomeStopped, "stopped", nil
	}
	fail = UpstreamError(err, userKey)
	return FinishError, metering.OutcomeUpstreamError, fail.Code, fail
}

// storedAnswer is the stored assistant turn, or why it could not be stored.
type storedAnswer struct {
	store.ChatMessage
	err *apperr.Error
}

// storeAnswer stores the assistant turn even when the client is gone (the request's context may be done).
func (c *Chat) storeAnswer(ctx context.Context, pl *plan, user *model.Message, r provider.Result, finish, code string) storedAnswer {
	m := pl.model
	u := r.Usage
	a := storedAnswer{ChatMessage: store.ChatMessage{ReplyTo: user.ID, KeyID: r.KeyID, ErrorCode: code, Message: model.Message{
		ConversationID: pl.target.ConversationID, Role: model.MessageRoleAssistant, Content: r.Text, Model: m.ID,
		Provider: m.Provider, FinishReason: finish, LatencyMS: millis(r.Latency), TTFTMS: millis(r.TimeToFirstToken),
		Usage: &model.Usage{PromptTokens: u.PromptTokens, CachedPromptTokens: u.CachedPromptTokens,
			CompletionTokens: u.CompletionTokens, ReasoningTokens: u.ReasoningTokens, CostMicros: m.Pricing.Cost(u), Estimated: u.Estimated},
	}}}
	err := c.store.AppendChatMessage(context.WithoutCancel(ctx), pl.p.UserID, &a.ChatMessage)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		a.err = apperr.Conflict("conversation_changed", "the message was deleted while it was being answered; the answer was not kept")
	case err != nil:
		c.log.ErrorContext(ctx, "Storing an answer failed", "conversation_id", pl.target.ConversationID, "error", err)
		a.err = apperr.New(apperr.ErrUnavailable, "answer_not_stored", "the answer could not be saved; try again")
	}
	return a
}

// millis is d in whole milliseconds, or nil for zero (never measured).
func millis(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}
