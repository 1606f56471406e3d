package service

import (
	"context"

	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// ModelCatalog lists models (the llm registry).
type ModelCatalog interface {
	Models() []llm.Model
	UserModels(ctx context.Context, userID string) ([]llm.Model, error)
}

// ModelFilter keeps the models the caller may use now (quotas' allowedModels); it is the metering's hook
// into the model listing. It must not reorder the models.
type ModelFilter func(ctx context.Context, p model.Principal, models []llm.Model) ([]llm.Model, error)

// Model sources.
const (
	SourcePlatform = "platform"
	SourceUser     = "user"
)

// ModelInfo is a model as GET /api/v1/models lists it.
type ModelInfo struct {
	// ID is what a conversation's model and a send's model override take.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Provider is the platform provider's name, or the user key's name.
	Provider     string `json:"provider"`
	ProviderType string `json:"provider_type"`
	// Source is platform or user (a model of the caller's own key).
	Source string `json:"source"`
	// KeyID is the user key serving the model (source user).
	KeyID string `json:"key_id,omitempty"`
	// Pricing is in USD per million tokens, as decimal strings; empty when unknown.
	Pricing         model.Price `json:"pricing"`
	ContextWindow   int64       `json:"context_window"`
	MaxOutputTokens int64       `json:"max_output_tokens"`
}

// Models lists the models a user may use.
type Models struct {
	catalog ModelCatalog
	filter  ModelFilter
}

// NewModels returns the model listing; filter may be nil (every model is allowed).
func NewModels(c ModelCatalog, filter ModelFilter) *Models {
	return &Models{catalog: c, filter: filter}
}

// List returns the platform's models grouped by provider in configuration order, then the models of the
// caller's own keys, keeping only those the caller may use now.
func (s *Models) List(ctx context.Context, p model.Principal) ([]ModelInfo, error) {
	models := s.catalog.Models()
	own, err := s.catalog.UserModels(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	models = append(models, own...)
	if s.filter != nil {
		if models, err = s.filter(ctx, p, models); err != nil {
			return nil, err
		}
	}
	out := make([]ModelInfo, 0, len(models))
	for _, m := range models {
		info := ModelInfo{ID: m.ID, Name: m.Name, Provider: m.Provider, ProviderType: m.ProviderType, Source: SourcePlatform,
			Pricing:       model.Price{Input: m.Pricing.Decimal.Input, CachedInput: m.Pricing.Decimal.CachedInput, Output: m.Pricing.Decimal.Output},
			ContextWindow: m.ContextWindow, MaxOutputTokens: m.MaxOutputTokens}
		if m.UserKeyID != "" {
			info.Source, info.KeyID, info.Provider = SourceUser, m.UserKeyID, m.KeyName
		}
		out = append(out, info)
	}
	return out, nil
}
