package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/security"
)

// TokenStore is what the personal API tokens need from the database.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, t *model.APIToken, secretHash []byte, max int) error
	APITokens(ctx context.Context, userID string) ([]model.APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id string) (*model.APIToken, error)
	TokenHolder(ctx context.Context, secretHash []byte) (*model.TokenHolder, error)
}

// Limits of personal API tokens.
const (
	// TokenPrefix starts every personal API token, so that secret scanners and people recognise them.
	TokenPrefix = "llmp_"
	// MaxTokensPerUser bounds a user's live tokens.
	MaxTokensPerUser = 50
	// MaxTokenModels bounds a token's model allow-list.
	MaxTokenModels = 50
	// tokenCacheTTL bounds how long a revocation (or a deactivation) made through another replica takes to
	// apply here; one made through this replica applies at once.
	tokenCacheTTL = 500 * time.Millisecond
)

// APITokens manages personal API tokens and authenticates /v1 requests with them.
type APITokens struct {
	store TokenStore
	now   func() time.Time
	cache *holderCache
}

// NewAPITokens returns the token service.
func NewAPITokens(st TokenStore) *APITokens {
	return &APITokens{store: st, now: time.Now, cache: &holderCache{entries: map[string]holderEntry{}}}
}

// CreateTokenInput is a new token.
type CreateTokenInput struct {
	Name string
	// ExpiresAt is optional; it must be in the future.
	ExpiresAt *time.Time
	// AllowedModels are optional globs over "provider/model" or "model".
	AllowedModels []string
}

// Create makes a token for the caller. The answer holds the secret in Token; it is never shown again.
func (s *APITokens) Create(ctx context.Context, p model.Principal, in CreateTokenInput) (*model.APIToken, error) {
	in.Name = strings.TrimSpace(in.Name)
	var v apperr.Validation
	v.Check(in.Name != "" && runes(in.Name) <= 100, "name", "must be 1 to 100 characters")
	v.Check(in.ExpiresAt == nil || in.ExpiresAt.After(s.now()), "expires_at", "must be in the future")
	v.Check(len(in.AllowedModels) <= MaxTokenModels, "allowed_models", "must list at most 50 models")
	models := make([]string, 0, len(in.AllowedModels))
	for _, m := range in.AllowedModels {
		m = strings.TrimSpace(m)
		v.Check(m != "" && len(m) <= 200, "allowed_models", "each must be a model id or glob of 1 to 200 characters")
		models = append(models, m)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret, prefix, err := newTokenSecret()
	if err != nil {
		return nil, err
	}
	t := &model.APIToken{UserID: p.UserID, Name: in.Name, Prefix: prefix, AllowedModels: models, ExpiresAt: in.ExpiresAt}
	if err := s.store.CreateAPIToken(ctx, t, security.HashToken(secret), MaxTokensPerUser); err != nil {
		return nil, err
	}
	t.Token = secret
	return t, nil
}

// newTokenSecret makes a token: the prefix, a short public id (the visible part) and 32 random bytes.
func newTokenSecret() (secret, visible string, err error) {
	b := make([]byte, 5+32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	id := strings.ToLower(base32.StdEncoding.EncodeToString(b[:5]))
	visible = TokenPrefix + id
	return visible + "_" + base64.RawURLEncoding.EncodeToString(b[5:]), visible, nil
}

// List returns the caller's tokens, newest first (without their secrets).
func (s *APITokens) List(ctx context.Context, p model.Principal) ([]model.APIToken, error) {
	return s.store.APITokens(ctx, p.UserID)
}

// Revoke revokes one of the caller's tokens. It stops working here at once, on other replicas within a
// second.
func (s *APITokens) Revoke(ctx context.Context, p model.Principal, id string) error {
	if _, err := s.store.RevokeAPIToken(ctx, p.UserID, id); err != nil {
		return err
	}
	s.cache.forgetToken(id)
	return nil
}

var errBadAPIToken = apperr.Unauthorized("invalid_api_key", "the API token is missing, malformed, revoked or expired")

// tokenLen is the length of a well-formed token: prefix, 8 characters of id, "_", 43 of secret.
const tokenLen = len(TokenPrefix) + 8 + 1 + 43

// Authenticate returns what a personal API token authenticates: a live token of an active user. Lookups are
// cached for at most half a second, unknown tokens included, so a burst of requests costs one query.
func (s *APITokens) Authenticate(ctx context.Context, token string) (*model.TokenHolder, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return nil, errBadAPIToken
	}
	hash := security.HashToken(token)
	now := s.now()
	h, found, cached := s.cache.get(string(hash), now)
	if !cached {
		var err error
		h, err = s.store.TokenHolder(ctx, hash)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			h = nil
		case err != nil:
			return nil, err
		}
		s.cache.put(string(hash), h, now)
		found = h != nil
	}
	switch {
	case !found || h.Revoked || (h.ExpiresAt != nil && !now.Before(*h.ExpiresAt)):
		return nil, errBadAPIToken
	case !h.UserActive:
		return nil, apperr.Unauthorized("account_disabled", "the account this token belongs to is deactivated")
	}
	return h, nil
}

// holderCache keeps token lookups (and misses) for tokenCacheTTL.
type holderCache struct {
	mu      sync.Mutex
	entries map[string]holderEntry
}

type holderEntry struct {
	holder *model.TokenHolder
	at     time.Time
}

// maxHolderEntries bounds the cache; past it, the cache starts again empty.
const maxHolderEntries = 100000

func (c *holderCache) get(hash string, now time.Time) (h *model.TokenHolder, found, cached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.Sub(e.at) >= tokenCacheTTL || now.Before(e.at) {
		return nil, false, false
	}
	return e.holder, e.holder != nil, true
}

func (c *holderCache) put(hash string, h *model.TokenHolder, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxHolderEntries {
		c.entries = map[string]holderEntry{}
	}
	c.entries[hash] = holderEntry{holder: h, at: now}
}

func (c *holderCache) forgetToken(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.holder != nil && e.holder.TokenID == id {
			delete(c.entries, k)
		}
	}
}
