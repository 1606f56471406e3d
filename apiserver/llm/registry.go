package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// Options configure a Registry.
type Options struct {
	// Transport carries the calls to platform providers; nil makes one with provider.NewTransport. Share one
	// per process.
	Transport http.RoundTripper
	// UserTransport carries the calls made with users' own keys; nil makes one with NewUserKeyTransport, which
	// refuses link-local addresses (cloud metadata endpoints).
	UserTransport http.RoundTripper
	// Pool configures the providers' key pools; its Limiter (nil: one process only) should count requests in
	// the database so that requestsPerMinute holds across replicas.
	Pool provider.PoolOptions
	// UserKeys reads users' own keys; nil disables them whatever the config says.
	UserKeys UserKeyStore
	// Log receives warnings about keys and models that could not be loaded.
	Log *slog.Logger
	// Metrics, when set, registers the metrics of every call made through resolved models (duration, time
	// to first token, results by provider).
	Metrics prometheus.Registerer
}

// Registry resolves model ids to models ready to call. Apply it with each new configuration; it is safe for
// concurrent use.
type Registry struct {
	opts    Options
	metrics *callMetrics

	mu    sync.Mutex // serialises Apply
	pools map[string]*provider.Pool
	cat   atomic.Pointer[catalog]
}

// catalog is one configuration's view of the providers and models. It is never modified once published.
type catalog struct {
	providers []*providerEntry
	// byID holds every platform model by canonical id; byName the first provider's model of each name.
	byID, byName map[string]*Model
	userKeys     bool
	keyring      *Keyring
	keyringErr   error
}

// providerEntry is one configured provider.
type providerEntry struct {
	name, typ string
	provider  *provider.Provider
	models    []*Model
	// unusable is set when the provider has keys configured and none of them could be read.
	unusable bool
}

// New returns an empty registry; Apply fills it.
func New(o Options) *Registry {
	if o.Transport == nil {
		o.Transport = provider.NewTransport(provider.TransportOptions{})
	}
	if o.UserTransport == nil {
		o.UserTransport = NewUserKeyTransport()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Registry{opts: o, pools: map[string]*provider.Pool{}, metrics: newCallMetrics(o.Metrics)}
	r.cat.Store(&catalog{byID: map[string]*Model{}, byName: map[string]*Model{}})
	return r
}

// Apply rebuilds the registry from a configuration: it reads every provider's keys from their files (a
// rotated Secret is picked up here), keeps each provider's key pool (and so its keys' health) and publishes
// the new catalogue at once. Keys or encryption keys that cannot be read are returned as one error after the
// rest was applied: the providers concerned keep the keys that could be read.
func (r *Registry) Apply(cfg *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cat := &catalog{byID: map[string]*Model{}, byName: map[string]*Model{}}
	var errs []error
	seen := map[string]bool{}
	for _, pc := range cfg.Providers {
		e, err := r.buildProvider(pc)
		if err != nil {
			errs = append(errs, err)
		}
		if e == nil {
			continue
		}
		seen[pc.Name] = true
		cat.providers = append(cat.providers, e)
		for _, m := range e.models {
			cat.byID[m.ID] = m
			if _, dup := cat.byName[m.Name]; !dup {
				cat.byName[m.Name] = m
			}
		}
	}
	for name := range r.pools {
		if !seen[name] {
			delete(r.pools, name)
		}
	}
	cat.userKeys = cfg.UserKeys.Allowed && r.opts.UserKeys != nil
	if cat.userKeys {
		cat.keyring, cat.keyringErr = LoadKeyring(cfg.Secrets.EncryptionKeyFile, cfg.Secrets.PreviousEncryptionKeyFiles)
		if cat.keyringErr != nil {
			errs = append(errs, fmt.Errorf("user keys: %w", cat.keyringErr))
		}
	}
	r.cat.Store(cat)
	return errors.Join(errs...)
}

// buildProvider builds one provider, reusing its pool. The error reports keys that could not be read; the
// entry is nil only when the provider cannot be built at all.
func (r *Registry) buildProvider(pc config.Provider) (*providerEntry, error) {
	var pool *provider.Pool
	var keyErr error
	e := &providerEntry{name: pc.Name, typ: pc.Type}
	if len(pc.Keys) > 0 {
		var keys []provider.Key
		keys, keyErr = provider.LoadKeys(pc.Keys)
		if keyErr != nil {
			keyErr = fmt.Errorf("provider %s: %w", pc.Name, keyErr)
		}
		pool = r.pools[pc.Name]
		if pool == nil {
			pool = provider.NewPool(keys, r.opts.Pool)
			r.pools[pc.Name] = pool
		} else {
			pool.SetKeys(keys)
		}
		e.unusable = len(keys) == 0
	}
	p, err := provider.New(pc, pool, r.opts.Transport)
	if err != nil {
		return nil, errors.Join(keyErr, err)
	}
	e.provider = p
	backend := observed{Backend: p, provider: pc.Name, metrics: r.metrics}
	for _, mc := range pc.Models {
		pricing, err := ParsePricing(mc.Pricing)
		if err != nil {
			keyErr = errors.Join(keyErr, fmt.Errorf("provider %s model %s: %w", pc.Name, mc.Name, err))
			continue
		}
		upstream := mc.UpstreamName
		if upstream == "" {
			upstream = mc.Name
		}
		e.models = append(e.models, &Model{
			ID: pc.Name + "/" + mc.Name, Name: mc.Name, Provider: pc.Name, ProviderType: pc.Type, Upstream: upstream,
			ContextWindow: int64(mc.ContextWindow), MaxOutputTokens: int64(mc.MaxOutputTokens), Pricing: pricing,
			Backend: backend,
		})
	}
	return e, keyErr
}

// Resolve finds the model an id names (see the package doc) for the user userID, ready to call. Errors are
// *apperr.Error values: an unknown model (IsUnknownModel), user keys not allowed, or a provider that cannot
// be used now.
func (r *Registry) Resolve(ctx context.Context, userID, id string) (*Model, error) {
	cat := r.cat.Load()
	if keyID, name, ok := ParseUserModelID(id); ok {
		return r.resolveUserModel(ctx, cat, userID, keyID, name)
	}
	m := cat.lookup(id)
	if m == nil {
		return nil, unknownModel(id)
	}
	for _, e := range cat.providers {
		if e.name == m.Provider && e.unusable {
			return nil, apperr.New(apperr.ErrUnavailable, "provider_unavailable",
				"the provider of %s has no usable API key; ask an administrator to check its Secret", id)
		}
	}
	cp := *m
	return &cp, nil
}

// lookup finds a platform model by canonical id, else by bare name.
func (c *catalog) lookup(id string) *Model {
	if m := c.byID[id]; m != nil {
		return m
	}
	return c.byName[id]
}

// Models returns the platform's models in configuration order (providers, then their models).
func (r *Registry) Models() []Model {
	cat := r.cat.Load()
	var out []Model
	for _, e := range cat.providers {
		for _, m := range e.models {
			out = append(out, *m)
		}
	}
	return out
}

// Provider returns the platform provider of that name, or nil.
func (r *Registry) Provider(name string) *provider.Provider {
	for _, e := range r.cat.Load().providers {
		if e.name == name {
			return e.provider
		}
	}
	return nil
}

// ProviderHealth is a provider's key pool health, for metrics and the admin API. It never holds a key.
type ProviderHealth struct {
	Name string               `json:"name"`
	Type string               `json:"type"`
	Keys []provider.KeyHealth `json:"keys"`
}

// Health returns every provider's key health, in configuration order.
func (r *Registry) Health() []ProviderHealth {
	cat := r.cat.Load()
	out := make([]ProviderHealth, 0, len(cat.providers))
	for _, e := range cat.providers {
		h := ProviderHealth{Name: e.name, Type: e.typ, Keys: []provider.KeyHealth{}}
		if pool := e.provider.Pool(); pool != nil {
			h.Keys = pool.Health()
		}
		out = append(out, h)
	}
	return out
}

// unknownModelCode is the apperr code of an id that names no model.
const unknownModelCode = "unknown_model"

func unknownModel(id string) error {
	e := apperr.New(apperr.ErrValidation, unknownModelCode, "model %q is not available on this platform (GET /api/v1/models lists them)", id)
	e.Fields = []apperr.FieldError{{Field: "model", Message: "is not an available model"}}
	return e
}

// IsUnknownModel reports whether err says that a model id names no model the caller may use.
func IsUnknownModel(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && e.Code == unknownModelCode
}

// userModelPrefix starts the ids of models served by users' own keys.
const userModelPrefix = "key:"

// UserModelID is the id of a model served by a user's key.
func UserModelID(keyID, name string) string { return userModelPrefix + keyID + "/" + name }

// ParseUserModelID splits "key:<key id>/<model>"; ok is false for any other id.
func ParseUserModelID(id string) (keyID, name string, ok bool) {
	rest, found := strings.CutPrefix(id, userModelPrefix)
	if !found {
		return "", "", false
	}
	keyID, name, found = strings.Cut(rest, "/")
	if !found || keyID == "" || name == "" {
		return "", "", false
	}
	return keyID, name, true
}
