package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// KeyStore is what the key service needs from the database; every method acts only on the user's rows.
type KeyStore interface {
	CreateProviderKey(ctx context.Context, k *model.ProviderKey) error
	ProviderKey(ctx context.Context, userID, id string) (*model.ProviderKey, error)
	ListProviderKeys(ctx context.Context, userID string) ([]model.ProviderKey, error)
	UpdateProviderKey(ctx context.Context, userID, id string, u store.ProviderKeyUpdate) (*model.ProviderKey, error)
	DeleteProviderKey(ctx context.Context, userID, id string) error
}

// KeyRegistry seals keys and tries them (the llm registry).
type KeyRegistry interface {
	Keyring() (*llm.Keyring, error)
	TestKey(ctx context.Context, providerType, baseURL, secret string) ([]string, error)
}

// Keys manages users' own provider keys. A key's secret is sealed as soon as it arrives and never returned,
// logged or put in an error.
type Keys struct {
	store    KeyStore
	registry KeyRegistry
}

// NewKeys returns the key service.
func NewKeys(st KeyStore, r KeyRegistry) *Keys { return &Keys{store: st, registry: r} }

// KeyInput is a new key, or the changes to one (nil and absent fields are unchanged).
type KeyInput struct {
	Name         *string
	ProviderType string
	BaseURL      *string
	// Models replaces the declared models when not nil.
	Models []model.KeyModel
	// APIKey is the secret; nil keeps the stored one.
	APIKey *string
}

// Limits of a key.
const (
	MaxKeyNameLen   = 100
	MaxKeyLen       = 1000
	MaxKeyModels    = 100
	MaxBaseURLLen   = 500
	MaxContextLimit = 10_000_000
)

var keyModelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$`)

// needsBaseURL are the provider types without a default endpoint for users.
var needsBaseURL = map[string]bool{config.ProviderOpenAICompatible: true, config.ProviderOllama: true}

// keyless are the provider types that may run without an API key (local servers).
var keyless = map[string]bool{config.ProviderOpenAICompatible: true, config.ProviderOllama: true}

func checkKey(v *apperr.Validation, typ string, in KeyInput) {
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		*in.Name = n
		v.Check(n != "" && runes(n) <= MaxKeyNameLen && !hasControl(n), "name", "must be 1 to 100 characters, without control characters")
	}
	if in.BaseURL != nil {
		u, err := url.Parse(*in.BaseURL)
		ok := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
			u.RawQuery == "" && u.Fragment == "" && len(*in.BaseURL) <= MaxBaseURLLen
		v.Check(*in.BaseURL == "" || ok, "base_url", "must be an http(s) URL without credentials, query or fragment")
		v.Check(*in.BaseURL != "" || !needsBaseURL[typ], "base_url", "is required for "+typ)
	}
	if in.Models != nil {
		checkKeyModels(v, in.Models)
	}
	if in.APIKey != nil {
		k := *in.APIKey
		v.Check(len(k) <= MaxKeyLen && !strings.ContainsAny(k, " \t\r\n") && (k != "" || keyless[typ]), "api_key",
			"must be the provider's API key (at most 1000 characters, no spaces)")
	}
}

func checkKeyModels(v *apperr.Validation, models []model.KeyModel) {
	v.Check(len(models) >= 1 && len(models) <= MaxKeyModels, "models", "must list 1 to 100 models")
	seen := map[string]bool{}
	for i, m := range models {
		f := fmt.Sprintf("models[%d]", i)
		v.Check(keyModelRE.MatchString(m.Name) && !seen[m.Name], f+".name", "must be a unique model name (letters, digits, . _ : / @ + -)")
		seen[m.Name] = true
		for _, price := range []struct{ field, value string }{{"input", m.Pricing.Input}, {"cached_input", m.Pricing.CachedInput}, {"output", m.Pricing.Output}} {
			_, err := config.ParseUSD(price.value)
			v.Check(err == nil, f+".pricing."+price.field, "must be a decimal USD amount per million tokens such as \"0.15\"")
		}
		v.Check(m.ContextWindow >= 0 && m.ContextWindow <= MaxContextLimit, f+".context_window", "must be between 0 and 10000000")
		v.Check(m.MaxOutputTokens >= 0 && m.MaxOutputTokens <= MaxContextLimit, f+".max_output_tokens", "must be between 0 and 10000000")
	}
}

// hint is the end of a key that tells it apart ("…a1b2"); short keys get none, as four characters would be
// too much of them.
func hint(key string) string {
	if len(key) < 16 {
		return ""
	}
	return "…" + key[len(key)-4:]
}

// Create seals and stores a new key of the caller.
func (s *Keys) Create(ctx context.Context, p model.Principal, in KeyInput) (*model.ProviderKey, error) {
	ring, err := s.registry.Keyring()
	if err != nil {
		return nil, err
	}
	var v apperr.Validation
	v.Check(in.Name != nil, "name", "is required")
	v.Check(validType(in.ProviderType), "provider_type", "must be OpenAI, Anthropic, Gemini, Ollama or OpenAICompatible")
	v.Check(in.Models != nil, "models", "must list 1 to 100 models")
	if in.BaseURL == nil {
		in.BaseURL = new(string)
	}
	if in.APIKey == nil {
		in.APIKey = new(string)
	}
	checkKey(&v, in.ProviderType, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k := &model.ProviderKey{ID: newUUID(), UserID: p.UserID, Name: *in.Name, ProviderType: in.ProviderType,
		BaseURL: *in.BaseURL, Models: in.Models, Hint: hint(*in.APIKey)}
	if k.EncryptionKeyID, k.Sealed, err = ring.Seal([]byte(*in.APIKey), llm.SealAAD(p.UserID, k.ID)); err != nil {
		return nil, err
	}
	if err := s.store.CreateProviderKey(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

func validType(t string) bool {
	switch t {
	case config.ProviderOpenAI, config.ProviderAnthropic, config.ProviderGemini, config.ProviderOllama, config.ProviderOpenAICompatible:
		return true
	}
	return false
}

// List returns the caller's keys, by name.
func (s *Keys) List(ctx context.Context, p model.Principal) ([]model.ProviderKey, error) {
	if _, err := s.registry.Keyring(); err != nil {
		return nil, err
	}
	return s.store.ListProviderKeys(ctx, p.UserID)
}

// Update changes one of the caller's keys; a new secret is sealed at once. The provider type cannot change.
func (s *Keys) Update(ctx context.Context, p model.Principal, id string, in KeyInput) (*model.ProviderKey, error) {
	ring, err := s.registry.Keyring()
	if err != nil {
		return nil, err
	}
	cur, err := s.store.ProviderKey(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	var v apperr.Validation
	v.Check(in.ProviderType == "" || in.ProviderType == cur.ProviderType, "provider_type", "cannot change; add a new key instead")
	checkKey(&v, cur.ProviderType, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	u := store.ProviderKeyUpdate{Name: in.Name, BaseURL: in.BaseURL, Models: in.Models}
	if in.APIKey != nil {
		h := hint(*in.APIKey)
		kid, sealed, err := ring.Seal([]byte(*in.APIKey), llm.SealAAD(p.UserID, id))
		if err != nil {
			return nil, err
		}
		u.Hint, u.EncryptionKeyID, u.Sealed = &h, &kid, sealed
	}
	return s.store.UpdateProviderKey(ctx, p.UserID, id, u)
}

// Delete deletes one of the caller's keys. Conversations using its models fail with an unknown model until
// they pick another.
func (s *Keys) Delete(ctx context.Context, p model.Principal, id string) error {
	if _, err := s.registry.Keyring(); err != nil {
		return err
	}
	return s.store.DeleteProviderKey(ctx, p.UserID, id)
}

// KeyTestResult says whether a key works: the models the provider offers it, or why it failed.
type KeyTestResult struct {
	OK      bool     `json:"ok"`
	Message string   `json:"message,omitempty"`
	Models  []string `json:"models,omitempty"`
}

// Test lists the models the provider offers one of the caller's keys (a cheap call that proves the key).
func (s *Keys) Test(ctx context.Context, p model.Principal, id string) (*KeyTestResult, error) {
	ring, err := s.registry.Keyring()
	if err != nil {
		return nil, err
	}
	k, err := s.store.ProviderKey(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	secret, err := ring.Open(k.EncryptionKeyID, k.Sealed, llm.SealAAD(p.UserID, k.ID))
	if err != nil {
		return nil, apperr.New(apperr.ErrUnavailable, "user_key_unreadable",
			"the key cannot be decrypted (the platform's encryption key changed); enter it again")
	}
	models, err := s.registry.TestKey(ctx, k.ProviderType, k.BaseURL, string(secret))
	if err != nil {
		return &KeyTestResult{Message: UpstreamError(err, true).Message}, nil
	}
	if models == nil {
		models = []string{}
	}
	return &KeyTestResult{OK: true, Models: models}, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
