package metering

import (
	"context"
	"time"
)

// renewLoop extends the lease of this process's live reservations every Lease/3, in one statement. A call
// older than MaxCallDuration is no longer renewed.
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
		ids := m.live.renewable(m.opts.Now().Add(-m.opts.MaxCallDuration))
		if len(ids) == 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, m.opts.Lease/3)
		if err := m.store.RenewReservations(rctx, ids, m.opts.Lease); err != nil {
			m.log.Warn("Renewing quota reservations failed", "reservations", len(ids), "error", err)
		}
		cancel()
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
