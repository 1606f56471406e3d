package model

import (
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// ConversationStats is what one conversation holds and what its calls consumed. Token counts follow
// metering's convention: prompt tokens include the cached ones, completion tokens the reasoning ones.
type ConversationStats struct {
	ConversationID string        `json:"conversation_id"`
	Messages       MessageCounts `json:"messages"`
	// Answers sums the usage stored with the conversation's assistant messages: what the answers it holds
	// now consumed, priced at their model's price (own keys' prices included). Kept as long as the messages.
	Answers AnswerTotals `json:"answers"`
	// Calls sums the usage records of the conversation's metered calls, as /api/v1/usage counts them: every
	// call, answers since regenerated or deleted and failed calls included, at the platform's cost (calls
	// with own keys cost 0). Raw records are kept for metering.rawRetention only.
	Calls UsageTotals `json:"calls"`
	// FirstActivityAt and LastActivityAt are the earliest and latest message or call; nil when there is none.
	FirstActivityAt *time.Time `json:"first_activity_at"`
	LastActivityAt  *time.Time `json:"last_activity_at"`
}

// MessageCounts counts a conversation's messages by role.
type MessageCounts struct {
	Total     int64 `json:"total"`
	User      int64 `json:"user"`
	Assistant int64 `json:"assistant"`
	System    int64 `json:"system"`
}

// AnswerTotals sums the usage stored with assistant messages.
type AnswerTotals struct {
	PromptTokens       int64 `json:"prompt_tokens"`
	CachedPromptTokens int64 `json:"cached_prompt_tokens"`
	CompletionTokens   int64 `json:"completion_tokens"`
	ReasoningTokens    int64 `json:"reasoning_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	// Estimated counts the answers whose usage is an estimate (the provider reported none).
	Estimated int64 `json:"estimated"`
	// CostUSD is CostMicros as a decimal USD string; Finish sets it.
	CostUSD    string `json:"cost_usd"`
	CostMicros int64  `json:"-"`
}

// Finish sets the derived fields (total tokens, cost in USD).
func (t *AnswerTotals) Finish() {
	t.TotalTokens = t.PromptTokens + t.CompletionTokens
	t.CostUSD = config.FormatUSD(t.CostMicros)
}
