package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

func (h *handlers) userRoutes(user, admin *gin.RouterGroup) {
	user.GET("/users/me", h.me)
	user.PATCH("/users/me", h.updateMe)
	user.DELETE("/users/me", h.deleteMe)
	admin.GET("/users", h.listUsers)
	admin.POST("/users", h.createUser)
	admin.GET("/users/:id", h.getUser)
	admin.DELETE("/users/:id", h.deleteUser)
	admin.POST("/users/:id/activate", h.setActive(true))
	admin.POST("/users/:id/deactivate", h.setActive(false))
	admin.PUT("/users/:id/role", h.setRole)
	admin.GET("/audit", h.audit)
}

// UpdateProfileRequest is the body of PATCH /users/me; absent fields are unchanged.
type UpdateProfileRequest struct {
	Email       *string `json:"email"`
	DisplayName *string `json:"display_name"`
}

// DeleteAccountRequest is the body of DELETE /users/me.
type DeleteAccountRequest struct {
	Password string `json:"password"`
}

// CreateUserRequest is the body of POST /admin/users.
type CreateUserRequest struct {
	RegisterRequest
	Role string `json:"role"`
}

// SetRoleRequest is the body of PUT /admin/users/{id}/role.
type SetRoleRequest struct {
	Role string `json:"role"`
}

func (h *handlers) updateMe(c *gin.Context) {
	var req UpdateProfileRequest
	if !bindJSON(c, &req) {
		return
	}
	u, err := h.Users.UpdateProfile(c.Request.Context(), principal(c), service.ProfileUpdate{Email: req.Email, DisplayName: req.DisplayName})
	respond(c, http.StatusOK, u, err)
}

func (h *handlers) deleteMe(c *gin.Context) {
	var req DeleteAccountRequest
	if !bindJSON(c, &req) {
		return
	}
	respond(c, http.StatusNoContent, nil, h.Users.DeleteSelf(c.Request.Context(), principal(c), req.Password, clientInfo(c)))
}

func (h *handlers) listUsers(c *gin.Context) {
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	f := store.UserFilter{Query: c.Query("q"), Role: c.Query("role")}
	if s := c.Query("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			writeError(c, apperr.Invalid("active must be true or false"))
			return
		}
		f.Active = &b
	}
	users, err := h.Users.List(c.Request.Context(), f, page)
	respond(c, http.StatusOK, users, err)
}

func (h *handlers) createUser(c *gin.Context) {
	var req CreateUserRequest
	if !bindJSON(c, &req) {
		return
	}
	u, err := h.Users.Create(c.Request.Context(), principal(c), service.CreateUserInput{Role: req.Role,
		RegisterInput: service.RegisterInput{Username: req.Username, Email: req.Email, Password: req.Password, DisplayName: req.DisplayName}},
		clientInfo(c))
	respond(c, http.StatusCreated, u, err)
}

func (h *handlers) getUser(c *gin.Context) {
	id, ok := pathID(c, "id", "user")
	if !ok {
		return
	}
	u, err := h.Users.Get(c.Request.Context(), id)
	respond(c, http.StatusOK, u, err)
}

func (h *handlers) deleteUser(c *gin.Context) {
	id, ok := pathID(c, "id", "user")
	if !ok {
		return
	}
	respond(c, http.StatusNoContent, nil, h.Users.Delete(c.Request.Context(), principal(c), id, clientInfo(c)))
}

func (h *handlers) setActive(active bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, "id", "user")
		if !ok {
			return
		}
		u, err := h.Users.SetActive(c.Request.Context(), principal(c), id, active, clientInfo(c))
		respond(c, http.StatusOK, u, err)
	}
}

func (h *handlers) setRole(c *gin.Context) {
	id, ok := pathID(c, "id", "user")
	if !ok {
		return
	}
	var req SetRoleRequest
	if !bindJSON(c, &req) {
		return
	}
	u, err := h.Users.SetRole(c.Request.Context(), principal(c), id, req.Role, clientInfo(c))
	respond(c, http.StatusOK, u, err)
}

func (h *handlers) audit(c *gin.Context) {
	page, ok := pageRequest(c)
	if !ok {
		return
	}
	actorID, ok := queryID(c, "actor_id")
	if !ok {
		return
	}
	entries, err := h.Users.Audit(c.Request.Context(), store.AuditFilter{Action: c.Query("action"), ActorID: actorID}, page)
	respond(c, http.StatusOK, entries, err)
}
