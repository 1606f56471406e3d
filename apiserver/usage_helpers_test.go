package apiserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/apiserver/store"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// internalToken is the operator's token in the metering tests.
const internalToken = "internal-token-0123456789abcdef0123456789abcdef"

// meterConfig is platform.yaml for the metering tests: models on the mock (OpenAI, Anthropic, Gemini, Ollama,
// one without usage reports, a slow one, a broken one), the internal token, and the quotas appended (%[3]s).
const meterConfig = `platform: meter-test
timezone: Asia/Tokyo
auth:
  registration: Open
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: %[1]s/secrets/jwt
  encryptionKeyFile: %[1]s/secrets/enc
  adminDir: %[1]s/admin
  internalTokenFile: %[1]s/secrets/internal
providers:
  - name: oai
    type: OpenAI
    baseURL: %[2]s/openai/v1
    keys: [{id: oai/one, file: %[1]s/keys/one}]
    models:
      - {name: mock-chat, pricing: {input: "1", cachedInput: "0.5", output: "2"}, maxOutputTokens: 1000}
      - {name: slow, upstreamName: "mock-chat+tps:200+tokens:2000", maxOutputTokens: 4000}
      - {name: broken, upstreamName: "mock-chat+status:500"}
      - {name: fifty, upstreamName: "mock-chat+tokens:50", pricing: {input: "1", output: "2"}}
  - name: quiet
    type: OpenAICompatible
    baseURL: %[2]s/openai/v1
    models: [{name: mock-chat, upstreamName: "mock-chat+usage:false", pricing: {input: "1", output: "2"}}]
  - name: ant
    type: Anthropic
    baseURL: %[2]s/anthropic
    keys: [{id: ant/one, file: %[1]s/keys/one}]
    models: [{name: mock-chat, pricing: {input: "3", output: "15"}}]
  - name: gem
    type: Gemini
    baseURL: %[2]s/gemini
    keys: [{id: gem/one, file: %[1]s/keys/one}]
    models: [{name: mock-chat, pricing: {input: "1", output: "2"}}]
  - name: oll
    type: Ollama
    baseURL: %[2]s/ollama
    models: [{name: mock-chat, pricing: {input: "1", output: "2"}}]
%[3]s`

// meterEnv is an API server with its real meter, providers on an in-process mock.
type meterEnv struct {
	*env
	mock    *mockprovider.Server
	mockURL string
}

type meterOptions struct {
	quotas string
	dbURL  string
	// peer shares another env's database, files and mock: a second replica.
	peer *meterEnv
}

func newMeterEnv(t testing.TB, o meterOptions) *meterEnv {
	t.Helper()
	me := &meterEnv{}
	e := &env{t: t, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	if o.peer != nil {
		e.dir, e.dbURL, me.mock, me.mockURL = o.peer.dir, o.peer.dbURL, o.peer.mock, o.peer.mockURL
	} else {
		e.dir, e.dbURL = t.TempDir(), o.dbURL
		if e.dbURL == "" {
			e.dbURL = pgtest.NewDatabase(t)
		}
		me.mock = mockprovider.New(mockprovider.Config{})
		mockSrv := httptest.NewServer(me.mock)
		t.Cleanup(mockSrv.Close)
		me.mockURL = mockSrv.URL
		writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), testKey)
		encKey := make([]byte, 32)
		_, _ = rand.Read(encKey)
		writeFile(t, filepath.Join(e.dir, "secrets", "enc"), base64.StdEncoding.EncodeToString(encKey))
		writeFile(t, filepath.Join(e.dir, "secrets", "internal"), internalToken+"\n")
		writeFile(t, filepath.Join(e.dir, "admin", "username"), adminUser)
		writeFile(t, filepath.Join(e.dir, "admin", "password"), adminPass)
		writeFile(t, filepath.Join(e.dir, "keys", "one"), "sk-platform-0123456789")
	}
	me.env = e
	if o.peer == nil {
		me.setQuotas(o.quotas)
	}
	log := slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: filepath.Join(e.dir, "config", "platform.yaml"),
		DatabaseURL: e.dbURL, Log: log, Version: "test", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		t.Fatalf("apiserver.New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.cancel, e.base, e.stopped = srv, cancel, "http://"+l.Addr().String(), make(chan error, 1)
	go func() { e.stopped <- srv.Serve(ctx, l) }()
	t.Cleanup(e.stop)
	e.router = newDocRouter(t, e.base)
	return me
}

// setQuotas rewrites platform.yaml with these quotas (YAML under "quotas:"; empty for none).
func (e *meterEnv) setQuotas(quotas string) {
	if quotas != "" {
		quotas = "quotas:\n" + quotas
	}
	e.writeConfigText(fmt.Sprintf(meterConfig, e.dir, e.mockURL, quotas))
}

// apiToken creates a personal API token for s and returns its secret.
func (e *meterEnv) apiToken(s session, body map[string]any) string {
	e.t.Helper()
	if body == nil {
		body = map[string]any{"name": "test"}
	}
	var tok struct {
		Token string `json:"token"`
	}
	e.expect(e.do("POST", "/api/v1/tokens", s.access, body), 201).json(e.t, &tok)
	return tok.Token
}

// client is the official OpenAI client on this server's /v1 with token.
func (e *meterEnv) client(token string) openai.Client {
	return openai.NewClient(openaioption.WithBaseURL(e.base+"/v1/"), openaioption.WithAPIKey(token),
		openaioption.WithMaxRetries(0))
}

// flush waits until every usage record settled so far is written.
func (e *meterEnv) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A non-streamed call is settled just after its answer is sent: wait (briefly, as a test may hold calls
	// open on purpose) for the calls whose answers arrived.
	for wait := time.Now().Add(time.Second); e.srv.Meter.InFlight() > 0 && time.Now().Before(wait); {
		time.Sleep(time.Millisecond)
	}
	if err := e.srv.Meter.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// scalar runs a query returning one number (NULL counts as 0).
func (e *meterEnv) scalar(q string, args ...any) int64 {
	e.t.Helper()
	var n *int64
	if err := e.srv.DB.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	if n == nil {
		return 0
	}
	return *n
}

// waitRecords waits until the database holds n usage records (settles finish after answers end).
func (e *meterEnv) waitRecords(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.flush()
		got := e.scalar(`SELECT count(*) FROM usage_records`)
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			e.t.Fatalf("%d usage records, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func userMessage(text string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
}

// newDocRouter finds the OpenAPI operations of requests to base, for checking answers against the document.
func newDocRouter(t testing.TB, base string) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameMinute waits for the next minute when this one is about to end, so that a test's calls against a
// requestsPerMinute limit fall in one window.
func sameMinute() {
	if s := time.Now().Second(); s >= 50 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}

// usageTotals is a group of usage as the statistics show it.
type usageTotals struct {
	Requests           int64  `json:"requests"`
	Refused            int64  `json:"refused"`
	Failed             int64  `json:"failed"`
	PromptTokens       int64  `json:"prompt_tokens"`
	CachedPromptTokens int64  `json:"cached_prompt_tokens"`
	CompletionTokens   int64  `json:"completion_tokens"`
	ReasoningTokens    int64  `json:"reasoning_tokens"`
	TotalTokens        int64  `json:"total_tokens"`
	CostUSD            string `json:"cost_usd"`
}

// usageReport is /api/v1/usage or /api/v1/admin/usage (by_provider is the user's, by_user the admin's).
type usageReport struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	Summary usageTotals `json:"summary"`
	ByDay   []struct {
		Date string `json:"date"`
		usageTotals
	} `json:"by_day"`
	ByModel []struct {
		Provider string `json:"provider"`
		Model    string `json:"model"`
		usageTotals
	} `json:"by_model"`
	ByProvider []struct {
		Provider string `json:"provider"`
		usageTotals
	} `json:"by_provider"`
	ByUser []struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
		usageTotals
	} `json:"by_user"`
}

// usageFilter selects raw usage records: the days from..to (YYYY-MM-DD, both included) and, where not
// empty, one user, provider and model.
type usageFilter struct {
	from, to, user, provider, model string
}

// rawUsage sums the raw usage records that f selects, as the statistics should show them.
func (e *meterEnv) rawUsage(f usageFilter) usageTotals {
	e.t.Helper()
	var r usageTotals
	var cost int64
	err := e.srv.DB.Pool().QueryRow(context.Background(), `SELECT count(*),
		count(*) FILTER (WHERE outcome = 'refused'), count(*) FILTER (WHERE outcome IN ('upstream_error', 'error')),
		coalesce(sum(prompt_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(completion_tokens), 0),
		coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_micros), 0)
		FROM usage_records WHERE day BETWEEN $1::date AND $2::date AND ($3::text = '' OR user_id::text = $3::text)
		AND ($4::text = '' OR provider = $4::text) AND ($5::text = '' OR model = $5::text)`,
		f.from, f.to, f.user, f.provider, f.model).Scan(&r.Requests, &r.Refused, &r.Failed, &r.PromptTokens,
		&r.CachedPromptTokens, &r.CompletionTokens, &r.ReasoningTokens, &cost)
	if err != nil {
		e.t.Fatal(err)
	}
	r.TotalTokens = r.PromptTokens + r.CompletionTokens
	r.CostUSD = formatMicros(cost)
	return r
}

// checkReport checks a usage report over f's range (for f's user, or everyone) against the raw records: its
// range, its summary (of requests in all), every day of the range in order, every model, provider and user,
// and that these groups leave nothing out.
func (e *meterEnv) checkReport(name string, rep usageReport, f usageFilter, requests int64) {
	e.t.Helper()
	t := e.t
	if want := e.rawUsage(f); rep.Summary != want || rep.Summary.Requests != requests || rep.From != f.from || rep.To != f.to {
		t.Errorf("%s: %s..%s summary %+v, want %s..%s with %d requests; raw records %+v", name, rep.From, rep.To,
			rep.Summary, f.from, f.to, requests, want)
	}
	from, _ := time.Parse(time.DateOnly, f.from)
	to, _ := time.Parse(time.DateOnly, f.to)
	if days := int(to.Sub(from).Hours()/24) + 1; len(rep.ByDay) != days {
		t.Errorf("%s: %d days in by_day, want %d", name, len(rep.ByDay), days)
	}
	var sums [3]int64
	for i, d := range rep.ByDay {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		if want := e.rawUsage(usageFilter{from: day, to: day, user: f.user}); d.Date != day || d.usageTotals != want {
			t.Errorf("%s: by_day[%d] %s %+v, want %s with the raw records' %+v", name, i, d.Date, d.usageTotals, day, want)
		}
	}
	// group checks one group's totals against the raw records of g, and counts its requests in sums[i].
	group := func(i int, label string, g usageFilter, got usageTotals) {
		sums[i] += got.Requests
		if want := e.rawUsage(g); got != want {
			t.Errorf("%s: %s %+v, raw records %+v", name, label, got, want)
		}
	}
	for _, m := range rep.ByModel {
		g := f
		g.provider, g.model = m.Provider, m.Model
		group(0, "model "+m.Provider+"/"+m.Model, g, m.usageTotals)
	}
	for _, p := range rep.ByProvider {
		g := f
		g.provider = p.Provider
		group(1, "provider "+p.Provider, g, p.usageTotals)
	}
	for _, u := range rep.ByUser {
		g := f
		g.user = u.UserID
		group(2, "user "+u.Username, g, u.usageTotals)
	}
	want := [3]int64{requests, requests, 0} // a user's report has no users, the admin's no providers
	if f.user == "" {
		want = [3]int64{requests, 0, requests}
	}
	if sums != want {
		t.Errorf("%s: by model, by provider and by user count %v requests, want %v", name, sums, want)
	}
}

// writeBackdated writes a usage record of a call on the given day (a date in the platform's zone) and its
// daily rollup, through the store's own usage write, as the meter's writer does.
func (e *meterEnv) writeBackdated(userID string, day time.Time) {
	e.t.Helper()
	y, m, d := day.Date()
	rec := store.UsageRecord{StartedAt: time.Date(y, m, d, 12, 0, 0, 0, tokyo(e.t)), Day: day, UserID: userID,
		Source: metering.SourceAPI, Provider: "oai", Model: "mock-chat", KeyID: "oai/one", PromptTokens: 1000,
		CachedTokens: 200, Completion: 500, Reasoning: 100, CostMicros: 2_000_000, LatencyMS: 1500, Outcome: metering.OutcomeOK}
	daily := store.DailyDelta{Day: day, UserID: userID, Provider: rec.Provider, Model: rec.Model, Requests: 1,
		Prompt: rec.PromptTokens, Cached: rec.CachedTokens, Completion: rec.Completion, Reasoning: rec.Reasoning, CostMicros: rec.CostMicros}
	if err := e.srv.DB.WriteUsage(context.Background(), store.UsageBatch{Records: []store.UsageRecord{rec},
		Daily: []store.DailyDelta{daily}}); err != nil {
		e.t.Fatal(err)
	}
}
