package provider_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

func newProvider(t *testing.T, typ, baseURL string, pool *provider.Pool) *provider.Provider {
	t.Helper()
	p, err := provider.New(config.Provider{Name: "mock", Type: typ, BaseURL: baseURL}, pool, newTransport(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProviderFailsOverAndTheKeyHeals(t *testing.T) {
	mock, base := startMock(t)
	clk := newClock()
	pool := provider.NewPool([]provider.Key{{ID: "dead", Secret: "sk-dead"}, {ID: "live", Secret: "sk-live"}},
		provider.PoolOptions{Now: clk.Now, BadBackoff: time.Minute})
	p := newProvider(t, config.ProviderAnthropic, base+"/anthropic", pool)
	if err := mock.SetKeyOptions("sk-dead", "status:401"); err != nil {
		t.Fatal(err)
	}

	// The dead key is tried first, rejected, and the request goes on with the live key: the caller sees
	// one clean answer.
	var text string
	res, err := p.Stream(ctxFor(t), conversation("mock-chat"), func(ev provider.Event) error {
		text += ev.Text
		return nil
	})
	if err != nil || res.KeyID != "live" || res.Attempts != 2 || text != mockprovider.ReplyText(replyTokens) {
		t.Fatalf("Stream = key %s after %d attempts, %q, %v; want the live key after 2", res.KeyID, res.Attempts, text, err)
	}
	if h := pool.Health()[0]; h.State != provider.KeyBad || h.LastStatus != 401 {
		t.Fatalf("dead key health = %+v", h)
	}
	for range 3 {
		res, err := p.Complete(ctxFor(t), conversation("mock-chat"))
		if err != nil || res.KeyID != "live" || res.Attempts != 1 {
			t.Fatalf("while the dead key rests: key %s, %d attempts, %v", res.KeyID, res.Attempts, err)
		}
	}

	// The key is fixed upstream; after its back-off a request probes it and it is back in the rotation.
	if err := mock.SetKeyOptions("sk-dead", ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	res, err = p.Complete(ctxFor(t), conversation("mock-chat"))
	if err != nil || res.KeyID != "dead" {
		t.Fatalf("probe = key %s, %v; want the healed key", res.KeyID, err)
	}
	if h := pool.Health()[0]; h.State != provider.KeyHealthy {
		t.Errorf("healed key health = %+v", h)
	}
	used := map[string]bool{}
	for range 4 {
		res, _ := p.Complete(ctxFor(t), conversation("mock-chat"))
		used[res.KeyID] = true
	}
	if !used["dead"] || !used["live"] {
		t.Errorf("keys used after healing = %v, want both", used)
	}
}

func TestProviderRetriesServerErrorsBeforeTheFirstByteOnly(t *testing.T) {
	mock, base := startMock(t)
	pool := provider.NewPool([]provider.Key{{ID: "flaky", Secret: "sk-flaky"}, {ID: "ok", Secret: "sk-ok"}}, provider.PoolOptions{})
	p := newProvider(t, config.ProviderOpenAI, base+"/openai/v1", pool)

	if err := mock.SetKeyOptions("sk-flaky", "status:503"); err != nil {
		t.Fatal(err)
	}
	res, err := p.Stream(ctxFor(t), conversation("mock-chat"), func(provider.Event) error { return nil })
	if err != nil || res.KeyID != "ok" || res.Attempts != 2 {
		t.Fatalf("after a 503: key %s, %d attempts, %v; want a retry on the other key", res.KeyID, res.Attempts, err)
	}

	// Once a chunk reached the caller, a broken stream is not retried: the caller has the partial answer.
	if err := mock.SetKeyOptions("sk-flaky", "disconnect:2"); err != nil {
		t.Fatal(err)
	}
	if err := mock.SetKeyOptions("sk-ok", "disconnect:2"); err != nil {
		t.Fatal(err)
	}
	before := len(mock.Requests())
	res, err = p.Stream(ctxFor(t), conversation("mock-chat"), func(provider.Event) error { return nil })
	if !errors.Is(err, provider.ErrUnavailable) || res.Attempts != 1 || res.Text != mockprovider.ReplyText(2) {
		t.Errorf("cut stream: %d attempts, %q, %v; want one attempt and the partial answer", res.Attempts, res.Text, err)
	}
	if n := len(mock.Requests()) - before; n != 1 {
		t.Errorf("the mock saw %d requests, want 1", n)
	}

	// Client errors are not retried.
	res, err = p.Complete(ctxFor(t), conversation("mock-chat+status:400"))
	if !errors.Is(err, provider.ErrBadRequest) || res.Attempts != 1 {
		t.Errorf("bad request: %d attempts, %v", res.Attempts, err)
	}
}

func TestProviderWithoutKeysAndModels(t *testing.T) {
	mock, base := startMock(t)
	p := newProvider(t, config.ProviderOllama, base+"/ollama", nil)
	call := conversation("mock-chat")
	call.Key = ""
	res, err := p.Stream(ctxFor(t), call, func(provider.Event) error { return nil })
	if err != nil || res.KeyID != "" || mock.LastRequest().Key != "" {
		t.Errorf("keyless call: key %q, %v", res.KeyID, err)
	}
	pool := provider.NewPool([]provider.Key{{ID: "k", Secret: "sk-models"}}, provider.PoolOptions{})
	models, err := newProvider(t, config.ProviderGemini, base+"/gemini", pool).Models(ctxFor(t))
	if err != nil || !slices.Equal(models, mockprovider.DefaultModels) || mock.LastRequest() == nil {
		t.Errorf("Models = %v, %v", models, err)
	}
}

func TestNewAdapterRejectsUnknownTypes(t *testing.T) {
	if _, err := provider.NewAdapter("Bard", "http://x", provider.Timeouts{}, newTransport(t)); err == nil {
		t.Error("NewAdapter accepted an unknown type")
	}
	if _, err := provider.NewAdapter(config.ProviderOpenAICompatible, "", provider.Timeouts{}, newTransport(t)); err == nil {
		t.Error("NewAdapter accepted an OpenAI-compatible provider without a base URL")
	}
}

// TestStreamLetsGoOfTheConversation: once an answer begins, an open stream holds no reference to what it was
// asked (the request body and the messages), so that an answer that takes minutes does not keep a long
// conversation in memory.
func TestStreamLetsGoOfTheConversation(t *testing.T) {
	_, base := startMock(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			prov := newProvider(t, p.typ, base+p.path, nil)
			ctx, cancel := context.WithCancel(ctxFor(t))
			defer cancel()
			freed := make(chan string, 3)
			begun := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				// The second token comes after 100 s: the stream stays open until cancelled.
				_, _ = prov.Stream(ctx, largeCall("mock-chat+tokens:2+tps:0.01", freed), func(provider.Event) error {
					select {
					case <-begun:
					default:
						close(begun)
					}
					return nil
				})
			}()
			select {
			case <-begun:
			case <-time.After(10 * time.Second):
				t.Fatal("the answer did not begin")
			}
			for deadline := time.Now().Add(5 * time.Second); len(freed) < cap(freed) && time.Now().Before(deadline); {
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
			}
			if len(freed) < cap(freed) {
				t.Errorf("with the stream open, %d of the system prompt, the message and the body were released", len(freed))
			}
			cancel()
			<-done
		})
	}
}

// largeCall is a call whose system prompt, message and raw body are large allocations of their own, each of
// which names itself on freed when the collector frees it.
func largeCall(model string, freed chan<- string) provider.Call {
	system := strings.Repeat("s", 64<<10)
	content := strings.Repeat("c", 64<<10)
	raw := fmt.Appendf(nil, `{"model":"m","messages":[{"role":"user","content":%q}]}`, content)
	for name, p := range map[string]*byte{"system": unsafe.StringData(system), "message": unsafe.StringData(content), "body": &raw[0]} {
		runtime.AddCleanup(p, func(name string) { freed <- name }, name)
	}
	return provider.Call{Model: model, System: system, Messages: []provider.Message{{Role: provider.RoleUser, Content: content}}, Raw: raw}
}
