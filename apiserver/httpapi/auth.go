package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

func (h *handlers) authRoutes(public, user *gin.RouterGroup) {
	public.POST("/auth/register", h.register)
	public.POST("/auth/login", h.login)
	public.POST("/auth/refresh", h.refresh)
	public.POST("/auth/logout", h.logout)
	user.GET("/auth/me", h.me)
	user.POST("/auth/change-password", h.changePassword)
}

// authenticate requires a valid access token and puts its principal in the context.
func (h *handlers) authenticate(c *gin.Context) {
	scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		writeError(c, apperr.Unauthorized("missing_token", "sign in: this endpoint needs an Authorization: Bearer access token"))
		return
	}
	p, err := h.Auth.Authenticate(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

// requireAdmin lets only admins through.
func (h *handlers) requireAdmin(c *gin.Context) {
	if p, _ := principalOf(c); !p.IsAdmin() {
		writeError(c, apperr.Forbidden("admin_only", "only admins may do this"))
		return
	}
	c.Next()
}

func principalOf(c *gin.Context) (model.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return model.Principal{}, false
	}
	return v.(model.Principal), true
}

// principal returns the caller; routes using it sit behind authenticate.
func principal(c *gin.Context) model.Principal {
	p, _ := principalOf(c)
	return p
}

func clientInfo(c *gin.Context) service.ClientInfo {
	return service.ClientInfo{IP: c.GetString(clientIPKey), UserAgent: c.GetHeader("User-Agent")}
}

// RegisterRequest is the body of POST /auth/register.
type RegisterRequest struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// RefreshRequest is the body of POST /auth/refresh and /auth/logout.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// ChangePasswordRequest is the body of POST /auth/change-password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type authResponse struct {
	User             *model.User `json:"user"`
	AccessToken      string      `json:"access_token"`
	TokenType        string      `json:"token_type"`
	ExpiresIn        int64       `json:"expires_in"`
	RefreshToken     string      `json:"refresh_token"`
	RefreshExpiresIn int64       `json:"refresh_expires_in"`
}

func respondTokens(c *gin.Context, status int, t *service.Tokens, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	// Tokens must not be cached by anything between here and the client.
	c.Header("Cache-Control", "no-store")
	c.JSON(status, authResponse{User: t.User, AccessToken: t.AccessToken, TokenType: "Bearer",
		ExpiresIn: int64(t.ExpiresIn.Seconds()), RefreshToken: t.RefreshToken, RefreshExpiresIn: int64(t.RefreshExpiresIn.Seconds())})
}

func (h *handlers) register(c *gin.Context) {
	var req RegisterRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := h.Auth.Register(c.Request.Context(), service.RegisterInput{Username: req.Username, Email: req.Email,
		Password: req.Password, DisplayName: req.DisplayName}, clientInfo(c))
	respondTokens(c, http.StatusCreated, t, err)
}

func (h *handlers) login(c *gin.Context) {
	var req LoginRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := h.Auth.Login(c.Request.Context(), req.Login, req.Password, clientInfo(c))
	respondTokens(c, http.StatusOK, t, err)
}

func (h *handlers) refresh(c *gin.Context) {
	var req RefreshRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := h.Auth.Refresh(c.Request.Context(), req.RefreshToken, clientInfo(c))
	respondTokens(c, http.StatusOK, t, err)
}

func (h *handlers) logout(c *gin.Context) {
	var req RefreshRequest
	if !bindJSON(c, &req) {
		return
	}
	respond(c, http.StatusNoContent, nil, h.Auth.Logout(c.Request.Context(), req.RefreshToken))
}

func (h *handlers) me(c *gin.Context) {
	u, err := h.Users.Me(c.Request.Context(), principal(c))
	respond(c, http.StatusOK, u, err)
}

func (h *handlers) changePassword(c *gin.Context) {
	var req ChangePasswordRequest
	if !bindJSON(c, &req) {
		return
	}
	err := h.Auth.ChangePassword(c.Request.Context(), principal(c), req.CurrentPassword, req.NewPassword, clientInfo(c))
	respond(c, http.StatusNoContent, nil, err)
}
