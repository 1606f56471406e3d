package provider_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// protocols are the provider types with the mock's base URL path for each.
var protocols = []struct{ typ, path string }{
	{config.ProviderOpenAI, "/openai/v1"},
	{config.ProviderOpenAICompatible, "/openai/v1"},
	{config.ProviderAnthropic, "/anthropic"},
	{config.ProviderGemini, "/gemini"},
	{config.ProviderOllama, "/ollama"},
}

const replyTokens = 30

// startMock serves a mock provider over real HTTP on 127.0.0.1.
func startMock(t testing.TB) (*mockprovider.Server, string) {
	t.Helper()
	mock := mockprovider.New(mockprovider.Config{Defaults: mockprovider.Behaviour{ReplyTokens: replyTokens}})
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	return mock, srv.URL
}

func newTransport(t testing.TB) *http.Transport {
	tr := provider.NewTransport(provider.TransportOptions{})
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func newAdapter(t testing.TB, typ, baseURL string, timeouts provider.Timeouts, rt http.RoundTripper) provider.Adapter {
	t.Helper()
	a, err := provider.NewAdapter(typ, baseURL, timeouts, rt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func temperature(v float64) *float64 { return &v }

// conversation is a call with a system prompt and a history with an assistant turn.
func conversation(model string) provider.Call {
	return provider.Call{
		Model:  model,
		System: "You are terse.",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Content: "Say hello."},
			{Role: provider.RoleAssistant, Content: "Hello!"},
			{Role: provider.RoleUser, Content: "Again, to the whole world."},
		},
		Temperature: temperature(0.5),
		MaxTokens:   100,
		Key:         "sk-test-key",
	}
}

// wantPrompt is the mock's prompt count for a call.
func wantPrompt(call provider.Call) int64 {
	contents := make([]string, len(call.Messages))
	for i, m := range call.Messages {
		contents[i] = m.Content
	}
	return int64(mockprovider.PromptTokens(call.System, contents...))
}

// wantUsage is the normalised usage of a reply of n tokens with cached and reasoning tokens reported, for a
// protocol: Ollama reports neither cached nor reasoning tokens apart.
func wantUsage(typ string, call provider.Call, n, cached, reasoning int64) provider.Usage {
	u := provider.Usage{PromptTokens: wantPrompt(call), CachedPromptTokens: cached, CompletionTokens: n + reasoning, ReasoningTokens: reasoning}
	if typ == config.ProviderOllama {
		u.CachedPromptTokens, u.ReasoningTokens = 0, 0
	}
	return u
}

func TestAdaptersStream(t *testing.T) {
	mock, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
			call := conversation("mock-chat+chunk:2+cached:4+reasoning:3")
			var streamed strings.Builder
			events := 0
			res, err := a.Stream(ctxFor(t), &call, func(ev provider.Event) error {
				streamed.WriteString(ev.Text)
				events++
				return nil
			})
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			want := mockprovider.ReplyText(replyTokens)
			if streamed.String() != want || res.Text != want {
				t.Errorf("streamed %q, result %q, want %q", streamed.String(), res.Text, want)
			}
			if events < replyTokens/2 {
				t.Errorf("%d events for %d chunks: the stream was not passed through chunk by chunk", events, replyTokens/2)
			}
			if wantU := wantUsage(p.typ, call, replyTokens, 4, 3); res.Usage != wantU {
				t.Errorf("usage = %+v, want %+v", res.Usage, wantU)
			}
			if res.FinishReason != provider.FinishStop || res.TimeToFirstToken <= 0 || res.Latency < res.TimeToFirstToken {
				t.Errorf("finish %q, time to first token %v, latency %v", res.FinishReason, res.TimeToFirstToken, res.Latency)
			}
			checkRecorded(t, p.typ, mock.LastRequest(), call, true)
		})
	}
}

// checkRecorded checks what the mock received: the key, the system prompt in its protocol's place, the turns
// with the protocol's roles, the temperature and the bound.
func checkRecorded(t *testing.T, typ string, rec *mockprovider.Request, call provider.Call, stream bool) {
	t.Helper()
	if rec.Key != call.Key || rec.System != call.System || rec.Stream != stream {
		t.Errorf("mock received key %q, system %q, stream %v", rec.Key, rec.System, rec.Stream)
	}
	assistant := "assistant"
	if typ == config.ProviderGemini {
		assistant = "model"
	}
	roles := []string{}
	for _, m := range rec.Messages {
		roles = append(roles, m.Role)
	}
	if want := []string{"user", assistant, "user"}; !slices.Equal(roles, want) || rec.Messages[2].Content != call.Messages[2].Content {
		t.Errorf("mock received turns %+v, want roles %v", rec.Messages, want)
	}
	if rec.Temperature == nil || *rec.Temperature != 0.5 || rec.MaxTokens != 100 {
		t.Errorf("mock received temperature %v, max tokens %d", rec.Temperature, rec.MaxTokens)
	}
}

func TestAdaptersComplete(t *testing.T) {
	mock, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
			call := conversation("mock-chat+cached:2+reasoning:1")
			call.MaxTokens = 100
			res, err := a.Complete(ctxFor(t), &call)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if want := mockprovider.ReplyText(replyTokens); res.Text != want {
				t.Errorf("text = %q, want %q", res.Text, want)
			}
			if wantU := wantUsage(p.typ, call, replyTokens, 2, 1); res.Usage != wantU {
				t.Errorf("usage = %+v, want %+v", res.Usage, wantU)
			}
			if res.FinishReason != provider.FinishStop {
				t.Errorf("finish = %q", res.FinishReason)
			}
			isOpenAI := p.typ == config.ProviderOpenAI || p.typ == config.ProviderOpenAICompatible
			if isOpenAI != (len(res.Raw) > 0) {
				t.Errorf("raw body kept = %v, want it for the OpenAI protocol only", len(res.Raw) > 0)
			}
			checkRecorded(t, p.typ, mock.LastRequest(), call, false)
		})
	}
}

func TestAdaptersLengthAndEstimates(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)

			call := conversation("mock-chat")
			call.MaxTokens = 5
			res, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
			if err != nil || res.Text != mockprovider.ReplyText(5) || res.FinishReason != provider.FinishLength {
				t.Errorf("with max tokens 5: %q, finish %q, %v; want 5 tokens and length", res.Text, res.FinishReason, err)
			}

			// No usage reported: an estimate, marked as such.
			call = conversation("mock-chat+usage:false")
			res, err = a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if !res.Usage.Estimated || res.Usage.CompletionTokens != provider.EstimateTokens(res.Text) || res.Usage.PromptTokens <= 0 {
				t.Errorf("usage without a report = %+v, want an estimate", res.Usage)
			}
		})
	}
}

func TestAdaptersLongLine(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
			call := conversation("mock-chat+longtoken:200000+tokens:3")
			res, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
			if want := strings.Repeat("x", 200000) + ", world"; err != nil || res.Text != want {
				t.Errorf("text of %d bytes (%v), want %d bytes", len(res.Text), err, len(want))
			}
		})
	}
}

func TestAdaptersModels(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			models, err := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr).Models(ctxFor(t), "k")
			if err != nil || !slices.Equal(models, mockprovider.DefaultModels) {
				t.Errorf("Models = %v (%v), want %v", models, err, mockprovider.DefaultModels)
			}
		})
	}
}

func TestAdaptersMapErrorsWithoutLeaking(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	const secret = "sk-SECRET-0123456789"
	cases := []struct {
		options    string
		kind       error
		retryAfter time.Duration
	}{
		{"status:401", provider.ErrUnauthorized, 0},
		{"status:403", provider.ErrUnauthorized, 0},
		{"status:429+retryafter:7", provider.ErrRateLimited, 7 * time.Second},
		{"status:500", provider.ErrUpstream, 0},
		{"status:529", provider.ErrUpstream, 0},
		{"status:404", provider.ErrModelNotFound, 0},
		{"status:400", provider.ErrBadRequest, 0},
		{"contextwindow:5", provider.ErrContextWindow, 0},
	}
	for _, p := range protocols {
		for _, c := range cases {
			t.Run(p.typ+"/"+c.options, func(t *testing.T) {
				a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
				call := conversation("mock-chat+" + c.options)
				call.Key = secret
				_, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
				var perr *provider.Error
				if !errors.As(err, &perr) || !errors.Is(err, c.kind) {
					t.Fatalf("error = %v, want %v", err, c.kind)
				}
				if perr.RetryAfter != c.retryAfter {
					t.Errorf("retry after = %v, want %v", perr.RetryAfter, c.retryAfter)
				}
				if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "Incorrect API key") ||
					strings.Contains(msg, "Rate limit reached") || strings.Contains(msg, "prompt is too long") {
					t.Errorf("error text %q leaks the key or the upstream body", msg)
				}
				if _, err := a.Complete(ctxFor(t), &call); !errors.Is(err, c.kind) || strings.Contains(err.Error(), secret) {
					t.Errorf("Complete error = %v, want %v without the key", err, c.kind)
				}
			})
		}
	}
}

func TestAdaptersDisconnectMidStream(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
			call := conversation("mock-chat+disconnect:4")
			res, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
			if !errors.Is(err, provider.ErrUnavailable) || !provider.Retryable(err) {
				t.Errorf("error = %v, want ErrUnavailable", err)
			}
			if res.Text != mockprovider.ReplyText(4) {
				t.Errorf("partial text = %q, want the 4 tokens received", res.Text)
			}
			// Gemini's cumulative usage of the last chunk received is a report; the others need an estimate.
			if gemini := p.typ == config.ProviderGemini; res.Usage.Estimated == gemini ||
				(gemini && res.Usage.CompletionTokens != 4) || res.Usage.CompletionTokens == 0 {
				t.Errorf("usage of the partial answer = %+v", res.Usage)
			}
		})
	}
}

func TestAdaptersCancellationReachesUpstream(t *testing.T) {
	mock, base := startMock(t)
	tr := newTransport(t)
	for _, p := range protocols {
		t.Run(p.typ, func(t *testing.T) {
			a := newAdapter(t, p.typ, base+p.path, provider.Timeouts{}, tr)
			ctx, cancel := context.WithCancel(ctxFor(t))
			defer cancel()
			var cancelled time.Time
			call := conversation("mock-chat+tps:20")
			res, err := a.Stream(ctx, &call, func(ev provider.Event) error {
				if ev.Text != "" && cancelled.IsZero() {
					cancelled = time.Now()
					cancel() // the client went away
				}
				return nil
			})
			if !errors.Is(err, provider.ErrCanceled) || !errors.Is(err, context.Canceled) || provider.Retryable(err) {
				t.Errorf("error = %v, want ErrCanceled", err)
			}
			if res.Text != mockprovider.ReplyText(1) {
				t.Errorf("partial text = %q, want the first token", res.Text)
			}
			wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
			defer stop()
			out, err := mock.LastRequest().Wait(wait)
			if err != nil || !out.ClientGone {
				t.Fatalf("mock outcome %+v (%v), want the client gone", out, err)
			}
			if lag := out.GoneAt.Sub(cancelled); lag > 100*time.Millisecond {
				t.Errorf("the cancellation reached the mock after %v, want within 100ms", lag)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	_, base := startMock(t)
	tr := newTransport(t)
	cases := []struct {
		name     string
		model    string
		timeouts provider.Timeouts
		phase    string
		partial  bool
	}{
		{"first byte", "mock-chat+ttft:2s", provider.Timeouts{FirstByte: 100 * time.Millisecond}, provider.PhaseFirstByte, false},
		{"between chunks", "mock-chat+tps:2", provider.Timeouts{FirstByte: time.Second, BetweenChunks: 100 * time.Millisecond}, provider.PhaseBetweenChunks, true},
		{"total", "mock-chat+tps:10", provider.Timeouts{BetweenChunks: time.Second, Total: 300 * time.Millisecond}, provider.PhaseTotal, true},
	}
	for _, p := range protocols {
		for _, c := range cases {
			t.Run(p.typ+"/"+c.name, func(t *testing.T) {
				a := newAdapter(t, p.typ, base+p.path, c.timeouts, tr)
				call := conversation(c.model)
				start := time.Now()
				res, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
				var perr *provider.Error
				if !errors.As(err, &perr) || !errors.Is(perr.Kind, provider.ErrTimeout) || perr.Phase != c.phase || !provider.Retryable(err) {
					t.Fatalf("error = %v, want a %s timeout", err, c.phase)
				}
				if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
					t.Errorf("the %s timeout fired after %v", c.phase, elapsed)
				}
				if c.partial != (res.Text != "") {
					t.Errorf("partial text %q", res.Text)
				}
			})
		}
	}
}

func TestConnectTimeout(t *testing.T) {
	tr := provider.NewTransport(provider.TransportOptions{
		// A dial that never completes, as to a host that drops SYNs.
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	a := newAdapter(t, config.ProviderOpenAI, "http://127.0.0.1:1/v1", provider.Timeouts{Connect: 50 * time.Millisecond}, tr)
	call := conversation("mock-chat")
	_, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
	var perr *provider.Error
	if !errors.As(err, &perr) || !errors.Is(perr.Kind, provider.ErrTimeout) || perr.Phase != provider.PhaseConnect {
		t.Fatalf("error = %v, want a connect timeout", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	a := newAdapter(t, config.ProviderAnthropic, url, provider.Timeouts{}, newTransport(t))
	call := conversation("mock-chat")
	_, err := a.Complete(ctxFor(t), &call)
	if !errors.Is(err, provider.ErrUnavailable) || !provider.Retryable(err) {
		t.Errorf("error = %v, want ErrUnavailable", err)
	}
}

func TestOpenAIPassThrough(t *testing.T) {
	mock, base := startMock(t)
	a := newAdapter(t, config.ProviderOpenAICompatible, base+"/openai/v1", provider.Timeouts{}, newTransport(t))
	raw := `{"model":"alias","messages":[{"role":"user","content":"hi"}],"stream":false,` +
		`"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],"top_p":0.9}`
	call := provider.Call{Model: "mock-chat+tokens:3", Raw: []byte(raw)}
	var chunks []string
	var usageOnly []bool
	res, err := a.Stream(ctxFor(t), &call, func(ev provider.Event) error {
		chunks = append(chunks, string(ev.Raw))
		usageOnly = append(usageOnly, ev.UsageOnly)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	body := string(mock.LastRequest().Body)
	for _, want := range []string{`"model":"mock-chat+tokens:3"`, `"stream":true`, `"include_usage":true`, `"tools":[`, `"top_p":0.9`} {
		if !strings.Contains(body, want) {
			t.Errorf("upstream body %s lacks %s", body, want)
		}
	}
	// role chunk, 3 text chunks, finish chunk, usage chunk: each passed on exactly as the upstream sent it.
	if len(chunks) != 6 || !strings.HasPrefix(chunks[1], `{"id":"chatcmpl-mock-`) || !strings.Contains(chunks[5], `"usage":`) {
		t.Fatalf("chunks = %q", chunks)
	}
	if !slices.Equal(usageOnly, []bool{false, false, false, false, false, true}) {
		t.Errorf("usage-only flags = %v, want only the last chunk", usageOnly)
	}
	if res.Text != mockprovider.ReplyText(3) || res.Usage.Estimated || res.Usage.PromptTokens != int64(mockprovider.PromptTokens("", "hi")) {
		t.Errorf("result %q, usage %+v", res.Text, res.Usage)
	}
}
