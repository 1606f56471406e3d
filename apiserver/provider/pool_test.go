package provider_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// clock is a settable time source for pools.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// use leases a key and finishes the request with err, returning the key's ID.
func use(t *testing.T, p *provider.Pool, err error) string {
	t.Helper()
	l, aerr := p.Acquire(context.Background(), nil)
	if aerr != nil {
		t.Fatalf("Acquire: %v", aerr)
	}
	l.Done(err)
	return l.ID()
}

func state(p *provider.Pool, id string) provider.KeyHealth {
	for _, h := range p.Health() {
		if h.ID == id {
			return h
		}
	}
	return provider.KeyHealth{}
}

func TestPoolPicksByWeight(t *testing.T) {
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa", Weight: 3}, {ID: "b", Secret: "sb", Weight: 1}}, provider.PoolOptions{})
	counts := map[string]int{}
	for range 40 {
		counts[use(t, p, nil)]++
	}
	if counts["a"] != 30 || counts["b"] != 10 {
		t.Errorf("picks = %v, want 30 a and 10 b", counts)
	}
}

func TestPoolRejectedKeyIsProbedAndHeals(t *testing.T) {
	clk := newClock()
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa"}, {ID: "b", Secret: "sb"}},
		provider.PoolOptions{Now: clk.Now, BadBackoff: 30 * time.Second, MaxBadBackoff: 2 * time.Minute})
	unauthorized := &provider.Error{Kind: provider.ErrUnauthorized, Status: 401}

	if id := use(t, p, unauthorized); id != "a" {
		t.Fatalf("first pick = %s", id)
	}
	if h := state(p, "a"); h.State != provider.KeyBad || !h.Until.Equal(clk.Now().Add(30*time.Second)) || h.LastStatus != 401 {
		t.Fatalf("after a 401: %+v", h)
	}
	for range 5 {
		if id := use(t, p, nil); id != "b" {
			t.Fatalf("a rejected key was picked before its back-off ended")
		}
	}

	// The back-off ends: the next request probes a; it fails again, and the back-off doubles.
	clk.Advance(30 * time.Second)
	if id := use(t, p, unauthorized); id != "a" {
		t.Fatalf("the due probe went to %s", id)
	}
	if h := state(p, "a"); h.State != provider.KeyBad || !h.Until.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("after a failed probe: %+v", h)
	}
	clk.Advance(time.Minute)
	use(t, p, unauthorized)
	clk.Advance(2 * time.Minute)
	use(t, p, unauthorized)
	if h := state(p, "a"); !h.Until.Equal(clk.Now().Add(2 * time.Minute)) {
		t.Fatalf("the back-off grew past its maximum: %+v", h)
	}

	// While a probe is in flight, the key is not handed out again.
	clk.Advance(2 * time.Minute)
	probe, err := p.Acquire(context.Background(), nil)
	if err != nil || probe.ID() != "a" || state(p, "a").State != provider.KeyProbing {
		t.Fatalf("probe lease = %v, %v", probe, err)
	}
	if id := use(t, p, nil); id != "b" {
		t.Fatalf("a probing key was leased twice")
	}
	probe.Done(nil) // the key works again (rotated upstream, credit added...)
	if h := state(p, "a"); h.State != provider.KeyHealthy || !h.Until.IsZero() {
		t.Fatalf("after a successful probe: %+v", h)
	}
	counts := map[string]int{}
	for range 4 {
		counts[use(t, p, nil)]++
	}
	if counts["a"] != 2 || counts["b"] != 2 {
		t.Errorf("picks after healing = %v, want both keys again", counts)
	}
}

func TestPoolRateLimitCoolsDown(t *testing.T) {
	clk := newClock()
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa"}}, provider.PoolOptions{Now: clk.Now, RateLimitCooldown: 10 * time.Second})
	use(t, p, &provider.Error{Kind: provider.ErrRateLimited, Status: 429, RetryAfter: 20 * time.Second})
	_, err := p.Acquire(context.Background(), nil)
	var perr *provider.Error
	if !errors.As(err, &perr) || !errors.Is(perr.Kind, provider.ErrRateLimited) || perr.RetryAfter != 20*time.Second {
		t.Fatalf("Acquire while cooling = %v, want rate limited for 20s", err)
	}
	clk.Advance(20 * time.Second)
	use(t, p, &provider.Error{Kind: provider.ErrRateLimited, Status: 429}) // no Retry-After: the default
	if h := state(p, "a"); h.State != provider.KeyCooling || !h.Until.Equal(clk.Now().Add(10*time.Second)) {
		t.Fatalf("after a 429 without Retry-After: %+v", h)
	}
	clk.Advance(10 * time.Second)
	if h := state(p, "a"); h.State != provider.KeyHealthy {
		t.Errorf("after the cool-down: %+v", h)
	}
	use(t, p, nil)
}

func TestPoolRepeatedFailuresCoolDown(t *testing.T) {
	clk := newClock()
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa"}},
		provider.PoolOptions{Now: clk.Now, FailureThreshold: 2, FailureCooldown: time.Second, MaxFailureCooldown: 3 * time.Second})
	upstream := &provider.Error{Kind: provider.ErrUpstream, Status: 502}
	use(t, p, upstream)
	if h := state(p, "a"); h.State != provider.KeyHealthy || h.ConsecutiveFailures != 1 {
		t.Fatalf("one failure cooled the key: %+v", h)
	}
	use(t, p, &provider.Error{Kind: provider.ErrTimeout, Phase: provider.PhaseFirstByte})
	if h := state(p, "a"); h.State != provider.KeyCooling || !h.Until.Equal(clk.Now().Add(time.Second)) {
		t.Fatalf("after two failures: %+v", h)
	}
	for _, want := range []time.Duration{2 * time.Second, 3 * time.Second, 3 * time.Second} {
		clk.Advance(time.Minute)
		use(t, p, upstream)
		if h := state(p, "a"); !h.Until.Equal(clk.Now().Add(want)) {
			t.Fatalf("cool-down = %v, want %v", h.Until.Sub(clk.Now()), want)
		}
	}
	clk.Advance(time.Minute)
	use(t, p, &provider.Error{Kind: provider.ErrBadRequest, Status: 400}) // the key works; the request did not
	if h := state(p, "a"); h.State != provider.KeyHealthy || h.ConsecutiveFailures != 0 {
		t.Errorf("after a client error: %+v", h)
	}
}

func TestPoolRequestsPerMinute(t *testing.T) {
	clk := newClock()
	limiter := provider.NewMemoryLimiter()
	keys := []provider.Key{{ID: "a", Secret: "sa", Weight: 100, RequestsPerMinute: 2}, {ID: "b", Secret: "sb", Weight: 1}}
	// Two pools on one limiter stand for two API server replicas.
	p1 := provider.NewPool(keys, provider.PoolOptions{Now: clk.Now, Limiter: limiter})
	p2 := provider.NewPool(keys, provider.PoolOptions{Now: clk.Now, Limiter: limiter})
	got := []string{use(t, p1, nil), use(t, p2, nil), use(t, p1, nil), use(t, p2, nil)}
	if strings.Join(got, "") != "aabb" {
		t.Fatalf("picks = %v, want a twice then b: a's 2 per minute hold across both pools", got)
	}
	if h := state(p1, "a"); h.State != provider.KeyCooling || !h.Until.Equal(time.Date(2026, 1, 1, 12, 1, 0, 0, time.UTC)) {
		t.Errorf("a at its limit: %+v, want cooling until the minute ends", h)
	}
	clk.Advance(30 * time.Second)
	if id := use(t, p1, nil); id != "a" {
		t.Errorf("in the next minute the pick was %s, want a again", id)
	}
}

func TestPoolNoKey(t *testing.T) {
	clk := newClock()
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa"}, {ID: "b", Secret: "sb"}}, provider.PoolOptions{Now: clk.Now})
	use(t, p, &provider.Error{Kind: provider.ErrUnauthorized})
	use(t, p, &provider.Error{Kind: provider.ErrRateLimited, RetryAfter: 5 * time.Second})
	_, err := p.Acquire(context.Background(), nil)
	var perr *provider.Error
	if !errors.As(err, &perr) || !errors.Is(perr.Kind, provider.ErrNoKey) || perr.RetryAfter != 5*time.Second {
		t.Errorf("Acquire = %v, want no key, retry after 5s", err)
	}
	if _, err := p.Acquire(context.Background(), []string{"a", "b"}); !errors.Is(err, provider.ErrNoKey) {
		t.Errorf("Acquire with every key tried = %v, want ErrNoKey", err)
	}
	if _, err := provider.NewPool(nil, provider.PoolOptions{}).Acquire(context.Background(), nil); !errors.Is(err, provider.ErrNoKey) {
		t.Errorf("Acquire on an empty pool = %v", err)
	}
}

func TestPoolSetKeysKeepsHealth(t *testing.T) {
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa"}, {ID: "b", Secret: "sb"}}, provider.PoolOptions{})
	use(t, p, &provider.Error{Kind: provider.ErrUnauthorized})
	use(t, p, &provider.Error{Kind: provider.ErrUnauthorized})
	// b is unchanged, a was rotated (new secret), c is new.
	p.SetKeys([]provider.Key{{ID: "a", Secret: "sa2"}, {ID: "b", Secret: "sb"}, {ID: "c", Secret: "sc", Weight: 2}})
	health := p.Health()
	states := []string{health[0].State, health[1].State, health[2].State}
	if strings.Join(states, ",") != "Healthy,Rejected,Healthy" || health[2].Weight != 2 {
		t.Errorf("states after reload = %v", states)
	}
	for _, h := range health {
		if strings.Contains(h.ID+h.LastError, "sa") || strings.Contains(h.ID+h.LastError, "sb") {
			t.Errorf("health %+v holds a secret", h)
		}
	}
}

func TestPoolConcurrentUse(t *testing.T) {
	p := provider.NewPool([]provider.Key{{ID: "a", Secret: "sa", RequestsPerMinute: 1000}, {ID: "b", Secret: "sb"}, {ID: "c", Secret: "sc"}},
		provider.PoolOptions{BadBackoff: time.Millisecond, RateLimitCooldown: time.Millisecond})
	outcomes := []error{nil, &provider.Error{Kind: provider.ErrUnauthorized}, &provider.Error{Kind: provider.ErrRateLimited},
		&provider.Error{Kind: provider.ErrUpstream}, &provider.Error{Kind: provider.ErrCanceled}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l, err := p.Acquire(context.Background(), nil)
				if err != nil {
					continue
				}
				_ = p.Health()
				l.Done(outcomes[(g+i)%len(outcomes)])
			}
		})
	}
	wg.Wait()
	for _, h := range p.Health() {
		if h.InFlight != 0 {
			t.Errorf("key %s has %d requests in flight after all finished", h.ID, h.InFlight)
		}
	}
}
