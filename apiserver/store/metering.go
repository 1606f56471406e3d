package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ReserveBatch is the worst cases of one user's calls, reserved together in the windows starting at Minute,
// Day and Month, for metering_reserve (see migrations/0003_metering.sql).
type ReserveBatch struct {
	// InstanceID is the meter instance that holds the reservations.
	InstanceID         string
	UserID             string
	Minute, Day, Month time.Time
	Calls              []ReserveCall
	// Release is the instance's free lease of the user in these windows, given back before the calls are
	// decided (its Requests only when they were leased in Minute).
	Release Lease
	// LeaseCall is the index in Calls of the call whose checks and worst case a new lease is for, -1 for no
	// lease; that call's checks must all be enforced. LeaseCalls is how many of its worst case to lease at
	// most.
	LeaseCall, LeaseCalls int
}

// Lease is budget a meter instance holds for a user beyond its calls in flight: tokens, micro-USD and
// requests of the current minute.
type Lease struct {
	Tokens, CostMicros, Requests int64
}

// ReserveCall is one call's worst case and the counted limits it must fit.
type ReserveCall struct {
	// Prompt is the estimated prompt in tokens; Want the output tokens asked for; Min the fewest output tokens
	// worth granting.
	Prompt, Want, Min int64
	// PromptCost is the prompt's cost at the input price (micro-USD, rounded up); OutputPrice the output price
	// in micro-USD per million tokens.
	PromptCost, OutputPrice int64
	// Limits, Maxes and Enforce are the checks, index by index.
	Limits  []string
	Maxes   []int64
	Enforce []bool
}

// ReserveResult is the answer for one call: the output tokens granted (the call may go ahead when Granted
// >= Min), per check the amount used and the output tokens it allows, and what was held for it.
type ReserveResult struct {
	Granted    int64
	Used       []int64
	Allow      []int64
	HeldTokens int64
	HeldCost   int64
}

// Reserve runs metering_reserve for a batch of calls: one round trip. The results are in the calls' order;
// the lease is what was leased besides them.
func (db *DB) Reserve(ctx context.Context, b ReserveBatch) ([]ReserveResult, Lease, error) {
	n := len(b.Calls)
	prompt, want, minimum := make([]int64, n), make([]int64, n), make([]int64, n)
	promptCost, outPrice, nchecks := make([]int64, n), make([]int64, n), make([]int32, n)
	var limits []string
	var maxes []int64
	var enforce []bool
	for i, c := range b.Calls {
		prompt[i], want[i], minimum[i], promptCost[i], outPrice[i] = c.Prompt, c.Want, c.Min, c.PromptCost, c.OutputPrice
		nchecks[i] = int32(len(c.Limits)) //nolint:gosec // a quota has four counted limits
		limits = append(limits, c.Limits...)
		maxes = append(maxes, c.Maxes...)
		enforce = append(enforce, c.Enforce...)
	}
	var granted, used, allow, heldTokens, heldCost []int64
	var lease Lease
	err := db.pool.QueryRow(ctx, `SELECT granted, used, allow, held_tokens, held_cost, lease_tokens, lease_cost,
		lease_requests FROM metering_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
		$18, $19)`, b.InstanceID, b.UserID, b.Minute, b.Day, b.Month, prompt, want, minimum, promptCost, outPrice,
		nchecks, nonNil(limits), nonNilInts(maxes), nonNilBools(enforce), b.Release.Tokens, b.Release.CostMicros,
		b.Release.Requests, int32(b.LeaseCall+1), int32(b.LeaseCalls)).Scan( //nolint:gosec // at most 100 calls, a few dozen leased
		&granted, &used, &allow, &heldTokens, &heldCost, &lease.Tokens, &lease.CostMicros, &lease.Requests)
	if err != nil {
		return nil, Lease{}, fmt.Errorf("reserving quota: %w", err)
	}
	if len(granted) != n || len(used) != len(limits) || len(allow) != len(limits) {
		return nil, Lease{}, fmt.Errorf("reserving quota: %d results for %d calls", len(granted), n)
	}
	out := make([]ReserveResult, n)
	k := 0
	for i, c := range b.Calls {
		m := len(c.Limits)
		out[i] = ReserveResult{Granted: granted[i], Used: used[k : k+m], Allow: allow[k : k+m], HeldTokens: heldTokens[i], HeldCost: heldCost[i]}
		k += m
	}
	return out, lease, nil
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func nonNilBools(s []bool) []bool {
	if s == nil {
		return []bool{}
	}
	return s
}

// RenewInstance extends (or starts) a meter instance's lease: its holds count until the lease ends.
func (db *DB) RenewInstance(ctx context.Context, id string, lease time.Duration) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO meter_instances (id, expires_at) VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
		ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`, id, lease.Milliseconds())
	if err != nil {
		return fmt.Errorf("renewing the meter's lease: %w", err)
	}
	return nil
}

// UsageRecord is one row of usage_records.
type UsageRecord struct {
	StartedAt time.Time
	// Day is the start date in the platform's time zone (its time of day is ignored).
	Day            time.Time
	UserID         string
	TokenID        *string
	Source         string
	Provider       string
	Model          string
	KeyID          string
	UserKeyID      string
	PromptTokens   int64
	CachedTokens   int64
	Completion     int64
	Reasoning      int64
	CostMicros     int64
	LatencyMS      int64
	TTFTMS         *int64
	Outcome        string
	ErrorCode      string
	Estimated      bool
	ConversationID *string
	MessageID      *string
	// Refusal and Shadow are JSON documents, or nil.
	Refusal *string
	Shadow  *string
}

// DailyDelta adds to one usage_daily row.
type DailyDelta struct {
	Day                                   time.Time
	UserID, Provider, Model               string
	Requests, Refused, Failed, Estimated  int64
	Prompt, Cached, Completion, Reasoning int64
	CostMicros                            int64
}

// RefusalDelta adds to one quota_refusals_daily row.
type RefusalDelta struct {
	Day          time.Time
	Quota, Limit string
	Shadow       bool
	UserID       string
	Refusals     int64
}

// CounterDelta adds settled usage to one quota_counters row.
type CounterDelta struct {
	UserID     string
	Kind       string
	Start      time.Time
	Tokens     int64
	CostMicros int64
}

// HoldDelta releases what one user's settled calls held in the windows starting at Day and Month, and
// requests of a free lease counted in the minute starting at Minute (when that is still the hold's minute).
type HoldDelta struct {
	UserID     string
	Day, Month time.Time
	Tokens     int64
	CostMicros int64
	Minute     time.Time
	Requests   int64
}

// TokenUse is the latest use of a personal API token.
type TokenUse struct {
	TokenID string
	At      time.Time
}

// UsageBatch is everything one flush of the usage writer changes. The deltas must be aggregated (one per
// key) and sorted by key, so that concurrent writers lock rows in the same order.
type UsageBatch struct {
	Records  []UsageRecord
	Daily    []DailyDelta
	Refusals []RefusalDelta
	Counters []CounterDelta
	// Holds are released from the holds of InstanceID.
	InstanceID string
	Holds      []HoldDelta
	Tokens     []TokenUse
}

// writeUsageSQL writes a batch in ONE statement (so atomically, in one round trip): the records, their rollups,
// the refusal counts, the counters, the release of the settled calls' holds and the tokens' last use. Every
// column travels as one array parameter, so the batch size is not bounded by the 65,535 bind parameters of
// a statement.
const writeUsageSQL = `WITH rec AS (
	INSERT INTO usage_records (started_at, day, user_id, token_id, source, provider, model, key_id, user_key_id,
		prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, latency_ms, ttft_ms, outcome,
		error_code, estimated, conversation_id, message_id, refusal, shadow)
	SELECT * FROM unnest($1::timestamptz[], $2::date[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
		$16::bigint[], $17::text[], $18::text[], $19::boolean[], $20::uuid[], $21::uuid[], $22::jsonb[], $23::jsonb[])
), daily AS (
	INSERT INTO usage_daily AS d (day, user_id, provider, model, requests, refused, failed, estimated, prompt_tokens,
		cached_tokens, completion_tokens, reasoning_tokens, cost_micros)
	SELECT * FROM unnest($24::date[], $25::uuid[], $26::text[], $27::text[], $28::bigint[], $29::bigint[], $30::bigint[],
		$31::bigint[], $32::bigint[], $33::bigint[], $34::bigint[], $35::bigint[], $36::bigint[])
	ON CONFLICT (day, user_id, provider, model) DO UPDATE SET requests = d.requests + EXCLUDED.requests,
		refused = d.refused + EXCLUDED.refused, failed = d.failed + EXCLUDED.failed,
		estimated = d.estimated + EXCLUDED.estimated, prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
		cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens,
		completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
		reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens, cost_micros = d.cost_micros + EXCLUDED.cost_micros
), refusals AS (
	INSERT INTO quota_refusals_daily AS q (day, quota, limit_name, shadow, user_id, refusals)
	SELECT * FROM unnest($37::date[], $38::text[], $39::text[], $40::boolean[], $41::uuid[], $42::bigint[])
	ON CONFLICT (day, quota, limit_name, shadow, user_id) DO UPDATE SET refusals = q.refusals + EXCLUDED.refusals
), counters AS (
	INSERT INTO quota_counters AS c (user_id, window_kind, window_start, tokens, cost_micros)
	SELECT * FROM unnest($43::uuid[], $44::text[], $45::timestamptz[], $46::bigint[], $47::bigint[])
	ON CONFLICT (user_id, window_kind, window_start) DO UPDATE SET tokens = c.tokens + EXCLUDED.tokens,
		cost_micros = c.cost_micros + EXCLUDED.cost_micros
), released AS (
	UPDATE quota_holds h SET tokens = h.tokens - d.tokens, cost_micros = h.cost_micros - d.cost,
		minute_requests = CASE WHEN h.minute_start = d.minute THEN greatest(h.minute_requests - d.requests, 0) ELSE h.minute_requests END
	FROM unnest($48::uuid[], $49::timestamptz[], $50::timestamptz[], $51::bigint[], $52::bigint[], $56::timestamptz[], $57::bigint[])
		AS d(user_id, day_start, month_start, tokens, cost, minute, requests)
	WHERE h.user_id = d.user_id AND h.instance_id = $53 AND h.day_start = d.day_start AND h.month_start = d.month_start
), used AS (
	UPDATE api_tokens t SET last_used_at = u.at FROM unnest($54::uuid[], $55::timestamptz[]) AS u(id, at)
	WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)
)
SELECT 1`

// WriteUsage writes a batch atomically.
func (db *DB) WriteUsage(ctx context.Context, b UsageBatch) error {
	_, err := db.pool.Exec(ctx, writeUsageSQL, b.args()...)
	if err != nil {
		return fmt.Errorf("writing %d usage records: %w", len(b.Records), err)
	}
	return nil
}

// NotApplied reports whether a failed statement certainly changed nothing: the server refused it (its
// transaction rolled back), or it was never sent. A statement cut off otherwise (a timeout while it ran) may
// have committed.
func NotApplied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) || pgconn.SafeToRetry(err)
}

// IsRetryable reports whether a failed write may simply be tried again at once: a deadlock between two
// replicas' writers, or a serialization failure.
func IsRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// args lays the batch out as column arrays.
func (b UsageBatch) args() []any {
	n := len(b.Records)
	var (
		started, day                                      = make([]time.Time, n), make([]time.Time, n)
		user                                              = make([]string, n)
		token, conv, msg, refusal, shadow                 = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		source, prov, mdl, key, userKey, outcome, errCode = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		prompt, cached, completion, reasoning, cost, lat  = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		ttft                                              = make([]*int64, n)
		estimated                                         = make([]bool, n)
	)
	for i, r := range b.Records {
		started[i], day[i], user[i], token[i] = r.StartedAt, r.Day, r.UserID, r.TokenID
		source[i], prov[i], mdl[i], key[i], userKey[i] = r.Source, r.Provider, r.Model, r.KeyID, r.UserKeyID
		prompt[i], cached[i], completion[i], reasoning[i] = r.PromptTokens, r.CachedTokens, r.Completion, r.Reasoning
		cost[i], lat[i], ttft[i], outcome[i], errCode[i] = r.CostMicros, r.LatencyMS, r.TTFTMS, r.Outcome, r.ErrorCode
		estimated[i], conv[i], msg[i], refusal[i], shadow[i] = r.Estimated, r.ConversationID, r.MessageID, r.Refusal, r.Shadow
	}
	args := []any{started, day, user, token, source, prov, mdl, key, userKey, prompt, cached, completion, reasoning,
		cost, lat, ttft, outcome, errCode, estimated, conv, msg, refusal, shadow}
	args = append(args, b.dailyArgs()...)
	args = append(args, b.refusalArgs()...)
	args = append(args, b.counterArgs()...)
	args = append(args, b.holdArgs()...)
	tokenIDs, tokenAt := make([]string, len(b.Tokens)), make([]time.Time, len(b.Tokens))
	for i, t := range b.Tokens {
		tokenIDs[i], tokenAt[i] = t.TokenID, t.At
	}
	minute, requests := make([]time.Time, len(b.Holds)), make([]int64, len(b.Holds))
	for i, h := range b.Holds {
		minute[i], requests[i] = h.Minute, h.Requests
	}
	return append(args, tokenIDs, tokenAt, minute, requests)
}

func (b UsageBatch) holdArgs() []any {
	n := len(b.Holds)
	user, day, month := make([]string, n), make([]time.Time, n), make([]time.Time, n)
	tokens, cost := make([]int64, n), make([]int64, n)
	for i, h := range b.Holds {
		user[i], day[i], month[i], tokens[i], cost[i] = h.UserID, h.Day, h.Month, h.Tokens, h.CostMicros
	}
	// The instance is a UUID parameter even when nothing is released.
	instance := optionalID(b.InstanceID)
	return []any{user, day, month, tokens, cost, instance}
}

func (b UsageBatch) dailyArgs() []any {
	n := len(b.Daily)
	day := make([]time.Time, n)
	user, prov, mdl := make([]string, n), make([]string, n), make([]string, n)
	cols := make([][]int64, 9)
	for j := range cols {
		cols[j] = make([]int64, n)
	}
	for i, d := range b.Daily {
		day[i], user[i], prov[i], mdl[i] = d.Day, d.UserID, d.Provider, d.Model
		for j, v := range []int64{d.Requests, d.Refused, d.Failed, d.Estimated, d.Prompt, d.Cached, d.Completion, d.Reasoning, d.CostMicros} {
			cols[j][i] = v
		}
	}
	args := []any{day, user, prov, mdl}
	for _, c := range cols {
		args = append(args, c)
	}
	return args
}

func (b UsageBatch) refusalArgs() []any {
	n := len(b.Refusals)
	day, quota, limit, shadow := make([]time.Time, n), make([]string, n), make([]string, n), make([]bool, n)
	user, count := make([]string, n), make([]int64, n)
	for i, r := range b.Refusals {
		day[i], quota[i], limit[i], shadow[i], user[i], count[i] = r.Day, r.Quota, r.Limit, r.Shadow, r.UserID, r.Refusals
	}
	return []any{day, quota, limit, shadow, user, count}
}

func (b UsageBatch) counterArgs() []any {
	n := len(b.Counters)
	user, kind, start := make([]string, n), make([]string, n), make([]time.Time, n)
	tokens, cost := make([]int64, n), make([]int64, n)
	for i, c := range b.Counters {
		user[i], kind[i], start[i], tokens[i], cost[i] = c.UserID, c.Kind, c.Start, c.Tokens, c.CostMicros
	}
	return []any{user, kind, start, tokens, cost}
}

// DeleteUsageBefore deletes at most limit usage records that started before cutoff and returns how many it
// deleted. Rows another replica is deleting at the same time are skipped, not waited for.
func (db *DB) DeleteUsageBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM usage_records WHERE id IN (
		SELECT id FROM usage_records WHERE started_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("deleting old usage records: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteStaleQuotaState deletes counters of windows long over, the holds of meter instances whose lease
// ended long ago (they count no more) and empty holds of past days. None of it counts any more, so
// deleting it changes no quota decision.
func (db *DB) DeleteStaleQuotaState(ctx context.Context) error {
	for _, q := range []string{
		`DELETE FROM quota_counters WHERE (window_kind = 'day' AND window_start < now() - interval '3 days') OR
			(window_kind = 'month' AND window_start < now() - interval '70 days')`,
		`DELETE FROM quota_holds h USING meter_instances i WHERE i.id = h.instance_id AND i.expires_at < now() - interval '10 minutes'`,
		`DELETE FROM quota_holds h WHERE NOT EXISTS (SELECT FROM meter_instances i WHERE i.id = h.instance_id)`,
		`DELETE FROM quota_holds WHERE tokens = 0 AND cost_micros = 0 AND day_start < now() - interval '2 days'`,
		`DELETE FROM meter_instances WHERE expires_at < now() - interval '10 minutes'`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("deleting old quota state: %w", err)
		}
	}
	return nil
}
