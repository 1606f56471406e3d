package apiserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/store"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

type keyHealthBody struct {
	Items []struct {
		Name string `json:"name"`
		Keys []struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			Requests   int    `json:"requests"`
			LastStatus int    `json:"last_status"`
		} `json:"keys"`
	} `json:"items"`
}

// keyState returns a key's state from the admin endpoint.
func (e *chatEnv) keyState(admin session, prov, key string) string {
	e.t.Helper()
	var b keyHealthBody
	e.expect(e.do("GET", "/api/v1/admin/providers", admin.access, nil), 200).json(e.t, &b)
	for _, p := range b.Items {
		for _, k := range p.Keys {
			if p.Name == prov && k.ID == key {
				return k.State
			}
		}
	}
	e.t.Fatalf("no key %s/%s in the admin view", prov, key)
	return ""
}

func (e *chatEnv) metrics() string {
	e.t.Helper()
	res, err := http.Get(e.base + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestChatFailsOverADeadKeyAndTheKeyHeals: with one of two keys rejected, every answer still arrives (the
// pool fails over before the first byte); the admin view and the metrics show the key rejected, never the key
// itself; once the provider accepts it again, a probe brings it back.
func TestChatFailsOverADeadKeyAndTheKeyHeals(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s, admin := e.register("ivy"), e.admin()
	conv := e.conversation(s, "oai/mock-chat", "")
	if err := e.mock.SetKeyOptions(keyOne, "status:401"); err != nil {
		t.Fatal(err)
	}
	send := func() {
		t.Helper()
		if st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "hi"}); st.status != 200 || st.text() == "" {
			t.Fatalf("send: %d %s", st.status, st.body)
		}
	}
	for range 4 {
		send()
	}
	if got := e.keyState(admin, "oai", "oai/one"); got != provider.KeyBad {
		t.Errorf("the rejected key is %s, want %s", got, provider.KeyBad)
	}
	r := e.do("GET", "/api/v1/admin/providers", s.access, nil)
	e.expect(r, 403)
	m := e.metrics()
	if !strings.Contains(m, `llmplatform_provider_key_state{key="oai/one",provider="oai",state="Rejected"} 1`) ||
		!strings.Contains(m, `llmplatform_provider_key_state{key="oai/two",provider="oai",state="Healthy"} 1`) {
		t.Errorf("metrics lack the key states:\n%s", grepLines(m, "provider_key_state"))
	}
	if !strings.Contains(m, `llmplatform_upstream_calls_total{provider="oai",result="ok"} 4`) ||
		!strings.Contains(m, `llmplatform_upstream_time_to_first_token_seconds_count{provider="oai"} 4`) {
		t.Errorf("metrics lack the upstream calls:\n%s", grepLines(m, "llmplatform_upstream"))
	}
	for _, k := range []string{keyOne, keyTwo, keyOther} {
		if strings.Contains(m, k) {
			t.Fatal("a key is in /metrics")
		}
	}
	if err := e.mock.SetKeyOptions(keyOne, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.keyState(admin, "oai", "oai/one") != provider.KeyHealthy {
		if time.Now().After(deadline) {
			t.Fatal("the key did not heal within 5s of the provider accepting it again")
		}
		time.Sleep(100 * time.Millisecond)
		send()
	}
	if last := e.mock.LastRequest(); last == nil {
		t.Fatal("no upstream request")
	}
	used := false
	for _, r := range e.mock.Requests() {
		if r.Key == keyOne && r.Outcome().Status == 200 {
			used = true
		}
	}
	if !used {
		t.Error("the healed key served no request")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestKeyLimiterHoldsAcrossReplicas: two key pools on two database connections (two replicas) share one
// key's requestsPerMinute.
func TestKeyLimiterHoldsAcrossReplicas(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var dbs []*store.DB
	for range 2 {
		db, err := store.Open(ctx, url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	now := time.Date(2026, 5, 1, 12, 30, 10, 0, time.UTC)
	clock := func() time.Time { return now }
	key := []provider.Key{{ID: "p/k", Secret: "s", RequestsPerMinute: 3}}
	pools := []*provider.Pool{
		provider.NewPool(key, provider.PoolOptions{Limiter: dbs[0].KeyLimiter(), Now: clock}),
		provider.NewPool(key, provider.PoolOptions{Limiter: dbs[1].KeyLimiter(), Now: clock}),
	}
	admitted := 0
	for i := range 6 {
		lease, err := pools[i%2].Acquire(ctx, nil)
		if err == nil {
			admitted++
			lease.Done(nil)
			continue
		}
		if !errors.Is(err, provider.ErrRateLimited) {
			t.Fatalf("acquire %d: %v", i, err)
		}
	}
	if admitted != 3 {
		t.Errorf("%d requests admitted across two replicas, want 3 (the key's requestsPerMinute)", admitted)
	}
	ok, wait, err := dbs[0].KeyLimiter().Take(ctx, "p/k", 3, now)
	if ok || err != nil || wait != 50*time.Second {
		t.Errorf("Take at the limit = %v, %v, %v; want refused for the 50s left in the minute", ok, wait, err)
	}
	ok, _, err = dbs[1].KeyLimiter().Take(ctx, "p/k", 3, now.Add(time.Minute))
	if !ok || err != nil {
		t.Errorf("Take in the next minute = %v, %v; want admitted", ok, err)
	}
	ok, _, _ = dbs[0].KeyLimiter().Take(ctx, "p/k", 3, now) // a lagging replica counts in the newer minute
	ok2, _, _ := dbs[0].KeyLimiter().Take(ctx, "p/k", 3, now)
	ok3, _, _ := dbs[0].KeyLimiter().Take(ctx, "p/k", 3, now)
	if !ok || !ok2 || ok3 {
		t.Errorf("a lagging clock: %v %v %v, want two more admitted in the newer minute, then refused", ok, ok2, ok3)
	}
}

// TestModelsListsPlatformAndOwnModelsWithPrices: GET /api/v1/models has every platform model by provider in
// configuration order, with prices and limits.
func TestModelsListsPlatformAndOwnModelsWithPrices(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("jan")
	r := e.expect(e.do("GET", "/api/v1/models", s.access, nil), 200)
	var b struct {
		Items []struct {
			ID, Name, Provider, Source string
			ProviderType               string `json:"provider_type"`
			Pricing                    struct {
				Input       string `json:"input"`
				CachedInput string `json:"cached_input"`
				Output      string `json:"output"`
			} `json:"pricing"`
			ContextWindow   int `json:"context_window"`
			MaxOutputTokens int `json:"max_output_tokens"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range b.Items {
		ids = append(ids, m.ID)
	}
	want := "oai/mock-chat oai/slow oai/crawl oai/broken oai/tiny oai/fifty ant/mock-chat gem/mock-chat oll/mock-chat compat/mock-chat"
	if strings.Join(ids, " ") != want {
		t.Errorf("models %v, want %s", ids, want)
	}
	first := b.Items[0]
	if first.Provider != "oai" || first.ProviderType != "OpenAI" || first.Source != "platform" || first.Pricing.Input != "1" ||
		first.Pricing.CachedInput != "0.5" || first.Pricing.Output != "2" || first.ContextWindow != 100000 || first.MaxOutputTokens != 1000 {
		t.Errorf("first model %+v", first)
	}
}
