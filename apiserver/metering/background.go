package metering

import (
	"context"
	"time"
)

// renewLoop renews the meter's lease every Lease/3, in one statement whatever the number of calls in flight,
// and releases the holds of calls unsettled after MaxCallDuration.
func (m *Meter) renewLoop(ctx context.Context) {
	defer m.bgDone.Done()
	t := time.NewTicker(m.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, m.opts.Lease/3)
		if err := m.store.RenewInstance(rctx, m.instance, m.opts.Lease); err != nil {
			m.log.Warn("Renewing the meter's lease failed; its holds stop counting when it ends", "error", err)
		}
		cancel()
		for _, r := range m.live.overdue(m.opts.Now().Add(-m.opts.MaxCallDuration)) {
			m.log.Warn("Releasing the hold of a call never settled", "source", r.req.Source, "model", r.req.Model,
				"started", r.start.UTC().Format(time.RFC3339))
			if err := m.enqueue(ctx, entry{release: r.hold}); err != nil {
				m.log.Error("Releasing a hold failed", "error", err)
			}
		}
	}
}

// policyCheck is how often an idle meter looks for a configuration change, to give its leases back.
const policyCheck = 250 * time.Millisecond

// leaseLoop gives back the leases that lay unused for LeaseIdle, or whose day has passed, and all of them
// when the configuration changed (so that a lowered quota applies in the other processes too, even when no
// call comes here), checking every LeaseIdle/2 and at least every policyCheck.
func (m *Meter) leaseLoop(ctx context.Context) {
	defer m.bgDone.Done()
	t := time.NewTicker(min(m.opts.LeaseIdle/2, policyCheck))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.adoptPolicy(ctx, m.policy())
		now := time.Now()
		day := m.Windows(m.opts.Now()).Day
		m.releaseLeases(ctx, func(l *lease) bool {
			return now.Sub(l.lastUse) < m.opts.LeaseIdle && l.win.Day.Equal(day)
		})
	}
}

// retentionBatch bounds one deletion of old usage records, so that the job never holds many locks or a long
// transaction.
const retentionBatch = 5000

// retentionLoop deletes raw usage records older than metering.rawRetention, and quota state that no longer
// counts, shortly after start and then every RetentionInterval. Several replicas may run it at once: each
// batch skips the rows another replica is deleting.
func (m *Meter) retentionLoop(ctx context.Context) {
	defer m.bgDone.Done()
	wait := min(time.Minute, m.opts.RetentionInterval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = m.opts.RetentionInterval
		m.applyRetention(ctx)
	}
}

// applyRetention runs one round of the retention job.
func (m *Meter) applyRetention(ctx context.Context) {
	cutoff := m.opts.Now().Add(-m.config().Metering.RawRetention.Duration)
	var total int64
	for ctx.Err() == nil {
		n, err := m.store.DeleteUsageBefore(ctx, cutoff, retentionBatch)
		if err != nil {
			m.log.Warn("Deleting old usage records failed", "error", err)
			return
		}
		total += n
		if n < retentionBatch {
			break
		}
	}
	if total > 0 {
		m.log.Info("Deleted usage records past their retention", "records", total, "before", cutoff.UTC().Format(time.RFC3339))
	}
	if err := m.store.DeleteStaleQuotaState(ctx); err != nil {
		m.log.Warn("Deleting old quota state failed", "error", err)
	}
}
