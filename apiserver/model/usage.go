package model

import (
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// UsageTotals sums usage records. Token counts follow metering's convention: prompt tokens include the
// cached ones, completion tokens the reasoning ones.
type UsageTotals struct {
	Requests int64 `json:"requests"`
	// Refused requests were refused by a quota; Failed ones by the provider or the platform.
	Refused            int64 `json:"refused"`
	Failed             int64 `json:"failed"`
	PromptTokens       int64 `json:"prompt_tokens"`
	CachedPromptTokens int64 `json:"cached_prompt_tokens"`
	CompletionTokens   int64 `json:"completion_tokens"`
	ReasoningTokens    int64 `json:"reasoning_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	// CostUSD is CostMicros as a decimal USD string; Finish sets it.
	CostUSD    string `json:"cost_usd"`
	CostMicros int64  `json:"-"`
}

// Add adds o.
func (t *UsageTotals) Add(o UsageTotals) {
	t.Requests += o.Requests
	t.Refused += o.Refused
	t.Failed += o.Failed
	t.PromptTokens += o.PromptTokens
	t.CachedPromptTokens += o.CachedPromptTokens
	t.CompletionTokens += o.CompletionTokens
	t.ReasoningTokens += o.ReasoningTokens
	t.CostMicros += o.CostMicros
}

// Finish sets the derived fields (total tokens, cost in USD).
func (t *UsageTotals) Finish() {
	t.TotalTokens = t.PromptTokens + t.CompletionTokens
	t.CostUSD = config.FormatUSD(t.CostMicros)
}

// UsageRow is one group of daily rollups.
type UsageRow struct {
	Day      time.Time
	UserID   string
	Username string
	Provider string
	Model    string
	UsageTotals
}

// UsageDay is a day's usage; Date is YYYY-MM-DD in the platform's time zone.
type UsageDay struct {
	Date string `json:"date"`
	UsageTotals
}

// UsageByModel is a model's usage.
type UsageByModel struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	UsageTotals
}

// UsageByProvider is a provider's usage.
type UsageByProvider struct {
	Provider string `json:"provider"`
	UsageTotals
}

// UserUsage is a user's usage; Username is empty for a deleted user.
type UserUsage struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	UsageTotals
}

// UsageReport is a user's own usage over a date range (both ends included).
type UsageReport struct {
	From       string            `json:"from"`
	To         string            `json:"to"`
	Timezone   string            `json:"timezone"`
	Summary    UsageTotals       `json:"summary"`
	ByDay      []UsageDay        `json:"by_day"`
	ByModel    []UsageByModel    `json:"by_model"`
	ByProvider []UsageByProvider `json:"by_provider"`
}

// AdminUsageReport is everyone's usage over a date range.
type AdminUsageReport struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Timezone string         `json:"timezone"`
	Summary  UsageTotals    `json:"summary"`
	ByUser   []UserUsage    `json:"by_user"`
	ByModel  []UsageByModel `json:"by_model"`
	ByDay    []UsageDay     `json:"by_day"`
}

// WindowUsage is what a user used in the current windows: settled usage plus the reservations of calls in
// flight.
type WindowUsage struct {
	MinuteRequests int64
	DayTokens      int64
	MonthTokens    int64
	MonthCost      int64
}

// SubjectUsage is a user's current window usage, for the heaviest users of a quota.
type SubjectUsage struct {
	UserID   string
	Username string
	WindowUsage
}

// QuotaSubjects selects users for a quota query: everyone, or by role, or by username or email.
type QuotaSubjects struct {
	AllUsers bool
	Roles    []string
	// Logins are lower-cased usernames and emails.
	Logins []string
}

// RefusalCount counts a quota's refusals: enforced, and would-be refusals of a Shadow quota.
type RefusalCount struct {
	Enforced int64 `json:"enforced"`
	Shadow   int64 `json:"shadow"`
}

// PlatformUsage is the platform-wide counts of a day.
type PlatformUsage struct {
	Users       int64
	ActiveUsers int64
	Today       UsageTotals
}
