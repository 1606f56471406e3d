package builders

import (
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver/config"
)

// PlatformConfig renders the API server's configuration from the platform and the quotas that name it. It
// holds no secret: keys, passwords and the database URL are files named in it, by paths relative to the
// config mount (see fromConfigDir). Quotas are sorted by name so
// that the same inputs always render the same bytes. What the spec leaves empty stays empty: the API server
// owns its defaults.
func PlatformConfig(p *llmv1.LLMPlatform, quotas []llmv1.UserQuota) *config.Config {
	c := &config.Config{
		Platform:  p.Name,
		PublicURL: URL(p),
		LogLevel:  string(p.Spec.APIServer.LogLevel),
		Timezone:  p.Spec.Timezone,
		Auth: config.Auth{
			Registration:    string(p.Spec.Auth.Registration),
			AccessTokenTTL:  duration(p.Spec.Auth.AccessTokenTTL),
			RefreshTokenTTL: duration(p.Spec.Auth.RefreshTokenTTL),
		},
		HTTP:     config.HTTP{TrustedProxies: TrustedProxies(p)},
		CORS:     config.CORS{AllowedOrigins: slices.Clone(p.Spec.CORS.AllowedOrigins)},
		UserKeys: config.UserKeys{Allowed: p.Spec.UserKeys.Allowed},
		Database: config.Database{URLFile: fromConfigDir(DatabaseURLFile)},
		Secrets: config.Secrets{
			JWTKeyFile:        fromConfigDir(JWTKeyFile),
			EncryptionKeyFile: fromConfigDir(EncryptionKeyFile),
			AdminDir:          fromConfigDir(AdminDir),
			InternalTokenFile: fromConfigDir(InternalTokenFile),
		},
	}
	for i := range p.Spec.Providers {
		c.Providers = append(c.Providers, provider(&p.Spec.Providers[i]))
	}
	sorted := slices.Clone(quotas)
	slices.SortFunc(sorted, func(a, b llmv1.UserQuota) int { return strings.Compare(a.Name, b.Name) })
	for i := range sorted {
		c.Quotas = append(c.Quotas, quota(&sorted[i]))
	}
	return c
}

// RenderConfig renders platform.yaml and checks it the way the API server will load it. An error means the
// spec is one the API server would refuse (for example a time zone it does not know): the user must fix it.
func RenderConfig(p *llmv1.LLMPlatform, quotas []llmv1.UserQuota) ([]byte, error) {
	data, err := yaml.Marshal(PlatformConfig(p, quotas))
	if err != nil {
		return nil, fmt.Errorf("encoding platform.yaml: %w", err)
	}
	if _, err := config.Parse(data); err != nil {
		return nil, err
	}
	return data, nil
}

// DefaultTrustedProxies are the proxies a platform with a route trusts when spec.apiServer.trustedProxies is
// empty: the private IPv4 ranges (RFC 1918) and IPv6 unique local addresses (RFC 4193) in which in-cluster
// ingress controllers and Gateway data planes run, and the loopback, where a service mesh's sidecar
// forwards from. The CRD's field documentation names them and the trade-off; keep the two in step.
var DefaultTrustedProxies = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "127.0.0.0/8", "::1/128"}

// TrustedProxies are the addresses whose X-Forwarded-For and X-Forwarded-Proto the API server believes:
// spec.apiServer.trustedProxies when set; else DefaultTrustedProxies when a route (an Ingress or an
// HTTPRoute) puts a proxy in front of the API server; else none.
func TrustedProxies(p *llmv1.LLMPlatform) []string {
	var out []string
	for _, a := range p.Spec.APIServer.TrustedProxies {
		out = append(out, string(a))
	}
	if len(out) == 0 && (p.Spec.Ingress != nil || p.Spec.Gateway != nil) {
		out = slices.Clone(DefaultTrustedProxies)
	}
	return out
}

// ConfigMap holds the rendered platform.yaml. The API server reloads it when the kubelet updates the mounted
// file, so a changed config never restarts a pod.
func ConfigMap(p *llmv1.LLMPlatform, platformYAML []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: objectMeta(p, ConfigMapName(p), ComponentAPIServer),
		Data:       map[string]string{ConfigKey: string(platformYAML)},
	}
}

func provider(s *llmv1.ProviderSpec) config.Provider {
	out := config.Provider{
		Name:    s.Name,
		Type:    string(s.Type),
		BaseURL: s.BaseURL,
		Timeouts: config.Timeouts{
			Connect:       duration(s.Timeouts.Connect),
			FirstByte:     duration(s.Timeouts.FirstByte),
			BetweenChunks: duration(s.Timeouts.BetweenChunks),
			Total:         duration(s.Timeouts.Total),
		},
	}
	for _, k := range s.Keys {
		key := ProviderKeyName(k.SecretRef)
		out.Keys = append(out.Keys, config.Key{
			ID:                k.SecretRef.Name + "/" + key,
			File:              fromConfigDir(ProviderKeyFile(k.SecretRef)),
			Weight:            k.Weight,
			RequestsPerMinute: deref(k.RequestsPerMinute),
		})
	}
	for _, m := range s.Models {
		out.Models = append(out.Models, config.Model{
			Name:            m.Name,
			UpstreamName:    m.UpstreamName,
			Pricing:         config.Pricing{Input: m.Pricing.Input, CachedInput: m.Pricing.CachedInput, Output: m.Pricing.Output},
			ContextWindow:   deref(m.ContextWindow),
			MaxOutputTokens: deref(m.MaxOutputTokens),
		})
	}
	return out
}

func quota(q *llmv1.UserQuota) config.Quota {
	out := config.Quota{
		Name: q.Name,
		Subjects: config.QuotaSubjects{
			Users:    slices.Clone(q.Spec.Subjects.Users),
			AllUsers: q.Spec.Subjects.AllUsers,
		},
		AllowedModels: slices.Clone(q.Spec.AllowedModels),
		Mode:          string(q.Spec.Mode),
	}
	for _, r := range q.Spec.Subjects.Roles {
		out.Subjects.Roles = append(out.Subjects.Roles, string(r))
	}
	if l := q.Spec.Limits; l != nil {
		out.Limits = config.QuotaLimits{
			RequestsPerMinute:         clone(l.RequestsPerMinute),
			TokensPerDay:              clone(l.TokensPerDay),
			TokensPerMonth:            clone(l.TokensPerMonth),
			CostPerMonth:              clone(l.CostPerMonth),
			MaxOutputTokensPerRequest: clone(l.MaxOutputTokensPerRequest),
		}
	}
	return out
}

// ProviderKeyName is the Secret key holding a provider API key: the reference's key, "apiKey" by default.
func ProviderKeyName(ref llmv1.ProviderKeySecretRef) string {
	if ref.Key == "" {
		return "apiKey"
	}
	return ref.Key
}

// ProviderKeyFile is where a provider API key is mounted in the API server container.
func ProviderKeyFile(ref llmv1.ProviderKeySecretRef) string {
	return path.Join(ProvidersDir, ref.Name, ProviderKeyName(ref))
}

// fromConfigDir writes a path of the API server container, one of the mounts next to ConfigDir under
// MountRoot, relative to ConfigDir ("../secrets/jwt/key"). The API server resolves relative paths against
// the directory of platform.yaml, so the rendered file names no absolute path: it works in the pod, and
// wherever the mounts are materialised together (`make dev` puts them under a local directory, as a kubelet
// would).
func fromConfigDir(p string) string {
	return "../" + strings.TrimPrefix(p, MountRoot+"/")
}

func duration(d *metav1.Duration) config.Duration {
	if d == nil {
		return config.Duration{}
	}
	return config.Duration{Duration: d.Duration}
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}

func clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}
