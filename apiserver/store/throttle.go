package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LockedUntil returns the latest lock time in the future among keys, or the zero time.
func (db *DB) LockedUntil(ctx context.Context, keys []string) (time.Time, error) {
	var t *time.Time
	err := db.pool.QueryRow(ctx, `SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > now()`,
		keys).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading login throttle: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

// RecordFailure counts a failed login for key within a window; at max failures the key is locked for lock
// and its count starts again. It returns the lock time when this failure locked the key.
func (db *DB) RecordFailure(ctx context.Context, key string, window time.Duration, max int, lock time.Duration) (time.Time, error) {
	var locked *time.Time
	err := db.pool.QueryRow(ctx, `INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN 1 ELSE t.failures + 1 END,
			window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN now() ELSE t.window_start END
		RETURNING CASE WHEN failures >= $3 THEN now() + make_interval(secs => $4) END`,
		key, window.Seconds(), max, lock.Seconds()).Scan(&locked)
	if err != nil {
		return time.Time{}, fmt.Errorf("recording login failure: %w", err)
	}
	if locked == nil {
		return time.Time{}, nil
	}
	_, err = db.pool.Exec(ctx, `UPDATE login_throttle SET locked_until = $2, failures = 0, window_start = now() WHERE key = $1`, key, *locked)
	if err != nil {
		return time.Time{}, fmt.Errorf("locking login: %w", err)
	}
	return *locked, nil
}

// ClearFailures forgets the failures of key (after a successful login).
func (db *DB) ClearFailures(ctx context.Context, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1 AND (locked_until IS NULL OR locked_until < now())`, key)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("clearing login failures: %w", err)
	}
	return nil
}
