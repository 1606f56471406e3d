package service

import (
	"context"
	"sync"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// The operator's view of usage (GET /internal/v1/*): it writes UserQuota.status and the LLMPlatform.status
// summaries from it. Field names are camelCase, as in those statuses.

// MaxQuotaSubjects bounds the users reported per quota (UserQuota.status.usage holds at most 20).
const MaxQuotaSubjects = 20

// internalTTL is how long an internal answer is reused: however often the operator asks, the database
// computes it at most once per internalTTL.
const internalTTL = 5 * time.Second

// InternalQuotas is GET /internal/v1/quotas.
type InternalQuotas struct {
	// GeneratedAt is when the numbers were read.
	GeneratedAt time.Time `json:"generatedAt"`
	// Timezone is the zone of the day and month windows.
	Timezone string          `json:"timezone"`
	Items    []InternalQuota `json:"items"`
}

// InternalQuota is one quota's usage.
type InternalQuota struct {
	// Name is the UserQuota's name.
	Name string `json:"name"`
	// Mode is Enforce or Shadow.
	Mode string `json:"mode"`
	// MatchedUsers counts the active users the quota applies to.
	MatchedUsers int64 `json:"matchedUsers"`
	// Usage holds the heaviest matched users (at most 20), nearest to a limit first; empty when the quota has
	// no counted limit.
	Usage []InternalSubject `json:"usage"`
	// Refusals counts this month's refusals (enforced, or would-be refusals of a Shadow quota).
	Refusals model.RefusalCount `json:"refusalsThisMonth"`
}

// InternalSubject is one user's use of a quota.
type InternalSubject struct {
	// User is the username.
	User string `json:"user"`
	// Windows holds one entry per counted limit of the quota.
	Windows []InternalWindow `json:"windows"`
	// Exhausted is true when any limit is used up.
	Exhausted bool `json:"exhausted"`
}

// InternalWindow is a user's use of one limit in its current window. Amounts are in the limit's unit:
// requests, tokens, or USD as a decimal string.
type InternalWindow struct {
	Limit     string    `json:"limit"`
	Used      string    `json:"used"`
	Max       string    `json:"max"`
	Remaining string    `json:"remaining"`
	ResetAt   time.Time `json:"resetAt"`
	Exhausted bool      `json:"exhausted"`
}

// InternalSummary is GET /internal/v1/summary: the LLMPlatform.status summaries.
type InternalSummary struct {
	GeneratedAt time.Time `json:"generatedAt"`
	// Users counts every account; ActiveUsers the ones not deactivated.
	Users       int64 `json:"users"`
	ActiveUsers int64 `json:"activeUsers"`
	// Day is today in the platform's time zone; the other fields sum its usage.
	Day           string `json:"day"`
	Timezone      string `json:"timezone"`
	TokensToday   int64  `json:"tokensToday"`
	RequestsToday int64  `json:"requestsToday"`
	CostTodayUSD  string `json:"costTodayUSD"`
}

// internalCache keeps the last internal answers for internalTTL.
type internalCache struct {
	mu        sync.Mutex
	quotas    *InternalQuotas
	summary   *InternalSummary
	quotasAt  time.Time
	summaryAt time.Time
}

// InternalQuotas reports every quota's matched users and heaviest subjects.
func (u *Usage) InternalQuotas(ctx context.Context) (*InternalQuotas, error) {
	c := &u.internal
	c.mu.Lock()
	defer c.mu.Unlock()
	now := u.now()
	if c.quotas != nil && now.Sub(c.quotasAt) < internalTTL && !now.Before(c.quotasAt) {
		return c.quotas, nil
	}
	w := u.quotas.Windows(now)
	month := time.Date(w.Date.Year(), w.Date.Month(), 1, 0, 0, 0, 0, time.UTC)
	refusals, err := u.store.RefusalCounts(ctx, month)
	if err != nil {
		return nil, err
	}
	out := &InternalQuotas{GeneratedAt: now.UTC(), Timezone: u.quotas.Location().String(), Items: []InternalQuota{}}
	for _, q := range u.quotas.Quotas(nil) {
		iq, err := u.internalQuota(ctx, q, w)
		if err != nil {
			return nil, err
		}
		iq.Refusals = refusals[q.Config.Name]
		out.Items = append(out.Items, iq)
	}
	c.quotas, c.quotasAt = out, now
	return out, nil
}

func (u *Usage) internalQuota(ctx context.Context, q metering.Quota, w metering.Windows) (InternalQuota, error) {
	s := subjectsOf(q.Config)
	iq := InternalQuota{Name: q.Config.Name, Mode: q.Config.Mode, Usage: []InternalSubject{}}
	var err error
	if iq.MatchedUsers, err = u.store.CountUsers(ctx, s); err != nil {
		return iq, err
	}
	if len(q.Limits) == 0 {
		return iq, nil
	}
	var limits model.WindowUsage
	for _, l := range q.Limits {
		switch l.Name {
		case metering.LimitRequestsPerMinute:
			limits.MinuteRequests = l.Max
		case metering.LimitTokensPerDay:
			limits.DayTokens = l.Max
		case metering.LimitTokensPerMonth:
			limits.MonthTokens = l.Max
		case metering.LimitCostPerMonth:
			limits.MonthCost = l.Max
		}
	}
	subjects, err := u.store.HeaviestSubjects(ctx, s, w.Minute, w.Day, w.Month, limits, MaxQuotaSubjects)
	if err != nil {
		return iq, err
	}
	for _, sub := range subjects {
		is := InternalSubject{User: sub.Username, Windows: []InternalWindow{}}
		for _, l := range q.Limits {
			qw := windowOf(q, l, sub.WindowUsage, w)
			exhausted := usedOf(l.Name, sub.WindowUsage) >= l.Max
			is.Windows = append(is.Windows, InternalWindow{Limit: l.Name, Used: qw.Used, Max: qw.Max, Remaining: qw.Remaining,
				ResetAt: qw.ResetAt.UTC(), Exhausted: exhausted})
			is.Exhausted = is.Exhausted || exhausted
		}
		iq.Usage = append(iq.Usage, is)
	}
	return iq, nil
}

// InternalSummary reports the user counts and today's usage.
func (u *Usage) InternalSummary(ctx context.Context) (*InternalSummary, error) {
	c := &u.internal
	c.mu.Lock()
	defer c.mu.Unlock()
	now := u.now()
	if c.summary != nil && now.Sub(c.summaryAt) < internalTTL && !now.Before(c.summaryAt) {
		return c.summary, nil
	}
	day := u.quotas.Windows(now).Date
	p, err := u.store.PlatformUsage(ctx, day)
	if err != nil {
		return nil, err
	}
	out := &InternalSummary{GeneratedAt: now.UTC(), Users: p.Users, ActiveUsers: p.ActiveUsers, Day: day.Format(time.DateOnly),
		Timezone: u.quotas.Location().String(), TokensToday: p.Today.PromptTokens + p.Today.CompletionTokens,
		RequestsToday: p.Today.Requests, CostTodayUSD: config.FormatUSD(p.Today.CostMicros)}
	c.summary, c.summaryAt = out, now
	return out, nil
}
