package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Defaults applied by Load to fields left empty.
const (
	DefaultAccessTokenTTL   = 30 * time.Minute
	DefaultRefreshTokenTTL  = 168 * time.Hour
	DefaultMaxConns         = 20
	DefaultStatementTimeout = 30 * time.Second
	DefaultRawRetention     = 90 * 24 * time.Hour
	DefaultMaxOutputTokens  = 4096
)

// DefaultBaseURL is each provider type's endpoint when baseURL is empty.
var DefaultBaseURL = map[string]string{
	ProviderOpenAI:    "https://api.openai.com/v1",
	ProviderAnthropic: "https://api.anthropic.com",
	ProviderGemini:    "https://generativelanguage.googleapis.com",
	ProviderOllama:    "http://ollama:11434",
}

// Load reads, defaults and validates the configuration file at path. Relative file paths in it are resolved
// against the directory of path (see ParseAt).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: the config file is named by the server's operator (--config), not by a client
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return ParseAt(data, filepath.Dir(path))
}

// ParseAt parses like Parse, then resolves the relative file paths of the document (secrets, the admin
// directory, the database URL file, provider keys) against dir, the directory of the configuration file.
// The operator renders paths relative to the config mount ("../secrets/jwt/key"), so the same file works
// wherever the mounts are laid out together: in a pod under /etc/llmplatform, or under a local directory as
// `make dev` materialises them. dir is taken as given, not with symlinks resolved: a Kubernetes volume's
// files are symlinks into a hidden "..data" directory, and paths are relative to the mount, not to that.
func ParseAt(data []byte, dir string) (*Config, error) {
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	c.ResolvePaths(dir)
	return c, nil
}

// ResolvePaths makes every relative file path of the configuration absolute against dir; absolute paths
// and empty ones are left as they are.
func (c *Config) ResolvePaths(dir string) {
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	resolve(&c.Database.URLFile)
	resolve(&c.Secrets.JWTKeyFile)
	resolve(&c.Secrets.EncryptionKeyFile)
	resolve(&c.Secrets.AdminDir)
	resolve(&c.Secrets.InternalTokenFile)
	for i := range c.Secrets.PreviousEncryptionKeyFiles {
		resolve(&c.Secrets.PreviousEncryptionKeyFiles[i])
	}
	for i := range c.Providers {
		for j := range c.Providers[i].Keys {
			resolve(&c.Providers[i].Keys[j].File)
		}
	}
}

// Parse decodes, defaults and validates a configuration document. Unknown fields are errors, so that a typo
// is not silently ignored.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ApplyDefaults fills fields left empty with their defaults.
func (c *Config) ApplyDefaults() {
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	if c.Auth.Registration == "" {
		c.Auth.Registration = RegistrationOpen
	}
	setDuration(&c.Auth.AccessTokenTTL, DefaultAccessTokenTTL)
	setDuration(&c.Auth.RefreshTokenTTL, DefaultRefreshTokenTTL)
	if c.Database.MaxConns == 0 {
		c.Database.MaxConns = DefaultMaxConns
	}
	setDuration(&c.Database.StatementTimeout, DefaultStatementTimeout)
	setDuration(&c.Metering.RawRetention, DefaultRawRetention)
	c.applyServerDefaults()
	for i := range c.Providers {
		c.Providers[i].applyDefaults()
	}
	for i := range c.Quotas {
		if c.Quotas[i].Mode == "" {
			c.Quotas[i].Mode = QuotaModeEnforce
		}
	}
}

func (p *Provider) applyDefaults() {
	if p.BaseURL == "" {
		p.BaseURL = DefaultBaseURL[p.Type]
	}
	setDuration(&p.Timeouts.Connect, 10*time.Second)
	setDuration(&p.Timeouts.FirstByte, 5*time.Minute)
	setDuration(&p.Timeouts.BetweenChunks, 2*time.Minute)
	setDuration(&p.Timeouts.Total, 30*time.Minute)
	for i := range p.Keys {
		if p.Keys[i].Weight == 0 {
			p.Keys[i].Weight = 1
		}
	}
	for i := range p.Models {
		if p.Models[i].MaxOutputTokens == 0 {
			p.Models[i].MaxOutputTokens = DefaultMaxOutputTokens
		}
	}
}

func setDuration(d *Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}

var (
	dnsLabel    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	modelName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`)
	decimalUSD  = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$`)
	validLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}
	validTypes  = map[string]bool{ProviderOpenAI: true, ProviderAnthropic: true, ProviderGemini: true, ProviderOllama: true, ProviderOpenAICompatible: true}
)

// Validate checks the configuration and returns every problem found, each naming its field.
func (c *Config) Validate() error {
	v := &validator{}
	v.check(c.Platform != "", "platform", "must be set")
	v.check(validLevels[c.LogLevel], "logLevel", "must be debug, info, warn or error, not %q", c.LogLevel)
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		v.fail("timezone", "unknown time zone %q", c.Timezone)
	}
	v.check(c.Auth.Registration == RegistrationOpen || c.Auth.Registration == RegistrationClosed,
		"auth.registration", "must be Open or Closed, not %q", c.Auth.Registration)
	v.duration("auth.accessTokenTTL", c.Auth.AccessTokenTTL)
	v.duration("auth.refreshTokenTTL", c.Auth.RefreshTokenTTL)
	v.duration("database.statementTimeout", c.Database.StatementTimeout)
	v.duration("metering.rawRetention", c.Metering.RawRetention)
	v.check(c.Auth.AccessTokenTTL.Duration >= time.Minute, "auth.accessTokenTTL", "must be at least 1m")
	v.check(c.Auth.RefreshTokenTTL.Duration > c.Auth.AccessTokenTTL.Duration, "auth.refreshTokenTTL", "must be longer than accessTokenTTL")
	for i, o := range c.CORS.AllowedOrigins {
		u, err := url.Parse(o)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "",
			fmt.Sprintf("cors.allowedOrigins[%d]", i), "must be an origin such as https://app.example.com, not %q", o)
	}
	v.check(c.Database.MaxConns > 0 && c.Database.MaxConns <= 1000, "database.maxConns", "must be between 1 and 1000")
	v.check(c.Secrets.JWTKeyFile != "", "secrets.jwtKeyFile", "must be set")
	v.check(c.Secrets.EncryptionKeyFile != "", "secrets.encryptionKeyFile", "must be set")
	c.validateServer(v)
	c.validateProviders(v)
	c.validateQuotas(v)
	return v.err()
}

func (c *Config) validateProviders(v *validator) {
	seen := map[string]bool{}
	for i, p := range c.Providers {
		f := fmt.Sprintf("providers[%d]", i)
		v.check(dnsLabel.MatchString(p.Name), f+".name", "must be a DNS label, not %q", p.Name)
		v.check(!seen[p.Name], f+".name", "duplicates provider %q", p.Name)
		seen[p.Name] = true
		v.check(validTypes[p.Type], f+".type", "must be OpenAI, Anthropic, Gemini, Ollama or OpenAICompatible, not %q", p.Type)
		u, err := url.Parse(p.BaseURL)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", f+".baseURL", "must be an http(s) URL")
		v.check(len(p.Models) > 0, f+".models", "must list at least one model")
		v.duration(f+".timeouts.connect", p.Timeouts.Connect)
		v.duration(f+".timeouts.firstByte", p.Timeouts.FirstByte)
		v.duration(f+".timeouts.betweenChunks", p.Timeouts.BetweenChunks)
		v.duration(f+".timeouts.total", p.Timeouts.Total)
		for j, k := range p.Keys {
			kf := fmt.Sprintf("%s.keys[%d]", f, j)
			v.check(k.ID != "", kf+".id", "must be set")
			v.check(k.File != "", kf+".file", "must be set")
			v.check(k.Weight > 0, kf+".weight", "must be positive")
			v.check(k.RequestsPerMinute >= 0, kf+".requestsPerMinute", "must not be negative")
		}
		models := map[string]bool{}
		for j, m := range p.Models {
			mf := fmt.Sprintf("%s.models[%d]", f, j)
			v.check(modelName.MatchString(m.Name), mf+".name", "invalid model name %q", m.Name)
			v.check(!models[m.Name], mf+".name", "duplicates model %q", m.Name)
			models[m.Name] = true
			for _, price := range []struct{ field, value string }{
				{"input", m.Pricing.Input}, {"cachedInput", m.Pricing.CachedInput}, {"output", m.Pricing.Output},
			} {
				if _, err := ParseUSD(price.value); err != nil {
					v.fail(mf+".pricing."+price.field, "%v", err)
				}
			}
		}
	}
}

func (c *Config) validateQuotas(v *validator) {
	for i, q := range c.Quotas {
		f := fmt.Sprintf("quotas[%d]", i)
		v.check(q.Name != "", f+".name", "must be set")
		n := 0
		for _, set := range []bool{len(q.Subjects.Users) > 0, len(q.Subjects.Roles) > 0, q.Subjects.AllUsers} {
			if set {
				n++
			}
		}
		v.check(n == 1, f+".subjects", "must set exactly one of users, roles or allUsers")
		v.check(q.Mode == QuotaModeEnforce || q.Mode == QuotaModeShadow, f+".mode", "must be Enforce or Shadow, not %q", q.Mode)
		if q.Limits.CostPerMonth != nil {
			if _, err := ParseUSD(*q.Limits.CostPerMonth); err != nil {
				v.fail(f+".limits.costPerMonth", "%v", err)
			}
		}
	}
}

// ParseUSD turns a decimal USD string ("12.50", at most six decimals) into micro-dollars. The empty string is
// zero.
func ParseUSD(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if !decimalUSD.MatchString(s) {
		return 0, fmt.Errorf("%q is not a decimal amount such as \"0.15\" (at most six decimals)", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	frac += strings.Repeat("0", 6-len(frac))
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	return w*1_000_000 + f, nil
}

// FormatUSD writes micro-dollars as a decimal USD string without trailing zeros ("12.5", "0.000123").
func FormatUSD(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	s := fmt.Sprintf("%s%d.%06d", sign, micros/1_000_000, micros%1_000_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// validator collects field errors.
type validator struct{ errs []error }

func (v *validator) check(ok bool, field, format string, args ...any) {
	if !ok {
		v.fail(field, format, args...)
	}
}

func (v *validator) duration(field string, d Duration) {
	v.check(d.Invalid == "", field, "%q is not a duration such as \"30s\" or \"2h\"", d.Invalid)
	v.check(d.Duration >= 0, field, "must not be negative")
}

func (v *validator) fail(field, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid config: %w", errors.Join(v.errs...))
}
