package metering_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// countingStore counts the reservations that reach the database.
type countingStore struct {
	*store.DB
	reserves atomic.Int64
}

func (c *countingStore) Reserve(ctx context.Context, b store.ReserveBatch) ([]store.ReserveResult, store.Lease, error) {
	c.reserves.Add(1)
	return c.DB.Reserve(ctx, b)
}

// countedMeter opens a meter whose reservations are counted.
func (f *fixture) countedMeter(o metering.Options) (*metering.Meter, *countingStore) {
	f.t.Helper()
	st := &countingStore{DB: f.openPool()}
	m, err := metering.New(context.Background(), st, f.cfg.Load, o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			f.t.Error(err)
		}
	})
	return m, st
}

// TestLeasesDecideMostCallsInTheProcess: far from the limits, a reservation leases budget for the next calls,
// which are then decided without the database; the books balance, and an idle lease is given back.
func TestLeasesDecideMostCallsInTheProcess(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: big, subjects: {allUsers: true}, limits: {requestsPerMinute: 1000000, tokensPerDay: 100000000, costPerMonth: "1000"}}
`)
	m, st := f.countedMeter(metering.Options{LeaseCalls: 10, LeaseIdle: 200 * time.Millisecond, Now: midMinute()})
	for i := range 100 {
		res, err := m.Reserve(context.Background(), request(50, 100))
		if err != nil {
			t.Fatal(err)
		}
		if g := res.Grant().MaxOutputTokens; g != 100 {
			t.Fatalf("call %d granted %d output tokens, want 100", i, g)
		}
		lim := res.Grant().Limits
		if len(lim) != 3 || lim[0].Limit != metering.LimitRequestsPerMinute || lim[0].Used != int64(i+1) {
			t.Fatalf("call %d: limits %+v, want %d requests used", i, lim, i+1)
		}
		if err := res.Settle(context.Background(), usage(50, 60)); err != nil {
			t.Fatal(err)
		}
	}
	// One reservation in the database leases ten more calls: 100 calls take 10 round trips (one per 11).
	if n := st.reserves.Load(); n > 10 {
		t.Errorf("%d reservations reached the database for 100 calls, want at most 10", n)
	}
	flush(t, m)
	if n := f.scalar(`SELECT tokens FROM quota_counters WHERE window_kind = 'day'`); n != 100*110 {
		t.Errorf("day counter %d tokens, want %d", n, 100*110)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.scalar(`SELECT coalesce(sum(tokens), 0) + coalesce(sum(cost_micros), 0) FROM quota_holds`) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the idle lease was not given back: holds %d tokens", f.scalar(`SELECT sum(tokens) FROM quota_holds`))
		}
		time.Sleep(50 * time.Millisecond)
		flush(t, m)
	}
}

// TestLeasesNeverOversell: two processes and fifty concurrent callers drain a budget for exactly 200 calls
// that starts far from its limit (so leases are taken) and ends at it (so they are not). No call is granted
// beyond the budget; callers refused while the other process still held part of the budget get it once the
// idle leases are given back, so exactly 200 calls are granted in all.
func TestLeasesNeverOversell(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 6000}}
`)
	opts := metering.Options{LeaseCalls: 16, LeaseIdle: 200 * time.Millisecond}
	m1, st1 := f.countedMeter(opts)
	m2, st2 := f.countedMeter(opts)
	var granted atomic.Int64
	drain := func(m *metering.Meter) {
		for {
			res, err := m.Reserve(context.Background(), request(10, 20))
			var qe *metering.QuotaError
			if errors.As(err, &qe) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			granted.Add(1)
			if err := res.Settle(context.Background(), usage(10, 20)); err != nil {
				t.Error(err)
			}
		}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		m := m1
		if i%2 == 1 {
			m = m2
		}
		wg.Go(func() { drain(m) })
	}
	wg.Wait()
	burst := granted.Load()
	// The leases left over lie idle and are given back; then the rest of the budget can be used.
	time.Sleep(600 * time.Millisecond)
	flush(t, m1, m2)
	drain(m1)
	drain(m2)
	flush(t, m1, m2)
	t.Logf("%d calls granted in the burst, %d after; %d and %d reservations in the database", burst, granted.Load()-burst,
		st1.reserves.Load(), st2.reserves.Load())
	if g := granted.Load(); g != 200 {
		t.Errorf("%d calls granted in all, want exactly 200 (6000 tokens of 30 each)", g)
	}
	if n := f.scalar(`SELECT tokens FROM quota_counters WHERE window_kind = 'day'`); n != 6000 {
		t.Errorf("day counter %d tokens, want 6000", n)
	}
	if st1.reserves.Load()+st2.reserves.Load() >= 200 {
		t.Error("every call reached the database: no lease was taken")
	}
}

// TestLoweredQuotaTakesBackTheLeases: leases taken under a large quota go back when the quota is lowered, so
// the new budget applies at once — on the meter that held them, at its next call, and from another meter
// within a fraction of a second even when the holder stays idle — instead of the old leases counting against
// it until they lie idle (a minute here).
func TestLoweredQuotaTakesBackTheLeases(t *testing.T) {
	f := newFixture(t, `quotas:
- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: 1000000}}
`)
	opts := metering.Options{LeaseCalls: 16, LeaseIdle: time.Minute}
	m1, _ := f.countedMeter(opts)
	m2, _ := f.countedMeter(opts)
	lower := func(tokensPerDay int64) {
		f.cfg.Store(platform(t, fmt.Sprintf("quotas:\n- {name: daily, subjects: {allUsers: true}, limits: {tokensPerDay: %d}}\n", tokensPerDay)))
	}
	call := func(m *metering.Meter) error {
		res, err := m.Reserve(context.Background(), request(10, 20))
		if err != nil {
			return err
		}
		return res.Settle(context.Background(), usage(10, 20))
	}
	held := func() int64 {
		flush(t, m1, m2)
		return f.scalar(`SELECT coalesce(sum(tokens), 0) FROM quota_holds`)
	}

	// The holder stays idle: its lease goes back by itself, and the other meter gets the new budget.
	if err := call(m2); err != nil {
		t.Fatal(err)
	}
	if h := held(); h < 16*30 {
		t.Fatalf("%d tokens held after a call, want a lease (≥ %d)", h, 16*30)
	}
	lower(30 + 3*30)
	deadline := time.Now().Add(5 * time.Second)
	for h := held(); h != 0; h = held() {
		if time.Now().After(deadline) {
			t.Fatalf("%d tokens still held 5 s after the quota was lowered", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := call(m1); err != nil {
		t.Fatalf("a call on the other meter under the lowered quota: %v", err)
	}

	// The holder's own next call gives its lease back before it is decided.
	lower(1000000)
	if err := call(m1); err != nil {
		t.Fatal(err)
	}
	if h := held(); h < 16*30 {
		t.Fatalf("%d tokens held, want m1's lease (≥ %d)", h, 16*30)
	}
	lower(3*30 + 3*30)
	granted := 0
	for range 5 {
		if call(m1) == nil {
			granted++
		}
	}
	if granted != 3 {
		t.Errorf("%d calls granted under the lowered quota, want 3 (the old lease no longer counts)", granted)
	}
}
