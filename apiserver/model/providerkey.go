package model

import (
	"encoding/json"
	"time"
)

// ProviderKey is a user's own provider API key (when the platform allows them). The key itself is never part
// of it as plain text: it is sealed (AES-256-GCM) in Sealed, under the encryption key named by
// EncryptionKeyID, and only the model registry opens it to call the provider.
type ProviderKey struct {
	ID           string `json:"id"`
	UserID       string `json:"-"`
	Name         string `json:"name"`
	ProviderType string `json:"provider_type"`
	// BaseURL is the provider's endpoint; empty takes the type's default (required for OpenAICompatible and
	// Ollama).
	BaseURL string `json:"base_url"`
	// Models are the model names the user declared for the key, with optional prices.
	Models []KeyModel `json:"models"`
	// Hint is the last four characters of the key, to tell keys apart ("…a1b2"); empty for short keys.
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// EncryptionKeyID names the encryption key that sealed the key.
	EncryptionKeyID string `json:"-"`
	// Sealed is the nonce and ciphertext of the key.
	Sealed []byte `json:"-"`
}

// KeyModel is a model a user declared on their key.
type KeyModel struct {
	Name string `json:"name"`
	// Pricing is optional; empty prices count as free.
	Pricing         Price `json:"pricing"`
	ContextWindow   int32 `json:"context_window,omitempty"`
	MaxOutputTokens int32 `json:"max_output_tokens,omitempty"`
}

// Price is in USD per million tokens, as decimal strings ("0.15"); empty means unknown (free).
type Price struct {
	Input       string `json:"input"`
	CachedInput string `json:"cached_input"`
	Output      string `json:"output"`
}

// UnmarshalJSON reads a model declared as an object or, for short, as its bare name ("gpt-4o").
func (m *KeyModel) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*m = KeyModel{Name: name}
		return nil
	}
	type plain KeyModel
	return json.Unmarshal(b, (*plain)(m))
}
