// Package metering accounts for every call to a provider. Before the call it reserves the worst case (the
// prompt plus the most the model may answer) against every quota that matches the caller, in one atomic step
// in PostgreSQL, and refuses when a quota would be exceeded; after the call it settles the reservation to the
// real usage and writes exactly one usage record. The web chat and the OpenAI-compatible /v1 endpoint both go
// through it: it is the one code path of usage accounting.
//
// The contract for callers (the chat and /v1 services):
//
//	res, err := meter.Reserve(ctx, req) // a *QuotaError when refused; the refusal is already recorded
//	if err != nil { ... }
//	call.MaxTokens = int(res.Grant().MaxOutputTokens)
//	result, callErr := provider.Stream(ctx, call, emit)
//	err = res.Settle(context.WithoutCancel(ctx), metering.Settlement{...}) // exactly once, even on failure
//
// How it stays exact and cheap (tables in store/migrations/0003_metering.sql):
//
//   - Counters: quota_counters holds each user's settled tokens and cost per day and month (platform time
//     zone). Holds: quota_holds holds the worst cases of the calls in flight, summed per user and meter
//     instance, and the requests of the current minute. A quota check sees counters + live holds.
//   - Reserve is one call of the PL/pgSQL function metering_reserve: an advisory lock on the user, one read of
//     counters and holds, the decision, one write of the hold. Concurrent calls of one user are reserved
//     together in one such call and decided in order (reserver.go), so a busy user costs one round trip per
//     batch. Requests whose quotas have no counted limit cost no round trip at all.
//   - Leases (lease.go): far from every limit, a reservation also leases up to LeaseCalls times the call's
//     worst case of the user's budget, held like any hold; the process decides the user's next calls from it
//     without a round trip and gives back what it does not use: when it lies idle, at Close, and when the
//     configuration changes (written before the next call is decided; an idle process notices within
//     250 ms), so that a lowered quota is not held up by leases taken under the old one. Near a limit no
//     lease is granted, and every call is decided in the database as above.
//   - Grants: the answer is bounded to what every Enforce quota has room for (maxOutputTokensPerRequest, and
//     the tokens and cost left after the prompt); a call is refused when fewer than MinGrant tokens fit. So
//     concurrent calls never overshoot a budget by more than the prompt estimates miss.
//   - Settle queues the usage record; a background writer writes batches in ONE statement each: the records,
//     their daily rollups, refusal counts, the counters, the release of the holds and the tokens' last use.
//     The queue is bounded (Settle waits when it is full) and Close writes what is queued.
//   - Expiry: each meter instance (API server process) holds a lease in meter_instances, renewed every
//     Lease/3. Holds count only while their instance's lease lasts, so a dead process's reservations stop
//     counting when its lease ends; nothing releases them, so nothing can release them twice.
package metering

import (
	"context"
	"fmt"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// Sources of a request.
const (
	// SourceChat is the web UI's chat (POST /api/v1/conversations/{id}/messages).
	SourceChat = "chat"
	// SourceAPI is the OpenAI-compatible endpoint (/v1/chat/completions) with a personal API token.
	SourceAPI = "api"
)

// Outcomes of a request, one per usage record.
const (
	// OutcomeOK: the provider answered in full.
	OutcomeOK = "ok"
	// OutcomeStopped: the client went away or pressed stop; what was generated is billed.
	OutcomeStopped = "stopped"
	// OutcomeUpstreamError: the provider failed (after any retries); what was generated is billed.
	OutcomeUpstreamError = "upstream_error"
	// OutcomeRefused: a quota refused the request before any provider was called.
	OutcomeRefused = "refused"
	// OutcomeError: the platform failed before any provider was called (the quota check could not reach the
	// database). Recorded by Reserve.
	OutcomeError = "error"
)

// Limits a quota can set, as Refusal.Limit and LimitState.Limit name them.
const (
	LimitRequestsPerMinute         = "requestsPerMinute"
	LimitTokensPerDay              = "tokensPerDay"
	LimitTokensPerMonth            = "tokensPerMonth"
	LimitCostPerMonth              = "costPerMonth"
	LimitMaxOutputTokensPerRequest = "maxOutputTokensPerRequest"
	LimitAllowedModels             = "allowedModels"
)

// Reservation is a reserved call. Settle must be called exactly once, whatever became of the call.
type Reservation interface {
	// Grant is what the reservation allows.
	Grant() Grant
	// Settle records the call's real usage and releases the reservation. It returns once the usage record is
	// queued for writing (the write is batched; Meter.Flush waits for it).
	Settle(ctx context.Context, s Settlement) error
}

// Caller identifies who makes a request, for quota matching and the usage record.
type Caller struct {
	UserID   string
	Username string
	// Email is empty when the user has none.
	Email string
	Role  string
	// TokenID is the personal API token used on /v1; empty for the web UI.
	TokenID string
}

// Request describes a provider call about to be made.
type Request struct {
	Caller Caller
	// Source is SourceChat or SourceAPI.
	Source string
	// Provider and Model name the platform's provider and model (not the upstream name).
	Provider string
	Model    string
	// UserKeyID is set when the call uses a user-supplied provider key instead of the platform's pool.
	UserKeyID string
	// PromptTokens is the estimated size of the prompt.
	PromptTokens int64
	// MaxOutputTokens is what the caller asked for; zero means the model's configured maximum.
	MaxOutputTokens int64
	// ConversationID is the web chat conversation the call is for: its usage record carries it whatever the
	// outcome, a refusal included (a Settlement's ConversationID, when set, wins).
	ConversationID string
}

// Grant is what a reservation allows.
type Grant struct {
	// MaxOutputTokens is the bound to send to the provider: the request's, lowered by the model's maximum
	// and by every matching quota's maxOutputTokensPerRequest.
	MaxOutputTokens int64
	// Limits are the counted limits (requests per minute, tokens per day and month, cost per month) of the
	// Enforce quotas that apply, as they stand with this reservation included: for rate-limit headers.
	Limits []LimitState
}

// LimitState is where one counted limit of a quota stands for a user in its current window. Amounts are in
// the limit's unit: requests, tokens, or micro-USD for costPerMonth.
type LimitState struct {
	Quota     string
	Limit     string
	Max       int64
	Used      int64
	Remaining int64
	ResetAt   time.Time
}

// Settlement is the real outcome of a reserved call.
type Settlement struct {
	// Outcome is OutcomeOK, OutcomeStopped or OutcomeUpstreamError; empty means OutcomeOK.
	Outcome string
	// Usage is the provider's report, or an estimate marked as such.
	Usage provider.Usage
	// KeyID is the pool key that served the call (empty for user keys and keyless providers).
	KeyID string
	// Latency is the whole call's duration; TimeToFirstToken the wait for the first text (zero if none).
	Latency          time.Duration
	TimeToFirstToken time.Duration
	// ErrorCode is the failure's code (for example "upstream_timeout") when Outcome is not OutcomeOK.
	ErrorCode string
	// ConversationID and MessageID link a web chat request to the stored answer.
	ConversationID string
	MessageID      string
}

// Refusal says which limit refused a request, what remains of it and when it resets.
type Refusal struct {
	// Quota is the UserQuota's name.
	Quota string `json:"quota"`
	// Limit names the limit: requestsPerMinute, tokensPerDay, tokensPerMonth, costPerMonth,
	// maxOutputTokensPerRequest or allowedModels.
	Limit string `json:"limit"`
	// Used, Max and Remaining are amounts in the limit's unit (requests, tokens, or USD as a decimal string).
	Used      string `json:"used"`
	Max       string `json:"max"`
	Remaining string `json:"remaining"`
	// ResetAt is when the window ends; zero for allowedModels.
	ResetAt time.Time `json:"reset_at,omitzero"`
}

// QuotaError is a refusal by one or more quotas in Enforce mode. The first refusal is the one to show.
type QuotaError struct {
	Refusals []Refusal
}

// Error says which quota refused and when it resets.
func (e *QuotaError) Error() string {
	if len(e.Refusals) == 0 {
		return "refused by a quota"
	}
	r := e.Refusals[0]
	if r.Limit == "allowedModels" {
		return fmt.Sprintf("quota %q does not allow this model", r.Quota)
	}
	return fmt.Sprintf("quota %q: %s exhausted (used %s of %s); resets at %s", r.Quota, r.Limit, r.Used, r.Max, r.ResetAt.UTC().Format(time.RFC3339))
}

// ModelNotAllowed reports whether the refusal is an allowedModels refusal (HTTP 403) rather than an exhausted
// limit (HTTP 429).
func (e *QuotaError) ModelNotAllowed() bool {
	return len(e.Refusals) > 0 && e.Refusals[0].Limit == "allowedModels"
}

// RetryAfter is how long until the first refusal's window resets; zero for allowedModels.
func (e *QuotaError) RetryAfter(now time.Time) time.Duration {
	if len(e.Refusals) == 0 || e.Refusals[0].ResetAt.IsZero() {
		return 0
	}
	return max(e.Refusals[0].ResetAt.Sub(now), 0)
}
