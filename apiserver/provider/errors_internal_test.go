package provider

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestStatusError(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		kind       error
		code       string
		retryAfter time.Duration
	}{
		{"gemini bad key", 400, nil,
			`{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}`,
			ErrUnauthorized, "INVALID_ARGUMENT", 0},
		{"gemini retry delay", 429, nil,
			`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"RetryInfo","retryDelay": "31s"}]}}`,
			ErrRateLimited, "RESOURCE_EXHAUSTED", 31 * time.Second},
		{"openai retry-after-ms", 429, http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"9"}},
			`{"error":{"type":"requests","code":"rate_limit_exceeded"}}`, ErrRateLimited, "rate_limit_exceeded", 1500 * time.Millisecond},
		{"spent credit", 429, nil, `{"error":{"code":"insufficient_quota"}}`, ErrRateLimited, "insufficient_quota", 5 * time.Minute},
		{"capped retry-after", 429, http.Header{"Retry-After": {"999999"}}, ``, ErrRateLimited, "", time.Hour},
		{"anthropic context", 400, nil,
			`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}`,
			ErrContextWindow, "invalid_request_error", 0},
		{"unsafe code is dropped", 500, nil, `{"error":{"code":"sk-abc def ghi"}}`, ErrUpstream, "", 0},
		{"timeout", 408, nil, ``, ErrTimeout, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			header := c.header
			if header == nil {
				header = http.Header{}
			}
			e := statusError(c.status, header, []byte(c.body))
			if !errors.Is(e, c.kind) || e.Code != c.code || e.RetryAfter != c.retryAfter {
				t.Errorf("statusError = %v (code %q, retry after %v), want %v %q %v", e, e.Code, e.RetryAfter, c.kind, c.code, c.retryAfter)
			}
		})
	}
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(http.Header{"Retry-After": {date}}, nil); d < 80*time.Second || d > 90*time.Second {
		t.Errorf("Retry-After as a date = %v, want about 90s", d)
	}
}
