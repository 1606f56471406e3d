package service

import (
	"errors"
	"fmt"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// UpstreamError turns a provider failure into the error a client sees: the one place where provider error
// kinds become apperr kinds and codes (used by the chat and the /v1 endpoint). The message says what
// happened, with the upstream's HTTP status and error code when it gave a safe one; it never holds an API
// key, a provider's response body or a transport error's text (which may name internal addresses). userKey
// says the call used the user's own key, which changes whose key a rejection is about.
func UpstreamError(err error, userKey bool) *apperr.Error {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return apperr.New(apperr.ErrBadGateway, "provider_error", "the provider failed")
	}
	detail := upstreamDetail(pe)
	var e *apperr.Error
	switch {
	case errors.Is(pe.Kind, provider.ErrUnauthorized):
		if userKey {
			e = apperr.New(apperr.ErrBadGateway, "provider_rejected_key", "the provider rejected your API key%s; check the key", detail)
		} else {
			e = apperr.New(apperr.ErrBadGateway, "provider_rejected_key", "the provider rejected the platform's API key%s; an administrator must check it", detail)
		}
	case errors.Is(pe.Kind, provider.ErrRateLimited):
		e = apperr.TooManyRequests("provider_rate_limited", "the provider's rate limit was reached"+detail+"; try again later", pe.RetryAfter)
	case errors.Is(pe.Kind, provider.ErrNoKey):
		e = apperr.New(apperr.ErrUnavailable, "provider_unavailable", "no API key of the provider is usable now; try again later")
		e.RetryAfter = pe.RetryAfter
	case errors.Is(pe.Kind, provider.ErrContextWindow):
		e = apperr.New(apperr.ErrValidation, "context_window_exceeded", "the conversation is longer than the model's context window%s", detail)
	case errors.Is(pe.Kind, provider.ErrBadRequest):
		e = apperr.New(apperr.ErrInvalid, "provider_rejected_request", "the provider rejected the request%s", detail)
	case errors.Is(pe.Kind, provider.ErrModelNotFound):
		e = apperr.New(apperr.ErrBadGateway, "provider_model_not_found", "the provider does not serve this model%s", detail)
	case errors.Is(pe.Kind, provider.ErrTimeout):
		e = apperr.New(apperr.ErrGatewayTimeout, "provider_timeout", "the provider did not answer in time (%s timeout)", pe.Phase)
	case errors.Is(pe.Kind, provider.ErrUnavailable):
		e = apperr.New(apperr.ErrBadGateway, "provider_unreachable", "the provider could not be reached")
	case errors.Is(pe.Kind, provider.ErrProtocol):
		e = apperr.New(apperr.ErrBadGateway, "provider_protocol_error", "the provider's answer could not be read")
	default:
		e = apperr.New(apperr.ErrBadGateway, "provider_error", "the provider failed%s", detail)
	}
	return e
}

// upstreamDetail is " (HTTP 429 rate_limit_exceeded)": the status and the upstream's code, which
// provider.Error only keeps when it has a safe shape.
func upstreamDetail(e *provider.Error) string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}
