package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// NewSession describes a login to record.
type NewSession struct {
	UserID      string
	TokenHash   []byte
	TTL         time.Duration
	UserAgent   string
	ClientIP    string
	UpdateLogin bool
}

// CreateSession records a session with its first refresh token and returns the session id.
func (db *DB) CreateSession(ctx context.Context, s NewSession) (string, error) {
	var id string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		secs := s.TTL.Seconds()
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (user_id, expires_at, user_agent, client_ip)
			VALUES ($1, now() + make_interval(secs => $2), $3, $4) RETURNING id`,
			s.UserID, secs, s.UserAgent, s.ClientIP).Scan(&id); err != nil {
			return fmt.Errorf("creating session: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
			VALUES ($1, $2, now() + make_interval(secs => $3))`, s.TokenHash, id, secs); err != nil {
			return fmt.Errorf("storing refresh token: %w", err)
		}
		if s.UpdateLogin {
			_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = now() WHERE id = $1`, s.UserID)
			return err
		}
		return nil
	})
	return id, err
}

// Rotation is the outcome of presenting a refresh token.
type Rotation struct {
	SessionID string
	UserID    string
	// Reused is true when the token had already been used; the session is then revoked and the caller must
	// refuse the request.
	Reused bool
}

var errInvalidRefresh = apperr.Unauthorized("invalid_refresh_token", "the refresh token is invalid or expired; sign in again")

// RotateRefreshToken consumes the token with hash old and stores newHash in its place, valid for ttl. A
// token presented a second time revokes its session and reports Reused. Unknown, expired or revoked
// tokens, and tokens of inactive users, are an unauthorized error.
func (db *DB) RotateRefreshToken(ctx context.Context, old, newHash []byte, ttl time.Duration) (Rotation, error) {
	var r Rotation
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var used, expired, revoked, active bool
		err := tx.QueryRow(ctx, `SELECT s.id, s.user_id, rt.used_at IS NOT NULL,
				rt.expires_at <= now() OR s.expires_at <= now(), s.revoked_at IS NOT NULL, u.is_active
			FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id
			WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`, old).Scan(&r.SessionID, &r.UserID, &used, &expired, &revoked, &active)
		if errors.Is(err, pgx.ErrNoRows) {
			return errInvalidRefresh
		}
		if err != nil {
			return fmt.Errorf("reading refresh token: %w", err)
		}
		if used {
			r.Reused = true
			_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = 'refresh_reuse'
				WHERE id = $1 AND revoked_at IS NULL`, r.SessionID)
			return err
		}
		if expired || revoked || !active {
			return errInvalidRefresh
		}
		secs := ttl.Seconds()
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, old); err != nil {
			return fmt.Errorf("consuming refresh token: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
			VALUES ($1, $2, now() + make_interval(secs => $3))`, newHash, r.SessionID, secs); err != nil {
			return fmt.Errorf("storing refresh token: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET last_used_at = now(), expires_at = now() + make_interval(secs => $2)
			WHERE id = $1`, r.SessionID, secs)
		return err
	})
	if err != nil {
		return Rotation{}, err
	}
	return r, nil
}

// RevokeSessionByToken revokes the session a refresh token belongs to and returns its id and user ("" when
// the token is unknown).
func (db *DB) RevokeSessionByToken(ctx context.Context, hash []byte, reason string) (sessionID, userID string, err error) {
	err = db.pool.QueryRow(ctx, `UPDATE sessions s SET revoked_at = COALESCE(s.revoked_at, now()),
			revoke_reason = CASE WHEN s.revoked_at IS NULL THEN $2 ELSE s.revoke_reason END
		FROM refresh_tokens rt WHERE rt.token_hash = $1 AND s.id = rt.session_id RETURNING s.id, s.user_id`,
		hash, reason).Scan(&sessionID, &userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("revoking session: %w", err)
	}
	return sessionID, userID, nil
}

// AuthState returns what the holder of an access token for user and session may do now.
func (db *DB) AuthState(ctx context.Context, userID, sessionID string) (*model.AuthState, error) {
	var st model.AuthState
	err := db.pool.QueryRow(ctx, `SELECT u.username, u.role, u.is_active, s.revoked_at IS NOT NULL, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.user_id = $2`, sessionID, userID).
		Scan(&st.Username, &st.Role, &st.UserActive, &st.SessionRevoked, &st.SessionExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	return &st, nil
}

// DeleteExpired removes sessions (and their tokens) that ended more than grace ago, and stale throttle
// rows. It keeps the tables small; nothing depends on it for correctness.
func (db *DB) DeleteExpired(ctx context.Context, grace time.Duration) (int64, error) {
	secs := grace.Seconds()
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now() - make_interval(secs => $1)
		OR revoked_at < now() - make_interval(secs => $1)`, secs)
	if err != nil {
		return 0, fmt.Errorf("deleting expired sessions: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_throttle WHERE window_start < now() - make_interval(secs => $1)
		AND (locked_until IS NULL OR locked_until < now())`, secs); err != nil {
		return 0, fmt.Errorf("deleting stale login throttles: %w", err)
	}
	return tag.RowsAffected(), nil
}
