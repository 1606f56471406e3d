// Package model holds the API server's domain types, shared by the store (which fills them), the services
// (which apply rules to them) and the HTTP layer (which writes them as JSON, in snake_case).
package model

import (
	"encoding/json"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// Roles.
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

// User is an account.
type User struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	Email       *string    `json:"email"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	IsActive    bool       `json:"is_active"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
	// PasswordHash is the argon2id PHC string; never serialised.
	PasswordHash string `json:"-"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID    string
	SessionID string
	Username  string
	Role      string
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// AuthState is what an access token's holder is allowed right now: whether the user is active and the
// session still open. It is read per request (through a short cache), so revocation takes effect at once.
type AuthState struct {
	Username         string
	Role             string
	UserActive       bool
	SessionRevoked   bool
	SessionExpiresAt time.Time
}

// Tag labels conversations.
type Tag struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Conversation is a chat thread.
type Conversation struct {
	ID            string    `json:"id"`
	UserID        string    `json:"-"`
	Title         string    `json:"title"`
	Model         string    `json:"model"`
	SystemPrompt  string    `json:"system_prompt"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastMessageAt time.Time `json:"last_message_at"`
	MessageCount  int       `json:"message_count"`
	Preview       string    `json:"preview"`
	Tags          []Tag     `json:"tags"`
}

// Message roles.
const (
	MessageRoleSystem    = "system"
	MessageRoleUser      = "user"
	MessageRoleAssistant = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Role           string    `json:"role"`
	Content        string    `json:"content"`
	Model          string    `json:"model"`
	Provider       string    `json:"provider"`
	FinishReason   string    `json:"finish_reason"`
	Usage          *Usage    `json:"usage"`
	LatencyMS      *int64    `json:"latency_ms"`
	TTFTMS         *int64    `json:"ttft_ms"`
	CreatedAt      time.Time `json:"created_at"`
	// Seq orders messages; it is the database's sequence, not exposed.
	Seq int64 `json:"-"`
}

// Usage is what an answer consumed.
type Usage struct {
	PromptTokens       int64
	CachedPromptTokens int64
	CompletionTokens   int64
	ReasoningTokens    int64
	// CostMicros is the cost in millionths of a USD.
	CostMicros int64
	Estimated  bool
}

// MarshalJSON writes the usage with its cost as a decimal USD string.
func (u Usage) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		PromptTokens       int64  `json:"prompt_tokens"`
		CachedPromptTokens int64  `json:"cached_prompt_tokens"`
		CompletionTokens   int64  `json:"completion_tokens"`
		ReasoningTokens    int64  `json:"reasoning_tokens"`
		CostUSD            string `json:"cost_usd"`
		Estimated          bool   `json:"estimated"`
	}{u.PromptTokens, u.CachedPromptTokens, u.CompletionTokens, u.ReasoningTokens, config.FormatUSD(u.CostMicros), u.Estimated})
}

// SearchHit is a message that matched a search.
type SearchHit struct {
	MessageID         string    `json:"message_id"`
	ConversationID    string    `json:"conversation_id"`
	ConversationTitle string    `json:"conversation_title"`
	Role              string    `json:"role"`
	Snippet           string    `json:"snippet"`
	CreatedAt         time.Time `json:"created_at"`
	// Content is the whole message, from which the service cuts the snippet.
	Content string `json:"-"`
	Seq     int64  `json:"-"`
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID            int64          `json:"id"`
	At            time.Time      `json:"at"`
	Action        string         `json:"action"`
	ActorID       *string        `json:"actor_id"`
	ActorUsername string         `json:"actor_username"`
	TargetType    string         `json:"target_type"`
	TargetID      string         `json:"target_id"`
	ClientIP      string         `json:"client_ip"`
	Details       map[string]any `json:"details"`
}

// Audit actions.
const (
	AuditUserRegistered   = "user.registered"
	AuditLoginFailed      = "user.login_failed"
	AuditLoginThrottled   = "user.login_throttled"
	AuditPasswordChanged  = "user.password_changed"
	AuditUserDeletedSelf  = "user.deleted_self"
	AuditRefreshReuse     = "session.refresh_reuse"
	AuditAdminBootstrap   = "admin.bootstrap"
	AuditAdminCreatedUser = "admin.user_created"
	AuditAdminActivated   = "admin.user_activated"
	AuditAdminDeactivated = "admin.user_deactivated"
	AuditAdminRoleChanged = "admin.user_role_changed"
	AuditAdminDeletedUser = "admin.user_deleted"
)

// AuditActions lists every action, for validating filters.
var AuditActions = []string{
	AuditUserRegistered, AuditLoginFailed, AuditLoginThrottled, AuditPasswordChanged, AuditUserDeletedSelf,
	AuditRefreshReuse, AuditAdminBootstrap, AuditAdminCreatedUser, AuditAdminActivated, AuditAdminDeactivated, AuditAdminRoleChanged,
	AuditAdminDeletedUser,
}
