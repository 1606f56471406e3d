package builders

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver/config"
)

// platform is a platform as the API server returns it after defaulting, changed by the mutators.
func platform(mutators ...func(*llmv1.LLMPlatform)) *llmv1.LLMPlatform {
	size := resource.MustParse("10Gi")
	p := &llmv1.LLMPlatform{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "tenants", UID: types.UID("uid-1")},
		Spec: llmv1.LLMPlatformSpec{
			APIServer: llmv1.APIServerSpec{Replicas: new(int32(2)), LogLevel: llmv1.LogLevelInfo},
			Database: llmv1.DatabaseSpec{Managed: &llmv1.ManagedDatabaseSpec{
				Storage: llmv1.StorageSpec{Size: &size}, RetainOnDelete: new(true),
			}},
			Auth: llmv1.AuthSpec{
				Registration:    llmv1.RegistrationOpen,
				AccessTokenTTL:  &metav1.Duration{Duration: 30 * time.Minute},
				RefreshTokenTTL: &metav1.Duration{Duration: 168 * time.Hour},
			},
			Providers: []llmv1.ProviderSpec{{
				Name: "openai", Type: llmv1.ProviderOpenAI,
				Keys: []llmv1.ProviderKey{
					{SecretRef: llmv1.ProviderKeySecretRef{Name: "openai-key", Key: "apiKey"}, Weight: 3, RequestsPerMinute: new(int32(100))},
					{SecretRef: llmv1.ProviderKeySecretRef{Name: "openai-key-2", Key: "apiKey"}, Weight: 1},
				},
				Models: []llmv1.ModelSpec{{Name: "gpt-4o-mini", Pricing: llmv1.ModelPricing{Input: "0.15", Output: "0.6"}, ContextWindow: new(int32(128000))}},
			}},
			Timezone: "UTC",
		},
	}
	for _, m := range mutators {
		m(p)
	}
	return p
}

func external(p *llmv1.LLMPlatform) {
	p.Spec.Database = llmv1.DatabaseSpec{External: &llmv1.ExternalDatabaseSpec{SecretRef: llmv1.DatabaseSecretRef{Name: "pg-app", Key: "url"}}}
}

func withBackup(p *llmv1.LLMPlatform) {
	p.Spec.Database.Managed.Backup = &llmv1.BackupSpec{Schedule: "0 3 * * *", Retain: 5}
}

func notRetained(p *llmv1.LLMPlatform) { p.Spec.Database.Managed.RetainOnDelete = new(false) }

// counter is a deterministic stand-in for crypto/rand.
type counter struct{ n byte }

func (c *counter) Read(b []byte) (int, error) {
	for i := range b {
		c.n++
		b[i] = c.n
	}
	return len(b), nil
}

func TestGeneratedSecrets(t *testing.T) {
	tests := []struct {
		name         string
		platform     *llmv1.LLMPlatform
		want         []string
		wantRetained []string
	}{
		{"managed database, retained", platform(), []string{"acme-jwt", "acme-encryption", "acme-internal", "acme-admin", "acme-db"}, []string{"acme-db"}},
		{"managed database, deleted with the platform", platform(notRetained), []string{"acme-jwt", "acme-encryption", "acme-internal", "acme-admin", "acme-db"}, nil},
		{"external database", platform(external), []string{"acme-jwt", "acme-encryption", "acme-internal", "acme-admin"}, nil},
		{"own admin Secret", platform(func(p *llmv1.LLMPlatform) { p.Spec.Auth.AdminSecretRef = &llmv1.SecretRef{Name: "boss"} }),
			[]string{"acme-jwt", "acme-encryption", "acme-internal", "acme-db"}, []string{"acme-db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names, retained []string
			for _, g := range GeneratedSecrets(tt.platform) {
				names = append(names, g.Name)
				s, err := g.Build(tt.platform, &counter{})
				if err != nil {
					t.Fatal(err)
				}
				if g.Retained {
					retained = append(retained, g.Name)
					if len(s.OwnerReferences) != 0 {
						t.Errorf("retained Secret %s has owner references %v", g.Name, s.OwnerReferences)
					}
				} else if len(s.OwnerReferences) != 1 || !*s.OwnerReferences[0].Controller || s.OwnerReferences[0].UID != "uid-1" {
					t.Errorf("Secret %s owner references = %v, want the platform as controller", g.Name, s.OwnerReferences)
				}
			}
			if !slices.Equal(names, tt.want) || !slices.Equal(retained, tt.wantRetained) {
				t.Errorf("generated %v (retained %v), want %v (retained %v)", names, retained, tt.want, tt.wantRetained)
			}
		})
	}
}

func TestGeneratedSecretContent(t *testing.T) {
	p := platform()
	data := map[string]map[string][]byte{}
	for _, g := range GeneratedSecrets(p) {
		s, err := g.Build(p, &counter{})
		if err != nil {
			t.Fatal(err)
		}
		data[g.Name] = s.Data
	}
	if key, err := base64.StdEncoding.DecodeString(string(data["acme-encryption"]["key"])); err != nil || len(key) != 32 {
		t.Errorf("encryption key decodes to %d bytes (%v), want 32", len(key), err)
	}
	if jwt, err := base64.RawURLEncoding.DecodeString(string(data["acme-jwt"]["key"])); err != nil || len(jwt) != 64 {
		t.Errorf("JWT key decodes to %d bytes (%v), want 64", len(jwt), err)
	}
	if tok := data["acme-internal"]["token"]; len(tok) != 43 {
		t.Errorf("internal token has %d characters, want 43 (32 bytes)", len(tok))
	}
	admin := data["acme-admin"]
	if string(admin["username"]) != "admin" || len(admin["password"]) != 24 || len(admin["email"]) == 0 {
		t.Errorf("admin Secret = %q/%d chars/%q", admin["username"], len(admin["password"]), admin["email"])
	}
	db := data["acme-db"]
	u, err := url.Parse(string(db["uri"]))
	if err != nil {
		t.Fatalf("database URL does not parse: %v", err)
	}
	pw, _ := u.User.Password()
	if u.Host != "acme-postgres.tenants.svc:5432" || u.User.Username() != string(db["username"]) || pw != string(db["password"]) || u.Path != "/"+string(db["database"]) {
		t.Errorf("database URL %s does not match the Secret's username, password and database", u.Redacted())
	}
	if bytes.Equal(data["acme-jwt"]["key"], data["acme-encryption"]["key"]) {
		t.Error("two Secrets got the same random content")
	}
}

func TestRenderConfig(t *testing.T) {
	p := platform(func(p *llmv1.LLMPlatform) {
		p.Spec.Ingress = &llmv1.IngressSpec{Host: "chat.acme.example", TLS: &llmv1.IngressTLS{SecretName: "tls"}}
		p.Spec.CORS.AllowedOrigins = []string{"https://portal.acme.example"}
		p.Spec.Timezone = "Europe/Berlin"
	})
	quotas := []llmv1.UserQuota{
		{ObjectMeta: metav1.ObjectMeta{Name: "zeta"}, Spec: llmv1.UserQuotaSpec{Subjects: llmv1.QuotaSubjects{Roles: []llmv1.Role{llmv1.RoleAdmin}}, Mode: llmv1.QuotaModeShadow, Limits: &llmv1.QuotaLimits{TokensPerMonth: new(int64(1000))}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "alpha"}, Spec: llmv1.UserQuotaSpec{Subjects: llmv1.QuotaSubjects{AllUsers: true}, Mode: llmv1.QuotaModeEnforce, Limits: &llmv1.QuotaLimits{CostPerMonth: new("5")}, AllowedModels: []string{"*-mini"}}},
	}
	data, err := RenderConfig(p, quotas)
	if err != nil {
		t.Fatalf("RenderConfig: %v", err)
	}
	if strings.Contains(string(data), MountRoot) {
		t.Errorf("the rendered config names absolute paths; want paths relative to the config mount:\n%s", data)
	}
	// Resolved against the config mount, as the API server does, the files are where the pod mounts them.
	c, err := config.ParseAt(data, ConfigDir)
	if err != nil {
		t.Fatalf("the rendered config does not load: %v\n%s", err, data)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"platform", c.Platform, "acme"},
		{"publicURL", c.PublicURL, "https://chat.acme.example"},
		{"timezone", c.Timezone, "Europe/Berlin"},
		{"database.urlFile", c.Database.URLFile, "/etc/llmplatform/database/uri"},
		{"secrets.jwtKeyFile", c.Secrets.JWTKeyFile, "/etc/llmplatform/secrets/jwt/key"},
		{"secrets.encryptionKeyFile", c.Secrets.EncryptionKeyFile, "/etc/llmplatform/secrets/encryption/key"},
		{"secrets.internalTokenFile", c.Secrets.InternalTokenFile, "/etc/llmplatform/secrets/internal/token"},
		{"secrets.adminDir", c.Secrets.AdminDir, "/etc/llmplatform/admin"},
		{"key id", c.Providers[0].Keys[0].ID, "openai-key/apiKey"},
		{"key file", c.Providers[0].Keys[0].File, "/etc/llmplatform/providers/openai-key/apiKey"},
		{"key weight", c.Providers[0].Keys[0].Weight, int32(3)},
		{"key rpm", c.Providers[0].Keys[0].RequestsPerMinute, int32(100)},
		{"price", c.Providers[0].Models[0].Pricing.Output, "0.6"},
		{"context window", c.Providers[0].Models[0].ContextWindow, int32(128000)},
		{"base URL defaulted", c.Providers[0].BaseURL, "https://api.openai.com/v1"},
		{"first quota (sorted)", c.Quotas[0].Name, "alpha"},
		{"second quota", c.Quotas[1].Name, "zeta"},
		{"quota role", c.Quotas[1].Subjects.Roles[0], "admin"},
		{"quota mode", c.Quotas[1].Mode, "Shadow"},
		{"quota cost", *c.Quotas[0].Limits.CostPerMonth, "5"},
		{"cors", c.CORS.AllowedOrigins[0], "https://portal.acme.example"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	again, _ := RenderConfig(p, []llmv1.UserQuota{quotas[1], quotas[0]})
	if !bytes.Equal(data, again) {
		t.Error("the same platform and quotas in another order rendered different bytes")
	}
}

// TestTrustedProxies: platform.yaml's http.trustedProxies is the spec's list, else the private ranges when a
// route puts a proxy in front of the API server, else empty; the API server accepts each.
func TestTrustedProxies(t *testing.T) {
	ingress := func(p *llmv1.LLMPlatform) { p.Spec.Ingress = &llmv1.IngressSpec{Host: "chat.example"} }
	gateway := func(p *llmv1.LLMPlatform) {
		p.Spec.Gateway = &llmv1.GatewaySpec{ParentRefs: []gwapiv1.ParentReference{{Name: "public"}}}
	}
	own := func(p *llmv1.LLMPlatform) {
		p.Spec.APIServer.TrustedProxies = []llmv1.IPOrCIDR{"10.42.0.0/16", "192.0.2.7", "2001:db8::/48"}
	}
	private := []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "127.0.0.0/8", "::1/128"}
	tests := []struct {
		name     string
		platform *llmv1.LLMPlatform
		want     []string
	}{
		{"no route: the peer is the client", platform(), nil},
		{"ingress: the private ranges", platform(ingress), private},
		{"gateway: the private ranges", platform(gateway), private},
		{"own list with a route replaces the default", platform(ingress, own), []string{"10.42.0.0/16", "192.0.2.7", "2001:db8::/48"}},
		{"own list without a route", platform(own), []string{"10.42.0.0/16", "192.0.2.7", "2001:db8::/48"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := RenderConfig(tt.platform, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.ParseAt(data, ConfigDir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.HTTP.TrustedProxies, tt.want) {
				t.Errorf("http.trustedProxies = %v, want %v", c.HTTP.TrustedProxies, tt.want)
			}
		})
	}
	// The default is a copy: a caller changing one platform's list changes no other's.
	TrustedProxies(platform(ingress))[0] = "0.0.0.0/0"
	if got := TrustedProxies(platform(ingress))[0]; got != "10.0.0.0/8" {
		t.Errorf("the default list was changed through a platform's: %s", got)
	}
}

func TestRenderConfigRejectsWhatTheAPIServerWouldRefuse(t *testing.T) {
	_, err := RenderConfig(platform(func(p *llmv1.LLMPlatform) { p.Spec.Timezone = "Mars/Olympus" }), nil)
	if err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Fatalf("RenderConfig with an unknown time zone: error = %v, want one naming it", err)
	}
}

func TestDeployment(t *testing.T) {
	opts := Options{APIServerImage: "ghcr.io/llmplatform/llmplatform:v1"}
	tests := []struct {
		name       string
		platform   *llmv1.LLMPlatform
		wantImage  string
		wantDB     [2]string // Secret, key
		wantAdmin  string
		wantKeys   []string // provider key paths
		wantVolume int
	}{
		{"defaults", platform(), "ghcr.io/llmplatform/llmplatform:v1", [2]string{"acme-db", "uri"}, "acme-admin",
			[]string{"openai-key/apiKey", "openai-key-2/apiKey"}, 6},
		{"own image, external database, own admin", platform(external, func(p *llmv1.LLMPlatform) {
			p.Spec.APIServer.Image = "registry.example/llm:2"
			p.Spec.Auth.AdminSecretRef = &llmv1.SecretRef{Name: "boss"}
		}), "registry.example/llm:2", [2]string{"pg-app", "url"}, "boss", []string{"openai-key/apiKey", "openai-key-2/apiKey"}, 6},
		{"a Secret shared by two providers is one source", platform(func(p *llmv1.LLMPlatform) {
			p.Spec.Providers = append(p.Spec.Providers, llmv1.ProviderSpec{Name: "other", Type: llmv1.ProviderOpenAICompatible, BaseURL: "http://x",
				Keys:   []llmv1.ProviderKey{{SecretRef: llmv1.ProviderKeySecretRef{Name: "openai-key", Key: "other"}}, {SecretRef: llmv1.ProviderKeySecretRef{Name: "openai-key", Key: "apiKey"}}},
				Models: []llmv1.ModelSpec{{Name: "m"}}})
		}), "ghcr.io/llmplatform/llmplatform:v1", [2]string{"acme-db", "uri"}, "acme-admin",
			[]string{"openai-key/apiKey", "openai-key/other", "openai-key-2/apiKey"}, 6},
		{"no provider keys, no providers volume", platform(func(p *llmv1.LLMPlatform) {
			p.Spec.Providers = []llmv1.ProviderSpec{{Name: "local", Type: llmv1.ProviderOllama, Models: []llmv1.ModelSpec{{Name: "llama"}}}}
		}), "ghcr.io/llmplatform/llmplatform:v1", [2]string{"acme-db", "uri"}, "acme-admin", nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Deployment(tt.platform, opts)
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			if c.Image != tt.wantImage {
				t.Errorf("image = %q, want %q", c.Image, tt.wantImage)
			}
			if got := append(slices.Clone(c.Command), c.Args...); !slices.Equal(got, []string{"llmplatform", "apiserver", "--config=/etc/llmplatform/config/platform.yaml", "--listen=:8080", "--metrics-listen=:9090"}) {
				t.Errorf("command = %v", got)
			}
			if len(c.Env) != 0 || len(c.EnvFrom) != 0 {
				t.Errorf("the API server gets environment variables %v %v; everything must come from mounted files", c.Env, c.EnvFrom)
			}
			if len(pod.Volumes) != tt.wantVolume {
				t.Errorf("%d volumes, want %d", len(pod.Volumes), tt.wantVolume)
			}
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			db := vols["database"].Secret
			if db.SecretName != tt.wantDB[0] || db.Items[0].Key != tt.wantDB[1] || db.Items[0].Path != "uri" {
				t.Errorf("database volume = %s/%s -> %s, want %v -> uri", db.SecretName, db.Items[0].Key, db.Items[0].Path, tt.wantDB)
			}
			if got := vols["admin"].Secret.SecretName; got != tt.wantAdmin {
				t.Errorf("admin volume from %q, want %q", got, tt.wantAdmin)
			}
			var keys []string
			if pv, ok := vols["providers"]; ok {
				for _, src := range pv.Projected.Sources {
					if !*src.Secret.Optional {
						t.Errorf("provider Secret %s is not optional: a missing key would keep every pod from starting", src.Secret.Name)
					}
					for _, it := range src.Secret.Items {
						keys = append(keys, it.Path)
					}
				}
			}
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("provider key files %v, want %v", keys, tt.wantKeys)
			}
			assertRestricted(t, pod)
			if *d.Spec.Replicas != *tt.platform.Spec.APIServer.Replicas {
				t.Errorf("replicas = %d", *d.Spec.Replicas)
			}
			if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Port.StrVal != "http" ||
				len(c.Ports) != 2 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" || c.Ports[1].ContainerPort != 9090 || c.Ports[1].Name != "metrics" {
				t.Errorf("probes %s/%s on port %s; container ports %+v", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Port.String(), c.Ports)
			}
			ann := d.Spec.Template.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9090" || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("pod annotations %v do not point a Prometheus at the metrics port", ann)
			}
		})
	}
}

// writable are the only paths a container may write: scratch space and the database's and backups' data.
var writable = map[string]bool{"/tmp": true, "/var/run/postgresql": true, PostgresDataDir: true, BackupDir: true}

// assertRestricted checks the "restricted" Pod Security Standard and the other hardening of a pod.
func assertRestricted(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the service account token is mounted")
	}
	sc := pod.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v does not run as non-root with the RuntimeDefault seccomp profile", sc)
	}
	for _, c := range pod.Containers {
		s := c.SecurityContext
		if s == nil || *s.AllowPrivilegeEscalation || !*s.ReadOnlyRootFilesystem || !slices.Equal(s.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container %s security context %+v is not restricted with a read-only root", c.Name, s)
		}
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly && !writable[m.MountPath] {
				t.Errorf("container %s mounts %s writable", c.Name, m.MountPath)
			}
		}
	}
}

// TestPodTemplateRestartsOnlyWhenNeeded: config and quota changes reach pods as files, so they leave the pod
// template alone; image, resources, scheduling and the mounted Secrets change it.
func TestPodTemplateRestartsOnlyWhenNeeded(t *testing.T) {
	opts := Options{APIServerImage: "img:1"}
	base := Deployment(platform(), opts).Spec.Template
	tests := []struct {
		name        string
		mutate      func(*llmv1.LLMPlatform)
		wantRestart bool
	}{
		{"price change", func(p *llmv1.LLMPlatform) { p.Spec.Providers[0].Models[0].Pricing.Input = "9" }, false},
		{"new model", func(p *llmv1.LLMPlatform) {
			p.Spec.Providers[0].Models = append(p.Spec.Providers[0].Models, llmv1.ModelSpec{Name: "gpt-4o"})
		}, false},
		{"registration closed", func(p *llmv1.LLMPlatform) { p.Spec.Auth.Registration = llmv1.RegistrationClosed }, false},
		{"log level", func(p *llmv1.LLMPlatform) { p.Spec.APIServer.LogLevel = llmv1.LogLevelDebug }, false},
		{"key weight", func(p *llmv1.LLMPlatform) { p.Spec.Providers[0].Keys[0].Weight = 9 }, false},
		{"route", func(p *llmv1.LLMPlatform) { p.Spec.Ingress = &llmv1.IngressSpec{Host: "x.example"} }, false},
		{"replicas", func(p *llmv1.LLMPlatform) { p.Spec.APIServer.Replicas = new(int32(5)) }, false},
		{"image", func(p *llmv1.LLMPlatform) { p.Spec.APIServer.Image = "img:2" }, true},
		{"resources", func(p *llmv1.LLMPlatform) {
			p.Spec.APIServer.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
		}, true},
		{"node selector", func(p *llmv1.LLMPlatform) { p.Spec.APIServer.NodeSelector = map[string]llmv1.LabelValue{"pool": "a"} }, true},
		{"new key Secret", func(p *llmv1.LLMPlatform) {
			p.Spec.Providers[0].Keys = append(p.Spec.Providers[0].Keys, llmv1.ProviderKey{SecretRef: llmv1.ProviderKeySecretRef{Name: "k3", Key: "apiKey"}})
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deployment(platform(tt.mutate), opts).Spec.Template
			if restart := !reflect.DeepEqual(base, got); restart != tt.wantRestart {
				t.Errorf("pod template changed = %v, want %v", restart, tt.wantRestart)
			}
		})
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	for _, tt := range []struct {
		replicas int32
		want     bool
	}{{0, false}, {1, false}, {2, true}, {5, true}} {
		pdb := PodDisruptionBudget(platform(func(p *llmv1.LLMPlatform) { p.Spec.APIServer.Replicas = new(tt.replicas) }))
		if (pdb != nil) != tt.want {
			t.Errorf("replicas %d: budget = %v, want one: %v", tt.replicas, pdb, tt.want)
		}
		if pdb != nil && (pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[LabelComponent] != ComponentAPIServer) {
			t.Errorf("replicas %d: budget spec %+v", tt.replicas, pdb.Spec)
		}
	}
}

func TestPostgres(t *testing.T) {
	class := "fast"
	tests := []struct {
		name        string
		platform    *llmv1.LLMPlatform
		wantDeleted appsv1.PersistentVolumeClaimRetentionPolicyType
		wantImage   string
		wantSize    string
		wantClass   *string
	}{
		{"defaults", platform(), appsv1.RetainPersistentVolumeClaimRetentionPolicyType, "postgres:17-bookworm", "10Gi", nil},
		{"deleted with the platform, own image and class", platform(notRetained, func(p *llmv1.LLMPlatform) {
			p.Spec.Database.Managed.Image = "postgres:16"
			size := resource.MustParse("1Gi")
			p.Spec.Database.Managed.Storage = llmv1.StorageSpec{Size: &size, StorageClassName: &class}
		}), appsv1.DeletePersistentVolumeClaimRetentionPolicyType, "postgres:16", "1Gi", &class},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := PostgresStatefulSet(tt.platform)
			if *s.Spec.Replicas != 1 || s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != tt.wantDeleted {
				t.Errorf("replicas %d, whenDeleted %s, want 1 and %s", *s.Spec.Replicas, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted, tt.wantDeleted)
			}
			pod := s.Spec.Template.Spec
			c := pod.Containers[0]
			if c.Image != tt.wantImage || *pod.SecurityContext.RunAsUser != 999 || *pod.SecurityContext.FSGroup != 999 {
				t.Errorf("image %s as uid %d fsGroup %d", c.Image, *pod.SecurityContext.RunAsUser, *pod.SecurityContext.FSGroup)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom != nil {
					t.Errorf("env %s comes from %v; credentials must be files", e.Name, e.ValueFrom)
				}
				env[e.Name] = e.Value
			}
			if env["PGDATA"] != "/var/lib/postgresql/data/pgdata" || env["POSTGRES_PASSWORD_FILE"] != "/etc/postgres/secret/password" {
				t.Errorf("env = %v", env)
			}
			if c.ReadinessProbe.Exec == nil || c.ReadinessProbe.Exec.Command[0] != "pg_isready" {
				t.Errorf("readiness probe %+v is not pg_isready", c.ReadinessProbe)
			}
			pvc := s.Spec.VolumeClaimTemplates[0]
			if got := pvc.Spec.Resources.Requests.Storage().String(); got != tt.wantSize || !reflect.DeepEqual(pvc.Spec.StorageClassName, tt.wantClass) {
				t.Errorf("volume %s of class %v, want %s of %v", got, pvc.Spec.StorageClassName, tt.wantSize, tt.wantClass)
			}
			assertRestricted(t, pod)
		})
	}
	if PostgresStatefulSet(platform(external)) != nil || PostgresService(platform(external)) != nil || PostgresNetworkPolicy(platform(external)) != nil {
		t.Error("an external database got managed database objects")
	}
}

func TestPostgresNetworkPolicy(t *testing.T) {
	for _, tt := range []struct {
		name     string
		platform *llmv1.LLMPlatform
		want     []string
	}{
		{"API server only", platform(), []string{ComponentAPIServer}},
		{"with backups", platform(withBackup), []string{ComponentAPIServer, ComponentBackup}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			np := PostgresNetworkPolicy(tt.platform)
			var got []string
			for _, peer := range np.Spec.Ingress[0].From {
				if peer.PodSelector.MatchLabels[LabelInstance] != "acme" || peer.NamespaceSelector != nil {
					t.Errorf("peer %+v admits pods of another platform", peer)
				}
				got = append(got, peer.PodSelector.MatchLabels[LabelComponent])
			}
			if !slices.Equal(got, tt.want) || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 5432 || np.Spec.PodSelector.MatchLabels[LabelComponent] != ComponentDatabase {
				t.Errorf("admits %v on %v to %v, want %v on 5432 to the database", got, np.Spec.Ingress[0].Ports[0].Port, np.Spec.PodSelector.MatchLabels, tt.want)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	if BackupCronJob(platform()) != nil || BackupPVC(platform()) != nil {
		t.Error("backup objects without a backup schedule")
	}
	p := platform(withBackup)
	cj := BackupCronJob(p)
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if cj.Spec.Schedule != "0 3 * * *" || env["BACKUP_RETAIN"] != "5" || env["PGHOST"] != "acme-postgres" {
		t.Errorf("schedule %q, env %v", cj.Spec.Schedule, env)
	}
	if cj.Spec.JobTemplate.Spec.Template.Labels[LabelComponent] != ComponentBackup {
		t.Error("backup pods are not labelled for the database's NetworkPolicy")
	}
	assertRestricted(t, pod)
	if pvc := BackupPVC(p); len(pvc.OwnerReferences) != 0 {
		t.Errorf("the backup volume of a retained database is owned: %v", pvc.OwnerReferences)
	}
	if pvc := BackupPVC(platform(withBackup, notRetained)); len(pvc.OwnerReferences) != 1 {
		t.Errorf("the backup volume of a database deleted with the platform is not owned: %v", pvc.OwnerReferences)
	}
}

// TestBackupScriptKeepsTheNewestDumps runs the backup CronJob's script with sh, a stub pg_dump and a stub date
// (one run per night): after each run only the newest `retain` dumps are left, each written with the
// credentials from the mounted Secret; a failed dump exits non-zero, removes no dump and leaves no partial file.
func TestBackupScriptKeepsTheNewestDumps(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("no sh to run the backup script: %v", err)
	}
	c := BackupCronJob(platform(withBackup)).Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 3 || c.Command[0] != "/bin/sh" || c.Command[1] != "-c" {
		t.Fatalf("backup command %q is not /bin/sh -c <script>", c.Command)
	}
	root := t.TempDir()
	backupDir, secretDir, stubs := filepath.Join(root, "backup"), filepath.Join(root, "secret"), filepath.Join(root, "bin")
	writeFiles(t, map[string]string{
		filepath.Join(secretDir, "username"): "app",
		filepath.Join(secretDir, "password"): "s3cret",
		filepath.Join(secretDir, "database"): "llm",
		// pg_dump writes who it connected as; with FAIL_DUMP it writes half a file and fails.
		filepath.Join(stubs, "pg_dump"): `#!/bin/sh
for a in "$@"; do case "$a" in --file=*) out="${a#--file=}" ;; esac; done
if [ -n "${FAIL_DUMP:-}" ]; then echo half > "$out"; exit 1; fi
echo "$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE" > "$out"
`,
		filepath.Join(stubs, "date"): "#!/bin/sh\necho \"$FAKE_NOW\"\n",
	})
	if err := os.MkdirAll(backupDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The script as rendered, with the pod's mount points moved into the temporary directory.
	script := strings.NewReplacer(BackupDir, backupDir, PostgresSecretDir, secretDir).Replace(c.Command[2])
	run := func(now string, fail bool) error {
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = []string{"PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKE_NOW=" + now}
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		if fail {
			cmd.Env = append(cmd.Env, "FAIL_DUMP=1")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	const retain = 5 // withBackup's
	var all []string
	for night := 1; night <= 8; night++ {
		now := fmt.Sprintf("202501%02dT030000Z", night)
		if err := run(now, false); err != nil {
			t.Fatalf("night %d: %v", night, err)
		}
		all = append(all, now+".dump")
		assertDir(t, backupDir, all[max(0, len(all)-retain):])
	}
	if dump, err := os.ReadFile(filepath.Join(backupDir, all[len(all)-1])); err != nil || string(dump) != "app:s3cret@acme-postgres:5432/llm\n" {
		t.Errorf("pg_dump ran as %q (%v), want the Secret's credentials against acme-postgres:5432", dump, err)
	}
	if err := run("20250109T030000Z", true); err == nil {
		t.Error("the script succeeded although pg_dump failed")
	}
	assertDir(t, backupDir, all[len(all)-retain:])
}

// writeFiles creates files (executable, for the stubs) and their directories.
func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// assertDir checks that dir holds exactly the named files.
func assertDir(t *testing.T, dir string, want []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %v, want %v", filepath.Base(dir), got, want)
	}
}

func TestIngress(t *testing.T) {
	if Ingress(platform()) != nil {
		t.Error("an Ingress without spec.ingress")
	}
	class := "nginx"
	in := Ingress(platform(func(p *llmv1.LLMPlatform) {
		p.Spec.Ingress = &llmv1.IngressSpec{Host: "chat.example", ClassName: &class, TLS: &llmv1.IngressTLS{SecretName: "cert"},
			Annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-read-timeout": "7200", "example.com/x": "y"}}
	}))
	want := map[string]string{
		"nginx.ingress.kubernetes.io/proxy-buffering":    "off",
		"nginx.ingress.kubernetes.io/proxy-read-timeout": "7200",
		"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
		"projectcontour.io/response-timeout":             "3600s",
		"example.com/x":                                  "y",
	}
	for k, v := range want {
		if in.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, in.Annotations[k], v)
		}
	}
	rule := in.Spec.Rules[0]
	if rule.Host != "chat.example" || *in.Spec.IngressClassName != "nginx" || in.Spec.TLS[0].SecretName != "cert" ||
		rule.HTTP.Paths[0].Backend.Service.Name != "acme-apiserver" || rule.HTTP.Paths[0].Backend.Service.Port.Name != "http" {
		t.Errorf("ingress spec %+v", in.Spec)
	}
}

// TestRoutesReachOnlyTheHTTPPort: the Service has an "http" port for the routes and a "metrics" port for
// Prometheus; every backend of the Ingress and the HTTPRoute resolves to the http port, so the metrics are
// never reachable from outside.
func TestRoutesReachOnlyTheHTTPPort(t *testing.T) {
	p := platform(func(p *llmv1.LLMPlatform) {
		p.Spec.Ingress = &llmv1.IngressSpec{Host: "chat.example"}
		p.Spec.Gateway = &llmv1.GatewaySpec{ParentRefs: []gwapiv1.ParentReference{{Name: "public"}}, Hostnames: []gwapiv1.Hostname{"chat.example"}}
	})
	svc := APIServerService(p)
	ports := map[string]corev1.ServicePort{}
	for _, sp := range svc.Spec.Ports {
		ports[sp.Name] = sp
	}
	if h, m := ports["http"], ports["metrics"]; len(ports) != 2 || h.Port != 80 || h.TargetPort.StrVal != "http" || m.Port != 9090 || m.TargetPort.StrVal != "metrics" {
		t.Fatalf("Service ports %+v, want http 80 -> http and metrics 9090 -> metrics", svc.Spec.Ports)
	}
	// resolve finds the Service port a backend names, by name or by number.
	resolve := func(name string, number int32) string {
		for _, sp := range svc.Spec.Ports {
			if (name != "" && sp.Name == name) || (name == "" && sp.Port == number) {
				return sp.Name
			}
		}
		return "none"
	}
	var backends []string
	ing := Ingress(p)
	if b := ing.Spec.DefaultBackend; b != nil {
		backends = append(backends, resolve(b.Service.Port.Name, b.Service.Port.Number))
	}
	for _, r := range ing.Spec.Rules {
		for _, path := range r.HTTP.Paths {
			if path.Backend.Service.Name != svc.Name {
				t.Errorf("Ingress path %s goes to %s", path.Path, path.Backend.Service.Name)
			}
			backends = append(backends, resolve(path.Backend.Service.Port.Name, path.Backend.Service.Port.Number))
		}
	}
	for _, r := range HTTPRoute(p).Spec.Rules {
		for _, b := range r.BackendRefs {
			if string(b.Name) != svc.Name || b.Port == nil {
				t.Errorf("HTTPRoute backend %s port %v", b.Name, b.Port)
				continue
			}
			backends = append(backends, resolve("", *b.Port))
		}
	}
	if len(backends) != 2 {
		t.Errorf("%d route backends, want the Ingress's and the HTTPRoute's", len(backends))
	}
	for _, b := range backends {
		if b != "http" {
			t.Errorf("a route reaches the Service port %q, want only http: %v", b, backends)
		}
	}
}

func TestURLAndHTTPRoute(t *testing.T) {
	gw := &llmv1.GatewaySpec{ParentRefs: []gwapiv1.ParentReference{{Name: "public"}}, Hostnames: []gwapiv1.Hostname{"gw.example", "alt.example"}}
	tests := []struct {
		name     string
		mutate   func(*llmv1.LLMPlatform)
		wantURL  string
		wantHTTP bool
	}{
		{"no route", func(*llmv1.LLMPlatform) {}, "", false},
		{"ingress without TLS", func(p *llmv1.LLMPlatform) { p.Spec.Ingress = &llmv1.IngressSpec{Host: "a.example"} }, "http://a.example", false},
		{"ingress with TLS", func(p *llmv1.LLMPlatform) {
			p.Spec.Ingress = &llmv1.IngressSpec{Host: "a.example", TLS: &llmv1.IngressTLS{SecretName: "c"}}
		}, "https://a.example", false},
		{"gateway", func(p *llmv1.LLMPlatform) { p.Spec.Gateway = gw }, "https://gw.example", true},
		{"gateway without hostnames", func(p *llmv1.LLMPlatform) {
			p.Spec.Gateway = &llmv1.GatewaySpec{ParentRefs: gw.ParentRefs}
		}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := platform(tt.mutate)
			if got := URL(p); got != tt.wantURL {
				t.Errorf("URL = %q, want %q", got, tt.wantURL)
			}
			if got := ServiceURL(p); got != "http://acme-apiserver.tenants.svc:80" {
				t.Errorf("ServiceURL = %q, the Service whatever the route", got)
			}
			r := HTTPRoute(p)
			if (r != nil) != tt.wantHTTP {
				t.Fatalf("HTTPRoute = %v, want one: %v", r, tt.wantHTTP)
			}
			if r == nil {
				return
			}
			b := r.Spec.Rules[0].BackendRefs[0]
			if string(r.Spec.ParentRefs[0].Name) != "public" || string(b.Name) != "acme-apiserver" || *b.Port != 80 || *b.Weight != 1 || *r.Spec.Rules[0].Timeouts.Request != "3600s" {
				t.Errorf("HTTPRoute spec %+v", r.Spec)
			}
		})
	}
}

func TestExternalEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db.example:6432/app?sslmode=require", "db.example:6432"},
		{"postgresql://app:s3cret@db.example/app", "db.example:5432"},
		{"  postgres://app@[::1]:5432/app\n", "[::1]:5432"},
		{"host=db.example user=app password=s3cret", ""},
		{"mysql://db.example/app", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ExternalEndpoint(tt.in); got != tt.want {
			t.Errorf("ExternalEndpoint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
