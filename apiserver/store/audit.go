package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/model"
)

// AppendAudit writes one audit entry.
func (db *DB) AppendAudit(ctx context.Context, e model.AuditEntry) error {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO audit_log (action, actor_id, actor_username, target_type, target_id, client_ip, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.Action, e.ActorID, e.ActorUsername, e.TargetType, e.TargetID, e.ClientIP, details)
	if err != nil {
		return fmt.Errorf("writing audit entry: %w", err)
	}
	return nil
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	Action  string
	ActorID string
}

// ListAudit returns audit entries, newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter, p model.PageRequest) (model.Page[model.AuditEntry], error) {
	var before *int64
	if p.After != nil {
		before = &p.After.N
	}
	rows, err := db.pool.Query(ctx, `SELECT id, at, action, actor_id, actor_username, target_type, target_id, client_ip, details
		FROM audit_log WHERE ($1 = '' OR action = $1) AND ($2::uuid IS NULL OR actor_id = $2::uuid)
		AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4`, f.Action, nullIfEmpty(f.ActorID), before, p.Limit+1)
	if err != nil {
		return model.Page[model.AuditEntry]{}, fmt.Errorf("listing audit log: %w", err)
	}
	entries, err := collect(rows, func(r pgx.Row) (*model.AuditEntry, error) {
		var e model.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.Action, &e.ActorID, &e.ActorUsername, &e.TargetType, &e.TargetID, &e.ClientIP, &e.Details)
		return &e, err
	})
	if err != nil {
		return model.Page[model.AuditEntry]{}, err
	}
	return model.NewPage(entries, p.Limit, func(e model.AuditEntry) model.Cursor { return model.Cursor{N: e.ID} }), nil
}
