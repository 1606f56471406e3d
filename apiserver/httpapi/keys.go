package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

// KeyRequest is the body of POST /keys and PATCH /keys/{id}; absent fields of a PATCH are unchanged.
type KeyRequest struct {
	Name         *string          `json:"name"`
	ProviderType string           `json:"provider_type"`
	BaseURL      *string          `json:"base_url"`
	Models       []model.KeyModel `json:"models"`
	// APIKey is the secret; it is sealed at once and never returned.
	APIKey *string `json:"api_key"`
}

func (r *KeyRequest) input() service.KeyInput {
	return service.KeyInput{Name: r.Name, ProviderType: r.ProviderType, BaseURL: r.BaseURL, Models: r.Models, APIKey: r.APIKey}
}

func (a *ChatAPI) listKeys(c *gin.Context) {
	keys, err := a.Keys.List(c.Request.Context(), principal(c))
	respond(c, http.StatusOK, itemsBody[model.ProviderKey]{Items: keys}, err)
}

func (a *ChatAPI) createKey(c *gin.Context) {
	var req KeyRequest
	if !bindJSON(c, &req) {
		return
	}
	k, err := a.Keys.Create(c.Request.Context(), principal(c), req.input())
	respond(c, http.StatusCreated, k, err)
}

func (a *ChatAPI) updateKey(c *gin.Context) {
	id, ok := pathID(c, "id", "provider key")
	if !ok {
		return
	}
	var req KeyRequest
	if !bindJSON(c, &req) {
		return
	}
	k, err := a.Keys.Update(c.Request.Context(), principal(c), id, req.input())
	respond(c, http.StatusOK, k, err)
}

func (a *ChatAPI) deleteKey(c *gin.Context) {
	id, ok := pathID(c, "id", "provider key")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, a.Keys.Delete(c.Request.Context(), principal(c), id))
}

func (a *ChatAPI) testKey(c *gin.Context) {
	id, ok := pathID(c, "id", "provider key")
	if !ok {
		return
	}
	res, err := a.Keys.Test(c.Request.Context(), principal(c), id)
	respond(c, http.StatusOK, res, err)
}
