package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// The paths of the API server's internal endpoints (apiserver/openapi/openapi.yaml, tag "internal").
const (
	internalQuotasPath  = "/internal/v1/quotas"
	internalSummaryPath = "/internal/v1/summary"
)

// Bounds of one read of a platform's usage.
const (
	// usageRequestTimeout bounds one request, from connecting to the end of the body.
	usageRequestTimeout = 10 * time.Second
	// usageDialTimeout bounds connecting, so that an unreachable Service fails fast.
	usageDialTimeout = 5 * time.Second
	// maxUsageBody bounds an answer: a quota's entry is at most about 15 KB (20 users, 4 windows each).
	maxUsageBody = 8 << 20
	// maxErrorBody bounds the part of an error answer that is read for its message.
	maxErrorBody = 4 << 10
)

// The answers of the internal endpoints, as far as the operator uses them. The operator does not import the
// API server's types (controllers/ imports only its config package); the test against a real API server
// keeps both sides in step.

// internalQuotas is GET /internal/v1/quotas.
type internalQuotas struct {
	Items []internalQuota `json:"items"`
}

// internalQuota is one quota's usage, named like its UserQuota.
type internalQuota struct {
	Name         string            `json:"name"`
	MatchedUsers int64             `json:"matchedUsers"`
	Usage        []internalSubject `json:"usage"`
}

// internalSubject is one user's use of a quota.
type internalSubject struct {
	User      string           `json:"user"`
	Windows   []internalWindow `json:"windows"`
	Exhausted bool             `json:"exhausted"`
}

// internalWindow is one limit's use in its current window.
type internalWindow struct {
	Limit     string    `json:"limit"`
	Used      string    `json:"used"`
	Remaining string    `json:"remaining"`
	ResetAt   time.Time `json:"resetAt"`
}

// internalSummary is GET /internal/v1/summary.
type internalSummary struct {
	Users       int64 `json:"users"`
	TokensToday int64 `json:"tokensToday"`
}

// syncFailure is why a platform's usage could not be read: a condition reason and a message a person can act
// on. It names URLs and Secrets, never a token, and nothing that differs between two reads failing the same
// way (no local port, no timestamp), so that a lasting failure writes nothing more.
type syncFailure struct {
	Reason, Message string
}

// usageClient reads the internal endpoints of the platforms' API servers with one HTTP client.
type usageClient struct {
	http *http.Client
	// baseURL is where a platform's API server answers: its Service, or what --apiserver-url says.
	baseURL func(*llmv1.LLMPlatform) string
}

func newUsageClient(baseURL func(*llmv1.LLMPlatform) string) *usageClient {
	transport := &http.Transport{
		// In-cluster calls: an HTTP proxy configured for the operator's egress must not see them.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: usageDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: usageRequestTimeout,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       90 * time.Second,
	}
	return &usageClient{http: &http.Client{Transport: transport, Timeout: usageRequestTimeout}, baseURL: baseURL}
}

// read fetches the platform's quotas and summary with the internal token.
func (c *usageClient) read(ctx context.Context, p *llmv1.LLMPlatform, token []byte) (*internalQuotas, *internalSummary, *syncFailure) {
	base := strings.TrimRight(c.baseURL(p), "/")
	var quotas internalQuotas
	if f := c.get(ctx, p, base, internalQuotasPath, token, &quotas); f != nil {
		return nil, nil, f
	}
	var summary internalSummary
	if f := c.get(ctx, p, base, internalSummaryPath, token, &summary); f != nil {
		return nil, nil, f
	}
	return &quotas, &summary, nil
}

// get reads one endpoint into out.
func (c *usageClient) get(ctx context.Context, p *llmv1.LLMPlatform, base, path string, token []byte, out any) *syncFailure {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return &syncFailure{llmv1.ReasonSyncFailed, fmt.Sprintf("The API server URL %q is not valid: %v", base, err)}
	}
	req.Header.Set("Authorization", "Bearer "+string(token))
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return unreachable(base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return &syncFailure{llmv1.ReasonTokenRejected, fmt.Sprintf(
			"The API server at %s refused the operator's token (401 on %s): the token in Secret %q (key %q) differs from the one the API server reads. The kubelet updates the mounted token within a minute or two of a change to the Secret; if this lasts, restart the API server: kubectl rollout restart deployment %s",
			base, path, builders.InternalSecretName(p), builders.TokenKey, builders.APIServerName(p))}
	default:
		return &syncFailure{llmv1.ReasonSyncFailed, fmt.Sprintf("The API server at %s answered GET %s with %s%s",
			base, path, resp.Status, errorDetail(resp.Body))}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUsageBody)).Decode(out); err != nil {
		return &syncFailure{llmv1.ReasonSyncFailed, fmt.Sprintf("The API server at %s answered GET %s with a body the operator cannot read (%v): is the API server's version older than the operator's?",
			base, path, err)}
	}
	return nil
}

// unreachable describes a request that got no answer.
func unreachable(base string, err error) *syncFailure {
	var cause string
	var uerr *url.Error
	var operr *net.OpError
	switch {
	case errors.As(err, &uerr) && uerr.Timeout():
		cause = "timed out"
	case errors.As(err, &operr) && operr.Err != nil:
		// The operation and its cause, without the addresses: a local port differs on every attempt.
		cause = operr.Op + ": " + operr.Err.Error()
	case uerr != nil:
		cause = uerr.Err.Error()
	default:
		cause = err.Error()
	}
	return &syncFailure{llmv1.ReasonAPIServerUnreachable, fmt.Sprintf(
		"Cannot reach the API server at %s (%s): check that its pods are running and that no NetworkPolicy keeps the operator out", base, cause)}
}

// errorDetail is the message of an API server error answer ({"error":{"code","message"}}), or "".
func errorDetail(body io.Reader) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(body, maxErrorBody)).Decode(&e) != nil || e.Error.Message == "" {
		return ""
	}
	return fmt.Sprintf(": %s (%s)", e.Error.Message, e.Error.Code)
}
