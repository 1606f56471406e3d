package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kinds of provider errors. Every error the package returns is an *Error whose Kind is one of these, so
// errors.Is(err, provider.ErrRateLimited) tells what happened.
var (
	// ErrUnauthorized: the provider rejected the API key (HTTP 401 or 403). The pool marks the key bad.
	ErrUnauthorized = errors.New("the provider rejected the API key")
	// ErrRateLimited: the provider's rate limit was reached (HTTP 429); Error.RetryAfter says for how long
	// when the provider said so. The pool cools the key down.
	ErrRateLimited = errors.New("the provider's rate limit was reached")
	// ErrBadRequest: the provider rejected the request itself (HTTP 400, 413, 422). Retrying will not help.
	ErrBadRequest = errors.New("the provider rejected the request")
	// ErrContextWindow: the conversation does not fit the model's context window.
	ErrContextWindow = errors.New("the conversation is longer than the model's context window")
	// ErrModelNotFound: the provider does not serve the model (HTTP 404).
	ErrModelNotFound = errors.New("the provider does not serve this model")
	// ErrUpstream: the provider failed (HTTP 5xx, an error event in the stream, or another status).
	ErrUpstream = errors.New("the provider failed")
	// ErrTimeout: a timeout fired; Error.Phase names which one.
	ErrTimeout = errors.New("the provider did not answer in time")
	// ErrUnavailable: the provider could not be reached, or the connection broke.
	ErrUnavailable = errors.New("the provider could not be reached")
	// ErrProtocol: the provider's answer could not be read (malformed, or a line longer than MaxLineSize).
	ErrProtocol = errors.New("the provider's answer could not be read")
	// ErrNoKey: every key of the pool is unusable right now; Error.RetryAfter says when one will be tried.
	ErrNoKey = errors.New("no API key of the provider is usable now")
	// ErrCanceled: the caller's context was cancelled (the client went away or pressed stop). It also
	// matches context.Canceled.
	ErrCanceled = errors.New("the call was cancelled")
)

// Timeout phases, in Error.Phase.
const (
	PhaseConnect       = "connect"
	PhaseFirstByte     = "first byte"
	PhaseBetweenChunks = "between chunks"
	PhaseTotal         = "total"
)

// Error is a provider failure. Its text names what went wrong, the HTTP status and the provider's error code
// when safe; it never holds the API key or the upstream response body.
type Error struct {
	// Kind is one of the Err* values above.
	Kind error
	// Status is the upstream HTTP status, or 0.
	Status int
	// Code is the upstream's machine-readable error code or type ("invalid_api_key", "overloaded_error",
	// "RESOURCE_EXHAUSTED"), when it had one of a safe shape.
	Code string
	// RetryAfter is how long the upstream asked to wait, or 0.
	RetryAfter time.Duration
	// Phase names the timeout that fired, for ErrTimeout.
	Phase string
	// cause is the underlying transport or context error; never an upstream body.
	cause error
}

// Error describes the failure without secrets.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Phase != "" {
		b.WriteString(" (" + e.Phase + " timeout)")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter.Round(time.Millisecond))
	}
	if e.cause != nil && !errors.Is(e.Kind, ErrCanceled) {
		b.WriteString(": " + e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// Retryable reports whether another key, or a later attempt, may succeed where err failed: rate limits,
// rejected keys, server errors, timeouts and unreachable upstreams. Client errors and cancellation are not.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case ErrUnauthorized, ErrRateLimited, ErrUpstream, ErrTimeout, ErrUnavailable: //nolint:errorlint // Kind is a sentinel kind itself, never wrapped
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error response is read to classify it.
const maxErrorBody = 64 << 10

var safeCode = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// contextWindowHints are phrases with which providers say that a prompt is too long.
var contextWindowHints = []string{
	"context_length_exceeded", "context length", "context window", "maximum context", "prompt is too long",
	"too many tokens", "exceeds the maximum number of tokens", "input is too long", "input token count",
}

// statusError classifies an unsuccessful upstream response from its status, headers and body. The body is
// only inspected, never copied into the error.
func statusError(status int, header http.Header, body []byte) *Error {
	code := errorCode(body)
	e := &Error{Status: status, Code: code, RetryAfter: retryAfter(header, body)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		bytes.Contains(body, []byte("API_KEY_INVALID")): // Gemini rejects a bad key with 400
		e.Kind = ErrUnauthorized
	case status == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
		if code == "insufficient_quota" && e.RetryAfter < 5*time.Minute {
			// The key's credit is spent: no point in trying it again soon.
			e.RetryAfter = 5 * time.Minute
		}
	case status == http.StatusNotFound:
		e.Kind = ErrModelNotFound
	case status == http.StatusRequestTimeout:
		e.Kind = ErrTimeout
		e.Phase = PhaseFirstByte
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnprocessableEntity:
		e.Kind = ErrBadRequest
		if mentionsContextWindow(body) {
			e.Kind = ErrContextWindow
		}
	default:
		e.Kind = ErrUpstream
	}
	return e
}

func mentionsContextWindow(body []byte) bool {
	lower := bytes.ToLower(body)
	for _, hint := range contextWindowHints {
		if bytes.Contains(lower, []byte(hint)) {
			return true
		}
	}
	return false
}

// errorCode picks the machine-readable code out of the error formats of OpenAI ({"error":{"code","type"}}),
// Anthropic ({"error":{"type"}}) and Gemini ({"error":{"status"}}), if it has a safe shape.
func errorCode(body []byte) string {
	for _, path := range [][]string{{"error", "code"}, {"error", "status"}, {"error", "type"}} {
		if s, ok := jsonString(jsonGet(body, path...)); ok && safeCode.MatchString(s) {
			return s
		}
	}
	return ""
}

// maxRetryAfter caps what an upstream may ask for, so that a bogus header cannot park a key for days.
const maxRetryAfter = time.Hour

// retryAfter reads OpenAI's retry-after-ms, the standard Retry-After (seconds or an HTTP date) and Gemini's
// RetryInfo.retryDelay ("30s").
func retryAfter(header http.Header, body []byte) time.Duration {
	var d time.Duration
	if ms, err := strconv.ParseFloat(header.Get("Retry-After-Ms"), 64); err == nil && ms > 0 {
		d = time.Duration(ms * float64(time.Millisecond))
	} else if v := header.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d = time.Duration(s * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	} else if i := bytes.Index(body, []byte(`"retryDelay"`)); i >= 0 {
		rest := bytes.TrimLeft(body[i+len(`"retryDelay"`):], " \t\r\n:")
		if s, ok := jsonString(jsonValue(rest)); ok {
			d, _ = time.ParseDuration(s)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}

// transportError wraps an error of the HTTP round trip or of reading the body. ctx is the call's context:
// when it ended, its cause (a timeout of this package, or the caller's cancellation) is the error.
func transportError(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		var e *Error
		if errors.As(cause, &e) {
			return e
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			return &Error{Kind: ErrTimeout, Phase: PhaseTotal, cause: cause}
		}
		return &Error{Kind: ErrCanceled, cause: cause}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if isDialTimeout(err) {
		return &Error{Kind: ErrTimeout, Phase: PhaseConnect, cause: err}
	}
	return &Error{Kind: ErrUnavailable, cause: err}
}
