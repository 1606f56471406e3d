package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

//nolint:gosec // column names, not a credential
const tokenColumns = `id, user_id, name, prefix, allowed_models, expires_at, created_at, last_used_at, revoked_at`

func scanAPIToken(row pgx.Row) (*model.APIToken, error) {
	var t model.APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.AllowedModels, &t.ExpiresAt, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("API token")
	}
	if err != nil {
		return nil, fmt.Errorf("reading API token: %w", err)
	}
	if t.AllowedModels == nil {
		t.AllowedModels = []string{}
	}
	return &t, nil
}

// CreateAPIToken inserts t with the hash of its secret, unless the user already has max live tokens (not
// revoked, not expired); it fills t's ID and creation time.
func (db *DB) CreateAPIToken(ctx context.Context, t *model.APIToken, secretHash []byte, max int) error {
	err := db.pool.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, prefix, secret_hash, allowed_models, expires_at)
		SELECT $1, $2, $3, $4, $5, $6
		WHERE (SELECT count(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > now())) < $7
		RETURNING id, created_at`, t.UserID, t.Name, t.Prefix, secretHash, t.AllowedModels, t.ExpiresAt, max).Scan(&t.ID, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.Conflict("too_many_tokens", fmt.Sprintf("you have %d active API tokens, the most allowed; revoke one first", max))
	}
	if err != nil {
		return fmt.Errorf("creating API token: %w", err)
	}
	return nil
}

// APITokens lists a user's tokens, newest first.
func (db *DB) APITokens(ctx context.Context, userID string) ([]model.APIToken, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	defer rows.Close()
	out := []model.APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes one of the user's tokens (again: a no-op) and returns it.
func (db *DB) RevokeAPIToken(ctx context.Context, userID, id string) (*model.APIToken, error) {
	return scanAPIToken(db.pool.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND user_id = $2 RETURNING `+tokenColumns, id, userID))
}

// TokenHolder returns what the token with this secret hash authenticates: the token's state and its user's.
func (db *DB) TokenHolder(ctx context.Context, secretHash []byte) (*model.TokenHolder, error) {
	var h model.TokenHolder
	var email *string
	err := db.pool.QueryRow(ctx, `SELECT t.id, t.user_id, u.username, u.email, u.role, u.is_active, t.allowed_models,
		t.expires_at, t.revoked_at IS NOT NULL
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1`, secretHash).Scan(
		&h.TokenID, &h.UserID, &h.Username, &email, &h.Role, &h.UserActive, &h.AllowedModels, &h.ExpiresAt, &h.Revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("API token")
	}
	if err != nil {
		return nil, fmt.Errorf("reading API token: %w", err)
	}
	if email != nil {
		h.Email = *email
	}
	return &h, nil
}
