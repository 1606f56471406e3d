package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// NewAdapter returns the adapter for a provider type (config.ProviderOpenAI, ...) at baseURL, sending its
// requests through rt (share one NewTransport per process). An empty baseURL takes the type's default. Use it
// directly for user-supplied keys; platform providers with a key pool go through New.
func NewAdapter(typ, baseURL string, t Timeouts, rt http.RoundTripper) (Adapter, error) {
	if baseURL == "" {
		baseURL = config.DefaultBaseURL[typ]
	}
	base := strings.TrimSuffix(baseURL, "/")
	c := newHTTPClient(rt, t)
	switch typ {
	case config.ProviderOpenAI:
		return &openAI{base: base, http: c}, nil
	case config.ProviderOpenAICompatible:
		if base == "" {
			return nil, fmt.Errorf("provider type %s needs a base URL", typ)
		}
		return &openAI{base: base, http: c, compatible: true}, nil
	case config.ProviderAnthropic:
		return &anthropic{base: strings.TrimSuffix(base, "/v1"), http: c}, nil
	case config.ProviderGemini:
		return &gemini{base: strings.TrimSuffix(base, "/v1beta"), http: c}, nil
	case config.ProviderOllama:
		return &ollama{base: strings.TrimSuffix(base, "/api"), http: c}, nil
	}
	return nil, fmt.Errorf("unknown provider type %q", typ)
}

// maxAttempts bounds how many keys one request tries.
const maxAttempts = 3

// Provider is a configured provider: its adapter and its key pool. It fails over between keys: a call that
// fails with a retryable error (see Retryable) before anything reached the caller is retried with another
// key, up to three keys.
type Provider struct {
	name    string
	adapter Adapter
	pool    *Pool
}

// New returns the provider cfg describes, using pool for its keys (nil or empty for a provider without keys,
// such as a local Ollama). Keep the pool across configuration reloads (Pool.SetKeys) so that key health
// survives them.
func New(cfg config.Provider, pool *Pool, rt http.RoundTripper) (*Provider, error) {
	a, err := NewAdapter(cfg.Type, cfg.BaseURL, TimeoutsFrom(cfg.Timeouts), rt)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", cfg.Name, err)
	}
	return &Provider{name: cfg.Name, adapter: a, pool: pool}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Pool is the provider's key pool, or nil.
func (p *Provider) Pool() *Pool { return p.pool }

// Stream streams call with a key from the pool (call.Key is set per attempt). Result.KeyID and
// Result.Attempts say which key served it and how many were tried; its times count from this call. Once the
// answer begins no other key is tried, and the stream lets go of the conversation (Raw, System, Messages):
// an answer may stream for minutes, and the request was sent.
func (p *Provider) Stream(ctx context.Context, call Call, emit func(Event) error) (Result, error) {
	emitted := false
	tracked := func(ev Event) error {
		if !emitted {
			emitted = true
			call.Raw, call.System, call.Messages = nil, "", nil
		}
		return emit(ev)
	}
	return p.withKeys(ctx, &call, func() bool { return !emitted }, func() (Result, error) {
		return p.adapter.Stream(ctx, &call, tracked)
	})
}

// Complete sends call, not streamed, with a key from the pool, failing over like Stream.
func (p *Provider) Complete(ctx context.Context, call Call) (Result, error) {
	return p.withKeys(ctx, &call, func() bool { return true }, func() (Result, error) {
		return p.adapter.Complete(ctx, &call)
	})
}

// Models lists the provider's upstream models with a key from the pool.
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	var models []string
	call := Call{}
	_, err := p.withKeys(ctx, &call, func() bool { return true }, func() (Result, error) {
		var err error
		models, err = p.adapter.Models(ctx, call.Key)
		return Result{}, err
	})
	return models, err
}

// withKeys runs attempt with a leased key, and again with another key while the failure is retryable and
// canRetry says nothing has reached the caller yet.
func (p *Provider) withKeys(ctx context.Context, call *Call, canRetry func() bool, attempt func() (Result, error)) (Result, error) {
	start := time.Now()
	if p.pool == nil || p.pool.Len() == 0 {
		return attempt()
	}
	var tried []string
	var res Result
	var err error
	for n := 1; n <= maxAttempts; n++ {
		lease, aerr := p.pool.Acquire(ctx, tried)
		if aerr != nil {
			if err == nil {
				res, err = Result{Latency: time.Since(start)}, aerr
			}
			return res, err
		}
		call.Key = lease.Secret()
		offset := time.Since(start)
		res, err = attempt()
		lease.Done(err)
		res.KeyID, res.Attempts = lease.ID(), n
		res.TimeToFirstByte = shift(res.TimeToFirstByte, offset)
		res.TimeToFirstToken = shift(res.TimeToFirstToken, offset)
		res.Latency = time.Since(start)
		if err == nil || !Retryable(err) || !canRetry() || ctx.Err() != nil {
			break
		}
		tried = append(tried, lease.ID())
	}
	return res, err
}

func shift(d, offset time.Duration) time.Duration {
	if d == 0 {
		return 0
	}
	return d + offset
}
