// Package llm is the API server's catalogue of models: the provider registry. It resolves a model id as users
// and programs write it to what serves it and what it costs:
//
//	"gpt-4o"                the first configured provider (in config order) that has a model of that name
//	"openai/gpt-4o"         that provider's model (the canonical id, as GET /api/v1/models lists it)
//	"key:<uuid>/my-model"   a model the user declared on one of their own provider keys (userKeys.allowed)
//
// The registry is rebuilt from the settings on every config or Secret reload; each provider's key pool is kept
// across reloads (Pool.SetKeys), so key health survives them, and every provider shares one HTTP transport.
// The web chat and the OpenAI-compatible /v1 endpoint both resolve models here.
package llm

import (
	"context"
	"math/bits"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// Backend sends calls to what serves a model: a platform provider with its key pool (*provider.Provider), or a
// user's own key. Result is filled even with an error (see provider.Result).
type Backend interface {
	// Stream sends call streamed; emit is called for each chunk (see provider.Adapter.Stream).
	Stream(ctx context.Context, call provider.Call, emit func(provider.Event) error) (provider.Result, error)
	// Complete sends call not streamed.
	Complete(ctx context.Context, call provider.Call) (provider.Result, error)
}

// Model is a resolved model: what serves it, under which upstream name, with which limits and prices.
type Model struct {
	// ID is the canonical id: "<provider>/<name>" for platform models, "key:<key id>/<name>" for user keys.
	ID string
	// Name is the model's platform name (or the name the user declared on their key).
	Name string
	// Provider is the platform provider's name, or "key:<key id>" for a user key (for usage records).
	Provider string
	// ProviderType is config.ProviderOpenAI, config.ProviderAnthropic...
	ProviderType string
	// UserKeyID is the user key's id when the model is served by one; empty for platform providers.
	UserKeyID string
	// KeyName is the user key's name, for listings.
	KeyName string
	// Upstream is the model name sent to the provider.
	Upstream string
	// ContextWindow is the model's context window in tokens; 0 when unknown (no trimming).
	ContextWindow int64
	// MaxOutputTokens is the most the model may answer in one call.
	MaxOutputTokens int64
	// Pricing is the model's price per million tokens.
	Pricing Pricing
	// Backend sends the calls.
	Backend Backend
}

// Pricing is a model's price in micro-USD per million tokens.
type Pricing struct {
	Input, CachedInput, Output int64
	// Decimal is the same prices as configured (USD per million tokens as decimal strings), for listings.
	Decimal config.Pricing
}

// ParsePricing converts configured decimal prices. An empty cached-input price is the input price (no
// discount known).
func ParsePricing(p config.Pricing) (Pricing, error) {
	out := Pricing{Decimal: p}
	var err error
	if out.Input, err = config.ParseUSD(p.Input); err != nil {
		return Pricing{}, err
	}
	if out.Output, err = config.ParseUSD(p.Output); err != nil {
		return Pricing{}, err
	}
	out.CachedInput = out.Input
	if p.CachedInput != "" {
		if out.CachedInput, err = config.ParseUSD(p.CachedInput); err != nil {
			return Pricing{}, err
		}
	}
	return out, nil
}

// Cost is what usage costs, in micro-USD, rounded to the nearest micro-dollar: uncached prompt tokens at the
// input price, cached prompt tokens at the cached-input price, completion tokens (reasoning included) at the
// output price. The products are summed in 128 bits, so no realistic count or price overflows; the result
// saturates at the largest int64.
func (p Pricing) Cost(u provider.Usage) int64 {
	cached := min(max(u.CachedPromptTokens, 0), max(u.PromptTokens, 0))
	var hi, lo uint64
	add := func(tokens, price int64) {
		if tokens <= 0 || price <= 0 {
			return
		}
		h, l := bits.Mul64(uint64(tokens), uint64(price))
		var carry uint64
		lo, carry = bits.Add64(lo, l, 0)
		hi += h + carry
	}
	add(max(u.PromptTokens, 0)-cached, p.Input)
	add(cached, p.CachedInput)
	add(max(u.CompletionTokens, 0), p.Output)
	const perMillion = 1_000_000
	lo, carry := bits.Add64(lo, perMillion/2, 0)
	hi += carry
	if hi >= perMillion {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, perMillion)
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}
