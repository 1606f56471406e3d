package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  []apperr.FieldError `json:"fields,omitempty"`
	// Quota says which quota refused the request (a metering.Refusal).
	Quota any `json:"quota,omitempty"`
}

// statusOf maps an error kind to its HTTP status: the one place where this happens.
func statusOf(err error) int {
	switch {
	case errors.Is(err, apperr.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, apperr.ErrValidation):
		return http.StatusUnprocessableEntity
	case errors.Is(err, apperr.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, apperr.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, apperr.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, apperr.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, apperr.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, apperr.ErrTooManyRequests):
		return http.StatusTooManyRequests
	case errors.Is(err, apperr.ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, apperr.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, apperr.ErrBadGateway):
		return http.StatusBadGateway
	case errors.Is(err, apperr.ErrGatewayTimeout):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeError answers with err as JSON. Errors that are not *apperr.Error are logged with the request id and
// answered with a generic 500 (or 503 for timeouts) that leaks nothing.
func writeError(c *gin.Context, err error) {
	err = metering.AppError(err)
	status := statusOf(err)
	var ae *apperr.Error
	body := errorBody{}
	switch {
	case errors.As(err, &ae):
		body.Error = errorDetail{Code: ae.Code, Message: ae.Message, Fields: ae.Fields, Quota: ae.Quota}
		if ae.RetryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(int((ae.RetryAfter+999_999_999)/1_000_000_000)))
		}
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		c.Abort()
		return
	case status == http.StatusServiceUnavailable:
		body.Error = errorDetail{Code: "unavailable", Message: "the service is busy or a dependency timed out; try again"}
	default:
		logger(c).ErrorContext(c.Request.Context(), "Request failed", "error", err)
		body.Error = errorDetail{Code: "internal_error", Message: "internal error (request id " + requestID(c) + ")"}
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="llmplatform"`)
	}
	c.AbortWithStatusJSON(status, body)
}

// respond writes body with status, or the error. A nil body writes only the status (204).
func respond(c *gin.Context, status int, body any, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	if body == nil {
		c.Status(status)
		return
	}
	c.JSON(status, body)
}

// bindJSON decodes the request body into dst; on failure it answers 400 (or 413) and returns false.
func bindJSON(c *gin.Context, dst any) bool {
	ct := c.ContentType()
	if ct != "application/json" {
		writeError(c, apperr.Invalid("the body must be JSON, sent with Content-Type: application/json"))
		return false
	}
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		writeError(c, decodeError(err))
		return false
	}
	return true
}

func decodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooLarge):
		return apperr.New(apperr.ErrTooLarge, "body_too_large", "the request body is larger than %d bytes", tooLarge.Limit)
	case errors.As(err, &typeErr):
		return apperr.Invalid("field %s must be %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return apperr.Invalid("the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return apperr.Invalid("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("the body is truncated JSON")
	}
	return apperr.Invalid("the body is not a valid JSON object: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// pathID returns the path parameter name as a UUID; a malformed one cannot name anything, so the answer is
// 404 (thing names it).
func pathID(c *gin.Context, name, thing string) (string, bool) {
	id := c.Param(name)
	if !uuidRE.MatchString(id) {
		writeError(c, apperr.NotFound(thing))
		return "", false
	}
	return strings.ToLower(id), true
}

// queryID returns an optional UUID query parameter; a malformed one is a 400.
func queryID(c *gin.Context, name string) (string, bool) {
	id := c.Query(name)
	if id != "" && !uuidRE.MatchString(id) {
		writeError(c, apperr.Invalid("query parameter %s must be a UUID", name))
		return "", false
	}
	return strings.ToLower(id), true
}

// pageRequest reads the pagination convention: ?limit= (1..100, default 50) and ?cursor=.
func pageRequest(c *gin.Context) (model.PageRequest, bool) {
	p := model.PageRequest{Limit: model.DefaultPageSize}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > model.MaxPageSize {
			writeError(c, apperr.Invalid("limit must be a number from 1 to %d", model.MaxPageSize))
			return p, false
		}
		p.Limit = n
	}
	if s := c.Query("cursor"); s != "" {
		cur, ok := model.DecodeCursor(s)
		if !ok || len(s) > 512 {
			writeError(c, apperr.Invalid("cursor is not one this server returned"))
			return p, false
		}
		p.After = &cur
	}
	return p, true
}

// logger returns the request's logger, with its request id.
func logger(c *gin.Context) *slog.Logger {
	l := slog.Default()
	if v, ok := c.Get(loggerKey); ok {
		l = v.(*slog.Logger)
	}
	if id := requestID(c); id != "" {
		return l.With("request_id", id)
	}
	return l
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// attachment sets Content-Disposition for a download with a safe file name.
func attachment(c *gin.Context, name string) {
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, safe))
}
