package metering

import (
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// Quota is a quota in force, as the meter applies it.
type Quota struct {
	// Config is the quota as configured.
	Config config.Quota
	// Shadow is true for mode Shadow.
	Shadow bool
	// Limits are its counted limits, in the order requestsPerMinute, tokensPerDay, tokensPerMonth,
	// costPerMonth (the ones set).
	Limits []Limit
}

// Limit is a counted limit: its name (LimitRequestsPerMinute…) and its maximum, in requests, tokens or
// micro-USD.
type Limit struct {
	Name string
	Max  int64
}

// Quotas returns the quotas in force in configuration order: all of them when c is nil, else those that
// match c.
func (m *Meter) Quotas(c *Caller) []Quota {
	var out []Quota
	for _, q := range m.policy().quotas {
		if c != nil && !q.matches(*c) {
			continue
		}
		v := Quota{Config: q.cfg, Shadow: q.shadow}
		for _, l := range q.counted {
			v.Limits = append(v.Limits, Limit{Name: l.name, Max: l.max})
		}
		out = append(out, v)
	}
	return out
}

// ModelAllowed reports whether every Enforce quota matching c lets it use the platform model
// provider/model. Models of a user's own key are not governed by quotas.
func (m *Meter) ModelAllowed(c Caller, provider, model string) bool {
	for _, q := range m.policy().quotas {
		if !q.shadow && q.matches(c) && !q.allows(provider, model) {
			return false
		}
	}
	return true
}

// Location is the time zone of the windows and of the daily rollups' dates.
func (m *Meter) Location() *time.Location { return m.policy().loc }
