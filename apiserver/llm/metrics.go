package llm

import (
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
