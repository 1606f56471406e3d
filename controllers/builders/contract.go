// Package builders holds the pure functions that turn an LLMPlatform into the Kubernetes objects that run it:
// generated Secrets, the rendered platform.yaml, the API server Deployment, the managed PostgreSQL, the routes
// and the backup job. Builders take the platform (and, for Secrets, a source of randomness) and return objects;
// they never call a client, so every one of them is table-tested without a cluster.
//
// The constants in this file are the contract between the operator, the API server and `make dev`: the names of
// the children, the paths where configuration and secrets are mounted, the ports and the probes. Change them
// only together with their readers.
package builders

// The API server container. The image's PATH must contain the llmplatform binary.
const (
	// APIServerContainer is the name of the API server container in its pod.
	APIServerContainer = "apiserver"
	// APIServerCommand is the executable the API server container runs.
	APIServerCommand = "llmplatform"
	// APIServerPort is the port the API server listens on (HTTP, plain; TLS ends at the route).
	APIServerPort = 8080
	// APIServerPortName names the API server's container and Service port.
	APIServerPortName = "http"
	// ServicePort is the port of the API server's Service.
	ServicePort = 80
	// MetricsPort is where the API server serves /metrics (--metrics-listen), in the container and on its
	// Service. The routes never send traffic to it, and the main port answers /metrics with 404, so the
	// metrics are reachable inside the cluster only.
	MetricsPort = 9090
	// MetricsPortName names the API server's metrics container and Service port.
	MetricsPortName = "metrics"
	// MetricsPath is the path of the API server's Prometheus metrics.
	MetricsPath = "/metrics"
	// LivenessPath is the API server's liveness endpoint.
	LivenessPath = "/healthz"
	// ReadinessPath is the API server's readiness endpoint (database reachable, migrations applied).
	ReadinessPath = "/readyz"
	// APIServerUID is the user and group the API server runs as (the distroless "nonroot" user).
	APIServerUID = 65532
	// DefaultImageRepository is the repository of the one LLMPlatform image (operator, API server, mock
	// provider). The operator's default API server image is this repository at its own version.
	DefaultImageRepository = "ghcr.io/llmplatform/llmplatform"
)

// Where the API server finds its configuration and secrets. Everything is a read-only file mounted from a
// ConfigMap or a Secret, never an environment variable, so that a changed Secret reaches a running pod. Every
// mount is a directory directly under MountRoot, and platform.yaml names the files by paths relative to
// ConfigDir ("../secrets/jwt/key"), which the API server resolves against the directory of its config file.
const (
	// MountRoot is the directory under which the API server's volumes are mounted, each in a subdirectory.
	MountRoot = "/etc/llmplatform"
	// ConfigDir is the mount point of the <platform>-config ConfigMap.
	ConfigDir = MountRoot + "/config"
	// ConfigKey is the ConfigMap key holding the rendered apiserver/config.Config.
	ConfigKey = "platform.yaml"
	// ConfigFile is the path of platform.yaml in the API server container.
	ConfigFile = ConfigDir + "/" + ConfigKey
	// SecretsDir holds the generated secrets, one file each.
	SecretsDir = MountRoot + "/secrets" //nolint:gosec // a mount path, not a credential
	// JWTKeyFile holds the HMAC key that signs access tokens (Secret <platform>-jwt, key "key").
	JWTKeyFile = SecretsDir + "/jwt/key"
	// EncryptionKeyFile holds the base64 AES-256 key for user-supplied provider keys (Secret
	// <platform>-encryption, key "key").
	EncryptionKeyFile = SecretsDir + "/encryption/key"
	// InternalTokenFile holds the bearer token of /internal/v1 (Secret <platform>-internal, key "token").
	InternalTokenFile = SecretsDir + "/internal/token"
	// AdminDir holds the bootstrap admin's files "username", "password" and optionally "email" (Secret
	// <platform>-admin, or the Secret named by spec.auth.adminSecretRef).
	AdminDir = MountRoot + "/admin"
	// DatabaseDir holds the database URL file.
	DatabaseDir = MountRoot + "/database"
	// DatabaseURLFile holds the PostgreSQL URL (Secret <platform>-db key "uri", or the external Secret's key).
	DatabaseURLFile = DatabaseDir + "/" + DatabaseURLKey
	// ProvidersDir holds provider API keys as <ProvidersDir>/<secretName>/<key>.
	ProvidersDir = MountRoot + "/providers"
)

// Keys of the generated Secrets.
const (
	// KeyKey is the key of the JWT and encryption Secrets.
	KeyKey = "key"
	// TokenKey is the key of the internal token Secret.
	TokenKey = "token"
	// AdminUsernameKey is the bootstrap admin's username in the admin Secret.
	AdminUsernameKey = "username"
	// AdminPasswordKey is the bootstrap admin's password in the admin Secret.
	AdminPasswordKey = "password"
	// AdminEmailKey is the bootstrap admin's optional email in the admin Secret.
	AdminEmailKey = "email"
	// DatabaseUsernameKey is the managed database's role in its credentials Secret.
	DatabaseUsernameKey = "username"
	// DatabasePasswordKey is the role's password in the managed database's credentials Secret.
	DatabasePasswordKey = "password"
	// DatabaseNameKey is the database name in the managed database's credentials Secret.
	DatabaseNameKey = "database"
	// DatabaseURLKey is the connection URL in the managed database's credentials Secret.
	DatabaseURLKey = "uri"
)

// The managed PostgreSQL.
const (
	// DefaultPostgresImage is the official PostgreSQL image the operator runs when
	// spec.database.managed.image is empty. Its entrypoint reads POSTGRES_*_FILE.
	DefaultPostgresImage = "postgres:17-bookworm"
	// PostgresPort is PostgreSQL's port, in the container and on its Service.
	PostgresPort = 5432
	// PostgresUID is the "postgres" user of the official image; the database runs as it, never as root.
	PostgresUID = 999
	// PostgresDataDir is where the data volume is mounted; PGDATA is a subdirectory, so that a volume's
	// lost+found does not keep initdb from running.
	PostgresDataDir = "/var/lib/postgresql/data"
	// PGData is the database cluster directory.
	PGData = PostgresDataDir + "/pgdata"
	// PostgresSecretDir is where the database credentials are mounted in the PostgreSQL and backup pods.
	PostgresSecretDir = "/etc/postgres/secret" //nolint:gosec // a mount path, not a credential
	// DataVolumeClaim names the StatefulSet's volume claim template; the PVC is data-<platform>-postgres-0.
	DataVolumeClaim = "data"
	// DatabaseUser is the role the operator creates in a managed database.
	DatabaseUser = "llmplatform"
	// DatabaseName is the database the operator creates in a managed database.
	DatabaseName = "llmplatform"
	// BackupDir is where the backup volume is mounted in backup pods.
	BackupDir = "/backup"
)

// Labels every child carries. The selector labels (name, instance, component) identify one component of one
// platform.
const (
	// LabelName is "llmplatform" on every child.
	LabelName = "app.kubernetes.io/name"
	// LabelInstance is the platform's name.
	LabelInstance = "app.kubernetes.io/instance"
	// LabelComponent is apiserver, database or backup.
	LabelComponent = "app.kubernetes.io/component"
	// LabelManagedBy is "llmplatform-operator".
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelPartOf is "llmplatform".
	LabelPartOf = "app.kubernetes.io/part-of"

	// AppName is the value of LabelName and LabelPartOf.
	AppName = "llmplatform"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "llmplatform-operator"

	// ComponentAPIServer labels the API server's objects.
	ComponentAPIServer = "apiserver"
	// ComponentDatabase labels the managed database's objects.
	ComponentDatabase = "database"
	// ComponentBackup labels the backup job's objects.
	ComponentBackup = "backup"
)
