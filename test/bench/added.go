package main

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// addedResult is the latency one client sees through each target, measured interleaved: the client sends
// one request to each target in turn, so that whatever else the machine does affects all of them alike.
type addedResult struct {
	Mode string `json:"mode"`
	// Requests is the number of requests per target.
	Requests int `json:"requests"`
	// P50MS is the median latency per target (streams: the time to first content), in milliseconds.
	P50MS map[string]float64 `json:"p50_ms"`
	// AddedMS is each target's median minus the direct median.
	AddedMS map[string]float64 `json:"added_ms"`
}

// measureAdded sends requests from one client to the targets in turn for the duration, after a warm-up,
// and returns the median latency of each and what each adds to the direct one (targets[0]).
func measureAdded(ctx context.Context, targets []*target, stream bool, warmup, duration time.Duration) (addedResult, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	res := addedResult{Mode: scenario{stream: stream}.mode(), P50MS: map[string]float64{}, AddedMS: map[string]float64{}}
	samples := make([][]time.Duration, len(targets))
	bodies := make([][]byte, len(targets))
	for i, t := range targets {
		model := t.model
		if stream {
			model = t.streamModel
		}
		bodies[i] = requestBody(model, stream)
	}
	start := time.Now()
	for time.Since(start) < warmup+duration {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		measuring := time.Since(start) >= warmup
		for i, t := range targets {
			s, err := doRequest(ctx, client, t.url+"/chat/completions", t.tokens[0], bodies[i], stream)
			if err != nil {
				return res, err
			}
			if measuring {
				v := s.total
				if stream {
					v = s.ttfc
				}
				samples[i] = append(samples[i], v)
			}
		}
	}
	for i, t := range targets {
		slices.Sort(samples[i])
		res.P50MS[t.name] = ms(percentile(samples[i], 50))
		res.Requests = len(samples[i])
	}
	for _, t := range targets[1:] {
		res.AddedMS[t.name] = res.P50MS[t.name] - res.P50MS[targets[0].name]
	}
	return res, nil
}
