// Package httpapi is the API server's HTTP layer on gin: middleware (request ids, access logs, recovery,
// security headers, CORS, body limits), the routes of /api/v1 and the system endpoints, and the one place
// where service errors become HTTP statuses. Handlers bind and validate the request, call one service
// method with the request's context and hand the result to respond.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/settings"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Groups are the router groups a later part of the server adds its routes to.
type Groups struct {
	// Root is the engine's root, for paths outside /api/v1 (such as /v1 or /internal/v1).
	Root *gin.RouterGroup
	// Public is /api/v1 without authentication.
	Public *gin.RouterGroup
	// User is /api/v1 for signed-in users.
	User *gin.RouterGroup
	// Admin is /api/v1/admin for admins.
	Admin *gin.RouterGroup
}

// Options are the router's dependencies.
type Options struct {
	Auth          *service.Auth
	Users         *service.Users
	Conversations *service.Conversations
	Settings      func() *settings.Snapshot
	// Ready reports whether the server can serve (database reachable, migrations applied).
	Ready   func(ctx context.Context) error
	Metrics *Metrics
	// SeparateMetrics leaves /metrics to a listener of its own (Metrics.Handler): the router answers it with
	// a JSON 404, so that a route to the API never exposes the metrics.
	SeparateMetrics bool
	Log             *slog.Logger
	Version         string
	// WebUI serves every GET that no route matched outside /api, /v1 and /internal.
	WebUI http.Handler
	// SendMessage answers POST /api/v1/conversations/{id}/messages (the chat service); until it is set the
	// route answers 501.
	SendMessage gin.HandlerFunc
	// Mount adds more routes.
	Mount []func(Groups)
}

// New returns the HTTP handler of the API server.
func New(o Options) (*gin.Engine, error) {
	spec, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	proxies := &trustedProxies{current: o.Settings}
	r := gin.New()
	r.HandleMethodNotAllowed = false
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(requestIDs(o.Log), recovery(o.Log), clientIPs(proxies), accessLog(o.Log, o.Metrics),
		securityHeaders(proxies), cors(o.Settings), bodyLimit(o.Settings))

	h := &handlers{Options: o}
	h.system(r, spec)
	api := r.Group("/api/v1")
	user := api.Group("", h.authenticate)
	admin := api.Group("/admin", h.authenticate, h.requireAdmin)
	h.authRoutes(api, user)
	h.userRoutes(user, admin)
	h.conversationRoutes(user)
	for _, m := range o.Mount {
		m(Groups{Root: &r.RouterGroup, Public: api, User: user, Admin: admin})
	}
	r.NoRoute(h.noRoute)
	return r, nil
}

// handlers holds the dependencies every handler uses.
type handlers struct {
	Options
}

// apiPrefixes are answered with JSON 404s, never the web UI. /metrics is one too: when it is served on a
// listener of its own, a client that asks the main one for it must not get the UI's page with a 200.
var apiPrefixes = []string{"/api/", "/v1/", "/internal/", "/metrics/"}

func (h *handlers) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	for _, prefix := range apiPrefixes {
		if strings.HasPrefix(p, prefix) || p == strings.TrimSuffix(prefix, "/") {
			writeError(c, apperr.New(apperr.ErrNotFound, "not_found", "no such endpoint: %s %s", c.Request.Method, p))
			return
		}
	}
	if h.WebUI == nil || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		writeError(c, apperr.New(apperr.ErrNotFound, "not_found", "no such endpoint: %s %s", c.Request.Method, p))
		return
	}
	// gin presets 404 for unmatched paths; the UI answers for itself.
	c.Status(http.StatusOK)
	h.WebUI.ServeHTTP(c.Writer, c.Request)
}
