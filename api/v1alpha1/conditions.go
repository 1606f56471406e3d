package v1alpha1

// Condition types of an LLMPlatform. Ready is true when all the others are.
const (
	// ConditionReady summarises the platform: DatabaseReady, APIServerReady, RouteReady and ProvidersReady.
	ConditionReady = "Ready"
	// ConditionDatabaseReady reports whether the tenant's PostgreSQL accepts connections.
	ConditionDatabaseReady = "DatabaseReady"
	// ConditionAPIServerReady reports whether the API server Deployment is available.
	ConditionAPIServerReady = "APIServerReady"
	// ConditionRouteReady reports whether the Ingress or HTTPRoute is in place.
	ConditionRouteReady = "RouteReady"
	// ConditionProvidersReady reports whether every provider key Secret exists and holds its key.
	ConditionProvidersReady = "ProvidersReady"
)

// Condition types of a UserQuota.
const (
	// ConditionAccepted reports whether the quota's platform exists and has taken the quota in.
	ConditionAccepted = "Accepted"
	// ConditionSynced reports whether usage was last read from the platform's API server.
	ConditionSynced = "Synced"
)

// Condition reasons. They are CamelCase, as Kubernetes conventions ask.
const (
	ReasonReady                 = "Ready"
	ReasonNotReady              = "NotReady"
	ReasonReconciling           = "Reconciling"
	ReasonDatabaseStarting      = "DatabaseStarting"
	ReasonDatabaseSecretMissing = "DatabaseSecretMissing"
	ReasonExternalDatabase      = "ExternalDatabase"
	ReasonPodsNotReady          = "PodsNotReady"
	ReasonCrashLooping          = "CrashLooping"
	ReasonImagePullFailed       = "ImagePullFailed"
	ReasonPVCPending            = "PVCPending"
	ReasonRouteCreated          = "RouteCreated"
	ReasonNoRoute               = "NoRoute"
	ReasonGatewayAPIMissing     = "GatewayAPIMissing"
	ReasonRouteNotAccepted      = "RouteNotAccepted"
	ReasonSecretMissing         = "SecretMissing"
	ReasonSecretKeyMissing      = "SecretKeyMissing"
	ReasonProvidersConfigured   = "ProvidersConfigured"
	ReasonInvalidSpec           = "InvalidSpec"
	ReasonPlatformNotFound      = "PlatformNotFound"
	ReasonAccepted              = "Accepted"
	ReasonSynced                = "Synced"
	ReasonSyncFailed            = "SyncFailed"
	// ReasonAPIServerNotReady: the platform's API server is not ready, so usage is not read from it.
	ReasonAPIServerNotReady = "APIServerNotReady"
	// ReasonAPIServerUnreachable: the operator cannot connect to the API server, or it does not answer.
	ReasonAPIServerUnreachable = "APIServerUnreachable"
	// ReasonTokenRejected: the API server refused the operator's internal token (HTTP 401).
	ReasonTokenRejected = "TokenRejected"
	// ReasonQuotaNotLoaded: the API server does not apply the quota (yet): its configuration lacks it.
	ReasonQuotaNotLoaded = "QuotaNotLoaded"
)
