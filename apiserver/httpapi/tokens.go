package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

// CreateTokenRequest is the body of POST /api/v1/tokens.
type CreateTokenRequest struct {
	Name          string     `json:"name"`
	ExpiresAt     *time.Time `json:"expires_at"`
	AllowedModels []string   `json:"allowed_models"`
}

func (a *MeteringAPI) createToken(c *gin.Context) {
	var req CreateTokenRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := a.Tokens.Create(c.Request.Context(), principal(c), service.CreateTokenInput{Name: req.Name,
		ExpiresAt: req.ExpiresAt, AllowedModels: req.AllowedModels})
	// The answer holds the secret: nothing may keep it.
	c.Header("Cache-Control", "no-store")
	respond(c, http.StatusCreated, t, err)
}

func (a *MeteringAPI) listTokens(c *gin.Context) {
	t, err := a.Tokens.List(c.Request.Context(), principal(c))
	respond(c, http.StatusOK, listBody[model.APIToken]{Items: t}, err)
}

func (a *MeteringAPI) revokeToken(c *gin.Context) {
	id, ok := pathID(c, "id", "API token")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, a.Tokens.Revoke(c.Request.Context(), principal(c), id))
}
