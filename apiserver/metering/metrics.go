package metering

import "github.com/prometheus/client_golang/prometheus"

// meterMetrics are the meter's Prometheus metrics.
type meterMetrics struct {
	refusals       *prometheus.CounterVec
	requests       *prometheus.CounterVec
	tokens         *prometheus.CounterVec
	cost           *prometheus.CounterVec
	reserveSeconds prometheus.Histogram
	writeSeconds   prometheus.Histogram
	queued         prometheus.Gauge
	written        prometheus.Counter
	writeErrors    prometheus.Counter
}

// newMeterMetrics makes the metrics and registers them with reg (when not nil), with a gauge of the calls
// in flight that inFlight reads.
func newMeterMetrics(reg prometheus.Registerer, inFlight func() float64) *meterMetrics {
	m := &meterMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmplatform_quota_refusals_total",
			Help: "Requests refused by a quota (mode Enforce), or that a Shadow quota would have refused."}, []string{"quota", "limit", "mode"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmplatform_metered_requests_total",
			Help: "Metered requests by source and outcome."}, []string{"source", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmplatform_tokens_total",
			Help: "Tokens used, by provider, model and type (prompt, cached, completion, reasoning)."}, []string{"provider", "model", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmplatform_cost_micro_usd_total",
			Help: "Cost to the platform in micro-USD, by provider and model."}, []string{"provider", "model"}),
		reserveSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "llmplatform_quota_reserve_seconds",
			Help: "Duration of quota reservations in the database.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "llmplatform_usage_write_seconds",
			Help: "Duration of batched usage writes.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "llmplatform_usage_queue_length",
			Help: "Usage records waiting to be written."}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmplatform_usage_records_written_total",
			Help: "Usage records written to the database."}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmplatform_usage_write_errors_total",
			Help: "Failed usage writes (each is retried)."}),
	}
	if reg != nil {
		reg.MustRegister(m.refusals, m.requests, m.tokens, m.cost, m.reserveSeconds, m.writeSeconds, m.queued,
			m.written, m.writeErrors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "llmplatform_metered_calls_in_flight",
				Help: "Metered calls reserved and not yet settled in this process."}, inFlight))
	}
	return m
}

// countSettled counts a usage record in the metrics.
func (m *Meter) countSettled(e entry) {
	if e.rec == nil {
		return
	}
	r := e.rec
	m.metrics.requests.WithLabelValues(r.Source, r.Outcome).Inc()
	if r.Outcome == OutcomeRefused {
		return
	}
	provider, model := r.Provider, r.Model
	if r.UserKeyID != "" {
		// Users' own keys and models are unbounded: one series for all of them.
		provider, model = "user_key", "user_key"
	}
	for _, t := range [...]struct {
		typ string
		n   int64
	}{{"prompt", r.PromptTokens}, {"cached", r.CachedTokens}, {"completion", r.Completion}, {"reasoning", r.Reasoning}} {
		if t.n > 0 {
			m.metrics.tokens.WithLabelValues(provider, model, t.typ).Add(float64(t.n))
		}
	}
	if r.CostMicros > 0 {
		m.metrics.cost.WithLabelValues(provider, model).Add(float64(r.CostMicros))
	}
}
