package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

// holderKey is the context key of a /v1 request's token holder.
const holderKey = "llmplatform.holder"

// mountV1 adds the OpenAI-compatible endpoint. Its errors are in OpenAI's format.
func (a *MeteringAPI) mountV1(root *gin.RouterGroup) {
	v1 := root.Group("/v1", a.authenticateToken)
	v1.GET("/models", a.v1Models)
	v1.POST("/chat/completions", a.chatCompletions)
}

// authenticateToken requires a personal API token.
func (a *MeteringAPI) authenticateToken(c *gin.Context) {
	scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		writeOpenAIError(c, apperr.Unauthorized("invalid_api_key", "send a personal API token as Authorization: Bearer llmp_… (create one at /api/v1/tokens)"))
		return
	}
	h, err := a.Tokens.Authenticate(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		writeOpenAIError(c, err)
		return
	}
	c.Set(holderKey, h)
	c.Next()
}

func tokenHolder(c *gin.Context) *model.TokenHolder {
	return c.MustGet(holderKey).(*model.TokenHolder)
}

// openAIList is GET /v1/models's answer.
type openAIList struct {
	Object string                `json:"object"`
	Data   []service.OpenAIModel `json:"data"`
}

func (a *MeteringAPI) v1Models(c *gin.Context) {
	models, err := a.OpenAI.ListModels(c.Request.Context(), tokenHolder(c))
	if err != nil {
		writeOpenAIError(c, err)
		return
	}
	c.JSON(http.StatusOK, openAIList{Object: "list", Data: models})
}

func (a *MeteringAPI) chatCompletions(c *gin.Context) {
	// The whole body is read before the upstream is called: it is parsed anyway, and a request body still
	// open while the answer streams is what breaks proxies without full duplex.
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeOpenAIError(c, decodeError(err))
		return
	}
	req, err := service.ParseChatRequest(body)
	if err != nil {
		writeOpenAIError(c, err)
		return
	}
	ctx := c.Request.Context()
	call, err := a.OpenAI.Prepare(ctx, tokenHolder(c), req)
	if err != nil {
		writeOpenAIError(c, err)
		return
	}
	rateLimitHeaders(c, call.Grant().Limits, time.Now())
	if !req.Stream {
		err := call.Complete(ctx, func(answer []byte) {
			// Sent at once, with its length: the client has its answer before the call is settled and the
			// access log written.
			c.Header("Content-Length", strconv.Itoa(len(answer)))
			c.Data(http.StatusOK, "application/json", answer)
			c.Writer.Flush()
		})
		if err != nil {
			writeOpenAIError(c, err)
		}
		return
	}
	streamCompletion(c, call)
}

// streamCompletion streams an answer as OpenAI does: "data: <chunk>" events, then "data: [DONE]". The
// response starts with the first chunk, so a failure before it is an ordinary error with its status; a
// failure after it ends the stream with an error event. Chunks that arrived from the upstream together are
// flushed together.
func streamCompletion(c *gin.Context, call *service.ChatCall) {
	s := &completionStream{w: c.Writer}
	err := call.Stream(c.Request.Context(), s.event, s.flush)
	switch {
	case err == nil:
		s.last([]byte("[DONE]"))
	case !s.started:
		writeOpenAIError(c, err)
	case c.Request.Context().Err() == nil:
		_, body := openAIErrorBody(c, err)
		s.last(body)
	}
}

// completionStream writes a /v1 answer's SSE events into the response's buffer.
type completionStream struct {
	w       gin.ResponseWriter
	started bool
}

// event writes one event: three writes into the response's buffer (no copy of the event of its own, held
// while the stream is open), sent by the next flush.
func (s *completionStream) event(payload []byte) error {
	if !s.started {
		s.started = true
		startEventStream(s.w)
	}
	for _, b := range [][]byte{sseData, payload, sseEnd} {
		if _, err := s.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// flush sends what the buffer holds.
func (s *completionStream) flush() error {
	if s.started {
		s.w.Flush()
	}
	return nil
}

// last writes the stream's last event and sends it.
func (s *completionStream) last(payload []byte) {
	if s.event(payload) == nil {
		_ = s.flush()
	}
}

// sseData and sseEnd frame an SSE event.
var sseData, sseEnd = []byte("data: "), []byte("\n\n")

// openAIError is OpenAI's error object.
type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
	// Quota says which quota refused the request (a metering.Refusal); not part of OpenAI's format, ignored
	// by its clients.
	Quota any `json:"quota,omitempty"`
}

// writeOpenAIError answers err in OpenAI's format ({"error":{"message","type","param","code"}}), with the
// status that statusOf gives, Retry-After and, for quota refusals, the x-ratelimit-* headers.
func writeOpenAIError(c *gin.Context, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		c.Abort()
		return
	}
	var qe *metering.QuotaError
	if errors.As(err, &qe) && len(qe.Refusals) > 0 {
		refusalHeaders(c, qe.Refusals[0], time.Now())
	}
	status, body := openAIErrorBody(c, err)
	var ae *apperr.Error
	if errors.As(metering.AppError(err), &ae) && ae.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="llmplatform"`)
	}
	c.Data(status, "application/json; charset=utf-8", body)
	c.Abort()
}

// openAIErrorBody is err's status and body in OpenAI's format.
func openAIErrorBody(c *gin.Context, err error) (int, []byte) {
	err = metering.AppError(err)
	status := statusOf(err)
	e := openAIError{Type: openAIErrorType(status), Code: "server_error"}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		e.Message, e.Code, e.Quota = ae.Message, ae.Code, ae.Quota
		if len(ae.Fields) > 0 {
			e.Param = &ae.Fields[0].Field
			e.Message = ae.Fields[0].Field + ": " + ae.Fields[0].Message
		}
		if r, ok := ae.Quota.(metering.Refusal); ok && status == http.StatusTooManyRequests {
			e.Type, e.Code = quotaErrorType(r.Limit)
		}
	} else {
		logger(c).ErrorContext(c.Request.Context(), "Request failed", "error", err)
		e.Message = "internal error (request id " + requestID(c) + ")"
	}
	body, _ := json.Marshal(struct {
		Error openAIError `json:"error"`
	}{e})
	return status, body
}

// openAIErrorType is OpenAI's error type for a status.
func openAIErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status < 500:
		return "invalid_request_error"
	}
	return "server_error"
}

// quotaErrorType is OpenAI's type and code of a refusal: a rate limit for requests per minute, an
// exhausted quota for tokens and cost.
func quotaErrorType(limit string) (string, string) {
	if limit == metering.LimitRequestsPerMinute {
		return "requests", "rate_limit_exceeded"
	}
	return "insufficient_quota", "insufficient_quota"
}

// rateLimitHeaders sets OpenAI's x-ratelimit-* headers from the counted limits of a granted call: the
// tightest requests limit and the tightest tokens limit.
func rateLimitHeaders(c *gin.Context, limits []metering.LimitState, now time.Time) {
	var requests, tokens *metering.LimitState
	for i := range limits {
		l := &limits[i]
		switch l.Limit {
		case metering.LimitRequestsPerMinute:
			if requests == nil || l.Remaining < requests.Remaining {
				requests = l
			}
		case metering.LimitTokensPerDay, metering.LimitTokensPerMonth:
			if tokens == nil || l.Remaining < tokens.Remaining {
				tokens = l
			}
		}
	}
	if requests != nil {
		setRateLimit(c, "requests", strconv.FormatInt(requests.Max, 10), strconv.FormatInt(requests.Remaining, 10), requests.ResetAt.Sub(now))
	}
	if tokens != nil {
		setRateLimit(c, "tokens", strconv.FormatInt(tokens.Max, 10), strconv.FormatInt(tokens.Remaining, 10), tokens.ResetAt.Sub(now))
	}
}

// refusalHeaders sets the x-ratelimit-* headers of the limit that refused.
func refusalHeaders(c *gin.Context, r metering.Refusal, now time.Time) {
	switch r.Limit {
	case metering.LimitRequestsPerMinute:
		setRateLimit(c, "requests", r.Max, r.Remaining, r.ResetAt.Sub(now))
	case metering.LimitTokensPerDay, metering.LimitTokensPerMonth:
		setRateLimit(c, "tokens", r.Max, r.Remaining, r.ResetAt.Sub(now))
	}
}

// rateLimitKeys are the x-ratelimit-* header names (limit, remaining, reset) by kind, canonical: set as map
// keys, they cost no allocation per request.
var rateLimitKeys = map[string][3]string{
	"requests": {"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
	"tokens":   {"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
}

// setRateLimit sets x-ratelimit-limit-<kind>, -remaining-<kind> and -reset-<kind> (a duration such as
// "6m0s", rounded up to the second, as OpenAI writes it).
func setRateLimit(c *gin.Context, kind, limit, remaining string, reset time.Duration) {
	reset = max((reset+time.Second-1)/time.Second*time.Second, 0)
	keys, h := rateLimitKeys[kind], c.Writer.Header()
	h[keys[0]] = []string{limit}
	h[keys[1]] = []string{remaining}
	h[keys[2]] = []string{reset.String()}
}
