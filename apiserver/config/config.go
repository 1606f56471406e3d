// Package config is the configuration of a tenant API server: the platform.yaml file that the operator
// renders into a ConfigMap (or a developer writes by hand) and the secret files it points to. It is a leaf
// package: the operator imports it to render the file, the API server to load it, and it imports nothing of
// either.
package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Provider types, as in the LLMPlatform resource.
const (
	ProviderOpenAI           = "OpenAI"
	ProviderAnthropic        = "Anthropic"
	ProviderGemini           = "Gemini"
	ProviderOllama           = "Ollama"
	ProviderOpenAICompatible = "OpenAICompatible"
)

// Registration modes.
const (
	RegistrationOpen   = "Open"
	RegistrationClosed = "Closed"
)

// Quota modes.
const (
	QuotaModeEnforce = "Enforce"
	QuotaModeShadow  = "Shadow"
)

// Config is the content of platform.yaml. It holds no secret: secrets are files named by Secrets. A relative
// file path is relative to the directory of the configuration file (Load, ParseAt).
type Config struct {
	// Platform is the tenant's name, shown in the UI and in logs.
	Platform string `json:"platform"`
	// PublicURL is where users reach the platform, when known (used in links and the API token snippet).
	PublicURL string `json:"publicURL,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel,omitempty"`
	// Timezone is the IANA zone in which daily and monthly windows start.
	Timezone string `json:"timezone,omitempty"`

	Auth      Auth       `json:"auth"`
	HTTP      HTTP       `json:"http,omitempty"`
	CORS      CORS       `json:"cors,omitempty"`
	UserKeys  UserKeys   `json:"userKeys,omitempty"`
	Database  Database   `json:"database"`
	Secrets   Secrets    `json:"secrets"`
	Providers []Provider `json:"providers,omitempty"`
	Quotas    []Quota    `json:"quotas,omitempty"`
	Metering  Metering   `json:"metering,omitempty"`
}

// Auth configures accounts and sessions.
type Auth struct {
	Registration    string   `json:"registration"`
	AccessTokenTTL  Duration `json:"accessTokenTTL"`
	RefreshTokenTTL Duration `json:"refreshTokenTTL"`
	// PasswordHashing sets the argon2id cost of password hashes.
	PasswordHashing PasswordHashing `json:"passwordHashing,omitempty"`
}

// CORS lists cross-origin callers; empty means same origin only.
type CORS struct {
	AllowedOrigins []string `json:"allowedOrigins,omitempty"`
}

// UserKeys controls user-supplied provider keys.
type UserKeys struct {
	Allowed bool `json:"allowed,omitempty"`
}

// Database configures the PostgreSQL connection. The URL itself is secret and read from URLFile, or from the
// DATABASE_URL environment variable, which takes precedence.
type Database struct {
	URLFile          string   `json:"urlFile,omitempty"`
	MaxConns         int32    `json:"maxConns,omitempty"`
	StatementTimeout Duration `json:"statementTimeout,omitempty"`
}

// Secrets names the files holding the platform's generated secrets.
type Secrets struct {
	// JWTKeyFile holds the HMAC key that signs access tokens.
	JWTKeyFile string `json:"jwtKeyFile"`
	// EncryptionKeyFile holds the AES-256 key (base64 of 32 bytes) for user-supplied provider keys.
	EncryptionKeyFile string `json:"encryptionKeyFile"`
	// PreviousEncryptionKeyFiles hold retired encryption keys, still accepted for decryption during rotation.
	PreviousEncryptionKeyFiles []string `json:"previousEncryptionKeyFiles,omitempty"`
	// AdminDir holds the bootstrap admin's "username", "password" and optional "email" files.
	AdminDir string `json:"adminDir,omitempty"`
	// InternalTokenFile holds the bearer token the operator uses on /internal/v1.
	InternalTokenFile string `json:"internalTokenFile,omitempty"`
}

// Provider is one LLM provider with its key pool and models.
type Provider struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	BaseURL  string   `json:"baseURL"`
	Keys     []Key    `json:"keys,omitempty"`
	Models   []Model  `json:"models"`
	Timeouts Timeouts `json:"timeouts"`
}

// Key is one API key of a provider's pool. The key itself is in File.
type Key struct {
	// ID identifies the key in usage records, metrics and the admin API without revealing it
	// ("<secret>/<key>").
	ID                string `json:"id"`
	File              string `json:"file"`
	Weight            int32  `json:"weight"`
	RequestsPerMinute int32  `json:"requestsPerMinute,omitempty"`
}

// Model is one model of a provider.
type Model struct {
	Name            string  `json:"name"`
	UpstreamName    string  `json:"upstreamName,omitempty"`
	Pricing         Pricing `json:"pricing,omitempty"`
	ContextWindow   int32   `json:"contextWindow,omitempty"`
	MaxOutputTokens int32   `json:"maxOutputTokens,omitempty"`
}

// Pricing is in USD per million tokens, as decimal strings ("0.15").
type Pricing struct {
	Input       string `json:"input,omitempty"`
	CachedInput string `json:"cachedInput,omitempty"`
	Output      string `json:"output,omitempty"`
}

// Timeouts bound the phases of a provider call.
type Timeouts struct {
	Connect       Duration `json:"connect"`
	FirstByte     Duration `json:"firstByte"`
	BetweenChunks Duration `json:"betweenChunks"`
	Total         Duration `json:"total"`
}

// Quota is a UserQuota rendered for the API server.
type Quota struct {
	// Name is the UserQuota's name.
	Name          string        `json:"name"`
	Subjects      QuotaSubjects `json:"subjects"`
	Limits        QuotaLimits   `json:"limits,omitempty"`
	AllowedModels []string      `json:"allowedModels,omitempty"`
	Mode          string        `json:"mode"`
}

// QuotaSubjects selects users: exactly one of Users, Roles or AllUsers.
type QuotaSubjects struct {
	Users    []string `json:"users,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	AllUsers bool     `json:"allUsers,omitempty"`
}

// QuotaLimits are a quota's limits; nil means unlimited.
type QuotaLimits struct {
	RequestsPerMinute         *int32  `json:"requestsPerMinute,omitempty"`
	TokensPerDay              *int64  `json:"tokensPerDay,omitempty"`
	TokensPerMonth            *int64  `json:"tokensPerMonth,omitempty"`
	CostPerMonth              *string `json:"costPerMonth,omitempty"`
	MaxOutputTokensPerRequest *int32  `json:"maxOutputTokensPerRequest,omitempty"`
}

// Metering configures usage records.
type Metering struct {
	// RawRetention is how long raw usage records are kept; daily rollups are kept forever. Default 90 days.
	RawRetention Duration `json:"rawRetention,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("30m") in YAML and JSON. A string that does
// not parse is kept in Invalid, so that Validate can name the field it came from.
type Duration struct {
	time.Duration
	Invalid string `json:"-"`
}

// MarshalJSON writes the duration as a string such as "30m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a duration string such as "30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\": %w", err)
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		d.Invalid = s
		return nil //nolint:nilerr // kept in Invalid: Validate reports it with the field's name, which a decoding error cannot
	}
	d.Duration = parsed
	return nil
}
