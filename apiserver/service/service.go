// Package service holds the API server's rules: who may do what, what a valid input is, what happens on a
// login, a refresh or a deactivation. Each service declares the store interface it needs (the store package
// implements them all) and returns typed errors from apperr; none knows HTTP.
package service

import (
	"context"
	"log/slog"

	"github.com/llmplatform/llmplatform/apiserver/model"
)

// ClientInfo describes where a request came from, for sessions and the audit log.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// AuditStore writes the audit log.
type AuditStore interface {
	AppendAudit(ctx context.Context, e model.AuditEntry) error
}

// auditor writes audit entries; a failure is logged, never returned, so that a security event being
// recorded cannot block the user.
type auditor struct {
	store AuditStore
	log   *slog.Logger
}

func (a auditor) record(ctx context.Context, e model.AuditEntry) {
	if err := a.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		a.log.ErrorContext(ctx, "Writing audit entry failed", "action", e.Action, "error", err)
	}
}

// actor fills an entry's actor fields from the caller.
func actor(p model.Principal, client ClientInfo, action string) model.AuditEntry {
	id := p.UserID
	return model.AuditEntry{Action: action, ActorID: &id, ActorUsername: p.Username, ClientIP: client.IP}
}
