package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserQuotaSpec is the desired quota: which users of which platform it covers, and their limits.
//
// +kubebuilder:validation:XValidation:rule="has(self.limits) || has(self.allowedModels)",message="a quota needs limits, allowedModels or both"
type UserQuotaSpec struct {
	// platformRef names the LLMPlatform, in the same namespace, whose users this quota limits.
	// +required
	PlatformRef PlatformRef `json:"platformRef"`

	// subjects selects the users the quota applies to: exactly one of users, roles or allUsers.
	// +required
	Subjects QuotaSubjects `json:"subjects"`

	// limits are the quota's limits; each one that is set applies. Every quota that matches a user applies:
	// a request must pass all of them.
	// +optional
	Limits *QuotaLimits `json:"limits,omitempty"`

	// allowedModels are the models the subjects may use, as globs over "<provider>/<model>" or "<model>"
	// (for example "openai/*" or "*-mini"). Empty allows every model.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9*?._:/@+\[\]-]+$`
	AllowedModels []string `json:"allowedModels,omitempty"`

	// mode is Enforce (refuse requests over the limits) or Shadow (record what would have been refused and
	// let it through, to try a quota out). Defaults to Enforce.
	// +optional
	// +kubebuilder:default=Enforce
	Mode QuotaMode `json:"mode,omitempty"`
}

// PlatformRef names an LLMPlatform in the referencing object's namespace.
type PlatformRef struct {
	// name is the LLMPlatform's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
}

// Role is a user role in a platform.
// +kubebuilder:validation:Enum=admin;user
type Role string

// The user roles.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// QuotaSubjects selects users: exactly one of users, roles or allUsers.
//
// +kubebuilder:validation:XValidation:rule="(has(self.users) ? 1 : 0) + (has(self.roles) ? 1 : 0) + ((has(self.allUsers) && self.allUsers) ? 1 : 0) == 1",message="exactly one of subjects.users, subjects.roles or subjects.allUsers (true) must be set"
type QuotaSubjects struct {
	// users are usernames or email addresses.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=254
	Users []string `json:"users,omitempty"`

	// roles are user roles: admin or user.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	Roles []Role `json:"roles,omitempty"`

	// allUsers applies the quota to every user of the platform.
	// +optional
	AllUsers bool `json:"allUsers,omitempty"`
}

// QuotaLimits are the limits of a quota. Daily and monthly windows start at midnight and on the first of the
// month in the platform's time zone.
//
// +kubebuilder:validation:MinProperties=1
type QuotaLimits struct {
	// requestsPerMinute caps the requests a user starts in any minute.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	RequestsPerMinute *int32 `json:"requestsPerMinute,omitempty"`

	// tokensPerDay caps the tokens (prompt and output) a user uses in a day.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000000000
	TokensPerDay *int64 `json:"tokensPerDay,omitempty"`

	// tokensPerMonth caps the tokens (prompt and output) a user uses in a month.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000000000
	TokensPerMonth *int64 `json:"tokensPerMonth,omitempty"`

	// costPerMonth caps a user's spend in a month, in USD as a decimal string such as "25" or "12.50" (at
	// most six digits after the point).
	// +optional
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$`
	CostPerMonth *string `json:"costPerMonth,omitempty"`

	// maxOutputTokensPerRequest caps the tokens generated for one request; larger requests are lowered to it.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	MaxOutputTokensPerRequest *int32 `json:"maxOutputTokensPerRequest,omitempty"`
}

// QuotaMode says whether a quota refuses requests.
// +kubebuilder:validation:Enum=Enforce;Shadow
type QuotaMode string

// The quota modes.
const (
	// QuotaModeEnforce refuses requests over the limits.
	QuotaModeEnforce QuotaMode = "Enforce"
	// QuotaModeShadow records would-be refusals without refusing.
	QuotaModeShadow QuotaMode = "Shadow"
)

// UserQuotaStatus is the observed state of a quota.
type UserQuotaStatus struct {
	// conditions are Accepted (the platform exists and has taken the quota into its configuration) and
	// Synced (usage was last read from the platform's API server successfully).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// subjects summarises spec.subjects for display, for example "users: alice, bob" or "all users".
	// +optional
	Subjects string `json:"subjects,omitempty"`

	// matchedUsers is the number of the platform's users the quota applies to.
	// +optional
	MatchedUsers int32 `json:"matchedUsers,omitempty"`

	// usage shows the heaviest users of the quota (at most 20), most used first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Usage []SubjectUsage `json:"usage,omitempty"`
}

// SubjectUsage is one user's use of a quota.
type SubjectUsage struct {
	// user is the username.
	User string `json:"user"`

	// windows are the user's use in each limited window. A requestsPerMinute window is listed only while the
	// user has requests in the current minute.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Windows []WindowUsage `json:"windows,omitempty"`

	// exhausted is true when any limit of the quota is reached for this user.
	Exhausted bool `json:"exhausted"`
}

// WindowUsage is a user's use of one limit in its current window.
type WindowUsage struct {
	// limit names the limit: requestsPerMinute, tokensPerDay, tokensPerMonth or costPerMonth.
	Limit string `json:"limit"`

	// used is the amount used in the window (tokens, requests, or USD as a decimal string).
	Used string `json:"used"`

	// remaining is the amount left in the window.
	Remaining string `json:"remaining"`

	// resetAt is when the window ends.
	ResetAt metav1.Time `json:"resetAt"`
}

// UserQuota limits what the users of one LLMPlatform may request and spend: requests per minute, tokens per
// day and month, cost per month, output tokens per request and the models they may use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=uq,categories=llmplatform
// +kubebuilder:printcolumn:name="Platform",type=string,JSONPath=`.spec.platformRef.name`
// +kubebuilder:printcolumn:name="Subjects",type=string,JSONPath=`.status.subjects`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.matchedUsers`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type UserQuota struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired quota.
	// +required
	Spec UserQuotaSpec `json:"spec"`

	// status is the observed state of the quota.
	// +optional
	Status UserQuotaStatus `json:"status,omitempty"`
}

// UserQuotaList is a list of UserQuota objects.
//
// +kubebuilder:object:root=true
type UserQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UserQuota `json:"items"`
}
