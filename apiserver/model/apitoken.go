package model

import "time"

// APIToken is a personal API token for the OpenAI-compatible /v1 endpoint. Only the SHA-256 of its secret is
// stored; Token holds the secret in the one answer that created it.
type APIToken struct {
	ID     string `json:"id"`
	UserID string `json:"-"`
	Name   string `json:"name"`
	// Prefix is the token's visible start ("llmp_" and a short id), to recognise it by.
	Prefix string `json:"prefix"`
	// AllowedModels, when not empty, are the only models the token may use (globs over "provider/model" or
	// "model", as in quotas).
	AllowedModels []string   `json:"allowed_models"`
	ExpiresAt     *time.Time `json:"expires_at"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	// Token is the secret, shown once.
	Token string `json:"token,omitempty"`
}

// TokenHolder is what a personal API token authenticates right now: the token's own limits and its user's
// state. It is read per request through a short cache, so a revocation takes effect within a second.
type TokenHolder struct {
	TokenID       string
	UserID        string
	Username      string
	Email         string
	Role          string
	UserActive    bool
	AllowedModels []string
	ExpiresAt     *time.Time
	Revoked       bool
}
