// Package apperr defines the typed errors that services return and the HTTP layer maps to a status in one
// place. A service never chooses a status code; it says what went wrong (not found, conflict, invalid…).
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kinds of failure. Every *Error wraps exactly one of them, so callers test with errors.Is.
var (
	ErrInvalid         = errors.New("invalid request")   // malformed input: 400
	ErrValidation      = errors.New("validation failed") // a field breaks a rule: 422
	ErrUnauthorized    = errors.New("unauthorized")      // no or bad credentials: 401
	ErrForbidden       = errors.New("forbidden")         // authenticated but not allowed: 403
	ErrNotFound        = errors.New("not found")         // absent, or someone else's: 404
	ErrConflict        = errors.New("conflict")          // duplicate, last admin…: 409
	ErrTooLarge        = errors.New("too large")         // request body over the limit: 413
	ErrTooManyRequests = errors.New("too many requests") // throttled: 429
	ErrNotImplemented  = errors.New("not implemented")   // a feature not installed in this server: 501
	ErrUnavailable     = errors.New("unavailable")       // a dependency is down: 503
	ErrBadGateway      = errors.New("bad gateway")       // an upstream (LLM provider) failed: 502
	ErrGatewayTimeout  = errors.New("gateway timeout")   // an upstream did not answer in time: 504
)

// FieldError names one field that broke a rule.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a failure a client may see: a kind, a stable code and a message for people. Its message never
// holds a secret.
type Error struct {
	Kind       error
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	// Quota, when set, says which quota refused the request, what remains and when it resets (a
	// metering.Refusal); it is written as the error's "quota" member.
	Quota any
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

// New returns an error of a kind with a code and a message.
func New(kind error, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound says that a thing (named for people: "conversation") does not exist for this caller.
func NotFound(thing string) *Error {
	return New(ErrNotFound, "not_found", "%s not found", thing)
}

// Invalid says that the request is malformed.
func Invalid(format string, args ...any) *Error {
	return New(ErrInvalid, "invalid_request", format, args...)
}

// Unauthorized says that credentials are missing or wrong.
func Unauthorized(code, message string) *Error {
	return New(ErrUnauthorized, code, "%s", message)
}

// Forbidden says that the caller may not do this.
func Forbidden(code, message string) *Error {
	return New(ErrForbidden, code, "%s", message)
}

// Conflict says that the request conflicts with the current state.
func Conflict(code, message string) *Error {
	return New(ErrConflict, code, "%s", message)
}

// TooManyRequests says that the caller must wait retryAfter.
func TooManyRequests(code, message string, retryAfter time.Duration) *Error {
	e := New(ErrTooManyRequests, code, "%s", message)
	e.RetryAfter = retryAfter
	return e
}

// Validation collects field errors; Err returns nil when none were added.
type Validation struct{ fields []FieldError }

// Check adds a field error when ok is false.
func (v *Validation) Check(ok bool, field, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: message})
	}
}

// Err returns the collected errors as one *Error of kind ErrValidation, or nil.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := v.fields[0].Field + ": " + v.fields[0].Message
	if n := len(v.fields) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return &Error{Kind: ErrValidation, Code: "validation_failed", Message: msg, Fields: v.fields}
}
