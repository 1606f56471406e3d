package metering

import (
	"math"
	"math/bits"
	"path"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
)

// policy is one configuration compiled for metering: the quotas, the models' prices and output bounds, and
// the time zone of the windows. It is built once per configuration and never modified.
type policy struct {
	cfg    *config.Config
	loc    *time.Location
	quotas []*quota
	models map[string]modelInfo
}

// modelInfo is what metering needs of a platform model.
type modelInfo struct {
	prices    llm.Pricing
	maxOutput int64
}

// quota is a config.Quota compiled: subjects as sets, limits as integers (unset limits are 0 and the has*
// flags false).
type quota struct {
	cfg      config.Quota
	name     string
	shadow   bool
	all      bool
	users    map[string]bool // lower-cased usernames and emails
	roles    map[string]bool
	counted  []countedLimit
	maxOut   int64
	allowed  []string
	restrict bool // allowedModels is set
}

// countedLimit is a limit counted in a window: requests per minute, tokens per day or month, cost per month
// (micro-USD).
type countedLimit struct {
	name string
	max  int64
}

func newPolicy(cfg *config.Config) *policy {
	p := &policy{cfg: cfg, loc: time.UTC, models: map[string]modelInfo{}}
	if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
		p.loc = loc
	}
	for _, pc := range cfg.Providers {
		for _, mc := range pc.Models {
			// The config was validated: a price that does not parse cannot occur (and would count as free).
			pr, _ := llm.ParsePricing(mc.Pricing)
			p.models[pc.Name+"/"+mc.Name] = modelInfo{prices: pr, maxOutput: int64(mc.MaxOutputTokens)}
		}
	}
	for _, qc := range cfg.Quotas {
		p.quotas = append(p.quotas, compileQuota(qc))
	}
	return p
}

func compileQuota(qc config.Quota) *quota {
	q := &quota{cfg: qc, name: qc.Name, shadow: qc.Mode == config.QuotaModeShadow, all: qc.Subjects.AllUsers,
		users: map[string]bool{}, roles: map[string]bool{}, allowed: qc.AllowedModels, restrict: len(qc.AllowedModels) > 0}
	for _, u := range qc.Subjects.Users {
		q.users[strings.ToLower(strings.TrimSpace(u))] = true
	}
	for _, r := range qc.Subjects.Roles {
		q.roles[r] = true
	}
	l := qc.Limits
	if l.RequestsPerMinute != nil {
		q.counted = append(q.counted, countedLimit{LimitRequestsPerMinute, int64(*l.RequestsPerMinute)})
	}
	if l.TokensPerDay != nil {
		q.counted = append(q.counted, countedLimit{LimitTokensPerDay, *l.TokensPerDay})
	}
	if l.TokensPerMonth != nil {
		q.counted = append(q.counted, countedLimit{LimitTokensPerMonth, *l.TokensPerMonth})
	}
	if l.CostPerMonth != nil {
		micros, _ := config.ParseUSD(*l.CostPerMonth)
		q.counted = append(q.counted, countedLimit{LimitCostPerMonth, micros})
	}
	if l.MaxOutputTokensPerRequest != nil {
		q.maxOut = int64(*l.MaxOutputTokensPerRequest)
	}
	return q
}

// matches reports whether the quota applies to the caller: by username or email (case-insensitive), by role,
// or to everyone.
func (q *quota) matches(c Caller) bool {
	return q.all || q.roles[c.Role] || q.users[strings.ToLower(c.Username)] ||
		(c.Email != "" && q.users[strings.ToLower(c.Email)])
}

// allows reports whether the quota lets the model be used: some allowedModels glob matches "provider/model"
// or "model" (path.Match syntax: "*" does not cross a "/", so "openai/*" is every model of provider openai
// and "gpt-4o*" every model whose name starts so). A quota without allowedModels allows every model.
func (q *quota) allows(provider, model string) bool {
	if !q.restrict {
		return true
	}
	for _, g := range q.allowed {
		if GlobMatch(g, provider, model) {
			return true
		}
	}
	return false
}

// GlobMatch reports whether the allowedModels glob g matches "provider/model" or "model". A malformed glob
// matches nothing.
func GlobMatch(g, provider, model string) bool {
	if ok, err := path.Match(g, provider+"/"+model); err == nil && ok {
		return true
	}
	ok, err := path.Match(g, model)
	return err == nil && ok
}

// matching returns the quotas that apply to the caller, in configuration order.
func (p *policy) matching(c Caller) []*quota {
	var out []*quota
	for _, q := range p.quotas {
		if q.matches(c) {
			out = append(out, q)
		}
	}
	return out
}

// Windows are the windows a moment falls in, in the platform's time zone.
type Windows struct {
	// Minute, Day and Month are the starts of the windows; *End their ends (the next window's start).
	Minute, MinuteEnd time.Time
	Day, DayEnd       time.Time
	Month, MonthEnd   time.Time
	// Date is the day as a date (midnight UTC of the same calendar day), the key of the daily rollups.
	Date time.Time
}

// windowsAt returns the windows of t. Day and month starts follow the zone's calendar (a day may last 23 or
// 25 hours across a daylight-saving change).
func windowsAt(t time.Time, loc *time.Location) Windows {
	lt := t.In(loc)
	y, m, d := lt.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	month := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	minute := t.Truncate(time.Minute)
	return Windows{
		Minute: minute, MinuteEnd: minute.Add(time.Minute),
		Day: day, DayEnd: time.Date(y, m, d+1, 0, 0, 0, 0, loc),
		Month: month, MonthEnd: time.Date(y, m+1, 1, 0, 0, 0, 0, loc),
		Date: time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
	}
}

// ResetOf is when the window of a counted limit (LimitRequestsPerMinute…) ends.
func (w Windows) ResetOf(limit string) time.Time {
	switch limit {
	case LimitRequestsPerMinute:
		return w.MinuteEnd
	case LimitTokensPerDay:
		return w.DayEnd
	}
	return w.MonthEnd
}

// costUp is the cost of tokens at price (micro-USD per million tokens), rounded up: what a reservation must
// hold. The product is formed in 128 bits; the result saturates at the largest int64.
func costUp(tokens, price int64) int64 {
	if tokens <= 0 || price <= 0 {
		return 0
	}
	const perMillion = 1_000_000
	hi, lo := bits.Mul64(uint64(tokens), uint64(price))
	lo, carry := bits.Add64(lo, perMillion-1, 0)
	hi += carry
	if hi >= perMillion {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, perMillion)
	return int64(min(q, math.MaxInt64))
}
