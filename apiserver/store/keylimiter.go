package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// KeyLimiter counts the requests sent with each provider key per minute in PostgreSQL, so that a key's
// requestsPerMinute holds across every API server replica. It implements provider.Limiter.
type KeyLimiter struct {
	db *DB
}

// KeyLimiter returns the database's key limiter.
func (db *DB) KeyLimiter() *KeyLimiter { return &KeyLimiter{db: db} }

// Take admits one request with keyID if fewer than limit were admitted in now's minute (UTC), in one round
// trip: an upsert on the key's row that starts a new count when a new minute began and counts only while
// under the limit. A replica whose clock lags (now before the row's minute) counts against the newer minute.
func (l *KeyLimiter) Take(ctx context.Context, keyID string, limit int, now time.Time) (bool, time.Duration, error) {
	minute := now.UTC().Truncate(time.Minute)
	var n int
	err := l.db.pool.QueryRow(ctx, `INSERT INTO provider_key_minutes AS w (key_id, minute, requests) VALUES ($1, $2, 1)
		ON CONFLICT (key_id) DO UPDATE SET
			minute = GREATEST(w.minute, EXCLUDED.minute),
			requests = CASE WHEN EXCLUDED.minute > w.minute THEN 1 ELSE w.requests + 1 END
		WHERE EXCLUDED.minute > w.minute OR w.requests < $3
		RETURNING requests`, keyID, minute, limit).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, minute.Add(time.Minute).Sub(now), nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("counting requests of key %s: %w", keyID, err)
	}
	return true, 0, nil
}
