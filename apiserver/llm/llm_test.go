package llm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

func TestCost(t *testing.T) {
	p, err := llm.ParsePricing(config.Pricing{Input: "2.5", CachedInput: "1.25", Output: "10"})
	if err != nil {
		t.Fatal(err)
	}
	noCached, _ := llm.ParsePricing(config.Pricing{Input: "0.15", Output: "0.6"})
	huge, _ := llm.ParsePricing(config.Pricing{Input: "999999999.999999", Output: "999999999.999999"})
	for _, tc := range []struct {
		name    string
		pricing llm.Pricing
		usage   provider.Usage
		want    int64
	}{
		{"zero", p, provider.Usage{}, 0},
		// 1000 uncached prompt tokens at $2.50/M = $0.0025; 200 completion at $10/M = $0.002.
		{"plain", p, provider.Usage{PromptTokens: 1000, CompletionTokens: 200}, 4500},
		// 600 uncached at 2.5 + 400 cached at 1.25 = 1500 + 500 micro-USD; 200 completion = 2000.
		{"cached", p, provider.Usage{PromptTokens: 1000, CachedPromptTokens: 400, CompletionTokens: 200}, 4000},
		{"cached defaults to input price", noCached, provider.Usage{PromptTokens: 1_000_000, CachedPromptTokens: 500_000}, 150_000},
		// 1 token at $0.15/M is 0.15 micro-USD: rounds to 0; 4 tokens = 0.6 → 1.
		{"rounds down", noCached, provider.Usage{PromptTokens: 1}, 0},
		{"rounds half up", noCached, provider.Usage{CompletionTokens: 1}, 1},
		{"cached above prompt is capped", p, provider.Usage{PromptTokens: 10, CachedPromptTokens: 1000}, 13},
		{"negative counts are zero", p, provider.Usage{PromptTokens: -5, CompletionTokens: -1}, 0},
		{"no overflow", huge, provider.Usage{PromptTokens: 1 << 40}, 1<<63 - 1},
		{"big but fits", huge, provider.Usage{PromptTokens: 1_000_000}, 999_999_999_999_999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.pricing.Cost(tc.usage); got != tc.want {
				t.Errorf("Cost(%+v) = %d, want %d", tc.usage, got, tc.want)
			}
		})
	}
}

func TestParseUserModelID(t *testing.T) {
	for _, tc := range []struct {
		id, key, name string
		ok            bool
	}{
		{"key:abc/gpt-4o", "abc", "gpt-4o", true},
		{"key:abc/org/model", "abc", "org/model", true},
		{"key:/gpt", "", "", false},
		{"key:abc/", "", "", false},
		{"key:abc", "", "", false},
		{"openai/gpt-4o", "", "", false},
		{"gpt-4o", "", "", false},
	} {
		key, name, ok := llm.ParseUserModelID(tc.id)
		if key != tc.key || name != tc.name || ok != tc.ok {
			t.Errorf("ParseUserModelID(%q) = %q, %q, %v; want %q, %q, %v", tc.id, key, name, ok, tc.key, tc.name, tc.ok)
		}
		if ok && llm.UserModelID(key, name) != tc.id {
			t.Errorf("UserModelID(%q, %q) does not give back %q", key, name, tc.id)
		}
	}
}

func FuzzParseUserModelID(f *testing.F) {
	for _, s := range []string{"key:abc/gpt-4o", "key:/", "key:a/b/c", "openai/x", "", "key:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		key, name, ok := llm.ParseUserModelID(id)
		if !ok {
			return
		}
		if key == "" || name == "" || strings.Contains(key, "/") {
			t.Fatalf("ParseUserModelID(%q) = %q, %q: empty part or slash in the key id", id, key, name)
		}
		if llm.UserModelID(key, name) != id {
			t.Fatalf("UserModelID(%q, %q) != %q", key, name, id)
		}
	})
}

func writeKey(t *testing.T, dir, name, secret string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testConfig has two providers that both serve "shared" and a provider whose key file is missing.
func testConfig(t *testing.T, mockURL, dir string) *config.Config {
	t.Helper()
	c := &config.Config{Platform: "t", Providers: []config.Provider{
		{Name: "alpha", Type: config.ProviderOpenAI, BaseURL: mockURL + "/openai/v1",
			Keys: []config.Key{{ID: "alpha/k1", File: writeKey(t, dir, "a1", "sk-alpha-1")}, {ID: "alpha/k2", File: writeKey(t, dir, "a2", "sk-alpha-2")}},
			Models: []config.Model{
				{Name: "shared", UpstreamName: "mock-chat", ContextWindow: 8000, MaxOutputTokens: 1000, Pricing: config.Pricing{Input: "1", Output: "2"}},
				{Name: "only-alpha"},
			}},
		{Name: "beta", Type: config.ProviderAnthropic, BaseURL: mockURL + "/anthropic",
			Keys:   []config.Key{{ID: "beta/k1", File: writeKey(t, dir, "b1", "sk-beta-1")}},
			Models: []config.Model{{Name: "shared"}, {Name: "org/nested"}}},
		{Name: "gone", Type: config.ProviderOpenAI, BaseURL: mockURL + "/openai/v1",
			Keys: []config.Key{{ID: "gone/k1", File: filepath.Join(dir, "missing")}}, Models: []config.Model{{Name: "lost"}}},
	}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		// Secrets are not the point here.
		if !strings.Contains(err.Error(), "secrets.") {
			t.Fatal(err)
		}
	}
	return c
}

func TestRegistryResolve(t *testing.T) {
	mock := httptest.NewServer(mockprovider.New(mockprovider.Config{}))
	defer mock.Close()
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	r := llm.New(llm.Options{Metrics: reg})
	err := r.Apply(testConfig(t, mock.URL, dir))
	if err == nil || !strings.Contains(err.Error(), "gone/k1") || strings.Contains(err.Error(), "sk-") {
		t.Fatalf("Apply error = %v, want one naming the unreadable key gone/k1 and no secret", err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ id, wantID, upstream string }{
		{"shared", "alpha/shared", "mock-chat"}, // the first provider in config order wins a bare name
		{"alpha/shared", "alpha/shared", "mock-chat"},
		{"beta/shared", "beta/shared", "shared"},
		{"only-alpha", "alpha/only-alpha", "only-alpha"},
		{"org/nested", "beta/org/nested", "org/nested"}, // a model name with a slash, bare
		{"beta/org/nested", "beta/org/nested", "org/nested"},
	} {
		m, err := r.Resolve(ctx, "u1", tc.id)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", tc.id, err)
		}
		if m.ID != tc.wantID || m.Upstream != tc.upstream || m.Backend == nil {
			t.Errorf("Resolve(%q) = %s upstream %s, want %s upstream %s", tc.id, m.ID, m.Upstream, tc.wantID, tc.upstream)
		}
	}
	m, _ := r.Resolve(ctx, "u1", "alpha/shared")
	if m.ContextWindow != 8000 || m.MaxOutputTokens != 1000 || m.Pricing.Input != 1_000_000 || m.Pricing.Output != 2_000_000 ||
		m.Provider != "alpha" || m.ProviderType != config.ProviderOpenAI || m.Pricing.Decimal.Output != "2" {
		t.Errorf("alpha/shared = %+v", m)
	}
	for _, id := range []string{"nope", "alpha/nope", "beta/only-alpha", "key:x/y"} {
		if _, err := r.Resolve(ctx, "u1", id); !llm.IsUnknownModel(err) {
			t.Errorf("Resolve(%q) = %v, want an unknown model error", id, err)
		}
	}
	if _, err := r.Resolve(ctx, "u1", "gone/lost"); !errors.Is(err, apperr.ErrUnavailable) {
		t.Errorf("Resolve of a provider without a readable key = %v, want unavailable", err)
	}
	res, err := m.Backend.Stream(ctx, provider.Call{Model: m.Upstream, Messages: []provider.Message{{Role: "user", Content: "hi"}}},
		func(provider.Event) error { return nil })
	if err != nil || res.Text != mockprovider.ReplyText(mockprovider.DefaultReplyTokens) || !strings.HasPrefix(res.KeyID, "alpha/") {
		t.Errorf("streaming through the resolved model: %q key %s, %v", res.Text, res.KeyID, err)
	}
	if n, err := testutil.GatherAndCount(reg, "llmplatform_upstream_calls_total", "llmplatform_upstream_duration_seconds",
		"llmplatform_upstream_time_to_first_token_seconds"); err != nil || n != 3 {
		t.Errorf("call metrics: %d series, %v; want one of each for the call", n, err)
	}
	if _, err := m.Backend.Complete(ctx, provider.Call{Model: "mock-chat+status:429", Messages: []provider.Message{{Role: "user", Content: "x"}}}); err == nil {
		t.Fatal("a rate-limited call succeeded")
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP llmplatform_upstream_calls_total Provider calls by provider and result (ok, canceled, or the failure's kind).
# TYPE llmplatform_upstream_calls_total counter
llmplatform_upstream_calls_total{provider="alpha",result="ok"} 1
llmplatform_upstream_calls_total{provider="alpha",result="rate_limited"} 1
`), "llmplatform_upstream_calls_total"); err != nil {
		t.Error(err)
	}
	if got := len(r.Models()); got != 5 {
		t.Errorf("Models() has %d models, want 5", got)
	}
}

// TestRegistryKeepsPoolsAcrossReloads: a reload keeps each key's health, picks up a rotated key and drops a
// removed provider.
func TestRegistryKeepsPoolsAcrossReloads(t *testing.T) {
	mock := mockprovider.New(mockprovider.Config{})
	srv := httptest.NewServer(mock)
	defer srv.Close()
	dir := t.TempDir()
	cfg := testConfig(t, srv.URL, dir)
	r := llm.New(llm.Options{})
	_ = r.Apply(cfg)
	if err := mock.SetKeyOptions("sk-beta-1", "status:401"); err != nil {
		t.Fatal(err)
	}
	m, _ := r.Resolve(context.Background(), "u", "beta/shared")
	if _, err := m.Backend.Complete(context.Background(), provider.Call{Model: "shared", Messages: []provider.Message{{Role: "user", Content: "x"}}}); !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("call with a rejected key: %v", err)
	}
	state := func() string { return healthOf(t, r, "beta", "beta/k1").State }
	if state() != provider.KeyBad {
		t.Fatalf("key state %s, want %s", state(), provider.KeyBad)
	}
	_ = r.Apply(cfg)
	if state() != provider.KeyBad {
		t.Errorf("after a reload the key is %s; its health should survive", state())
	}
	writeKey(t, dir, "b1", "sk-beta-rotated")
	_ = r.Apply(cfg)
	if state() != provider.KeyHealthy {
		t.Errorf("after the key's Secret was rotated it is %s, want %s", state(), provider.KeyHealthy)
	}
	m, _ = r.Resolve(context.Background(), "u", "beta/shared")
	if _, err := m.Backend.Complete(context.Background(), provider.Call{Model: "shared", Messages: []provider.Message{{Role: "user", Content: "x"}}}); err != nil {
		t.Errorf("call with the rotated key: %v", err)
	}
	if got := mock.LastRequest().Key; got != "sk-beta-rotated" {
		t.Errorf("upstream saw key %q, want the rotated one", got)
	}
	cfg.Providers = cfg.Providers[:1]
	_ = r.Apply(cfg)
	if len(r.Health()) != 1 || r.Provider("beta") != nil {
		t.Errorf("a removed provider is still there: %+v", r.Health())
	}
}

func healthOf(t *testing.T, r *llm.Registry, prov, key string) provider.KeyHealth {
	t.Helper()
	for _, p := range r.Health() {
		for _, k := range p.Keys {
			if p.Name == prov && k.ID == key {
				return k
			}
		}
	}
	t.Fatalf("no key %s/%s in %+v", prov, key, r.Health())
	return provider.KeyHealth{}
}

func TestCollector(t *testing.T) {
	dir := t.TempDir()
	r := llm.New(llm.Options{})
	_ = r.Apply(testConfig(t, "http://127.0.0.1:1", dir))
	reg := prometheus.NewRegistry()
	reg.MustRegister(llm.NewCollector(r))
	n, err := testutil.GatherAndCount(reg, "llmplatform_provider_key_state")
	if err != nil || n != 3*4 {
		t.Errorf("key state series = %d, %v; want 12 (3 keys × 4 states)", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "sk-") {
					t.Errorf("metric %s carries a key: %s", mf.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestUserKeyTransportRefusesLinkLocal(t *testing.T) {
	tr := llm.NewUserKeyTransport()
	req, _ := http.NewRequest("GET", "http://169.254.169.254/latest/meta-data/", nil)
	res, err := tr.RoundTrip(req)
	if res != nil {
		_ = res.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("dialing the metadata address: %v, want a refusal", err)
	}
}
