package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

func (h *handlers) conversationRoutes(user *gin.RouterGroup) {
	user.GET("/conversations", h.listConversations)
	user.POST("/conversations", h.createConversation)
	user.GET("/conversations/search", h.search)
	user.GET("/conversations/:id", h.getConversation)
	user.PATCH("/conversations/:id", h.updateConversation)
	user.DELETE("/conversations/:id", h.deleteConversation)
	user.GET("/conversations/:id/messages", h.listMessages)
	user.POST("/conversations/:id/messages", h.sendMessage)
	user.GET("/conversations/:id/export", h.export)
	user.GET("/conversations/:id/stats", h.conversationStats)
	user.PUT("/conversations/:id/tags/:tag_id", h.setTag(true))
	user.DELETE("/conversations/:id/tags/:tag_id", h.setTag(false))
	user.GET("/tags", h.listTags)
	user.POST("/tags", h.createTag)
	user.GET("/tags/:id", h.getTag)
	user.PATCH("/tags/:id", h.updateTag)
	user.DELETE("/tags/:id", h.deleteTag)
}

// CreateConversationRequest is the body of POST /conversations.
type CreateConversationRequest struct {
	Title        string   `json:"title"`
	Model        string   `json:"model"`
	SystemPrompt string   `json:"system_prompt"`
	TagIDs       []string `json:"tag_ids"`
}

// UpdateConversationRequest is the body of PATCH /conversations/{id}; absent fields are unchanged.
type UpdateConversationRequest struct {
	Title        *string `json:"title"`
	Model        *string `json:"model"`
	SystemPrompt *string `json:"system_prompt"`
}

// TagRequest is the body of POST /tags and PATCH /tags/{id}.
type TagRequest struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
}

func (h *handlers) createConversation(c *gin.Context) {
	var req CreateConversationRequest
	if !bindJSON(c, &req) {
		return
	}
	for _, id := range req.TagIDs {
		if !uuidRE.MatchString(id) {
			writeError(c, apperr.NotFound("tag"))
			return
		}
	}
	conv, err := h.Conversations.Create(c.Request.Context(), principal(c), service.CreateConversationInput{
		Title: req.Title, Model: req.Model, SystemPrompt: req.SystemPrompt, TagIDs: req.TagIDs})
	respond(c, http.StatusCreated, conv, err)
}

func (h *handlers) listConversations(c *gin.Context) {
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	tagID, ok := queryID(c, "tag_id")
	if !ok {
		return
	}
	convs, err := h.Conversations.List(c.Request.Context(), principal(c), tagID, page)
	respond(c, http.StatusOK, convs, err)
}

func (h *handlers) getConversation(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	conv, err := h.Conversations.Get(c.Request.Context(), principal(c), id)
	respond(c, http.StatusOK, conv, err)
}

func (h *handlers) updateConversation(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	var req UpdateConversationRequest
	if !bindJSON(c, &req) {
		return
	}
	conv, err := h.Conversations.Update(c.Request.Context(), principal(c), id, store.ConversationUpdate{
		Title: req.Title, Model: req.Model, SystemPrompt: req.SystemPrompt})
	respond(c, http.StatusOK, conv, err)
}

func (h *handlers) deleteConversation(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, h.Conversations.Delete(c.Request.Context(), principal(c), id))
}

func (h *handlers) listMessages(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	msgs, err := h.Conversations.Messages(c.Request.Context(), principal(c), id, page)
	respond(c, http.StatusOK, msgs, err)
}

// sendMessage hands the request to the chat service once one is installed.
func (h *handlers) sendMessage(c *gin.Context) {
	if h.SendMessage == nil {
		writeError(c, apperr.New(apperr.ErrNotImplemented, "not_implemented", "sending messages is not available on this server yet"))
		return
	}
	h.SendMessage(c)
}

func (h *handlers) search(c *gin.Context) {
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	convID, ok := queryID(c, "conversation_id")
	if !ok {
		return
	}
	hits, err := h.Conversations.Search(c.Request.Context(), principal(c), c.Query("q"), convID, page)
	respond(c, http.StatusOK, hits, err)
}

func (h *handlers) export(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	format := c.DefaultQuery("format", "markdown")
	if format != "markdown" && format != "json" {
		writeError(c, apperr.Invalid("format must be markdown or json"))
		return
	}
	e, err := h.Conversations.Export(c.Request.Context(), principal(c), id)
	if err != nil {
		writeError(c, err)
		return
	}
	if format == "json" {
		body, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			writeError(c, err)
			return
		}
		attachment(c, "conversation-"+id+".json")
		c.Data(http.StatusOK, "application/json", body)
		return
	}
	attachment(c, "conversation-"+id+".md")
	c.Data(http.StatusOK, "text/markdown; charset=utf-8", []byte(e.Markdown()))
}

func (h *handlers) conversationStats(c *gin.Context) {
	id, ok := pathID(c, "id", "conversation")
	if !ok {
		return
	}
	stats, err := h.Conversations.Stats(c.Request.Context(), principal(c), id)
	respond(c, http.StatusOK, stats, err)
}

func (h *handlers) setTag(attach bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, "id", "conversation")
		if !ok {
			return
		}
		tagID, ok := pathID(c, "tag_id", "tag")
		if !ok {
			return
		}
		respond(c, http.StatusNoContent, nil, h.Conversations.SetTag(c.Request.Context(), principal(c), id, tagID, attach))
	}
}

func (h *handlers) listTags(c *gin.Context) {
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	tags, err := h.Conversations.Tags(c.Request.Context(), principal(c), page)
	respond(c, http.StatusOK, tags, err)
}

func (h *handlers) createTag(c *gin.Context) {
	var req TagRequest
	if !bindJSON(c, &req) {
		return
	}
	name, color := "", ""
	if req.Name != nil {
		name = *req.Name
	}
	if req.Color != nil {
		color = *req.Color
	}
	tag, err := h.Conversations.CreateTag(c.Request.Context(), principal(c), name, color)
	respond(c, http.StatusCreated, tag, err)
}

func (h *handlers) getTag(c *gin.Context) {
	id, ok := pathID(c, "id", "tag")
	if !ok {
		return
	}
	tag, err := h.Conversations.Tag(c.Request.Context(), principal(c), id)
	respond(c, http.StatusOK, tag, err)
}

func (h *handlers) updateTag(c *gin.Context) {
	id, ok := pathID(c, "id", "tag")
	if !ok {
		return
	}
	var req TagRequest
	if !bindJSON(c, &req) {
		return
	}
	tag, err := h.Conversations.UpdateTag(c.Request.Context(), principal(c), id, req.Name, req.Color)
	respond(c, http.StatusOK, tag, err)
}

func (h *handlers) deleteTag(c *gin.Context) {
	id, ok := pathID(c, "id", "tag")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, h.Conversations.DeleteTag(c.Request.Context(), principal(c), id))
}
