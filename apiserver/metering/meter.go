package metering

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// Store is what the meter needs from the database.
type Store interface {
	Reserve(ctx context.Context, b store.ReserveBatch) ([]store.ReserveResult, store.Lease, error)
	RenewInstance(ctx context.Context, id string, lease time.Duration) error
	WriteUsage(ctx context.Context, b store.UsageBatch) error
	DeleteUsageBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	DeleteStaleQuotaState(ctx context.Context) error
}

// Options tune a Meter; zero values take the defaults.
type Options struct {
	// Lease is how long the meter's holds count without being renewed: the reservations of a process that
	// died stop counting this long after its last renewal. The lease is renewed every Lease/3. Default 60s.
	Lease time.Duration
	// MaxCallDuration bounds how long a reservation is held: a call still unsettled after it (a caller that
	// forgot to settle) has its hold released. Default 2h.
	MaxCallDuration time.Duration
	// MinGrant is the fewest output tokens worth granting: a request whose quotas leave room for fewer (and
	// that asked for more) is refused. Default 16.
	MinGrant int64
	// FlushInterval is the longest a usage record waits in the queue before its batch is written. Default 50ms.
	FlushInterval time.Duration
	// MaxBatch is the most records written in one statement. Default 1000.
	MaxBatch int
	// QueueSize bounds the records waiting to be written; Settle blocks (back-pressure) while it is full.
	// Default 10000.
	QueueSize int
	// RetentionInterval is how often raw records older than metering.rawRetention are deleted. Default 1h.
	RetentionInterval time.Duration
	// LeaseCalls is how many times a call's worst case the meter asks to lease with a reservation, to decide
	// the user's next calls by itself (see lease.go); twice as many as a batch's calls when more arrive at
	// once, up to 16 times LeaseCalls. The database grants less, or none, near a limit. Default 32; negative
	// leases nothing.
	LeaseCalls int
	// LeaseIdle is how long a lease may lie unused before it is given back. Default 1s.
	LeaseIdle time.Duration
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// Log receives the meter's warnings.
	Log *slog.Logger
	// Registerer receives the meter's metrics; nil registers none.
	Registerer prometheus.Registerer
}

func (o *Options) applyDefaults() {
	setDefault(&o.Lease, 60*time.Second)
	setDefault(&o.MaxCallDuration, 2*time.Hour)
	setDefault(&o.FlushInterval, 50*time.Millisecond)
	setDefault(&o.RetentionInterval, time.Hour)
	setDefault(&o.LeaseIdle, time.Second)
	if o.LeaseCalls == 0 {
		o.LeaseCalls = 32
	}
	if o.MinGrant <= 0 {
		o.MinGrant = 16
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Meter reserves, settles and records the usage of provider calls. It is safe for concurrent use; Close
// writes what is still queued.
type Meter struct {
	store   Store
	config  func() *config.Config
	opts    Options
	log     *slog.Logger
	metrics *meterMetrics
	pol     atomic.Pointer[policy]
	// instance names this meter's lease and holds in the database.
	instance string
	live     liveSet
	reserver *reserver
	leases   leasePool
	// leasePol is the policy the leases were taken under: when the configuration changes, they are given
	// back (adoptPolicy) before any call is decided under the new one. leaseMu serialises that.
	leasePol atomic.Pointer[policy]
	leaseMu  sync.Mutex
	// noLeases is set by Close: a lease taken after it would not be given back.
	noLeases atomic.Bool
	// inFlight counts the reservations not yet settled.
	inFlight atomic.Int64

	// mu guards closed: sends on queue happen under the read lock, so Close can close the queue safely.
	mu      sync.RWMutex
	closed  bool
	queue   chan entry
	flushes chan chan struct{}
	// kick wakes the writer when a batch is full; closing is closed by Close.
	kick    chan struct{}
	closing chan struct{}
	// closeBy is the deadline of the final writes, set by Close.
	closeBy    atomic.Pointer[time.Time]
	writerDone chan struct{}
	// fullWarned is when the queue was last reported full (Unix nanoseconds).
	fullWarned atomic.Int64
	stopBG     context.CancelFunc
	bgDone     sync.WaitGroup
}

// New starts a meter: it takes its lease in the database, then starts its usage writer, its lease renewer
// and its retention job. cfg returns the current configuration (quotas, prices, time zone, retention); it is
// read on every request, so a reloaded quota applies to the next request.
func New(ctx context.Context, st Store, cfg func() *config.Config, o Options) (*Meter, error) {
	o.applyDefaults()
	m := &Meter{store: st, config: cfg, opts: o, log: o.Log, instance: newUUID(),
		live: liveSet{calls: map[*reservation]struct{}{}}, queue: make(chan entry, o.QueueSize),
		flushes: make(chan chan struct{}), kick: make(chan struct{}, 1), closing: make(chan struct{}), writerDone: make(chan struct{})}
	m.metrics = newMeterMetrics(o.Registerer, func() float64 { return float64(m.InFlight()) })
	m.reserver = &reserver{store: st, instance: m.instance, leaseCalls: max(o.LeaseCalls, 0), queues: map[batchKey]*batchQueue{}}
	if err := st.RenewInstance(ctx, m.instance, o.Lease); err != nil {
		return nil, err
	}
	// The background work outlives the call that started it (ctx is the server's start-up).
	detached := context.WithoutCancel(ctx)
	bg, cancel := context.WithCancel(detached)
	m.stopBG = cancel
	go m.writeLoop(detached)
	m.bgDone.Add(3)
	go m.renewLoop(bg)
	go m.retentionLoop(bg)
	go m.leaseLoop(bg)
	return m, nil
}

// policy returns the current configuration compiled.
func (m *Meter) policy() *policy {
	cfg := m.config()
	if p := m.pol.Load(); p != nil && p.cfg == cfg {
		return p
	}
	p := newPolicy(cfg)
	m.pol.Store(p)
	return p
}

// Windows returns the quota windows that t falls in, in the platform's time zone.
func (m *Meter) Windows(t time.Time) Windows { return windowsAt(t, m.policy().loc) }

// Reserve checks a call against every quota that matches its caller and reserves its worst case against
// their counted limits, atomically, in one database round trip (none when no counted limit applies). A
// refusal is a *QuotaError and is recorded (outcome refused) before Reserve returns; Shadow quotas never
// refuse, their would-be refusals are recorded with the request's usage.
//
// Calls made with a user's own provider key (Request.UserKeyID) are recorded with their tokens at no cost to
// the platform; of the quotas, only requestsPerMinute applies to them (tokens, cost, output bounds and
// allowed models govern the platform's providers).
func (m *Meter) Reserve(ctx context.Context, req Request) (Reservation, error) {
	res, err := m.decide(ctx, req)
	if err != nil {
		return nil, err
	}
	m.inFlight.Add(1)
	return res, nil
}

// InFlight is the number of calls reserved in this process and not yet settled.
func (m *Meter) InFlight() int64 { return m.inFlight.Load() }

// decide is Reserve's decision.
func (m *Meter) decide(ctx context.Context, req Request) (Reservation, error) {
	start := m.opts.Now()
	pol := m.policy()
	m.adoptPolicy(ctx, pol)
	r := &reservation{m: m, req: req, start: start, win: windowsAt(start, pol.loc)}
	userKey := req.UserKeyID != ""
	info := pol.models[req.Provider+"/"+req.Model]
	if !userKey {
		r.prices = info.prices
	}
	want := req.MaxOutputTokens
	if info.maxOutput > 0 && (want <= 0 || want > info.maxOutput) {
		want = info.maxOutput
	}
	if want <= 0 {
		want = config.DefaultMaxOutputTokens
	}
	quotas := pol.matching(req.Caller)
	for _, q := range quotas {
		if userKey {
			continue
		}
		if !q.allows(req.Provider, req.Model) {
			r.refuse(q, Refusal{Quota: q.name, Limit: LimitAllowedModels})
		}
		if q.maxOut > 0 && !q.shadow {
			want = min(want, q.maxOut)
		}
	}
	if len(r.refusals) > 0 {
		return nil, r.refused(ctx)
	}
	checks := countedChecks(quotas, userKey)
	if len(checks) == 0 {
		r.grant = Grant{MaxOutputTokens: want}
		return r, nil
	}
	return r.reserve(ctx, pol, checks, want)
}

// check is one counted limit of one matching quota.
type check struct {
	q     *quota
	limit countedLimit
}

func countedChecks(quotas []*quota, userKey bool) []check {
	var out []check
	for _, q := range quotas {
		for _, l := range q.counted {
			if userKey && l.name != LimitRequestsPerMinute {
				continue
			}
			out = append(out, check{q: q, limit: l})
		}
	}
	return out
}

// reserve reserves the call against the checks: from the user's lease when it has room, else in the
// database (asking for a lease too, when the checks allow one).
func (r *reservation) reserve(ctx context.Context, pol *policy, checks []check, want int64) (Reservation, error) {
	m := r.m
	prompt := max(r.req.PromptTokens, 0)
	in := store.ReserveCall{Prompt: prompt, Want: want, Min: min(want, m.opts.MinGrant),
		PromptCost: costUp(prompt, r.prices.Input), OutputPrice: r.prices.Output}
	leasable := m.opts.LeaseCalls > 0 && r.req.UserKeyID == "" && !m.noLeases.Load()
	counted := false
	for _, c := range checks {
		in.Limits = append(in.Limits, c.limit.name)
		in.Maxes = append(in.Maxes, c.limit.max)
		in.Enforce = append(in.Enforce, !c.q.shadow)
		leasable = leasable && !c.q.shadow
		counted = counted || c.limit.name != LimitRequestsPerMinute
	}
	user := r.req.Caller.UserID
	var release store.Lease
	if leasable {
		var wc worstCase
		if counted {
			wc = worstCase{tokens: prompt + want, cost: in.PromptCost + costUp(want, in.OutputPrice)}
		}
		if used, ok := m.leases.take(user, r.win, pol, checks, wc, time.Now()); ok {
			return r.fromLease(checks, in, want, wc, used), nil
		}
		release = m.leases.takeAll(user, r.win)
	}
	began := time.Now()
	res, lease, err := m.reserver.reserve(ctx, user, r.win, in, release, leasable)
	m.metrics.reserveSeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		m.giveBack(ctx, user, r.win, release, err)
		return nil, r.failed(ctx, err)
	}
	if lease != (store.Lease{}) {
		m.keepLease(ctx, user, r.win, pol, checks, lease, res, in.Min)
	}
	for i, c := range checks {
		if res.Allow[i] < in.Min {
			r.refuse(c.q, c.refusal(res.Used[i], r.win))
		}
	}
	if res.Granted < in.Min {
		return nil, r.refused(ctx)
	}
	if res.HeldTokens > 0 || res.HeldCost > 0 {
		r.hold = &store.HoldDelta{UserID: r.req.Caller.UserID, Day: r.win.Day, Month: r.win.Month, Tokens: res.HeldTokens, CostMicros: res.HeldCost}
		m.live.add(r)
	}
	r.grant = Grant{MaxOutputTokens: res.Granted}
	r.limitStates(checks, in, res.Granted, func(i int) int64 { return res.Used[i] })
	return r, nil
}

// limitStates sets the grant's limits: where each enforced check stands with the call granted, from what was
// used before it (used(i) for check i).
func (r *reservation) limitStates(checks []check, in store.ReserveCall, granted int64, used func(i int) int64) {
	for i, c := range checks {
		if c.q.shadow {
			continue
		}
		u := used(i)
		switch c.limit.name {
		case LimitRequestsPerMinute:
			u++
		case LimitCostPerMonth:
			u += in.PromptCost + costUp(granted, in.OutputPrice)
		default:
			u += in.Prompt + granted
		}
		r.grant.Limits = append(r.grant.Limits, LimitState{Quota: c.q.name, Limit: c.limit.name, Max: c.limit.max,
			Used: u, Remaining: max(c.limit.max-u, 0), ResetAt: r.win.ResetOf(c.limit.name)})
	}
}

// keepLease puts a lease granted with the reservation res into the pool, with where the limits stand after
// the call. A lease that cannot be used (the call was refused, or the meter is closing) is given back.
func (m *Meter) keepLease(ctx context.Context, user string, w Windows, pol *policy, checks []check, lease store.Lease,
	res store.ReserveResult, minGrant int64) {
	if res.Granted < minGrant || m.noLeases.Load() {
		m.releaseLease(ctx, user, w, lease)
		return
	}
	var used [4]int64
	for i, c := range checks {
		used[kindOf(c.limit.name)] = res.Used[i]
	}
	used[0]++
	used[1] += res.HeldTokens
	used[2] += res.HeldTokens
	used[3] += res.HeldCost
	m.leases.add(user, w, pol, checks, lease, used, time.Now())
}

// fromLease grants a call decided from the user's lease: the output it asked for, its worst case held (taken
// from the lease) until it is settled.
func (r *reservation) fromLease(checks []check, in store.ReserveCall, want int64, wc worstCase, used [4]int64) Reservation {
	if wc.tokens > 0 || wc.cost > 0 {
		r.hold = &store.HoldDelta{UserID: r.req.Caller.UserID, Day: r.win.Day, Month: r.win.Month, Tokens: wc.tokens, CostMicros: wc.cost}
		r.m.live.add(r)
	}
	r.grant = Grant{MaxOutputTokens: want}
	r.limitStates(checks, in, want, func(i int) int64 { return used[kindOf(checks[i].limit.name)] })
	return r
}

// giveBack returns a lease that a failed reservation was to give back: through the usage writer when the
// database certainly did not take it. When that is unsure, the lease stays held (so nothing is granted twice)
// until this process's instance lease ends.
func (m *Meter) giveBack(ctx context.Context, user string, w Windows, l store.Lease, err error) {
	if l == (store.Lease{}) {
		return
	}
	if !store.NotApplied(err) {
		m.log.WarnContext(ctx, "A lease given back with a failed reservation may still be held until this process stops", "error", err)
		return
	}
	m.releaseLease(ctx, user, w, l)
}

// releaseLease gives a lease of the user in the windows w back through the usage writer.
func (m *Meter) releaseLease(ctx context.Context, user string, w Windows, l store.Lease) {
	h := store.HoldDelta{UserID: user, Day: w.Day, Month: w.Month, Tokens: l.Tokens, CostMicros: l.CostMicros, Minute: w.Minute, Requests: l.Requests}
	if err := m.enqueue(context.WithoutCancel(ctx), entry{release: &h}); err != nil {
		m.log.Error("Giving back a lease failed", "error", err)
	}
}

// adoptPolicy makes pol the policy that leases are taken under. When the configuration changed since the
// leases were taken, they are given back first, and written: a lowered quota then applies at once, here and
// in the other processes, instead of counting the old leases against it until they lie idle. Callers that
// arrive meanwhile wait for it.
func (m *Meter) adoptPolicy(ctx context.Context, pol *policy) {
	if old := m.leasePol.Load(); old != nil && old.cfg == pol.cfg {
		return
	}
	m.leaseMu.Lock()
	defer m.leaseMu.Unlock()
	old := m.leasePol.Load()
	if old != nil && old.cfg == pol.cfg {
		return
	}
	if old != nil && m.releaseLeases(ctx, func(*lease) bool { return false }) > 0 {
		if err := m.Flush(ctx); err != nil {
			m.log.WarnContext(ctx, "Writing the leases given back after a configuration change failed", "error", err)
		}
	}
	m.leasePol.Store(pol)
}

// releaseLeases gives back, through the usage writer, the leases that keep returns false for, and returns
// how many it queued.
func (m *Meter) releaseLeases(ctx context.Context, keep func(*lease) bool) int {
	released := m.leases.release(keep)
	for _, h := range released {
		if err := m.enqueue(ctx, entry{release: &h}); err != nil {
			m.log.Error("Giving back a lease failed", "error", err)
		}
	}
	return len(released)
}

// refusal describes the check's limit as exhausted at used.
func (c check) refusal(used int64, w Windows) Refusal {
	f := func(v int64) string { return fmt.Sprint(v) }
	if c.limit.name == LimitCostPerMonth {
		f = config.FormatUSD
	}
	return Refusal{Quota: c.q.name, Limit: c.limit.name, Used: f(used), Max: f(c.limit.max),
		Remaining: f(max(c.limit.max-used, 0)), ResetAt: w.ResetOf(c.limit.name)}
}

// reservation is a Reservation: a request's reserved worst case until it is settled.
type reservation struct {
	m      *Meter
	req    Request
	start  time.Time
	win    Windows
	prices llm.Pricing
	// hold is what the reservation added to the meter's holds (nil when no token or cost limit applied); it
	// is released with the usage record.
	hold     *store.HoldDelta
	grant    Grant
	refusals []Refusal
	shadow   []Refusal
	settled  atomic.Bool
}

// Grant is what the reservation allows.
func (r *reservation) Grant() Grant { return r.grant }

// errSettledTwice: a caller settled a reservation again.
var errSettledTwice = errors.New("metering: reservation already settled")

// Settle records the call's usage and releases the reservation.
func (r *reservation) Settle(ctx context.Context, s Settlement) error {
	if !r.settled.CompareAndSwap(false, true) {
		return errSettledTwice
	}
	r.m.inFlight.Add(-1)
	if s.Outcome == "" {
		s.Outcome = OutcomeOK
	}
	e := r.entry(s)
	// A hold that the guard against forgotten settlements already released is not released twice.
	if r.hold != nil && r.m.live.remove(r) {
		e.release = r.hold
	}
	return r.m.enqueue(ctx, e)
}

// refuse adds a refusal by q: an Enforce quota's refuses the request, a Shadow quota's is only recorded.
func (r *reservation) refuse(q *quota, ref Refusal) {
	if q.shadow {
		r.shadow = append(r.shadow, ref)
		return
	}
	r.refusals = append(r.refusals, ref)
}

// refused records the refusal and returns it as a *QuotaError. The refusal to show first is the one that
// lasts longest (a model not allowed, then the latest reset): retrying sooner cannot succeed.
func (r *reservation) refused(ctx context.Context) error {
	slices.SortStableFunc(r.refusals, func(a, b Refusal) int {
		if a.ResetAt.IsZero() != b.ResetAt.IsZero() {
			if a.ResetAt.IsZero() {
				return -1
			}
			return 1
		}
		return b.ResetAt.Compare(a.ResetAt)
	})
	r.settled.Store(true)
	for _, ref := range r.refusals {
		r.m.metrics.refusals.WithLabelValues(ref.Quota, ref.Limit, config.QuotaModeEnforce).Inc()
	}
	if err := r.m.enqueue(context.WithoutCancel(ctx), r.entry(Settlement{Outcome: OutcomeRefused, ErrorCode: refusalCode(r.refusals)})); err != nil {
		r.m.log.Error("Recording a quota refusal failed", "error", err)
	}
	return &QuotaError{Refusals: r.refusals}
}

func refusalCode(refusals []Refusal) string {
	if len(refusals) > 0 && refusals[0].Limit == LimitAllowedModels {
		return CodeModelNotAllowed
	}
	return CodeQuotaExceeded
}

// failed records a request whose reservation could not be made (the database is unreachable, or the client
// went away meanwhile) and returns the error to answer with.
func (r *reservation) failed(ctx context.Context, err error) error {
	r.settled.Store(true)
	outcome, code := OutcomeError, "quota_unavailable"
	if ctx.Err() != nil {
		outcome, code = OutcomeStopped, "client_gone"
	}
	if qerr := r.m.enqueue(context.WithoutCancel(ctx), r.entry(Settlement{Outcome: outcome, ErrorCode: code})); qerr != nil {
		r.m.log.Error("Recording a failed reservation failed", "error", qerr)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.m.log.ErrorContext(ctx, "Reserving quota failed", "error", err)
	return apperr.New(apperr.ErrUnavailable, "quota_unavailable", "the quota check is unavailable right now; try again")
}

// entry is the usage record of the request with settlement s.
func (r *reservation) entry(s Settlement) entry {
	u := s.Usage
	rec := store.UsageRecord{
		StartedAt: r.start, Day: r.win.Date, UserID: r.req.Caller.UserID, TokenID: optional(r.req.Caller.TokenID),
		Source: r.req.Source, Provider: r.req.Provider, Model: r.req.Model, KeyID: s.KeyID, UserKeyID: r.req.UserKeyID,
		PromptTokens: max(u.PromptTokens, 0), CachedTokens: max(u.CachedPromptTokens, 0),
		Completion: max(u.CompletionTokens, 0), Reasoning: max(u.ReasoningTokens, 0),
		CostMicros: r.prices.Cost(u),
		Outcome:    s.Outcome, ErrorCode: s.ErrorCode, Estimated: u.Estimated,
		ConversationID: optional(cmp.Or(s.ConversationID, r.req.ConversationID)), MessageID: optional(s.MessageID),
		Refusal: refusalJSON(r.refusals), Shadow: refusalJSON(r.shadow),
	}
	latency := s.Latency
	if latency <= 0 {
		latency = r.m.opts.Now().Sub(r.start)
	}
	rec.LatencyMS = latency.Milliseconds()
	if s.TimeToFirstToken > 0 {
		ttft := s.TimeToFirstToken.Milliseconds()
		rec.TTFTMS = &ttft
	}
	for _, ref := range r.shadow {
		r.m.metrics.refusals.WithLabelValues(ref.Quota, ref.Limit, config.QuotaModeShadow).Inc()
	}
	return entry{rec: &rec, win: r.win, refusals: r.refusals, shadow: r.shadow,
		counted: r.req.UserKeyID == "" && s.Outcome != OutcomeRefused}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func refusalJSON(refusals []Refusal) *string {
	if len(refusals) == 0 {
		return nil
	}
	b, err := json.Marshal(refusals)
	if err != nil {
		return nil
	}
	s := string(b)
	return &s
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// liveSet holds the reservations with a hold of the calls in flight in this process.
type liveSet struct {
	mu    sync.Mutex
	calls map[*reservation]struct{}
}

func (l *liveSet) add(r *reservation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[r] = struct{}{}
}

// remove takes r out and reports whether it was in.
func (l *liveSet) remove(r *reservation) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.calls[r]
	delete(l.calls, r)
	return ok
}

// overdue takes out the reservations of calls that started before cutoff.
func (l *liveSet) overdue(cutoff time.Time) []*reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*reservation
	for r := range l.calls {
		if r.start.Before(cutoff) {
			delete(l.calls, r)
			out = append(out, r)
		}
	}
	return out
}
