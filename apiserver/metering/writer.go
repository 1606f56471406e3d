package metering

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/store"
)

// entry is one usage record waiting to be written, with what the write derives from it, and the hold it
// releases. Either may be nil.
type entry struct {
	rec      *store.UsageRecord
	release  *store.HoldDelta
	win      Windows
	refusals []Refusal
	shadow   []Refusal
	// counted is true when the usage counts against token and cost limits (platform keys, not refused).
	counted bool
}

// enqueue hands an entry to the writer; it blocks while the queue is full. After Close, the entry is written
// at once instead.
func (m *Meter) enqueue(ctx context.Context, e entry) error {
	m.countSettled(e)
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return m.store.WriteUsage(context.WithoutCancel(ctx), m.aggregate([]entry{e}))
	}
	defer m.mu.RUnlock()
	select {
	case m.queue <- e:
		m.metrics.queued.Inc()
		if len(m.queue)+1 >= m.opts.MaxBatch {
			m.kickWriter()
		}
		return nil
	default:
	}
	m.kickWriter()
	m.warnFull()
	m.queue <- e
	m.metrics.queued.Inc()
	return nil
}

// kickWriter tells the writer that a batch is full, without waiting.
func (m *Meter) kickWriter() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// warnFull logs that the queue is full, at most once every 10 seconds.
func (m *Meter) warnFull() {
	now := time.Now().UnixNano()
	last := m.fullWarned.Load()
	if now-last >= int64(10*time.Second) && m.fullWarned.CompareAndSwap(last, now) {
		m.log.Warn("Usage queue full: requests wait for the database to take their usage records", "queued", len(m.queue))
	}
}

// writeLoop writes queued entries in batches: a batch is written FlushInterval after its first entry, when it
// is full, on Flush, and at Close. While a batch fills, the loop does not wake for each entry (a goroutine
// wake-up per request costs more than the rest of a settlement): enqueue kicks it when a batch is full.
func (m *Meter) writeLoop(ctx context.Context) {
	defer close(m.writerDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []entry
	for {
		if len(batch) == 0 {
			select {
			case e, ok := <-m.queue:
				if !ok {
					return
				}
				m.metrics.queued.Dec()
				batch = append(batch, e)
				timer.Reset(m.opts.FlushInterval)
			case ack := <-m.flushes:
				m.write(ctx, m.drain(nil))
				close(ack)
				continue
			}
		}
		var ack chan struct{}
		all := true
		select {
		case <-timer.C:
		case <-m.kick:
			all = false
		case ack = <-m.flushes:
		case <-m.closing:
		}
		batch = m.drain(batch)
		// Kicked: write the full batches and keep filling the rest, whose time runs from the first entry.
		n := len(batch)
		if !all {
			n -= n % m.opts.MaxBatch
		}
		m.write(ctx, batch[:n])
		batch = append([]entry(nil), batch[n:]...)
		if len(batch) == 0 {
			timer.Stop()
		}
		if ack != nil {
			close(ack)
		}
	}
}

// drain moves what is queued now into batch.
func (m *Meter) drain(batch []entry) []entry {
	for {
		select {
		case e, ok := <-m.queue:
			if !ok {
				return batch
			}
			m.metrics.queued.Dec()
			batch = append(batch, e)
		default:
			return batch
		}
	}
}

// write writes entries in batches of at most MaxBatch, retrying each until it succeeds: records are never
// dropped while the meter runs (the queue fills and Settle waits instead). After Close they are retried until
// Close's deadline, then logged as lost.
func (m *Meter) write(ctx context.Context, entries []entry) {
	for len(entries) > 0 {
		n := min(len(entries), m.opts.MaxBatch)
		m.writeBatch(ctx, entries[:n])
		entries = entries[n:]
	}
}

func (m *Meter) writeBatch(ctx context.Context, entries []entry) {
	b := m.aggregate(entries)
	delay := 50 * time.Millisecond
	for {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if by := m.closeBy.Load(); by != nil {
			wctx, cancel = context.WithDeadline(ctx, *by)
		}
		began := time.Now()
		err := m.store.WriteUsage(wctx, b)
		cancel()
		if err == nil {
			m.metrics.writeSeconds.Observe(time.Since(began).Seconds())
			m.metrics.written.Add(float64(len(entries)))
			return
		}
		m.metrics.writeErrors.Inc()
		if store.IsRetryable(err) {
			continue
		}
		if by := m.closeBy.Load(); by != nil && time.Now().Add(delay).After(*by) {
			m.log.Error("Usage records lost: the database did not take them before shutdown", "records", len(entries), "error", err)
			return
		}
		m.log.Warn("Writing usage records failed; retrying", "records", len(entries), "error", err, "retry_in", delay.String())
		time.Sleep(delay)
		delay = min(delay*2, 5*time.Second)
	}
}

// aggregate turns entries into one batch: the records, and their sums per rollup row, refusal row and
// counter row, each sorted by key so that concurrent writers lock rows in the same order.
func (m *Meter) aggregate(entries []entry) store.UsageBatch {
	b := store.UsageBatch{Records: make([]store.UsageRecord, 0, len(entries)), InstanceID: m.instance}
	holds := map[holdKey]*store.HoldDelta{}
	daily := map[dailyKey]*store.DailyDelta{}
	refusals := map[refusalKey]*store.RefusalDelta{}
	counters := map[counterKey]*store.CounterDelta{}
	tokens := map[string]time.Time{}
	for _, e := range entries {
		if e.release != nil {
			addHold(holds, *e.release)
		}
		if e.rec == nil {
			continue
		}
		r := *e.rec
		b.Records = append(b.Records, r)
		addDaily(daily, r)
		for _, ref := range e.refusals {
			addRefusal(refusals, r, ref, false)
		}
		for _, ref := range e.shadow {
			addRefusal(refusals, r, ref, true)
		}
		if e.counted {
			n := r.PromptTokens + r.Completion
			addCounter(counters, counterKey{r.UserID, "day", e.win.Day.UnixNano()}, e.win.Day, n, r.CostMicros)
			addCounter(counters, counterKey{r.UserID, "month", e.win.Month.UnixNano()}, e.win.Month, n, r.CostMicros)
		}
		if r.TokenID != nil && r.StartedAt.After(tokens[*r.TokenID]) {
			tokens[*r.TokenID] = r.StartedAt
		}
	}
	for _, d := range daily {
		b.Daily = append(b.Daily, *d)
	}
	slices.SortFunc(b.Daily, func(x, y store.DailyDelta) int {
		return cmp.Or(x.Day.Compare(y.Day), cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Model, y.Model))
	})
	for _, r := range refusals {
		b.Refusals = append(b.Refusals, *r)
	}
	slices.SortFunc(b.Refusals, func(x, y store.RefusalDelta) int {
		return cmp.Or(x.Day.Compare(y.Day), cmp.Compare(x.Quota, y.Quota), cmp.Compare(x.Limit, y.Limit),
			cmpBool(x.Shadow, y.Shadow), cmp.Compare(x.UserID, y.UserID))
	})
	for _, c := range counters {
		if c.Tokens != 0 || c.CostMicros != 0 {
			b.Counters = append(b.Counters, *c)
		}
	}
	slices.SortFunc(b.Counters, func(x, y store.CounterDelta) int {
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Kind, y.Kind), x.Start.Compare(y.Start))
	})
	for _, h := range holds {
		b.Holds = append(b.Holds, *h)
	}
	slices.SortFunc(b.Holds, func(x, y store.HoldDelta) int {
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), x.Day.Compare(y.Day), x.Month.Compare(y.Month))
	})
	for id, at := range tokens {
		b.Tokens = append(b.Tokens, store.TokenUse{TokenID: id, At: at})
	}
	slices.SortFunc(b.Tokens, func(x, y store.TokenUse) int { return cmp.Compare(x.TokenID, y.TokenID) })
	return b
}

type dailyKey struct {
	day                   int64
	user, provider, model string
}

type refusalKey struct {
	day                int64
	quota, limit, user string
	shadow             bool
}

type holdKey struct {
	user       string
	day, month int64
}

type counterKey struct {
	user, kind string
	start      int64
}

func addDaily(m map[dailyKey]*store.DailyDelta, r store.UsageRecord) {
	k := dailyKey{r.Day.Unix(), r.UserID, r.Provider, r.Model}
	d := m[k]
	if d == nil {
		d = &store.DailyDelta{Day: r.Day, UserID: r.UserID, Provider: r.Provider, Model: r.Model}
		m[k] = d
	}
	d.Requests++
	switch r.Outcome {
	case OutcomeRefused:
		d.Refused++
	case OutcomeUpstreamError, OutcomeError:
		d.Failed++
	}
	if r.Estimated {
		d.Estimated++
	}
	d.Prompt += r.PromptTokens
	d.Cached += r.CachedTokens
	d.Completion += r.Completion
	d.Reasoning += r.Reasoning
	d.CostMicros += r.CostMicros
}

func addRefusal(m map[refusalKey]*store.RefusalDelta, r store.UsageRecord, ref Refusal, shadow bool) {
	k := refusalKey{r.Day.Unix(), ref.Quota, ref.Limit, r.UserID, shadow}
	d := m[k]
	if d == nil {
		d = &store.RefusalDelta{Day: r.Day, Quota: ref.Quota, Limit: ref.Limit, Shadow: shadow, UserID: r.UserID}
		m[k] = d
	}
	d.Refusals++
}

// addHold adds a release to the one delta of its hold row. Requests count only in their minute, so the
// requests of the latest minute are kept (those of an earlier one count no more).
func addHold(m map[holdKey]*store.HoldDelta, h store.HoldDelta) {
	k := holdKey{h.UserID, h.Day.UnixNano(), h.Month.UnixNano()}
	d := m[k]
	if d == nil {
		d = &store.HoldDelta{UserID: h.UserID, Day: h.Day, Month: h.Month}
		m[k] = d
	}
	d.Tokens += h.Tokens
	d.CostMicros += h.CostMicros
	if h.Requests > 0 {
		switch {
		case h.Minute.After(d.Minute):
			d.Minute, d.Requests = h.Minute, h.Requests
		case h.Minute.Equal(d.Minute):
			d.Requests += h.Requests
		}
	}
}

func addCounter(m map[counterKey]*store.CounterDelta, k counterKey, start time.Time, tokens, cost int64) {
	d := m[k]
	if d == nil {
		d = &store.CounterDelta{UserID: k.user, Kind: k.kind, Start: start}
		m[k] = d
	}
	d.Tokens += tokens
	d.CostMicros += cost
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Flush waits until every usage record settled before the call is written.
func (m *Meter) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case m.flushes <- ack:
	case <-m.writerDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the background jobs and writes every queued record, retrying until ctx ends. Calls settled
// after Close are written one by one. The lease is left to expire: calls still in flight stay held until
// then. Close returns an error when records could not all be written
// in time.
func (m *Meter) Close(ctx context.Context) error {
	m.stopBG()
	m.bgDone.Wait()
	// Give the leases back with the last writes (a reservation after this point leases nothing).
	m.noLeases.Store(true)
	m.releaseLeases(context.WithoutCancel(ctx), func(*lease) bool { return false })
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		m.closeBy.Store(&dl)
	} else {
		dl := time.Now().Add(30 * time.Second)
		m.closeBy.Store(&dl)
	}
	m.closed = true
	close(m.queue)
	close(m.closing)
	m.mu.Unlock()
	select {
	case <-m.writerDone:
		return nil
	case <-ctx.Done():
		return errors.New("metering: usage records still being written at shutdown")
	}
}
