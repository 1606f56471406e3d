package metering

import (
	"errors"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
)

// Error codes of quota refusals, in apperr errors and the chat stream's error event.
const (
	// CodeQuotaExceeded: a counted limit is exhausted (HTTP 429, with Retry-After).
	CodeQuotaExceeded = "quota_exceeded"
	// CodeModelNotAllowed: a quota does not allow the model (HTTP 403).
	CodeModelNotAllowed = "model_not_allowed"
)

// AppError turns a *QuotaError anywhere in err's chain into the *apperr.Error that the HTTP layer answers
// with: 403 model_not_allowed for an allowedModels refusal, otherwise 429 quota_exceeded with Retry-After
// until the window resets; both carry the first refusal as the error's "quota" detail. Any other error is
// returned as it is. This is the one place where a quota refusal becomes an API error: the JSON handlers
// and the chat stream's error event both use it.
func AppError(err error) error {
	var qe *QuotaError
	if !errors.As(err, &qe) {
		return err
	}
	return qe.AppError(time.Now())
}

// AppError is the refusal as an *apperr.Error, with Retry-After counted from now.
func (e *QuotaError) AppError(now time.Time) *apperr.Error {
	var ae *apperr.Error
	if e.ModelNotAllowed() {
		ae = apperr.Forbidden(CodeModelNotAllowed, e.Error())
	} else {
		ae = apperr.TooManyRequests(CodeQuotaExceeded, e.Error(), e.RetryAfter(now))
	}
	if len(e.Refusals) > 0 {
		ae.Quota = e.Refusals[0]
	}
	return ae
}
