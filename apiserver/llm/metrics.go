package llm

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// keyStates are the states a key can be in, each exported as its own series.
var keyStates = []string{provider.KeyHealthy, provider.KeyCooling, provider.KeyBad, provider.KeyProbing}

// Collector exports the health of every provider key, labelled by provider and key id (never the key).
type Collector struct {
	r                                *Registry
	state, inFlight, requests, fails *prometheus.Desc
}

// NewCollector returns the registry's key health metrics; register it on the server's registry.
func NewCollector(r *Registry) *Collector {
	labels := []string{"provider", "key"}
	return &Collector{r: r,
		state: prometheus.NewDesc("llmplatform_provider_key_state",
			"1 for the state a provider key is in (Healthy, CoolingDown, Rejected, Probing), 0 for the others.",
			append(labels, "state"), nil),
		inFlight: prometheus.NewDesc("llmplatform_provider_key_in_flight", "Requests using the key now.", labels, nil),
		requests: prometheus.NewDesc("llmplatform_provider_key_requests_total",
			"Requests sent with the key since the process started.", labels, nil),
		fails: prometheus.NewDesc("llmplatform_provider_key_failures_total",
			"Requests with the key that failed (rejected, rate limited, server error, timeout) since the process started.", labels, nil),
	}
}

// Describe sends the descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.inFlight
	ch <- c.requests
	ch <- c.fails
}

// Collect sends the current health.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.r.Health() {
		for _, k := range p.Keys {
			for _, s := range keyStates {
				v := 0.0
				if k.State == s {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, p.Name, k.ID, s)
			}
			ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(k.InFlight), p.Name, k.ID)
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(k.Requests), p.Name, k.ID)
			ch <- prometheus.MustNewConstMetric(c.fails, prometheus.CounterValue, float64(k.Failures), p.Name, k.ID)
		}
	}
}

// callMetrics observe every provider call made through a resolved model, from the chat and /v1 alike.
type callMetrics struct {
	latency, ttft *prometheus.HistogramVec
	calls         *prometheus.CounterVec
}

func newCallMetrics(reg prometheus.Registerer) *callMetrics {
	buckets := []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900}
	m := &callMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "llmplatform_upstream_duration_seconds",
			Help: "Duration of provider calls (to the end of the answer), by provider (user_key for users' own keys).", Buckets: buckets},
			[]string{"provider"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "llmplatform_upstream_time_to_first_token_seconds",
			Help: "Time from a provider call to the first answer text, by provider.", Buckets: buckets}, []string{"provider"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llmplatform_upstream_calls_total",
			Help: "Provider calls by provider and result (ok, canceled, or the failure's kind)."}, []string{"provider", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.ttft, m.calls)
	}
	return m
}

// resultLabel names a call's result for the metrics.
func resultLabel(err error) string {
	if err == nil {
		return "ok"
	}
	for _, k := range []struct {
		kind  error
		label string
	}{
		{provider.ErrCanceled, "canceled"}, {provider.ErrUnauthorized, "unauthorized"}, {provider.ErrRateLimited, "rate_limited"},
		{provider.ErrNoKey, "no_key"}, {provider.ErrTimeout, "timeout"}, {provider.ErrUnavailable, "unreachable"},
		{provider.ErrContextWindow, "context_window"}, {provider.ErrBadRequest, "bad_request"},
		{provider.ErrModelNotFound, "model_not_found"}, {provider.ErrProtocol, "protocol"}, {provider.ErrUpstream, "upstream_error"},
	} {
		if errors.Is(err, k.kind) {
			return k.label
		}
	}
	return "other"
}

func (m *callMetrics) observe(prov string, res provider.Result, err error) {
	m.calls.WithLabelValues(prov, resultLabel(err)).Inc()
	m.latency.WithLabelValues(prov).Observe(res.Latency.Seconds())
	if res.TimeToFirstToken > 0 {
		m.ttft.WithLabelValues(prov).Observe(res.TimeToFirstToken.Seconds())
	}
}

// observed is a Backend whose calls are observed.
type observed struct {
	Backend
	provider string
	metrics  *callMetrics
}

// Stream implements Backend.
func (o observed) Stream(ctx context.Context, call provider.Call, emit func(provider.Event) error) (provider.Result, error) {
	res, err := o.Backend.Stream(ctx, call, emit)
	o.metrics.observe(o.provider, res, err)
	return res, err
}

// Complete implements Backend.
func (o observed) Complete(ctx context.Context, call provider.Call) (provider.Result, error) {
	res, err := o.Backend.Complete(ctx, call)
	o.metrics.observe(o.provider, res, err)
	return res, err
}
