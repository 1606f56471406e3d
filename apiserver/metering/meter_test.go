package metering_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/store"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// platform is the configuration of these tests: one priced model, and the quotas given.
func platform(t testing.TB, quotas string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`platform: test
timezone: Europe/Berlin
secrets: {jwtKeyFile: /k, encryptionKeyFile: /e}
providers:
- name: openai
  type: OpenAI
  models:
  - name: gpt
    maxOutputTokens: 1000
    pricing: {input: "2", cachedInput: "0.5", output: "8"}
  - name: free
` + quotas))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fixture is a database and a way to open meters on it.
type fixture struct {
	t   testing.TB
	db  *store.DB
	cfg atomic.Pointer[config.Config]
}

func newFixture(t testing.TB, quotas string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewDatabase(t), store.Options{MaxConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db}
	f.cfg.Store(platform(t, quotas))
	return f
}

// meter opens a meter on its own connection pool, as another API server process would.
func (f *fixture) meter(o metering.Options) *metering.Meter {
	f.t.Helper()
	m, err := metering.New(context.Background(), f.openPool(), f.cfg.Load, o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			f.t.Error(err)
		}
	})
	return m
}

func (f *fixture) openPool() *store.DB {
	f.t.Helper()
	db, err := store.Open(context.Background(), connString(f.db.Pool()), store.Options{MaxConns: 10})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(db.Close)
	return db
}

func connString(p *pgxpool.Pool) string { return p.Config().ConnString() }

// scalar runs a query returning one int64.
func (f *fixture) scalar(q string, args ...any) int64 {
	f.t.Helper()
	var n *int64
	if err := f.db.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	if n == nil {
		return 0
	}
	return *n
}

const alice = "00000000-0000-4000-8000-00000000a11c"

func caller() metering.Caller {
	return metering.Caller{UserID: alice, Username: "alice", Email: "alice@example.com", Role: "user"}
}

func request(prompt, maxOut int64) metering.Request {
	return metering.Request{Caller: caller(), Source: metering.SourceAPI, Provider: "openai", Model: "gpt",
		PromptTokens: prompt, MaxOutputTokens: maxOut}
}

func usage(prompt, completion int64) metering.Settlement {
	return metering.Settlement{Outcome: metering.OutcomeOK, Usage: provider.Usage{PromptTokens: prompt, CompletionTokens: completion}}
}

func flush(t *testing.T, ms ...*metering.Meter) {
	t.Helper()
	for _, m := range ms {
		if err := m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFiftyConcurrentCallsAgainstABudgetForTen: 50 calls at once, each reserving 10 prompt + 20 output
// tokens, against 300 tokens a day: exactly 10 are granted, and after settling the books balance: the
// counters, the rollups and the raw records hold the same totals, within the budget.
func TestFiftyConcurrentCallsAgainstABudgetForTen(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 300}}
`)
	// Two meters on two pools: two API server processes on one database.
	m1, m2 := f.meter(metering.Options{}), f.meter(metering.Options{})
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := m1
			if i%2 == 1 {
				m = m2
			}
			<-start
			res, err := m.Reserve(context.Background(), request(10, 20))
			var qe *metering.QuotaError
			switch {
			case errors.As(err, &qe):
				refused.Add(1)
				return
			case err != nil:
				t.Error(err)
				return
			}
			granted.Add(1)
			if g := res.Grant().MaxOutputTokens; g != 20 {
				t.Errorf("granted %d output tokens, want 20", g)
			}
			time.Sleep(5 * time.Millisecond) // the call
			if err := res.Settle(context.Background(), usage(10, 20)); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	flush(t, m1, m2)
	if granted.Load() != 10 || refused.Load() != 40 {
		t.Fatalf("granted %d, refused %d; want 10 and 40", granted.Load(), refused.Load())
	}
	raw := f.scalar(`SELECT sum(prompt_tokens + completion_tokens) FROM usage_records WHERE user_id = $1`, alice)
	counter := f.scalar(`SELECT tokens FROM quota_counters WHERE user_id = $1 AND window_kind = 'day'`, alice)
	rollup := f.scalar(`SELECT sum(prompt_tokens + completion_tokens) FROM usage_daily WHERE user_id = $1`, alice)
	if raw != 300 || counter != raw || rollup != raw {
		t.Errorf("tokens: raw records %d, day counter %d, rollup %d; want 300 in each", raw, counter, rollup)
	}
	if n := f.scalar(`SELECT count(*) FROM usage_records`); n != 50 {
		t.Errorf("%d usage records, want one per request (50)", n)
	}
	if n := f.scalar(`SELECT count(*) FROM usage_records WHERE outcome = 'refused' AND refusal IS NOT NULL`); n != 40 {
		t.Errorf("%d refused records with their refusal, want 40", n)
	}
	if n := f.scalar(`SELECT coalesce(sum(tokens), 0) FROM quota_holds`); n != 0 {
		t.Errorf("%d tokens still held after settling, want 0", n)
	}
	if n := f.scalar(`SELECT sum(refusals) FROM quota_refusals_daily WHERE quota = 'daily' AND NOT shadow`); n != 40 {
		t.Errorf("refusal rollup counts %d, want 40", n)
	}
}

// TestOvershootIsBoundedByTheReservation: calls whose real prompts are larger than estimated overshoot the
// budget by at most the estimates' error, and a call is granted only the output the budget has room for.
func TestOvershootIsBoundedByTheReservation(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {users: [ALICE]}, limits: {tokensPerDay: 1000}}
`)
	m := f.meter(metering.Options{})
	var used int64
	var grants []int64
	for {
		res, err := m.Reserve(context.Background(), request(50, 200))
		if err != nil {
			var qe *metering.QuotaError
			if !errors.As(err, &qe) {
				t.Fatal(err)
			}
			r := qe.Refusals[0]
			if r.Quota != "daily" || r.Limit != metering.LimitTokensPerDay || r.Max != "1000" || r.Used != fmt.Sprint(used) {
				t.Errorf("refusal %+v after %d tokens used", r, used)
			}
			break
		}
		g := res.Grant().MaxOutputTokens
		grants = append(grants, g)
		// The real prompt is 5 tokens larger than estimated; the answer uses the whole grant.
		if err := res.Settle(context.Background(), usage(55, g)); err != nil {
			t.Fatal(err)
		}
		used += 55 + g
		flush(t, m)
	}
	// 255 tokens per call: the fourth call has room for 1000 - 765 - 50 = 185 output tokens.
	if fmt.Sprint(grants) != "[200 200 200 185]" {
		t.Errorf("grants %v, want [200 200 200 185]", grants)
	}
	if used > 1000+5*int64(len(grants)) {
		t.Errorf("used %d tokens of 1000; the overshoot exceeds the estimates' error", used)
	}
}

// TestDeadProcessReservationExpires: a reservation whose process died holds the budget until its lease
// ends, then stops counting by itself.
func TestDeadProcessReservationExpires(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 100}}
`)
	dead, err := metering.New(context.Background(), f.openPool(), f.cfg.Load, metering.Options{Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Reserve(context.Background(), request(10, 80)); err != nil {
		t.Fatal(err)
	}
	// The process dies: nothing renews or settles its reservation.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dead.Close(ctx); err != nil {
		t.Fatal(err)
	}
	live := f.meter(metering.Options{Lease: time.Second})
	_, err = live.Reserve(context.Background(), request(10, 80))
	var qe *metering.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("reserve while the dead reservation holds the budget: %v, want a refusal", err)
	}
	time.Sleep(1100 * time.Millisecond)
	res, err := live.Reserve(context.Background(), request(10, 80))
	if err != nil {
		t.Fatalf("reserve after the lease ended: %v", err)
	}
	if err := res.Settle(context.Background(), usage(10, 5)); err != nil {
		t.Fatal(err)
	}
}

// TestLiveReservationsAreRenewed: a call longer than the lease keeps its reservation.
func TestLiveReservationsAreRenewed(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 100}}
`)
	m := f.meter(metering.Options{Lease: 600 * time.Millisecond})
	res, err := m.Reserve(context.Background(), request(10, 80))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := m.Reserve(context.Background(), request(10, 80)); err == nil {
		t.Fatal("a second call was granted while the first, renewed, still holds the budget")
	}
	if err := res.Settle(context.Background(), usage(10, 80)); err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(context.Background(), usage(10, 80)); err == nil {
		t.Error("a second Settle succeeded, want an error")
	}
}

// TestForgottenSettlementIsReleasedOnce: a call unsettled past MaxCallDuration has its hold released while
// its process lives on; settling it later records the usage without releasing the hold a second time.
func TestForgottenSettlementIsReleasedOnce(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 100}}
`)
	m := f.meter(metering.Options{Lease: 300 * time.Millisecond, MaxCallDuration: 200 * time.Millisecond})
	forgotten, err := m.Reserve(context.Background(), request(10, 80))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var res metering.Reservation
	for res == nil {
		if time.Now().After(deadline) {
			t.Fatal("the forgotten call's hold was never released")
		}
		time.Sleep(50 * time.Millisecond)
		flush(t, m)
		res, _ = m.Reserve(context.Background(), request(10, 5))
	}
	if err := forgotten.Settle(context.Background(), usage(10, 20)); err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(context.Background(), usage(10, 5)); err != nil {
		t.Fatal(err)
	}
	flush(t, m)
	if n := f.scalar(`SELECT sum(tokens) FROM quota_holds`); n != 0 {
		t.Errorf("holds sum to %d tokens after both calls settled, want 0 (released once each)", n)
	}
	if n := f.scalar(`SELECT tokens FROM quota_counters WHERE window_kind = 'day'`); n != 45 {
		t.Errorf("day counter %d tokens, want 45", n)
	}
}

// TestCloseWritesEverythingQueued: records still queued at shutdown are written by Close, and a call settled
// after Close is written at once.
func TestCloseWritesEverythingQueued(t *testing.T) {
	f := newFixture(t, "")
	m, err := metering.New(context.Background(), f.openPool(), f.cfg.Load, metering.Options{FlushInterval: time.Hour, MaxBatch: 10})
	if err != nil {
		t.Fatal(err)
	}
	var late metering.Reservation
	for i := range 50 {
		res, err := m.Reserve(context.Background(), request(10, 10))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			late = res
			continue
		}
		if err := res.Settle(context.Background(), usage(10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// Full batches are written at once; the last 9 records wait for a flush that only Close brings.
	deadline := time.Now().Add(5 * time.Second)
	for f.scalar(`SELECT count(*) FROM usage_records`) != 40 {
		if time.Now().After(deadline) {
			t.Fatalf("%d records written before Close, want the 4 full batches of 10", f.scalar(`SELECT count(*) FROM usage_records`))
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.scalar(`SELECT count(*) FROM usage_records`); n != 49 {
		t.Errorf("%d records after Close, want 49", n)
	}
	if err := late.Settle(context.Background(), usage(10, 10)); err != nil {
		t.Fatal(err)
	}
	if n := f.scalar(`SELECT count(*) FROM usage_records`); n != 50 {
		t.Errorf("%d records after a settlement past Close, want 50", n)
	}
}

// TestShadowNeverRefusesAndRecords: a Shadow quota's would-be refusals are recorded, never enforced.
func TestShadowNeverRefusesAndRecords(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: trial, mode: Shadow, subjects: {roles: [user]}, allowedModels: ["openai/free"], limits: {requestsPerMinute: 2, tokensPerDay: 50}}
`)
	m := f.meter(metering.Options{Now: midMinute()})
	for range 5 {
		res, err := m.Reserve(context.Background(), request(10, 30))
		if err != nil {
			t.Fatalf("a Shadow quota refused: %v", err)
		}
		if g := res.Grant().MaxOutputTokens; g != 30 {
			t.Errorf("a Shadow quota lowered the grant to %d", g)
		}
		if err := res.Settle(context.Background(), usage(10, 30)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, m)
	// Every call breaks allowedModels; calls 3-5 break requestsPerMinute; calls 2-5 tokensPerDay (40 used per call).
	for limit, want := range map[string]int64{"allowedModels": 5, "requestsPerMinute": 3, "tokensPerDay": 4} {
		if n := f.scalar(`SELECT sum(refusals) FROM quota_refusals_daily WHERE quota = 'trial' AND shadow AND limit_name = $1`, limit); n != want {
			t.Errorf("shadow refusals of %s: %d, want %d", limit, n, want)
		}
	}
	if n := f.scalar(`SELECT count(*) FROM usage_records WHERE outcome = 'ok' AND shadow IS NOT NULL`); n != 5 {
		t.Errorf("%d records carry their shadow refusals, want 5", n)
	}
}

// TestEveryMatchingQuotaApplies: quotas by user, role and for everyone all apply; the strictest decides,
// maxOutputTokensPerRequest lowers the grant, and allowedModels refuses other models with 403's refusal.
func TestEveryMatchingQuotaApplies(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: everyone, subjects: {allUsers: true}, limits: {maxOutputTokensPerRequest: 300}}
- {name: users, subjects: {roles: [user]}, allowedModels: ["openai/g*"]}
- {name: alice, subjects: {users: [alice@example.com]}, limits: {costPerMonth: "0.01"}}
- {name: admins, subjects: {roles: [admin]}, limits: {requestsPerMinute: 0}}
`)
	m := f.meter(metering.Options{})
	res, err := m.Reserve(context.Background(), request(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	// $0.01 = 10,000 micro-USD; the prompt costs 1000 × $2/M = 2,000; $8/M output leaves 1,000 tokens, and
	// maxOutputTokensPerRequest 300 is lower.
	if g := res.Grant().MaxOutputTokens; g != 300 {
		t.Errorf("granted %d, want 300", g)
	}
	lim := res.Grant().Limits
	if len(lim) != 1 || lim[0].Limit != metering.LimitCostPerMonth || lim[0].Used != 2000+2400 || lim[0].Remaining != 10000-4400 {
		t.Errorf("limits %+v, want costPerMonth with 4400 used", lim)
	}
	if err := res.Settle(context.Background(), metering.Settlement{Usage: provider.Usage{PromptTokens: 1000, CachedPromptTokens: 400, CompletionTokens: 300, ReasoningTokens: 100}}); err != nil {
		t.Fatal(err)
	}
	other := request(10, 10)
	other.Model = "free"
	_, err = m.Reserve(context.Background(), other)
	var qe *metering.QuotaError
	if !errors.As(err, &qe) || !qe.ModelNotAllowed() || qe.Refusals[0].Quota != "users" {
		t.Fatalf("reserve of a model not allowed: %v", err)
	}
	ae := metering.AppError(fmt.Errorf("sending: %w", err))
	if got := fmt.Sprintf("%T", ae); got != "*apperr.Error" {
		t.Fatalf("AppError gave %s", got)
	}
	flush(t, m)
	// Cost: 600 uncached × 2 + 400 cached × 0.5 + 300 output × 8 = 1200 + 200 + 2400 = 3800 micro-USD.
	if c := f.scalar(`SELECT cost_micros FROM usage_records WHERE outcome = 'ok'`); c != 3800 {
		t.Errorf("cost %d micro-USD, want 3800", c)
	}
	if c := f.scalar(`SELECT cost_micros FROM quota_counters WHERE window_kind = 'month'`); c != 3800 {
		t.Errorf("month counter %d micro-USD, want 3800", c)
	}
	admin := request(10, 10)
	admin.Caller.Role = "admin"
	if _, err := m.Reserve(context.Background(), admin); !errors.As(err, &qe) || qe.Refusals[0].Limit != metering.LimitRequestsPerMinute {
		t.Errorf("admin's reserve against requestsPerMinute 0: %v", err)
	}
}

// TestUserKeysCountRequestsOnly: calls with a user's own key cost the platform nothing, do not count against
// token limits, and are still recorded with their tokens.
func TestUserKeysCountRequestsOnly(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: q, subjects: {allUsers: true}, allowedModels: [none], limits: {tokensPerDay: 10, requestsPerMinute: 2}}
`)
	m := f.meter(metering.Options{Now: midMinute()})
	req := metering.Request{Caller: caller(), Source: metering.SourceChat, Provider: "key:k1", Model: "mine",
		UserKeyID: "k1", PromptTokens: 100, MaxOutputTokens: 100}
	for i := range 3 {
		res, err := m.Reserve(context.Background(), req)
		if i == 2 {
			var qe *metering.QuotaError
			if !errors.As(err, &qe) || qe.Refusals[0].Limit != metering.LimitRequestsPerMinute {
				t.Fatalf("third call in a minute: %v, want a requestsPerMinute refusal", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Settle(context.Background(), usage(100, 100)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, m)
	if n := f.scalar(`SELECT sum(prompt_tokens + completion_tokens) FROM usage_records WHERE user_key_id = 'k1'`); n != 400 {
		t.Errorf("user-key tokens recorded: %d, want 400", n)
	}
	if n := f.scalar(`SELECT sum(cost_micros) FROM usage_records`); n != 0 {
		t.Errorf("user-key calls cost the platform %d", n)
	}
	if n := f.scalar(`SELECT coalesce(sum(tokens), 0) FROM quota_counters`); n != 0 {
		t.Errorf("user-key tokens counted against quotas: %d", n)
	}
}

// TestQuotaChangesApplyToTheNextRequest: a new configuration (a reload) applies at once.
func TestQuotaChangesApplyToTheNextRequest(t *testing.T) {
	f := newFixture(t, "")
	m := f.meter(metering.Options{})
	res, err := m.Reserve(context.Background(), request(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Settle(context.Background(), usage(10, 10))
	f.cfg.Store(platform(t, `quotas:
- {name: none, subjects: {allUsers: true}, limits: {tokensPerMonth: 5}}
`))
	if _, err := m.Reserve(context.Background(), request(10, 10)); err == nil {
		t.Fatal("the new quota did not apply to the next request")
	}
}

// TestRetentionDeletesRawRecordsOnly: records past metering.rawRetention are deleted; rollups stay.
func TestRetentionDeletesRawRecordsOnly(t *testing.T) {
	f := newFixture(t, "")
	cfg := platform(t, "")
	cfg.Metering.RawRetention = config.Duration{Duration: 24 * time.Hour}
	f.cfg.Store(cfg)
	now := time.Now()
	clock := atomic.Pointer[time.Time]{}
	old := now.Add(-48 * time.Hour)
	clock.Store(&old)
	m := f.meter(metering.Options{RetentionInterval: 200 * time.Millisecond, Now: func() time.Time { return *clock.Load() }})
	res, err := m.Reserve(context.Background(), request(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Settle(context.Background(), usage(10, 10))
	clock.Store(&now)
	res, err = m.Reserve(context.Background(), request(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Settle(context.Background(), usage(10, 10))
	flush(t, m)
	deadline := time.Now().Add(5 * time.Second)
	for f.scalar(`SELECT count(*) FROM usage_records`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the old record was not deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := f.scalar(`SELECT sum(requests) FROM usage_daily`); n != 2 {
		t.Errorf("rollups count %d requests after retention, want 2", n)
	}
}

// midMinute is a clock stopped in the middle of the current minute, so that calls counted against
// requestsPerMinute fall in one window however long the test takes.
func midMinute() func() time.Time {
	t := time.Now().Truncate(time.Minute).Add(30 * time.Second)
	return func() time.Time { return t }
}

// BenchmarkReserveAndSettle measures one metered call's database work: the reservation (one round trip)
// and its share of the batched usage write, with every kind of counted limit in force. It reports the
// PostgreSQL server's CPU per call (pg-µs/op) and this process's (proc-µs/op). Run with -cpu 1 for one
// caller at a time; the parallel run has 50 callers.
func BenchmarkReserveAndSettle(b *testing.B) {
	for _, bc := range []struct {
		name    string
		callers int
		quotas  string
	}{
		{"no-quota", 50, ""},
		{"tokens", 50, "quotas: [{name: all, subjects: {allUsers: true}, limits: {tokensPerDay: 1000000000000}}]\n"},
		{"all-limits", 50, `quotas: [{name: all, subjects: {allUsers: true}, limits: {requestsPerMinute: 1000000000, tokensPerDay: 1000000000000, costPerMonth: "100000"}}]` + "\n"},
		{"all-limits", 1, `quotas: [{name: all, subjects: {allUsers: true}, limits: {requestsPerMinute: 1000000000, tokensPerDay: 1000000000000, costPerMonth: "100000"}}]` + "\n"},
	} {
		callers := bc.callers
		b.Run(fmt.Sprintf("%s/callers=%d", bc.name, callers), func(b *testing.B) {
			f := newFixture(b, bc.quotas)
			m, err := metering.New(context.Background(), f.db, f.cfg.Load, metering.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = m.Close(context.Background()) }()
			var users atomic.Int64
			cpu := startCPU(b, f.db)
			b.SetParallelism((callers + 1) / 2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := request(50, 100)
				req.Caller.UserID = fmt.Sprintf("00000000-0000-4000-8000-%012d", users.Add(1))
				for pb.Next() {
					res, err := m.Reserve(context.Background(), req)
					if err != nil {
						b.Error(err)
						return
					}
					if err := res.Settle(context.Background(), usage(50, 100)); err != nil {
						b.Error(err)
					}
				}
			})
			if err := m.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu.report(b)
		})
	}
}
