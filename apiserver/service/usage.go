package service

import (
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// UsageStore is what usage statistics need from the database: the daily rollups (never the raw records),
// the quota counters and the users.
type UsageStore interface {
	UsageByDayModel(ctx context.Context, userID string, from, to time.Time) ([]model.UsageRow, error)
	UsageByUser(ctx context.Context, from, to time.Time, limit int) ([]model.UsageRow, error)
	CurrentUsage(ctx context.Context, userID string, minute, day, month time.Time) (model.WindowUsage, error)
	HeaviestSubjects(ctx context.Context, s model.QuotaSubjects, minute, day, month time.Time, limits model.WindowUsage, n int) ([]model.SubjectUsage, error)
	CountUsers(ctx context.Context, s model.QuotaSubjects) (int64, error)
	RefusalCounts(ctx context.Context, since time.Time) (map[string]model.RefusalCount, error)
	PlatformUsage(ctx context.Context, day time.Time) (model.PlatformUsage, error)
	UserByID(ctx context.Context, id string) (*model.User, error)
}

// QuotaSource is the meter's view of the quotas in force.
type QuotaSource interface {
	Quotas(c *metering.Caller) []metering.Quota
	ModelAllowed(c metering.Caller, provider, model string) bool
	Windows(t time.Time) metering.Windows
	Location() *time.Location
}

// Usage answers the usage statistics and the quota views.
type Usage struct {
	store    UsageStore
	quotas   QuotaSource
	now      func() time.Time
	internal internalCache
}

// NewUsage returns the usage service.
func NewUsage(st UsageStore, quotas QuotaSource) *Usage {
	return &Usage{store: st, quotas: quotas, now: time.Now}
}

// Date ranges of reports.
const (
	// DefaultUsageDays is the length of a report when no range is given: the last 30 days.
	DefaultUsageDays = 30
	// MaxUsageDays bounds a report's range.
	MaxUsageDays = 366
	// DefaultTopUsers and MaxTopUsers bound the admin report's list of users.
	DefaultTopUsers = 20
	MaxTopUsers     = 100
)

// UsageRange is a report's date range, both ends included, as YYYY-MM-DD in the platform's time zone; empty
// ends take the defaults (to: today; from: 29 days before to).
type UsageRange struct {
	From, To string
}

// dateRange is a parsed UsageRange: dates as midnight UTC.
type dateRange struct {
	from, to time.Time
}

func (u *Usage) parseRange(r UsageRange) (dateRange, error) {
	today := u.quotas.Windows(u.now()).Date
	var d dateRange
	var v apperr.Validation
	var err error
	d.to = today
	if r.To != "" {
		d.to, err = time.Parse(time.DateOnly, r.To)
		v.Check(err == nil, "to", "must be a date such as 2026-01-31")
	}
	d.from = d.to.AddDate(0, 0, 1-DefaultUsageDays)
	if r.From != "" {
		d.from, err = time.Parse(time.DateOnly, r.From)
		v.Check(err == nil, "from", "must be a date such as 2026-01-01")
	}
	if err := v.Err(); err != nil {
		return d, err
	}
	v.Check(!d.from.After(d.to), "from", "must not be after to")
	v.Check(d.to.Sub(d.from) < MaxUsageDays*24*time.Hour, "from", "the range must be at most 366 days")
	return d, v.Err()
}

// Report is the caller's own usage over a date range: the summary, by day (every day of the range), by model
// and by provider.
func (u *Usage) Report(ctx context.Context, p model.Principal, r UsageRange) (*model.UsageReport, error) {
	d, err := u.parseRange(r)
	if err != nil {
		return nil, err
	}
	rows, err := u.store.UsageByDayModel(ctx, p.UserID, d.from, d.to)
	if err != nil {
		return nil, err
	}
	rep := &model.UsageReport{From: d.from.Format(time.DateOnly), To: d.to.Format(time.DateOnly),
		Timezone: u.quotas.Location().String(), ByDay: byDay(rows, d), ByModel: byModel(rows), ByProvider: byProvider(rows)}
	rep.Summary = sum(rows)
	return rep, nil
}

// AdminReport is everyone's usage over a date range: the summary, the top users (at most top), by model and
// by day.
func (u *Usage) AdminReport(ctx context.Context, r UsageRange, top int) (*model.AdminUsageReport, error) {
	d, err := u.parseRange(r)
	if err != nil {
		return nil, err
	}
	rows, err := u.store.UsageByDayModel(ctx, "", d.from, d.to)
	if err != nil {
		return nil, err
	}
	users, err := u.store.UsageByUser(ctx, d.from, d.to, top)
	if err != nil {
		return nil, err
	}
	rep := &model.AdminUsageReport{From: d.from.Format(time.DateOnly), To: d.to.Format(time.DateOnly),
		Timezone: u.quotas.Location().String(), ByDay: byDay(rows, d), ByModel: byModel(rows), ByUser: []model.UserUsage{}}
	rep.Summary = sum(rows)
	for _, row := range users {
		row.Finish()
		rep.ByUser = append(rep.ByUser, model.UserUsage{UserID: row.UserID, Username: row.Username, UsageTotals: row.UsageTotals})
	}
	return rep, nil
}

// CSV writes the caller's usage (or everyone's, when all is set) over a date range as CSV: one line per day,
// provider and model.
func (u *Usage) CSV(ctx context.Context, w io.Writer, p model.Principal, all bool, r UsageRange) error {
	d, err := u.parseRange(r)
	if err != nil {
		return err
	}
	userID := p.UserID
	if all {
		userID = ""
	}
	rows, err := u.store.UsageByDayModel(ctx, userID, d.from, d.to)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "provider", "model", "requests", "refused", "failed", "prompt_tokens",
		"cached_prompt_tokens", "completion_tokens", "reasoning_tokens", "total_tokens", "cost_usd"})
	for _, row := range rows {
		row.Finish()
		t := row.UsageTotals
		_ = cw.Write([]string{row.Day.Format(time.DateOnly), csvSafe(row.Provider), csvSafe(row.Model), itoa(t.Requests),
			itoa(t.Refused), itoa(t.Failed), itoa(t.PromptTokens), itoa(t.CachedPromptTokens), itoa(t.CompletionTokens),
			itoa(t.ReasoningTokens), itoa(t.TotalTokens), t.CostUSD})
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// csvSafe keeps a spreadsheet from reading a cell as a formula (names come from configuration and users'
// own keys).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func sum(rows []model.UsageRow) model.UsageTotals {
	var t model.UsageTotals
	for _, r := range rows {
		t.Add(r.UsageTotals)
	}
	t.Finish()
	return t
}

// byDay sums rows per day, with a zero entry for every day of the range without usage.
func byDay(rows []model.UsageRow, d dateRange) []model.UsageDay {
	days := map[time.Time]*model.UsageTotals{}
	for _, r := range rows {
		t := days[r.Day]
		if t == nil {
			t = &model.UsageTotals{}
			days[r.Day] = t
		}
		t.Add(r.UsageTotals)
	}
	out := []model.UsageDay{}
	for day := d.from; !day.After(d.to); day = day.AddDate(0, 0, 1) {
		var t model.UsageTotals
		if s := days[day]; s != nil {
			t = *s
		}
		t.Finish()
		out = append(out, model.UsageDay{Date: day.Format(time.DateOnly), UsageTotals: t})
	}
	return out
}

// byModel sums rows per provider and model, costliest first.
func byModel(rows []model.UsageRow) []model.UsageByModel {
	type key struct{ provider, model string }
	sums := map[key]*model.UsageTotals{}
	for _, r := range rows {
		k := key{r.Provider, r.Model}
		if sums[k] == nil {
			sums[k] = &model.UsageTotals{}
		}
		sums[k].Add(r.UsageTotals)
	}
	out := []model.UsageByModel{}
	for k, t := range sums {
		t.Finish()
		out = append(out, model.UsageByModel{Provider: k.provider, Model: k.model, UsageTotals: *t})
	}
	slices.SortFunc(out, func(a, b model.UsageByModel) int {
		return cmp.Or(heavier(a.UsageTotals, b.UsageTotals), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// byProvider sums rows per provider, costliest first.
func byProvider(rows []model.UsageRow) []model.UsageByProvider {
	sums := map[string]*model.UsageTotals{}
	for _, r := range rows {
		if sums[r.Provider] == nil {
			sums[r.Provider] = &model.UsageTotals{}
		}
		sums[r.Provider].Add(r.UsageTotals)
	}
	out := []model.UsageByProvider{}
	for p, t := range sums {
		t.Finish()
		out = append(out, model.UsageByProvider{Provider: p, UsageTotals: *t})
	}
	slices.SortFunc(out, func(a, b model.UsageByProvider) int {
		return cmp.Or(heavier(a.UsageTotals, b.UsageTotals), cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

// heavier orders totals by cost, then tokens, then requests, largest first.
func heavier(a, b model.UsageTotals) int {
	return cmp.Or(cmp.Compare(b.CostMicros, a.CostMicros), cmp.Compare(b.TotalTokens, a.TotalTokens), cmp.Compare(b.Requests, a.Requests))
}

// callerOf is the meter's view of a signed-in user (quotas match emails too).
func (u *Usage) callerOf(ctx context.Context, p model.Principal) (metering.Caller, error) {
	user, err := u.store.UserByID(ctx, p.UserID)
	if err != nil {
		return metering.Caller{}, err
	}
	c := metering.Caller{UserID: user.ID, Username: user.Username, Role: user.Role}
	if user.Email != nil {
		c.Email = *user.Email
	}
	return c, nil
}

// AllowedModels keeps the models that the caller's Enforce quotas allow, in order (the model listing's
// ModelFilter). Models of the caller's own keys are not governed by quotas.
func (u *Usage) AllowedModels(ctx context.Context, p model.Principal, models []llm.Model) ([]llm.Model, error) {
	c, err := u.callerOf(ctx, p)
	if err != nil {
		return nil, err
	}
	out := models[:0:0]
	for _, m := range models {
		if m.UserKeyID != "" || u.quotas.ModelAllowed(c, m.Provider, m.Name) {
			out = append(out, m)
		}
	}
	return out, nil
}

// QuotaWindow is where one counted limit of a quota stands for a user: amounts in the limit's unit
// (requests, tokens, or USD as a decimal string), as in a refusal.
type QuotaWindow struct {
	Quota     string    `json:"quota"`
	Limit     string    `json:"limit"`
	Used      string    `json:"used"`
	Max       string    `json:"max"`
	Remaining string    `json:"remaining"`
	ResetAt   time.Time `json:"reset_at"`
	Mode      string    `json:"mode"`
}

// QuotaWindows lists the counted limits of the quotas that apply to the caller, with what the caller used
// in each current window (calls in flight included) and when it resets.
func (u *Usage) QuotaWindows(ctx context.Context, p model.Principal) ([]QuotaWindow, error) {
	c, err := u.callerOf(ctx, p)
	if err != nil {
		return nil, err
	}
	quotas := u.quotas.Quotas(&c)
	out := []QuotaWindow{}
	if !hasLimits(quotas) {
		return out, nil
	}
	w := u.quotas.Windows(u.now())
	used, err := u.store.CurrentUsage(ctx, p.UserID, w.Minute, w.Day, w.Month)
	if err != nil {
		return nil, err
	}
	for _, q := range quotas {
		for _, l := range q.Limits {
			out = append(out, windowOf(q, l, used, w))
		}
	}
	return out, nil
}

func hasLimits(quotas []metering.Quota) bool {
	return slices.ContainsFunc(quotas, func(q metering.Quota) bool { return len(q.Limits) > 0 })
}

func windowOf(q metering.Quota, l metering.Limit, u model.WindowUsage, w metering.Windows) QuotaWindow {
	used := usedOf(l.Name, u)
	f := formatLimit(l.Name)
	return QuotaWindow{Quota: q.Config.Name, Limit: l.Name, Used: f(used), Max: f(l.Max), Remaining: f(max(l.Max-used, 0)),
		ResetAt: w.ResetOf(l.Name), Mode: q.Config.Mode}
}

// usedOf picks a limit's amount out of a user's window usage.
func usedOf(limit string, u model.WindowUsage) int64 {
	switch limit {
	case metering.LimitRequestsPerMinute:
		return u.MinuteRequests
	case metering.LimitTokensPerDay:
		return u.DayTokens
	case metering.LimitTokensPerMonth:
		return u.MonthTokens
	}
	return u.MonthCost
}

// formatLimit formats amounts of a limit: USD for cost, integers otherwise.
func formatLimit(limit string) func(int64) string {
	if limit == metering.LimitCostPerMonth {
		return config.FormatUSD
	}
	return itoa
}

// QuotaInForce is a quota as the API server applies it, with the number of active users it matches and
// its refusals this month.
type QuotaInForce struct {
	Name          string             `json:"name"`
	Mode          string             `json:"mode"`
	Subjects      QuotaSubjectsView  `json:"subjects"`
	Limits        QuotaLimitsView    `json:"limits"`
	AllowedModels []string           `json:"allowed_models"`
	MatchedUsers  int64              `json:"matched_users"`
	Refusals      model.RefusalCount `json:"refusals_this_month"`
}

// QuotaSubjectsView is a quota's subjects.
type QuotaSubjectsView struct {
	Users    []string `json:"users,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	AllUsers bool     `json:"all_users,omitempty"`
}

// QuotaLimitsView is a quota's limits; unset ones are absent.
type QuotaLimitsView struct {
	RequestsPerMinute         *int32  `json:"requests_per_minute,omitempty"`
	TokensPerDay              *int64  `json:"tokens_per_day,omitempty"`
	TokensPerMonth            *int64  `json:"tokens_per_month,omitempty"`
	CostPerMonth              *string `json:"cost_per_month,omitempty"`
	MaxOutputTokensPerRequest *int32  `json:"max_output_tokens_per_request,omitempty"`
}

// QuotasInForce lists every quota in force with its matched users and this month's refusals.
func (u *Usage) QuotasInForce(ctx context.Context) ([]QuotaInForce, error) {
	w := u.quotas.Windows(u.now())
	month := time.Date(w.Date.Year(), w.Date.Month(), 1, 0, 0, 0, 0, time.UTC)
	refusals, err := u.store.RefusalCounts(ctx, month)
	if err != nil {
		return nil, err
	}
	out := []QuotaInForce{}
	for _, q := range u.quotas.Quotas(nil) {
		c := q.Config
		n, err := u.store.CountUsers(ctx, subjectsOf(c))
		if err != nil {
			return nil, err
		}
		l := c.Limits
		out = append(out, QuotaInForce{Name: c.Name, Mode: c.Mode, MatchedUsers: n, Refusals: refusals[c.Name],
			Subjects: QuotaSubjectsView{Users: c.Subjects.Users, Roles: c.Subjects.Roles, AllUsers: c.Subjects.AllUsers},
			Limits: QuotaLimitsView{RequestsPerMinute: l.RequestsPerMinute, TokensPerDay: l.TokensPerDay, TokensPerMonth: l.TokensPerMonth,
				CostPerMonth: l.CostPerMonth, MaxOutputTokensPerRequest: l.MaxOutputTokensPerRequest},
			AllowedModels: nonNilStrings(c.AllowedModels)})
	}
	return out, nil
}

// subjectsOf turns a quota's subjects into a store query.
func subjectsOf(c config.Quota) model.QuotaSubjects {
	s := model.QuotaSubjects{AllUsers: c.Subjects.AllUsers, Roles: c.Subjects.Roles}
	for _, login := range c.Subjects.Users {
		s.Logins = append(s.Logins, strings.ToLower(strings.TrimSpace(login)))
	}
	return s
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
