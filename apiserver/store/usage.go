package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/model"
)

// totalsColumns sums usage_daily rows into model.UsageTotals (scanTotals reads them in this order).
const totalsColumns = `coalesce(sum(requests), 0), coalesce(sum(refused), 0), coalesce(sum(failed), 0),
	coalesce(sum(prompt_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(completion_tokens), 0),
	coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_micros), 0)`

func totalsDest(t *model.UsageTotals) []any {
	return []any{&t.Requests, &t.Refused, &t.Failed, &t.PromptTokens, &t.CachedPromptTokens, &t.CompletionTokens,
		&t.ReasoningTokens, &t.CostMicros}
}

// UsageByDayModel sums the daily rollups per day, provider and model over [from, to] (dates), for one user or,
// with userID empty, for everyone. It reads rollups only, never raw records.
func (db *DB) UsageByDayModel(ctx context.Context, userID string, from, to time.Time) ([]model.UsageRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT day, provider, model, `+totalsColumns+` FROM usage_daily
		WHERE day BETWEEN $1 AND $2 AND ($3::uuid IS NULL OR user_id = $3::uuid)
		GROUP BY day, provider, model ORDER BY day, provider, model`, from, to, optionalID(userID))
	if err != nil {
		return nil, fmt.Errorf("reading usage: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.UsageRow, error) {
		var r model.UsageRow
		err := row.Scan(append([]any{&r.Day, &r.Provider, &r.Model}, totalsDest(&r.UsageTotals)...)...)
		return r, err
	})
}

// UsageByUser sums the daily rollups per user over [from, to], heaviest first (by cost, then tokens), at
// most limit users.
func (db *DB) UsageByUser(ctx context.Context, from, to time.Time, limit int) ([]model.UsageRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT d.user_id, coalesce(u.username, ''), `+totalsColumns+`
		FROM usage_daily d LEFT JOIN users u ON u.id = d.user_id
		WHERE d.day BETWEEN $1 AND $2 GROUP BY d.user_id, u.username
		ORDER BY sum(cost_micros) DESC, sum(prompt_tokens + completion_tokens) DESC, sum(requests) DESC, d.user_id
		LIMIT $3`, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("reading usage by user: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.UsageRow, error) {
		var r model.UsageRow
		err := row.Scan(append([]any{&r.UserID, &r.Username}, totalsDest(&r.UsageTotals)...)...)
		return r, err
	})
}

// windowUsageCTE lays out the current windows' counters, the holds of live meter instances and the requests
// of the current minute as rows of (user_id, kind, requests, tokens, cost); $1..$3 are the minute, day and
// month starts.
const windowUsageCTE = `WITH h AS (
	SELECT q.*, coalesce(i.expires_at > clock_timestamp(), false) AS live
	FROM quota_holds q LEFT JOIN meter_instances i ON i.id = q.instance_id WHERE q.month_start = $3
), w AS (
	SELECT user_id, window_kind AS kind, 0::bigint AS requests, tokens, cost_micros FROM quota_counters
	WHERE (window_kind = 'day' AND window_start = $2) OR (window_kind = 'month' AND window_start = $3)
	UNION ALL
	SELECT user_id, 'minute', minute_requests, 0, 0 FROM h WHERE minute_start = $1
	UNION ALL
	SELECT user_id, 'day', 0, tokens, 0 FROM h WHERE live AND day_start = $2
	UNION ALL
	SELECT user_id, 'month', 0, tokens, cost_micros FROM h WHERE live
)`

// windowSums aggregates w's rows into model.WindowUsage's fields.
const windowSums = `coalesce(sum(w.requests) FILTER (WHERE w.kind = 'minute'), 0),
	coalesce(sum(w.tokens) FILTER (WHERE w.kind = 'day'), 0),
	coalesce(sum(w.tokens) FILTER (WHERE w.kind = 'month'), 0),
	coalesce(sum(w.cost_micros) FILTER (WHERE w.kind = 'month'), 0)`

// CurrentUsage returns what a user used in the windows starting at minute, day and month, calls in flight
// included: the amounts the quotas check.
func (db *DB) CurrentUsage(ctx context.Context, userID string, minute, day, month time.Time) (model.WindowUsage, error) {
	var u model.WindowUsage
	err := db.pool.QueryRow(ctx, windowUsageCTE+` SELECT `+windowSums+` FROM w WHERE w.user_id = $4`,
		minute, day, month, userID).Scan(&u.MinuteRequests, &u.DayTokens, &u.MonthTokens, &u.MonthCost)
	if err != nil {
		return u, fmt.Errorf("reading quota usage: %w", err)
	}
	return u, nil
}

// HeaviestSubjects returns the current window usage of at most n users matching subjects, those nearest to
// their limits first. The limits (zero when unset) rank the users: by the largest share of a limit used.
func (db *DB) HeaviestSubjects(ctx context.Context, s model.QuotaSubjects, minute, day, month time.Time,
	limits model.WindowUsage, n int) ([]model.SubjectUsage, error) {
	rows, err := db.pool.Query(ctx, windowUsageCTE+`
		SELECT * FROM (SELECT w.user_id, u.username, `+windowSums+`
			FROM w JOIN users u ON u.id = w.user_id
			WHERE $4 OR u.role = ANY($5) OR lower(u.username) = ANY($6) OR u.email = ANY($6)
			GROUP BY w.user_id, u.username) t(user_id, username, requests, day_tokens, month_tokens, month_cost)
		ORDER BY greatest(requests::float8 / nullif($7::bigint, 0), day_tokens::float8 / nullif($8::bigint, 0),
			month_tokens::float8 / nullif($9::bigint, 0), month_cost::float8 / nullif($10::bigint, 0)) DESC NULLS LAST,
			month_tokens DESC, username
		LIMIT $11`, minute, day, month, s.AllUsers, nonNil(s.Roles), nonNil(s.Logins),
		limits.MinuteRequests, limits.DayTokens, limits.MonthTokens, limits.MonthCost, n)
	if err != nil {
		return nil, fmt.Errorf("reading the heaviest users of a quota: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.SubjectUsage, error) {
		var u model.SubjectUsage
		err := row.Scan(&u.UserID, &u.Username, &u.MinuteRequests, &u.DayTokens, &u.MonthTokens, &u.MonthCost)
		return u, err
	})
}

// CountUsers counts the active users matching subjects.
func (db *DB) CountUsers(ctx context.Context, s model.QuotaSubjects) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM users u WHERE u.is_active
		AND ($1 OR u.role = ANY($2) OR lower(u.username) = ANY($3) OR u.email = ANY($3))`,
		s.AllUsers, nonNil(s.Roles), nonNil(s.Logins)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting a quota's users: %w", err)
	}
	return n, nil
}

// RefusalCounts counts refusals per quota since the day since (a date).
func (db *DB) RefusalCounts(ctx context.Context, since time.Time) (map[string]model.RefusalCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT quota, coalesce(sum(refusals) FILTER (WHERE NOT shadow), 0),
		coalesce(sum(refusals) FILTER (WHERE shadow), 0) FROM quota_refusals_daily WHERE day >= $1 GROUP BY quota`, since)
	if err != nil {
		return nil, fmt.Errorf("counting refusals: %w", err)
	}
	defer rows.Close()
	out := map[string]model.RefusalCount{}
	for rows.Next() {
		var q string
		var c model.RefusalCount
		if err := rows.Scan(&q, &c.Enforced, &c.Shadow); err != nil {
			return nil, fmt.Errorf("counting refusals: %w", err)
		}
		out[q] = c
	}
	return out, rows.Err()
}

// PlatformUsage counts the users and sums the usage of the day (a date).
func (db *DB) PlatformUsage(ctx context.Context, day time.Time) (model.PlatformUsage, error) {
	var p model.PlatformUsage
	err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE is_active), `+
		totalsColumns+` FROM usage_daily WHERE day = $1`, day).Scan(append([]any{&p.Users, &p.ActiveUsers}, totalsDest(&p.Today)...)...)
	if err != nil {
		return p, fmt.Errorf("reading the platform's usage: %w", err)
	}
	return p, nil
}

// optionalID is nil for an empty id.
func optionalID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
