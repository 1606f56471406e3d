package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// UserKeyStore reads and updates users' own provider keys.
type UserKeyStore interface {
	// UseProviderKey returns the user's key and records that it is being used (last_used_at); an
	// *apperr.Error of kind ErrNotFound when the user has no such key.
	UseProviderKey(ctx context.Context, userID, id string) (*model.ProviderKey, error)
	// ListProviderKeys returns the user's keys.
	ListProviderKeys(ctx context.Context, userID string) ([]model.ProviderKey, error)
	// ResealProviderKey replaces the sealed key if it is still sealed under oldKeyID (lazy re-encryption
	// after an encryption key rotation).
	ResealProviderKey(ctx context.Context, userID, id, oldKeyID, newKeyID string, sealed []byte) error
}

// UserKeyTimeouts bound calls made with users' own keys: the same as a configured provider's defaults.
var UserKeyTimeouts = provider.Timeouts{
	Connect: 10 * time.Second, FirstByte: 5 * time.Minute, BetweenChunks: 2 * time.Minute, Total: 30 * time.Minute,
}

// UserKeysAllowed reports whether users may add and use their own keys now (userKeys.allowed).
func (r *Registry) UserKeysAllowed() bool { return r.cat.Load().userKeys }

// Keyring returns the keyring that seals users' keys, or an *apperr.Error when user keys are not allowed or
// the encryption key cannot be read.
func (r *Registry) Keyring() (*Keyring, error) {
	cat := r.cat.Load()
	if !cat.userKeys {
		return nil, errUserKeysDisabled
	}
	if cat.keyringErr != nil {
		return nil, errKeyringUnavailable
	}
	return cat.keyring, nil
}

var (
	errUserKeysDisabled = apperr.Forbidden("user_keys_disabled", "this platform does not allow users' own provider keys")
	// errKeyringUnavailable hides the cause (a file path) from clients; Apply returned and logged it.
	errKeyringUnavailable = apperr.New(apperr.ErrUnavailable, "user_keys_unavailable",
		"users' own provider keys are unavailable: the platform's encryption key cannot be read; ask an administrator")
)

// SealAAD binds a sealed user key to its owner and row, so that a sealed value copied to another row or user
// does not open.
func SealAAD(userID, keyID string) []byte {
	return []byte("llmplatform/provider-key/v1/" + userID + "/" + keyID)
}

// resolveUserModel opens the user's key and returns a model served by it.
func (r *Registry) resolveUserModel(ctx context.Context, cat *catalog, userID, keyID, name string) (*Model, error) {
	id := UserModelID(keyID, name)
	if !cat.userKeys {
		return nil, unknownModel(id)
	}
	ring, err := r.Keyring()
	if err != nil {
		return nil, err
	}
	k, err := r.opts.UserKeys.UseProviderKey(ctx, userID, keyID)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, unknownModel(id)
	}
	if err != nil {
		return nil, err
	}
	var km *model.KeyModel
	for i := range k.Models {
		if k.Models[i].Name == name {
			km = &k.Models[i]
		}
	}
	if km == nil {
		return nil, unknownModel(id)
	}
	secret, err := r.openKey(ctx, ring, k)
	if err != nil {
		return nil, err
	}
	m, err := userModel(k, *km)
	if err != nil {
		return nil, err
	}
	a, err := provider.NewAdapter(k.ProviderType, k.BaseURL, UserKeyTimeouts, r.opts.UserTransport)
	if err != nil {
		return nil, apperr.New(apperr.ErrUnavailable, "provider_unavailable", "the key %s cannot be used: %v", k.Name, err)
	}
	// Users' own keys are unbounded: one metrics series for all of them.
	m.Backend = observed{Backend: &userBackend{adapter: a, key: secret}, provider: "user_key", metrics: r.metrics}
	return m, nil
}

// openKey decrypts a user's key, re-sealing it under the current encryption key when an older one sealed it.
func (r *Registry) openKey(ctx context.Context, ring *Keyring, k *model.ProviderKey) (string, error) {
	aad := SealAAD(k.UserID, k.ID)
	plain, err := ring.Open(k.EncryptionKeyID, k.Sealed, aad)
	if err != nil {
		r.opts.Log.ErrorContext(ctx, "Opening a user's provider key failed", "key_id", k.ID, "encryption_key_id", k.EncryptionKeyID, "error", err)
		return "", apperr.New(apperr.ErrUnavailable, "user_key_unreadable",
			"your key %s cannot be decrypted (the platform's encryption key changed); enter the key again", k.Name)
	}
	if k.EncryptionKeyID != ring.CurrentID() {
		if newID, sealed, err := ring.Seal(plain, aad); err == nil {
			err = r.opts.UserKeys.ResealProviderKey(context.WithoutCancel(ctx), k.UserID, k.ID, k.EncryptionKeyID, newID, sealed)
			if err != nil {
				r.opts.Log.WarnContext(ctx, "Re-sealing a user's provider key failed", "key_id", k.ID, "error", err)
			}
		}
	}
	return string(plain), nil
}

// userModel describes a model declared on a user's key (without a backend).
func userModel(k *model.ProviderKey, km model.KeyModel) (*Model, error) {
	pricing, err := ParsePricing(pricingOf(km.Pricing))
	if err != nil {
		return nil, apperr.New(apperr.ErrValidation, "invalid_price", "the prices of %s on key %s are invalid: %v", km.Name, k.Name, err)
	}
	return &Model{
		ID: UserModelID(k.ID, km.Name), Name: km.Name, Provider: userModelPrefix + k.ID, ProviderType: k.ProviderType,
		UserKeyID: k.ID, KeyName: k.Name, Upstream: km.Name, ContextWindow: int64(km.ContextWindow),
		MaxOutputTokens: int64(km.MaxOutputTokens), Pricing: pricing,
	}, nil
}

// UserModels returns the models declared on the user's keys, for listing (their Backend is nil; Resolve
// returns them ready to call). It is empty when user keys are not allowed.
func (r *Registry) UserModels(ctx context.Context, userID string) ([]Model, error) {
	if !r.cat.Load().userKeys {
		return nil, nil
	}
	keys, err := r.opts.UserKeys.ListProviderKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []Model
	for i := range keys {
		for _, km := range keys[i].Models {
			m, err := userModel(&keys[i], km)
			if err != nil {
				continue // a price that no longer parses hides the model; the key's page shows it
			}
			out = append(out, *m)
		}
	}
	return out, nil
}

// TestKey lists the models a key may use at a provider, to check a key before or after saving it.
func (r *Registry) TestKey(ctx context.Context, providerType, baseURL, secret string) ([]string, error) {
	a, err := provider.NewAdapter(providerType, baseURL, UserKeyTimeouts, r.opts.UserTransport)
	if err != nil {
		return nil, err
	}
	return a.Models(ctx, secret)
}

// userBackend calls a provider with a user's own key.
type userBackend struct {
	adapter provider.Adapter
	key     string
}

// Stream implements Backend.
func (b *userBackend) Stream(ctx context.Context, call provider.Call, emit func(provider.Event) error) (provider.Result, error) {
	call.Key = b.key
	return b.adapter.Stream(ctx, &call, emit)
}

// Complete implements Backend.
func (b *userBackend) Complete(ctx context.Context, call provider.Call) (provider.Result, error) {
	call.Key = b.key
	return b.adapter.Complete(ctx, &call)
}

// NewUserKeyTransport returns the transport for calls with users' own keys, to base URLs users chose. It
// refuses to connect to link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata endpoints that hand
// out the node's credentials) and unspecified ones, whatever name resolved to them.
func NewUserKeyTransport() *http.Transport {
	d := &net.Dialer{KeepAlive: 30 * time.Second, Control: refuseLinkLocal}
	return provider.NewTransport(provider.TransportOptions{MaxIdleConnsPerHost: 16, DialContext: d.DialContext})
}

// refuseLinkLocal is a dialer's Control: it runs after name resolution, on the address about to be dialled.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected address %q: %w", address, err)
	}
	a := ap.Addr().Unmap()
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("connecting to %s is not allowed for users' keys", a)
	}
	return nil
}

// pricingOf converts a declared price to the configuration's form.
func pricingOf(p model.Price) config.Pricing {
	return config.Pricing{Input: p.Input, CachedInput: p.CachedInput, Output: p.Output}
}
