package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// LLMPlatformSpec is the desired state of one tenant's LLM chat platform.
//
// +kubebuilder:validation:XValidation:rule="!has(self.ingress) || !has(self.gateway) || !has(self.ingress.host) || !has(self.gateway.hostnames) || self.gateway.hostnames.exists(h, h == self.ingress.host)",message="gateway.hostnames must include ingress.host when both routes are set"
type LLMPlatformSpec struct {
	// apiServer configures the tenant's API server Deployment, which also serves the web UI.
	// +optional
	// +kubebuilder:default={}
	APIServer APIServerSpec `json:"apiServer,omitempty"`

	// database selects where the tenant's PostgreSQL runs: exactly one of managed (a single-instance
	// StatefulSet run by the operator) or external (a database run elsewhere). The mode cannot change once set,
	// because switching would leave the data behind.
	// +required
	Database DatabaseSpec `json:"database"`

	// ingress exposes the platform through a networking.k8s.io Ingress. Streaming annotations for common
	// controllers are added so that answers are not buffered and long answers are not cut.
	// +optional
	Ingress *IngressSpec `json:"ingress,omitempty"`

	// gateway exposes the platform through a Gateway API HTTPRoute attached to the given Gateways.
	// +optional
	Gateway *GatewaySpec `json:"gateway,omitempty"`

	// auth configures registration and session lifetimes.
	// +optional
	// +kubebuilder:default={}
	Auth AuthSpec `json:"auth,omitempty"`

	// providers are the LLM providers the platform offers to its users, each with its key pool and models.
	// Provider names are unique.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Providers []ProviderSpec `json:"providers,omitempty"`

	// userKeys controls whether users may add their own provider API keys.
	// +optional
	UserKeys UserKeysSpec `json:"userKeys,omitempty"`

	// cors lists the browser origins other than the platform's own that may call its API. Empty means
	// same-origin only.
	// +optional
	CORS CORSSpec `json:"cors,omitempty"`

	// timezone is the IANA time zone (for example "Europe/Berlin") in which daily and monthly quota windows and
	// usage statistics start. Defaults to UTC.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`
	Timezone string `json:"timezone,omitempty"`
}

// LogLevel is the verbosity of the API server's logs.
// +kubebuilder:validation:Enum=debug;info;warn;error
type LogLevel string

// The log levels of the API server.
const (
	LogLevelDebug LogLevel = "debug"
	LogLevelInfo  LogLevel = "info"
	LogLevelWarn  LogLevel = "warn"
	LogLevelError LogLevel = "error"
)

// APIServerSpec configures the tenant's API server Deployment.
type APIServerSpec struct {
	// image is the container image of the API server. Defaults to the operator's own image, which contains
	// the API server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// replicas is the number of API server pods. Defaults to 2; a PodDisruptionBudget keeps one available
	// during voluntary disruptions when there is more than one.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// resources are the compute resources of the API server container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// nodeSelector constrains the API server pods to nodes with these labels: at most 32 entries, each value a
	// Kubernetes label value (at most 63 characters; empty, or alphanumerics with '-', '_' or '.' between).
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	NodeSelector map[string]LabelValue `json:"nodeSelector,omitempty"`

	// tolerations let the API server pods schedule onto tainted nodes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity holds the API server pods' scheduling constraints.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// logLevel is the API server's log verbosity: debug, info, warn or error. Defaults to info.
	// +optional
	// +kubebuilder:default=info
	LogLevel LogLevel `json:"logLevel,omitempty"`

	// trustedProxies are the reverse proxies in front of the API server (the ingress controller, the
	// Gateway's data plane), as IP addresses or CIDRs such as 10.0.0.0/8. A request that comes straight from
	// one of them has its client's address taken from X-Forwarded-For (for login throttling per address and
	// the audit log) and its scheme from X-Forwarded-Proto (HSTS is sent over HTTPS); from any other
	// address these headers are ignored.
	//
	// Empty with an ingress or a gateway configured means the private ranges in which in-cluster proxies
	// run: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7 and the loopback (a sidecar). Otherwise every
	// user would share the proxy's address, and 50 failed logins from anyone would lock everyone out for 15
	// minutes. The price: a client that reaches the API server from such an address without a proxy (a pod
	// of the cluster, or a user on a private network in front of an internal ingress) can choose the address
	// it is throttled and audited under. List the proxies' own addresses or pod CIDR to narrow it, and any
	// proxy outside these ranges (a cloud load balancer that sends traffic straight to the pods); a list
	// replaces the default. Empty without a route trusts no proxy.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	TrustedProxies []IPOrCIDR `json:"trustedProxies,omitempty"`
}

// IPOrCIDR is an IPv4 or IPv6 address (192.0.2.7, 2001:db8::1) or CIDR (10.0.0.0/8, fd00::/8).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isIP(self) || isCIDR(self)",message="must be an IP address or a CIDR such as 10.0.0.0/8"
type IPOrCIDR string

// DatabaseSpec selects the tenant's PostgreSQL: exactly one of managed or external.
//
// +kubebuilder:validation:XValidation:rule="has(self.managed) != has(self.external)",message="exactly one of database.managed or database.external must be set"
// +kubebuilder:validation:XValidation:rule="has(self.managed) == has(oldSelf.managed)",message="database mode is immutable: switching between managed and external would lose data"
type DatabaseSpec struct {
	// managed runs PostgreSQL for this tenant as a single-instance StatefulSet with a PersistentVolumeClaim.
	// +optional
	Managed *ManagedDatabaseSpec `json:"managed,omitempty"`

	// external uses a PostgreSQL run elsewhere (a cloud database, a CloudNativePG cluster), reached through
	// the URL in the referenced Secret.
	// +optional
	External *ExternalDatabaseSpec `json:"external,omitempty"`
}

// ManagedDatabaseSpec configures the PostgreSQL StatefulSet the operator runs for the tenant.
type ManagedDatabaseSpec struct {
	// image is the PostgreSQL container image. Defaults to the official postgres image the operator was
	// tested with.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// storage is the database's persistent volume. It is read when the volume claim is first created:
	// later changes to size or storageClassName do not change an existing claim (see storage.size).
	// +optional
	// +kubebuilder:default={}
	Storage StorageSpec `json:"storage,omitempty"`

	// resources are the compute resources of the PostgreSQL container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// retainOnDelete keeps the database's PersistentVolumeClaim when the LLMPlatform is deleted. Defaults to
	// true, so deleting a platform by mistake does not delete its data.
	// +optional
	// +kubebuilder:default=true
	RetainOnDelete *bool `json:"retainOnDelete,omitempty"`

	// backup, when set, runs pg_dump on a schedule into a PersistentVolumeClaim of its own.
	// +optional
	Backup *BackupSpec `json:"backup,omitempty"`
}

// LabelValue is a Kubernetes label value: at most 63 characters; empty, or alphanumerics with '-', '_' or '.'
// between. The schema checks it so that a bad value is refused with the platform, not later with its pods.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`
type LabelValue string

// StorageSpec describes a PersistentVolumeClaim.
type StorageSpec struct {
	// size is the requested volume size. Defaults to 10Gi. It applies when the PersistentVolumeClaim is
	// created; editing it afterwards does not resize the volume (a StatefulSet's volume claim templates cannot
	// change). To grow a volume whose StorageClass has allowVolumeExpansion, patch the claim's
	// spec.resources.requests.storage yourself (data-<name>-postgres-0 for the database, <name>-backup for
	// backups; docs/operations.md, "Resizing storage"). Volumes cannot shrink.
	// +optional
	// +kubebuilder:default="10Gi"
	// +kubebuilder:validation:XValidation:rule="quantity(self).isGreaterThan(quantity('0'))",message="storage size must be positive"
	Size *resource.Quantity `json:"size,omitempty"`

	// storageClassName is the StorageClass of the volume. Empty uses the cluster's default class. Like size,
	// it applies only when the claim is created.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// BackupSpec schedules logical backups of the managed database.
type BackupSpec struct {
	// schedule is a cron expression in the CronJob format (five fields, or a macro such as @daily).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$`
	Schedule string `json:"schedule"`

	// retain is how many backup files are kept; older ones are removed after each successful backup.
	// Defaults to 7.
	// +optional
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Retain int32 `json:"retain,omitempty"`

	// storage is the volume that holds the backup files. It is read when the volume claim is first
	// created: later changes to size or storageClassName do not change an existing claim (see storage.size).
	// +optional
	// +kubebuilder:default={}
	Storage StorageSpec `json:"storage,omitempty"`
}

// ExternalDatabaseSpec points at a PostgreSQL run outside the operator.
type ExternalDatabaseSpec struct {
	// secretRef names the Secret, in the platform's namespace, holding the PostgreSQL connection URL
	// (postgres://user:password@host:5432/db?sslmode=require).
	// +required
	SecretRef DatabaseSecretRef `json:"secretRef"`
}

// DatabaseSecretRef names the key of a Secret that holds a PostgreSQL connection URL.
type DatabaseSecretRef struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the key within the Secret's data that holds the URL. Defaults to "uri".
	// +optional
	// +kubebuilder:default=uri
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// IngressSpec configures the networking.k8s.io Ingress in front of the API server.
type IngressSpec struct {
	// className is the IngressClass to use. Empty uses the cluster's default class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClassName *string `json:"className,omitempty"`

	// host is the fully qualified host name users open in the browser, for example chat.example.com.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Host string `json:"host"`

	// tls enables HTTPS with the certificate in the named Secret (type kubernetes.io/tls).
	// +optional
	TLS *IngressTLS `json:"tls,omitempty"`

	// annotations are added to the Ingress, after (and overriding) the operator's streaming annotations. At
	// most 64 entries, each value at most 4096 characters; Kubernetes also limits all of an object's
	// annotations, keys and values together, to 256 KiB.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 4096)",message="annotation values must be at most 4096 characters"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IngressTLS names the certificate Secret of an Ingress.
type IngressTLS struct {
	// secretName is the Secret holding the TLS certificate and key for the host.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`
}

// GatewaySpec configures the Gateway API HTTPRoute in front of the API server.
type GatewaySpec struct {
	// parentRefs are the Gateways (or listeners of them) the HTTPRoute attaches to.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	ParentRefs []gwapiv1.ParentReference `json:"parentRefs"`

	// hostnames are the host names the HTTPRoute matches. Empty matches the listeners' host names.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Hostnames []gwapiv1.Hostname `json:"hostnames,omitempty"`
}

// Registration says whether anyone may create an account.
// +kubebuilder:validation:Enum=Open;Closed
type Registration string

// The registration modes.
const (
	// RegistrationOpen lets anyone who reaches the platform register.
	RegistrationOpen Registration = "Open"
	// RegistrationClosed allows only accounts created by an admin.
	RegistrationClosed Registration = "Closed"
)

// AuthSpec configures accounts and sessions.
type AuthSpec struct {
	// registration is Open (anyone may register) or Closed (only admins create accounts). Defaults to Open.
	// +optional
	// +kubebuilder:default=Open
	Registration Registration `json:"registration,omitempty"`

	// accessTokenTTL is the lifetime of a JWT access token, between 1m and 24h. Defaults to 30m.
	// +optional
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="accessTokenTTL must be a duration between 1m and 24h"
	AccessTokenTTL *metav1.Duration `json:"accessTokenTTL,omitempty"`

	// refreshTokenTTL is how long a session lasts without activity: each refresh issues a new refresh token
	// with this lifetime. Between 1h and 8760h (a year). Defaults to 168h.
	// +optional
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('8760h')",message="refreshTokenTTL must be a duration between 1h and 8760h"
	RefreshTokenTTL *metav1.Duration `json:"refreshTokenTTL,omitempty"`

	// adminSecretRef names a Secret with keys "username", "password" and optionally "email" for the bootstrap
	// admin account. When absent the operator generates one, named <platform>-admin.
	// +optional
	AdminSecretRef *SecretRef `json:"adminSecretRef,omitempty"`
}

// SecretRef names a Secret in the referencing object's namespace.
type SecretRef struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ProviderType is the wire protocol of an LLM provider.
// +kubebuilder:validation:Enum=OpenAI;Anthropic;Gemini;Ollama;OpenAICompatible
type ProviderType string

// The provider types.
const (
	ProviderOpenAI           ProviderType = "OpenAI"
	ProviderAnthropic        ProviderType = "Anthropic"
	ProviderGemini           ProviderType = "Gemini"
	ProviderOllama           ProviderType = "Ollama"
	ProviderOpenAICompatible ProviderType = "OpenAICompatible"
)

// ProviderSpec declares one LLM provider: its protocol, endpoint, key pool and models.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'OpenAICompatible' || has(self.baseURL)",message="baseURL is required for OpenAICompatible providers"
// +kubebuilder:validation:XValidation:rule="self.type in ['Ollama', 'OpenAICompatible'] || (has(self.keys) && size(self.keys) > 0)",message="keys must hold at least one key for OpenAI, Anthropic and Gemini providers"
type ProviderSpec struct {
	// name identifies the provider in the platform (a DNS label such as "openai" or "local-llama"). Users see
	// it in the model picker, and usage is reported by it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// type is the provider's wire protocol: OpenAI, Anthropic, Gemini, Ollama or OpenAICompatible.
	// +required
	Type ProviderType `json:"type"`

	// baseURL is the provider's API endpoint. Defaults per type: https://api.openai.com/v1,
	// https://api.anthropic.com, https://generativelanguage.googleapis.com and http://ollama:11434. Required
	// for OpenAICompatible.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#]+([/?#]\S*)?$`
	BaseURL string `json:"baseURL,omitempty"`

	// keys is the provider's key pool. Requests are spread over the keys by weight; a key that fails
	// authentication or is rate limited is rested and tried again later.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, self.exists_one(j, j.secretRef.name == k.secretRef.name && j.secretRef.key == k.secretRef.key))",message="each key's secretRef (name and key) must be unique within a provider"
	Keys []ProviderKey `json:"keys,omitempty"`

	// models are the provider's models offered to users. Model names are unique within a provider.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	Models []ModelSpec `json:"models"`

	// timeouts bound the calls to this provider.
	// +optional
	// +kubebuilder:default={}
	Timeouts ProviderTimeouts `json:"timeouts,omitempty"`
}

// ProviderKey is one API key of a provider's key pool.
type ProviderKey struct {
	// secretRef names the Secret and key holding the API key. The key defaults to "apiKey".
	// +required
	SecretRef ProviderKeySecretRef `json:"secretRef"`

	// weight is the key's share of the traffic relative to the other keys. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Weight int32 `json:"weight,omitempty"`

	// requestsPerMinute caps the requests sent with this key across all API server replicas. Empty means no
	// cap.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	RequestsPerMinute *int32 `json:"requestsPerMinute,omitempty"`
}

// ProviderKeySecretRef names the key of a Secret that holds a provider API key.
type ProviderKeySecretRef struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the key within the Secret's data. Defaults to "apiKey".
	// +optional
	// +kubebuilder:default=apiKey
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// ModelSpec is one model offered by a provider.
type ModelSpec struct {
	// name is the model's name as users and API clients see it, for example "gpt-4o-mini".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`
	Name string `json:"name"`

	// upstreamName is the model's name at the provider, when it differs from name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`
	UpstreamName string `json:"upstreamName,omitempty"`

	// pricing is the model's price in USD per million tokens; usage is charged with it.
	// +optional
	Pricing ModelPricing `json:"pricing,omitempty"`

	// contextWindow is the model's context size in tokens; long conversations are trimmed to fit it.
	// +optional
	// +kubebuilder:validation:Minimum=256
	// +kubebuilder:validation:Maximum=100000000
	ContextWindow *int32 `json:"contextWindow,omitempty"`

	// maxOutputTokens is the most tokens the model may generate in one answer; it is also the worst case
	// reserved against quotas. Defaults to 4096.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	MaxOutputTokens *int32 `json:"maxOutputTokens,omitempty"`
}

// ModelPricing is the price of a model in USD per million tokens, as decimal strings such as "0.15" (at most
// six digits after the point). An empty price is zero.
type ModelPricing struct {
	// input is the price of a million prompt tokens.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$`
	Input string `json:"input,omitempty"`

	// cachedInput is the price of a million prompt tokens served from the provider's prompt cache. Defaults to
	// the input price.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$`
	CachedInput string `json:"cachedInput,omitempty"`

	// output is the price of a million generated tokens, reasoning tokens included.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?$`
	Output string `json:"output,omitempty"`
}

// ProviderTimeouts bound the phases of a call to a provider. Each is a duration such as "30s".
type ProviderTimeouts struct {
	// connect bounds establishing the connection, TLS included. Defaults to 10s.
	// +optional
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms') && duration(self) <= duration('5m')",message="connect must be a duration between 100ms and 5m"
	Connect *metav1.Duration `json:"connect,omitempty"`

	// firstByte bounds the wait for the first byte of the answer; reasoning models may think for minutes.
	// Defaults to 5m.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="firstByte must be a duration between 1s and 1h"
	FirstByte *metav1.Duration `json:"firstByte,omitempty"`

	// betweenChunks bounds the silence between two chunks of a streamed answer. Defaults to 2m.
	// +optional
	// +kubebuilder:default="2m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="betweenChunks must be a duration between 1s and 1h"
	BetweenChunks *metav1.Duration `json:"betweenChunks,omitempty"`

	// total bounds a whole call, streaming included. Defaults to 30m.
	// +optional
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="total must be a duration between 1s and 24h"
	Total *metav1.Duration `json:"total,omitempty"`
}

// UserKeysSpec controls user-supplied provider keys.
type UserKeysSpec struct {
	// allowed lets users add their own provider API keys (stored encrypted) and chat with them. Defaults to
	// false.
	// +optional
	Allowed bool `json:"allowed,omitempty"`
}

// CORSSpec lists the cross-origin callers of the platform's API.
type CORSSpec struct {
	// allowedOrigins are origins such as https://app.example.com that browsers may call the API from.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^https?://[^\s/?#]+$`
	AllowedOrigins []string `json:"allowedOrigins,omitempty"`
}

// LLMPlatformStatus is the observed state of a platform.
type LLMPlatformStatus struct {
	// conditions are Ready, and the conditions it summarises: DatabaseReady, APIServerReady, RouteReady and
	// ProvidersReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// url is where users reach the platform.
	// +optional
	URL string `json:"url,omitempty"`

	// apiServer summarises the API server Deployment.
	// +optional
	APIServer APIServerStatus `json:"apiServer,omitempty"`

	// database summarises the database.
	// +optional
	Database DatabaseStatus `json:"database,omitempty"`

	// users is the number of user accounts, as last reported by the API server.
	// +optional
	Users int64 `json:"users,omitempty"`

	// tokensToday is the number of tokens used today in the platform's time zone, as last reported by the
	// API server.
	// +optional
	TokensToday int64 `json:"tokensToday,omitempty"`
}

// APIServerStatus summarises the API server Deployment.
type APIServerStatus struct {
	// replicas is the number of API server pods desired.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of API server pods ready to serve.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
}

// DatabaseStatus summarises the database.
type DatabaseStatus struct {
	// endpoint is the database's host and port; credentials are never shown.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// LLMPlatform is one isolated LLM chat platform (a tenant): its API server and web UI, its PostgreSQL, its
// route from outside, its providers and, through UserQuota objects, its users' quotas.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 40 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label of at most 40 characters: it prefixes the names of the platform's children"
// +kubebuilder:resource:shortName=llmp,categories=llmplatform
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.users`,priority=1
// +kubebuilder:printcolumn:name="Tokens Today",type=integer,JSONPath=`.status.tokensToday`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LLMPlatform struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's metadata. The name is used as a prefix of the children's names, so it must
	// be a DNS label of at most 40 characters.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the platform.
	// +required
	Spec LLMPlatformSpec `json:"spec"`

	// status is the observed state of the platform.
	// +optional
	Status LLMPlatformStatus `json:"status,omitempty"`
}

// LLMPlatformList is a list of LLMPlatform objects.
//
// +kubebuilder:object:root=true
type LLMPlatformList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LLMPlatform `json:"items"`
}
