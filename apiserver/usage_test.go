package apiserver_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"

	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestFiftyStreamsAgainstABudgetForTenOnTwoServers: 50 streamed /v1 calls at once, spread over two API
// server processes on one database, against a daily token budget that fits 10 reservations. The budget is
// never exceeded by more than what the reservations' prompt estimates missed, and the books balance to the
// token: the quota counter, the raw records, the daily rollups and /api/v1/usage agree.
func TestFiftyStreamsAgainstABudgetForTenOnTwoServers(t *testing.T) {
	a := newMeterEnv(t, meterOptions{})
	b := newMeterEnv(t, meterOptions{peer: a})
	ctx := context.Background()
	// Learn one call's reservation from the rate-limit headers, with a budget that cannot run out.
	a.setQuotas("- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 1000000}}\n")
	a.waitFor("the quota on both servers", func() bool { return len(a.srv.Meter.Quotas(nil)) == 1 && len(b.srv.Meter.Quotas(nil)) == 1 })
	probe := a.register("probe")
	var httpResp *http.Response
	probeClient := a.client(a.apiToken(probe, nil))
	_, err := probeClient.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "oai/mock-chat", Messages: userMessage("Tell me a story"), MaxTokens: openai.Int(20)},
		openaioption.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	remaining, _ := strconv.ParseInt(httpResp.Header.Get("x-ratelimit-remaining-tokens"), 10, 64)
	reservation := 1000000 - remaining
	estimate := reservation - 20
	budget := 10 * reservation

	a.setQuotas(fmt.Sprintf("- {name: daily, subjects: {users: [ann]}, limits: {tokensPerDay: %d}}\n", budget))
	ann := a.register("ann")
	tok := a.apiToken(ann, nil)
	a.waitFor("the new quota on both servers", func() bool {
		for _, e := range []*meterEnv{a, b} {
			if q := e.srv.Meter.Quotas(nil); len(q) != 1 || len(q[0].Config.Subjects.Users) != 1 {
				return false
			}
		}
		return true
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			client := e.client(tok)
			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "oai/mock-chat",
				Messages: userMessage("Tell me a story"), MaxTokens: openai.Int(20)})
			for stream.Next() {
			}
			code := 200
			var apiErr *openai.Error
			if errors.As(stream.Err(), &apiErr) {
				code = apiErr.StatusCode
			} else if stream.Err() != nil {
				t.Error(stream.Err())
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.flush()
	a.waitRecords(51)
	t.Logf("answers: %v", codes)
	// At least 10 fit; more may, as settled calls that used less than they reserved give the rest back.
	if codes[200] < 10 || codes[200]+codes[429] != 50 {
		t.Errorf("answers %v, want at least 10 × 200 and the rest 429", codes)
	}
	user := ann.userID
	raw := a.scalar(`SELECT sum(prompt_tokens + completion_tokens) FROM usage_records WHERE user_id = $1`, user)
	counter := a.scalar(`SELECT tokens FROM quota_counters WHERE user_id = $1 AND window_kind = 'day'`, user)
	rollup := a.scalar(`SELECT sum(prompt_tokens + completion_tokens) FROM usage_daily WHERE user_id = $1`, user)
	missed := a.scalar(`SELECT sum(greatest(prompt_tokens - $2, 0)) FROM usage_records WHERE user_id = $1 AND outcome = 'ok'`, user, estimate)
	var rep struct {
		Summary struct {
			TotalTokens int64 `json:"total_tokens"`
		}
	}
	a.expect(a.do("GET", "/api/v1/usage", ann.access, nil), 200).json(t, &rep)
	if raw != counter || raw != rollup || raw != rep.Summary.TotalTokens {
		t.Errorf("tokens: records %d, quota counter %d, rollups %d, /api/v1/usage %d: the books do not balance", raw, counter, rollup, rep.Summary.TotalTokens)
	}
	if raw > budget+missed {
		t.Errorf("used %d tokens of a budget of %d: more than the %d the estimates missed", raw, budget, missed)
	}
	if n := a.scalar(`SELECT count(*) FROM usage_records WHERE user_id = $1 AND outcome = 'refused'`, user); n != int64(codes[429]) {
		t.Errorf("%d refused calls recorded, want %d", n, codes[429])
	}
	if n := a.scalar(`SELECT coalesce(sum(tokens), 0) FROM quota_holds`); n != 0 {
		t.Errorf("%d tokens still held after every call settled", n)
	}
}

// TestAbortedStreamIsBilledForWhatWasGenerated: a client that goes away mid-stream stops the upstream call,
// and the record bills the tokens generated until then (an estimate, marked as such).
func TestAbortedStreamIsBilledForWhatWasGenerated(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	tok := e.apiToken(e.register("ann"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := e.client(tok)
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "oai/slow", Messages: userMessage("go on")})
	received := 0
	for stream.Next() {
		if len(stream.Current().Choices) > 0 && stream.Current().Choices[0].Delta.Content != "" {
			received++
		}
		if received == 30 {
			cancel()
			break
		}
	}
	_ = stream.Close()
	e.waitRecords(1)
	var outcome string
	var completion int64
	var estimated bool
	if err := e.srv.DB.Pool().QueryRow(context.Background(), `SELECT outcome, completion_tokens, estimated FROM usage_records`).
		Scan(&outcome, &completion, &estimated); err != nil {
		t.Fatal(err)
	}
	// The estimate is of the text that arrived: at least what the client read, at most what the mock sent.
	sent := e.mock.LastRequest().Outcome().TokensSent
	least, most := provider.EstimateTokens(mockprovider.ReplyText(30)), provider.EstimateTokens(mockprovider.ReplyText(sent))
	if outcome != "stopped" || !estimated || completion < least || completion > most || sent >= 2000 {
		t.Errorf("record: %s, %d completion tokens (estimated %v); the client read 30 tokens (%d estimated), the mock sent %d of 2000 (%d)",
			outcome, completion, estimated, least, sent, most)
	}
}

// TestNoStreamUsageYieldsAMarkedEstimate: a provider that reports no usage is billed an estimate marked as
// such, and a client that asked for usage still gets a usage chunk.
func TestNoStreamUsageYieldsAMarkedEstimate(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	client := e.client(e.apiToken(e.register("ann"), nil))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "quiet/mock-chat",
		Messages: userMessage("hello"), StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Usage.CompletionTokens == 0 {
		t.Errorf("no usage chunk although the client asked for one: %+v", acc.Usage)
	}
	e.waitRecords(1)
	if n := e.scalar(`SELECT count(*) FROM usage_records WHERE estimated AND outcome = 'ok' AND completion_tokens = $1 AND cost_micros > 0`,
		acc.Usage.CompletionTokens); n != 1 {
		t.Errorf("want one ok record with the estimate %d marked as estimated", acc.Usage.CompletionTokens)
	}
	if n := e.scalar(`SELECT sum(estimated) FROM usage_daily`); n != 1 {
		t.Errorf("rollups count %d estimated requests, want 1", n)
	}
}

// TestOneRecordPerRequestInEveryOutcome: ok, provider failure, quota refusal and client abort each leave
// exactly one usage record, with its outcome.
func TestOneRecordPerRequestInEveryOutcome(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: "- {name: no-ant, subjects: {allUsers: true}, allowedModels: [\"oai/*\"]}\n"})
	client := e.client(e.apiToken(e.register("ann"), nil))
	ctx := context.Background()
	_, _ = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "oai/mock-chat", Messages: userMessage("a")})
	_, _ = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "oai/broken", Messages: userMessage("b")})
	_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "ant/mock-chat", Messages: userMessage("c")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Code != "model_not_allowed" {
		t.Errorf("a model outside allowedModels: %v, want 403 model_not_allowed", err)
	}
	actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	stream := client.Chat.Completions.NewStreaming(actx, openai.ChatCompletionNewParams{Model: "oai/slow", Messages: userMessage("d")})
	for stream.Next() {
	}
	e.waitRecords(4)
	rows, err := e.srv.DB.Pool().Query(ctx, `SELECT model || ':' || outcome FROM usage_records ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		got = append(got, s)
	}
	if want := "mock-chat:ok broken:upstream_error mock-chat:refused slow:stopped"; strings.Join(got, " ") != want {
		t.Errorf("records %v, want %s", got, want)
	}
}

// TestShadowQuotaNeverRefusesAndShowsItsRefusals: a Shadow quota lets everything through; its would-be
// refusals show in the admin view and in the operator's.
func TestShadowQuotaNeverRefusesAndShowsItsRefusals(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: "- {name: trial, mode: Shadow, subjects: {roles: [user]}, limits: {tokensPerDay: 10, requestsPerMinute: 1}}\n"})
	ann := e.register("ann")
	sameMinute()
	client := e.client(e.apiToken(ann, nil))
	for range 3 {
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "oai/mock-chat", Messages: userMessage("hi")}); err != nil {
			t.Fatalf("a Shadow quota refused: %v", err)
		}
	}
	e.waitRecords(3)
	var quotas struct {
		Items []struct {
			Name         string                           `json:"name"`
			MatchedUsers int64                            `json:"matched_users"`
			Refusals     struct{ Enforced, Shadow int64 } `json:"refusals_this_month"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/admin/quotas", e.admin().access, nil), 200).json(t, &quotas)
	// Each call breaks tokensPerDay; the 2nd and 3rd break requestsPerMinute too.
	if len(quotas.Items) != 1 || quotas.Items[0].Refusals.Shadow != 5 || quotas.Items[0].Refusals.Enforced != 0 || quotas.Items[0].MatchedUsers != 1 {
		t.Errorf("admin quotas %+v, want trial matching 1 user with 5 shadow refusals", quotas.Items)
	}
	var windows struct {
		Items []struct{ Limit, Used, Max, Mode string } `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/usage/quotas", ann.access, nil), 200).json(t, &windows)
	if len(windows.Items) != 2 || windows.Items[0].Mode != "Shadow" || windows.Items[0].Used != "3" {
		t.Errorf("own quota windows %+v", windows.Items)
	}
}

// TestStatisticsEqualSumsOverRawRecords: the usage report (summary, by day, by model, by provider), the
// admin report (summary, by user, by model, by day) and the CSV export add up to the raw records, for every
// user and in total; and from/to filter them all: a call of 40 days ago is left out of the default range and
// of a range that ends before it, and counted in a range that covers it (the original app's B9 counted it
// whatever the range).
func TestStatisticsEqualSumsOverRawRecords(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	ctx := context.Background()
	users := []session{e.register("ann"), e.register("bob")}
	for i, s := range users {
		client := e.client(e.apiToken(s, nil))
		for j := range 2 + i {
			for _, model := range []string{"oai/mock-chat", "ant/mock-chat", "oai/broken"} {
				_, _ = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
					Messages: userMessage(strings.Repeat("word ", j+1)), MaxTokens: openai.Int(int64(5 + j))})
			}
		}
	}
	e.waitRecords(15)
	ann, bob, admin := users[0], users[1], e.admin()
	var def usageReport
	e.expect(e.do("GET", "/api/v1/usage", ann.access, nil), 200).json(t, &def)
	today, err := time.Parse(time.DateOnly, def.To)
	if err != nil {
		t.Fatalf("the report's to %q: %v", def.To, err)
	}
	old := today.AddDate(0, 0, -40)
	e.writeBackdated(ann.userID, old)
	day := func(d time.Time, days int) string { return d.AddDate(0, 0, days).Format(time.DateOnly) }

	for _, rg := range []struct {
		name, query, from, to string
		ann, bob              int64 // requests in range
	}{
		{"default range", "", day(today, -29), def.To, 6, 9},
		{"ending the day before the old call", "?from=" + day(old, -3) + "&to=" + day(old, -1), day(old, -3), day(old, -1), 0, 0},
		{"the old call's day", "?from=" + day(old, 0) + "&to=" + day(old, 0), day(old, 0), day(old, 0), 1, 0},
		{"covering both", "?from=" + day(old, 0), day(old, 0), def.To, 7, 9},
	} {
		for _, u := range []struct {
			s    session
			want int64
		}{{ann, rg.ann}, {bob, rg.bob}} {
			var rep usageReport
			e.expect(e.do("GET", "/api/v1/usage"+rg.query, u.s.access, nil), 200).json(t, &rep)
			e.checkReport(rg.name+", "+u.s.username, rep, usageFilter{from: rg.from, to: rg.to, user: u.s.userID}, u.want)
		}
		var rep usageReport
		e.expect(e.do("GET", "/api/v1/admin/usage"+rg.query, admin.access, nil), 200).json(t, &rep)
		e.checkReport(rg.name+", admin", rep, usageFilter{from: rg.from, to: rg.to}, rg.ann+rg.bob)
	}

	var adm usageReport
	e.expect(e.do("GET", "/api/v1/admin/usage", admin.access, nil), 200).json(t, &adm)
	if len(adm.ByUser) != 2 || adm.ByUser[0].Username != "bob" {
		t.Errorf("admin report's users %+v; want bob (more calls) first", adm.ByUser)
	}
	r := e.expect(e.do("GET", "/api/v1/usage?format=csv", bob.access, nil), 200)
	lines, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV %q: %v", r.body, err)
	}
	var requests int64
	for _, l := range lines[1:] {
		n, _ := strconv.ParseInt(l[3], 10, 64)
		requests += n
	}
	if want := e.rawUsage(usageFilter{from: def.From, to: def.To, user: bob.userID}).Requests; requests != want || len(lines) != 4 {
		t.Errorf("CSV counts %d requests in %d lines, raw records %d", requests, len(lines)-1, want)
	}
	r = e.expect(e.do("GET", "/api/v1/usage?format=csv&from="+day(old, 0)+"&to="+day(old, 0), ann.access, nil), 200)
	if lines, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll(); err != nil || len(lines) != 2 ||
		lines[1][0] != day(old, 0) || lines[1][3] != "1" || lines[1][6] != "1000" {
		t.Errorf("CSV of the old call's day: %q (%v)", r.body, err)
	}
	e.expect(e.do("GET", "/api/v1/usage?from=2026-02-01&to=2025-01-01", ann.access, nil), 422)
	e.expect(e.do("GET", "/api/v1/usage?format=xml", ann.access, nil), 400)
}

func formatMicros(m int64) string {
	s := fmt.Sprintf("%d.%06d", m/1_000_000, m%1_000_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// TestRevokedTokenStopsOnAnotherServerWithinASecond: a token used (and cached) on one replica stops working
// there within a second of its revocation on another.
func TestRevokedTokenStopsOnAnotherServerWithinASecond(t *testing.T) {
	a := newMeterEnv(t, meterOptions{})
	b := newMeterEnv(t, meterOptions{peer: a})
	ann := a.register("ann")
	var created struct{ ID, Token string }
	a.expect(a.do("POST", "/api/v1/tokens", ann.access, map[string]any{"name": "laptop"}), 201).json(t, &created)
	models := func(e *meterEnv) int {
		req, _ := http.NewRequest("GET", e.base+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+created.Token)
		return e.send(req, nil).status
	}
	if models(b) != 200 {
		t.Fatal("the new token does not work on the other server")
	}
	a.expect(a.do("DELETE", "/api/v1/tokens/"+created.ID, ann.access, nil), 204)
	if models(a) != 401 {
		t.Error("the revoked token still works on the server that revoked it")
	}
	start := time.Now()
	for models(b) == 200 {
		if time.Since(start) > time.Second {
			t.Fatal("the revoked token still works on the other server after 1s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("revocation reached the other server after %s", time.Since(start).Round(time.Millisecond))
}

// TestInternalEndpointForTheOperator: /internal/v1 wants the internal token and reports each quota's
// matched users and heaviest users, and the platform's summary.
func TestInternalEndpointForTheOperator(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: `- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 100, costPerMonth: "5"}}
- {name: models, subjects: {roles: [admin]}, allowedModels: ["oai/*"]}
`})
	ann := e.register("ann")
	e.register("bob")
	client := e.client(e.apiToken(ann, nil))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "oai/mock-chat",
		Messages: userMessage("hi"), MaxTokens: openai.Int(60)}); err != nil {
		t.Fatal(err)
	}
	e.waitRecords(1)
	get := func(path, token string) resp {
		req, _ := http.NewRequest("GET", e.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return e.send(req, nil)
	}
	for _, tok := range []string{"", "wrong", ann.access} {
		if r := get("/internal/v1/quotas", tok); r.status != 401 {
			t.Errorf("token %q: %d, want 401", tok, r.status)
		}
	}
	var q struct {
		Items []struct {
			Name         string `json:"name"`
			MatchedUsers int64  `json:"matchedUsers"`
			Usage        []struct {
				User      string `json:"user"`
				Exhausted bool   `json:"exhausted"`
				Windows   []struct {
					Limit, Used, Max, Remaining string
					ResetAt                     time.Time `json:"resetAt"`
					Exhausted                   bool      `json:"exhausted"`
				} `json:"windows"`
			} `json:"usage"`
		} `json:"items"`
	}
	r := get("/internal/v1/quotas", internalToken)
	if r.status != 200 {
		t.Fatalf("internal quotas: %d %s", r.status, r.body)
	}
	r.json(t, &q)
	prompt := int64(mockprovider.PromptTokens("", "hi"))
	if len(q.Items) != 2 || q.Items[0].MatchedUsers != 3 || q.Items[1].MatchedUsers != 1 || len(q.Items[1].Usage) != 0 {
		t.Fatalf("internal quotas %s", r.body)
	}
	u := q.Items[0].Usage
	if len(u) != 1 || u[0].User != "ann" || len(u[0].Windows) != 2 || u[0].Windows[0].Limit != "tokensPerDay" ||
		u[0].Windows[0].Used != fmt.Sprint(prompt+20) || u[0].Windows[1].Limit != "costPerMonth" || u[0].Exhausted {
		t.Errorf("daily's usage %s", r.body)
	}
	if reset := u[0].Windows[0].ResetAt; time.Until(reset) > 24*time.Hour || reset.In(tokyo(t)).Hour() != 0 {
		t.Errorf("tokensPerDay resets at %s, want the next midnight in Tokyo", reset)
	}
	var s struct {
		Users       int64 `json:"users"`
		TokensToday int64 `json:"tokensToday"`
	}
	get("/internal/v1/summary", internalToken).json(t, &s)
	if s.Users != 3 || s.TokensToday != prompt+20 {
		t.Errorf("summary %+v", s)
	}
}

func tokyo(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestChatRefusalCarriesTheQuota: the web chat's refusal says which quota refused, what remains and when it
// resets (429 with Retry-After), as JSON — also when the client asked for an event stream (the web UI's
// default), since a refusal comes before the stream's first byte.
func TestChatRefusalCarriesTheQuota(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: "- {name: tiny, subjects: {allUsers: true}, limits: {tokensPerMonth: 5}}\n"})
	ann := e.register("ann")
	var conv struct{ ID string }
	e.expect(e.do("POST", "/api/v1/conversations", ann.access, map[string]any{"model": "oai/mock-chat"}), 201).json(t, &conv)
	path := "/api/v1/conversations/" + conv.ID + "/messages"
	streamed := func() resp {
		raw := []byte(`{"content": "hello"}`)
		req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+ann.access)
		return e.send(req, raw)
	}
	for _, c := range []struct {
		name string
		r    resp
	}{
		{"JSON", e.do("POST", path, ann.access, map[string]any{"content": "hello", "stream": false})},
		{"streamed", streamed()},
	} {
		r := c.r
		var body struct {
			Error struct {
				Code  string
				Quota struct {
					Quota, Limit, Remaining string
					ResetAt                 time.Time `json:"reset_at"`
				}
			}
		}
		if r.status != 429 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %q %s, want a JSON 429", c.name, r.status, r.header.Get("Content-Type"), r.body)
		}
		r.json(t, &body)
		if body.Error.Code != "quota_exceeded" || body.Error.Quota.Quota != "tiny" || body.Error.Quota.Limit != "tokensPerMonth" ||
			body.Error.Quota.Remaining != "5" || body.Error.Quota.ResetAt.IsZero() || r.header.Get("Retry-After") == "" {
			t.Errorf("%s: refusal %s (Retry-After %q)", c.name, r.body, r.header.Get("Retry-After"))
		}
	}
	e.waitRecords(2)
	if n := e.scalar(`SELECT count(*) FROM usage_records WHERE source = 'chat' AND outcome = 'refused'`); n != 2 {
		t.Errorf("%d chat refusals recorded, want 2", n)
	}
	if n := len(e.mock.Requests()); n != 0 {
		t.Errorf("the provider was called %d times for refused sends", n)
	}
}
