package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/llm"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

// ChatAPI is the chat's HTTP surface: sending (Options.SendMessage), regenerating, editing, deleting from a
// message, stopping, the model listing, users' own keys and the admins' view of the providers. Mount adds
// its routes.
type ChatAPI struct {
	Chat   *service.Chat
	Keys   *service.Keys
	Models *service.Models
	// Providers returns the providers' key health for the admins.
	Providers func() []llm.ProviderHealth
	// Heartbeat is the stream's heartbeat interval; zero means HeartbeatInterval.
	Heartbeat time.Duration
}

// Mount adds the chat's routes (except the send, which is Options.SendMessage).
func (a *ChatAPI) Mount(g Groups) {
	g.User.POST("/conversations/:id/messages/:message_id/regenerate", a.regenerate)
	g.User.POST("/conversations/:id/messages/:message_id/edit", a.edit)
	g.User.DELETE("/conversations/:id/messages/:message_id", a.deleteFrom)
	g.User.POST("/conversations/:id/stop", a.stop)
	g.User.GET("/models", a.listModels)
	g.User.GET("/keys", a.listKeys)
	g.User.POST("/keys", a.createKey)
	g.User.PATCH("/keys/:id", a.updateKey)
	g.User.DELETE("/keys/:id", a.deleteKey)
	g.User.POST("/keys/:id/test", a.testKey)
	g.Admin.GET("/providers", a.providers)
}

// SendMessageRequest is the body of POST /conversations/{id}/messages and .../edit.
type SendMessageRequest struct {
	Content     string   `json:"content"`
	Model       string   `json:"model"`
	Temperature *float64 `json:"temperature"`
	MaxTokens   int      `json:"max_tokens"`
	// Stream defaults to true; false (or Accept: application/json) asks for one JSON answer.
	Stream *bool `json:"stream"`
}

func (r *SendMessageRequest) options() service.ChatOptions {
	return service.ChatOptions{Model: r.Model, Temperature: r.Temperature, MaxTokens: r.MaxTokens}
}

// SendMessageResponse is the JSON answer of a send, and the data of the stream's "done" event.
type SendMessageResponse struct {
	UserMessage      *model.Message `json:"user_message"`
	AssistantMessage *model.Message `json:"assistant_message"`
	FinishReason     string         `json:"finish_reason"`
}

// streamErrorEvent is the data of the stream's "error" event.
type streamErrorEvent struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Quota is the refusal of a quota (metering.Refusal), when one refused.
	Quota any `json:"quota,omitempty"`
}

// SendMessage answers POST /conversations/{id}/messages.
func (a *ChatAPI) SendMessage(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	var req SendMessageRequest
	if !bindJSON(c, &req) {
		return
	}
	a.answer(c, &req, func(sink service.Sink) (*service.Exchange, error) {
		return a.Chat.Send(c.Request.Context(), principal(c), id, req.Content, req.options(), sink)
	})
}

func (a *ChatAPI) regenerate(c *gin.Context) {
	id, msgID, ok := messagePath(c)
	if !ok {
		return
	}
	var req SendMessageRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) { // the body is optional
		return
	}
	a.answer(c, &req, func(sink service.Sink) (*service.Exchange, error) {
		return a.Chat.Regenerate(c.Request.Context(), principal(c), id, msgID, req.options(), sink)
	})
}

func (a *ChatAPI) edit(c *gin.Context) {
	id, msgID, ok := messagePath(c)
	if !ok {
		return
	}
	var req SendMessageRequest
	if !bindJSON(c, &req) {
		return
	}
	a.answer(c, &req, func(sink service.Sink) (*service.Exchange, error) {
		return a.Chat.Edit(c.Request.Context(), principal(c), id, msgID, req.Content, req.options(), sink)
	})
}

func messagePath(c *gin.Context) (id, msgID string, ok bool) {
	if id, ok = pathID(c, "id", "conversation"); !ok {
		return "", "", false
	}
	msgID, ok = pathID(c, "message_id", "message")
	return id, msgID, ok
}

// wantsStream reports whether the answer streams: unless the body says "stream": false or the client
// accepts JSON and not an event stream.
func wantsStream(c *gin.Context, req *SendMessageRequest) bool {
	if req.Stream != nil && !*req.Stream {
		return false
	}
	accept := c.GetHeader("Accept")
	return !strings.Contains(accept, "application/json") || strings.Contains(accept, "text/event-stream")
}

// answer runs one send (or regenerate, or edit) and writes its answer as a stream or as JSON.
func (a *ChatAPI) answer(c *gin.Context, req *SendMessageRequest, run func(service.Sink) (*service.Exchange, error)) {
	if !wantsStream(c, req) {
		ex, err := run(nil)
		if err == nil && ex.Err != nil {
			err = ex.Err
		}
		respond(c, http.StatusOK, exchangeBody(ex), err)
		return
	}
	interval := a.Heartbeat
	if interval == 0 {
		interval = HeartbeatInterval
	}
	sse := newSSEWriter(c.Writer, interval)
	defer sse.close()
	ex, err := run(sse)
	if err == nil && ex.Err != nil {
		err = ex.Err
	}
	switch {
	case err != nil && !sse.Started():
		writeError(c, err)
	case err != nil:
		_ = sse.Event("error", streamError(c, err))
	default:
		if ex.Answer.Usage != nil {
			_ = sse.Event("usage", ex.Answer.Usage)
		}
		_ = sse.Event("done", exchangeBody(ex))
	}
}

func exchangeBody(ex *service.Exchange) *SendMessageResponse {
	if ex == nil {
		return nil
	}
	return &SendMessageResponse{UserMessage: ex.UserMessage, AssistantMessage: ex.Answer, FinishReason: ex.FinishReason}
}

// streamError is the "error" event of a failure after the stream started; like writeError, it shows only
// what an *apperr.Error says and logs the rest.
func streamError(c *gin.Context, err error) streamErrorEvent {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return streamErrorEvent{Code: ae.Code, Message: ae.Message, Quota: ae.Quota}
	}
	logger(c).ErrorContext(c.Request.Context(), "Chat stream failed", "error", err)
	return streamErrorEvent{Code: "internal_error", Message: "internal error (request id " + requestID(c) + ")"}
}

func (a *ChatAPI) deleteFrom(c *gin.Context) {
	id, msgID, ok := messagePath(c)
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, a.Chat.DeleteFrom(c.Request.Context(), principal(c), id, msgID))
}

func (a *ChatAPI) stop(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, a.Chat.Stop(c.Request.Context(), principal(c), id))
}
