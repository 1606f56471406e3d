package provider

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Key is one API key of a provider's pool.
type Key struct {
	// ID identifies the key in usage records, metrics and the admin API without revealing it.
	ID string
	// Secret is the API key itself.
	Secret string
	// Weight is the key's share of the requests relative to the other keys; 0 counts as 1.
	Weight int
	// RequestsPerMinute caps the requests sent with the key across all replicas (through the Limiter); 0 is
	// no cap.
	RequestsPerMinute int
}

// Key states, in KeyHealth.State.
const (
	// KeyHealthy keys are picked by weight.
	KeyHealthy = "Healthy"
	// KeyCooling keys hit a rate limit (HTTP 429, or their requestsPerMinute) or failed repeatedly; they are
	// picked again when the cool-down ends.
	KeyCooling = "CoolingDown"
	// KeyBad keys were rejected (HTTP 401 or 403); when the back-off ends one request probes the key, and a
	// success makes it healthy again. The back-off doubles with each failed probe, up to MaxBadBackoff.
	KeyBad = "Rejected"
	// KeyProbing keys are rejected keys with their probe request in flight.
	KeyProbing = "Probing"
)

// PoolOptions tune a pool; zero values take the defaults.
type PoolOptions struct {
	// Limiter counts requests per key and minute; nil uses a MemoryLimiter (one process only).
	Limiter Limiter
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// BadBackoff is the first wait before a rejected key is probed (default 30s); it doubles with each failed
	// probe up to MaxBadBackoff (default 30m).
	BadBackoff, MaxBadBackoff time.Duration
	// RateLimitCooldown is the cool-down after an HTTP 429 that did not say how long to wait (default 10s).
	RateLimitCooldown time.Duration
	// FailureThreshold is how many server errors or timeouts in a row cool a key down (default 3), for
	// FailureCooldown (default 5s) doubling with each further failure up to MaxFailureCooldown (default 5m).
	FailureThreshold                    int
	FailureCooldown, MaxFailureCooldown time.Duration
}

func (o *PoolOptions) applyDefaults() {
	if o.Limiter == nil {
		o.Limiter = NewMemoryLimiter()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	setDefault(&o.BadBackoff, 30*time.Second)
	setDefault(&o.MaxBadBackoff, 30*time.Minute)
	setDefault(&o.RateLimitCooldown, 10*time.Second)
	setDefault(&o.FailureCooldown, 5*time.Second)
	setDefault(&o.MaxFailureCooldown, 5*time.Minute)
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = 3
	}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Pool picks a provider's keys by weight among the healthy ones and keeps their health: a rejected key is
// set aside and probed again after a back-off, a rate-limited key cools down for as long as the provider
// asks, a key that keeps failing cools down. Keys always come back by themselves; none is dropped for good.
// A Pool is safe for concurrent use.
type Pool struct {
	opts PoolOptions
	mu   sync.Mutex
	keys []*keyState
}

// keyState is a key and its health. Guarded by Pool.mu.
type keyState struct {
	Key
	state    string
	until    time.Time     // end of the cool-down, or when a rejected key may be probed
	backoff  time.Duration // the current back-off of a rejected key
	failures int           // server errors and timeouts in a row
	current  int           // smooth weighted round-robin credit
	inFlight int
	requests uint64
	failed   uint64
	lastErr  string
	lastCode int
	lastUsed time.Time
}

// NewPool returns a pool of keys.
func NewPool(keys []Key, opts PoolOptions) *Pool {
	opts.applyDefaults()
	p := &Pool{opts: opts}
	p.SetKeys(keys)
	return p
}

// SetKeys replaces the pool's keys, as after a configuration or Secret reload. A key whose ID and secret are
// unchanged keeps its health; a key whose secret changed (rotated) starts healthy.
func (p *Pool) SetKeys(keys []Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make([]*keyState, 0, len(keys))
	for _, k := range keys {
		if k.Weight <= 0 {
			k.Weight = 1
		}
		i := slices.IndexFunc(p.keys, func(s *keyState) bool { return s.ID == k.ID && s.Secret == k.Secret })
		if i >= 0 {
			s := p.keys[i]
			s.Key = k
			next = append(next, s)
			continue
		}
		next = append(next, &keyState{Key: k, state: KeyHealthy})
	}
	p.keys = next
}

// Len is the number of keys.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// Lease is one request's use of a key. Done must be called once with the request's outcome.
type Lease struct {
	pool  *Pool
	key   *keyState
	probe bool
}

// ID is the leased key's ID.
func (l *Lease) ID() string { return l.key.ID }

// Secret is the leased key itself.
func (l *Lease) Secret() string { return l.key.Secret }

// Acquire leases a key for one request, skipping the keys whose IDs are in tried (those a failing request
// already used). A rejected key that is due for a probe is leased before healthy ones, so that it gets its
// chance to come back. Keys at their requestsPerMinute are skipped. When no key is usable, the error is an
// *Error of kind ErrRateLimited (all keys cooling down) or ErrNoKey, with RetryAfter set to when the first
// key becomes usable again.
func (p *Pool) Acquire(ctx context.Context, tried []string) (*Lease, error) {
	for {
		lease, err := p.pick(tried)
		if err != nil {
			return nil, err
		}
		if lease.key.RequestsPerMinute <= 0 {
			return lease, nil
		}
		ok, wait, err := p.opts.Limiter.Take(ctx, lease.key.ID, lease.key.RequestsPerMinute, p.opts.Now())
		if err != nil || ok {
			return lease, nil //nolint:nilerr // an unknown count lets the request through; a 429 upstream still cools the key
		}
		p.release(lease, func(s *keyState, now time.Time) {
			s.requests-- // not sent after all
			if lease.probe {
				s.state, s.until = KeyBad, now.Add(wait) // still to be probed, once the minute is over
			} else {
				s.state, s.until = KeyCooling, now.Add(wait)
			}
		})
	}
}

// pick chooses a key under the lock: a rejected key due for its probe, else the healthy key with the most
// smooth weighted round-robin credit.
func (p *Pool) pick(tried []string) (*Lease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Now()
	var best *keyState
	total := 0
	for _, s := range p.keys {
		if slices.Contains(tried, s.ID) {
			continue
		}
		if s.state == KeyCooling && !now.Before(s.until) {
			s.state = KeyHealthy
		}
		if s.state == KeyBad && !now.Before(s.until) {
			s.state = KeyProbing
			s.inFlight++
			s.requests++
			s.lastUsed = now
			return &Lease{pool: p, key: s, probe: true}, nil
		}
		if s.state != KeyHealthy {
			continue
		}
		s.current += s.Weight
		total += s.Weight
		if best == nil || s.current > best.current {
			best = s
		}
	}
	if best == nil {
		return nil, p.unavailable(now, tried)
	}
	best.current -= total
	best.inFlight++
	best.requests++
	best.lastUsed = now
	return &Lease{pool: p, key: best}, nil
}

// unavailable builds the error for a pool without a usable key.
func (p *Pool) unavailable(now time.Time, tried []string) *Error {
	e := &Error{Kind: ErrRateLimited}
	var first time.Time
	for _, s := range p.keys {
		if slices.Contains(tried, s.ID) {
			continue
		}
		if s.state != KeyCooling {
			e.Kind = ErrNoKey
		}
		if !s.until.IsZero() && (first.IsZero() || s.until.Before(first)) {
			first = s.until
		}
	}
	if len(p.keys) == 0 || len(tried) > 0 {
		e.Kind = ErrNoKey
	}
	if !first.IsZero() {
		e.RetryAfter = max(first.Sub(now), time.Second).Round(time.Second)
	}
	return e
}

// Done records the outcome of the leased request: nil or a client-side error (bad request, cancellation)
// count as the key working; a rejection, rate limit or repeated failure sets the key aside.
func (l *Lease) Done(err error) {
	l.pool.release(l, func(s *keyState, now time.Time) { l.pool.record(s, now, l.probe, err) })
}

func (p *Pool) release(l *Lease, update func(*keyState, time.Time)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.key.inFlight--
	update(l.key, p.opts.Now())
}

// record applies a request's outcome to its key's health.
func (p *Pool) record(s *keyState, now time.Time, probe bool, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = nil
	}
	kind := error(nil)
	if e != nil {
		kind = e.Kind
	}
	switch kind {
	case ErrUnauthorized: //nolint:errorlint // an *Error's Kind is a sentinel kind itself, never wrapped
		s.backoff = p.nextBackoff(s.backoff, probe)
		s.state, s.until = KeyBad, now.Add(s.backoff)
		p.fail(s, e)
	case ErrRateLimited:
		wait := e.RetryAfter
		if wait <= 0 {
			wait = p.opts.RateLimitCooldown
		}
		s.state, s.until = KeyCooling, now.Add(wait)
		p.fail(s, e)
	case ErrUpstream, ErrTimeout, ErrUnavailable:
		s.failures++
		p.fail(s, e)
		if probe {
			s.state, s.until = KeyBad, now.Add(s.backoff) // the probe proved nothing: probe again later
		} else if s.failures >= p.opts.FailureThreshold {
			s.state, s.until = KeyCooling, now.Add(p.failureCooldown(s.failures))
		}
	case ErrCanceled:
		if probe {
			s.state, s.until = KeyBad, now // the probe proved nothing: the next request probes again
		}
	default: // success, or an error that is not the key's fault: the key works
		s.backoff, s.failures = 0, 0
		if s.state != KeyCooling { // a rate limit another request just hit still holds
			s.state, s.until = KeyHealthy, time.Time{}
		}
	}
}

func (p *Pool) fail(s *keyState, e *Error) {
	s.failed++
	s.lastErr = e.Kind.Error()
	s.lastCode = e.Status
}

// nextBackoff doubles a rejected key's back-off after a failed probe.
func (p *Pool) nextBackoff(cur time.Duration, probe bool) time.Duration {
	if !probe || cur == 0 {
		return p.opts.BadBackoff
	}
	return min(cur*2, p.opts.MaxBadBackoff)
}

func (p *Pool) failureCooldown(failures int) time.Duration {
	d := p.opts.FailureCooldown
	for i := p.opts.FailureThreshold; i < failures && d < p.opts.MaxFailureCooldown; i++ {
		d *= 2
	}
	return min(d, p.opts.MaxFailureCooldown)
}

// KeyHealth is a key's health, for metrics and the admin API. It never holds the key itself.
type KeyHealth struct {
	ID                string `json:"id"`
	State             string `json:"state"`
	Weight            int    `json:"weight"`
	RequestsPerMinute int    `json:"requestsPerMinute,omitempty"`
	// Until is when a cooling key is picked again, or when a rejected key is probed.
	Until time.Time `json:"until,omitzero"`
	// InFlight is the number of requests using the key now.
	InFlight int `json:"inFlight"`
	// Requests and Failures count since the process started.
	Requests uint64 `json:"requests"`
	Failures uint64 `json:"failures"`
	// ConsecutiveFailures counts server errors and timeouts in a row.
	ConsecutiveFailures int `json:"consecutiveFailures,omitempty"`
	// LastError and LastStatus describe the latest failure.
	LastError  string    `json:"lastError,omitempty"`
	LastStatus int       `json:"lastStatus,omitempty"`
	LastUsed   time.Time `json:"lastUsed,omitzero"`
}

// Health returns a snapshot of every key's health, in configuration order.
func (p *Pool) Health() []KeyHealth {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Now()
	out := make([]KeyHealth, 0, len(p.keys))
	for _, s := range p.keys {
		h := KeyHealth{
			ID: s.ID, State: s.state, Weight: s.Weight, RequestsPerMinute: s.RequestsPerMinute,
			InFlight: s.inFlight, Requests: s.requests, Failures: s.failed, ConsecutiveFailures: s.failures,
			LastError: s.lastErr, LastStatus: s.lastCode, LastUsed: s.lastUsed,
		}
		if s.state == KeyCooling && !now.Before(s.until) {
			h.State = KeyHealthy
		}
		if h.State != KeyHealthy {
			h.Until = s.until
		}
		out = append(out, h)
	}
	return out
}
