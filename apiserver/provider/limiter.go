package provider

import (
	"context"
	"sync"
	"time"
)

// Limiter counts the requests sent with each key, so that a key's requestsPerMinute holds across every API
// server replica. The API server implements it on PostgreSQL (one upsert per request on a row per key and
// minute); MemoryLimiter serves a single process and tests.
//
// The window is the calendar minute (UTC) containing now: at most limit requests are admitted per key and
// minute. Implementations must be safe for concurrent use.
type Limiter interface {
	// Take admits one request with keyID if fewer than limit were admitted in now's minute, and counts it.
	// When the limit is reached it returns false and the time until the minute ends. An error means the
	// count is unknown; the pool then lets the request through (the upstream's own 429 still protects it).
	Take(ctx context.Context, keyID string, limit int, now time.Time) (ok bool, wait time.Duration, err error)
}

// MemoryLimiter is a Limiter for one process.
type MemoryLimiter struct {
	mu      sync.Mutex
	windows map[string]minuteCount
}

type minuteCount struct {
	minute time.Time
	n      int
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{windows: map[string]minuteCount{}}
}

// Take implements Limiter.
func (m *MemoryLimiter) Take(_ context.Context, keyID string, limit int, now time.Time) (bool, time.Duration, error) {
	minute := now.UTC().Truncate(time.Minute)
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.windows[keyID]
	if !w.minute.Equal(minute) {
		w = minuteCount{minute: minute}
	}
	if w.n >= limit {
		return false, minute.Add(time.Minute).Sub(now), nil
	}
	w.n++
	m.windows[keyID] = w
	return true, 0, nil
}
