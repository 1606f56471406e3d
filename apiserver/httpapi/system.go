package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
)

// docsPage is Swagger UI over /openapi.json, with its assets embedded in the binary (no CDN: the platform
// may run air-gapped) and its initialiser in a file, not inline, so the Content-Security-Policy holds.
const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LLMPlatform API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>
`

const docsInit = `window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
`

func (h *handlers) system(r *gin.Engine, spec []byte) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", h.ready)
	r.GET("/health", h.ready)
	if !h.SeparateMetrics {
		r.GET("/metrics", gin.WrapH(h.Metrics.Handler()))
	}
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", spec) })
	r.GET("/docs", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(docsPage)) })
	r.GET("/docs/init.js", func(c *gin.Context) { c.Data(http.StatusOK, "text/javascript; charset=utf-8", []byte(docsInit)) })
	assets := http.StripPrefix("/docs/assets/", http.FileServerFS(swaggerfiles.FS))
	r.GET("/docs/assets/*file", gin.WrapH(assets))
	r.GET("/api/v1/info", h.info)
}

// undocumentedRoutes are routed but not API operations: the docs page's own files.
var undocumentedRoutes = map[string]bool{"GET /docs/init.js": true, "GET /docs/assets/*file": true}

func (h *handlers) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := h.Ready(ctx); err != nil {
		logger(c).WarnContext(ctx, "Not ready", "error", err)
		writeError(c, apperr.New(apperr.ErrUnavailable, "not_ready", "not ready: the database is unreachable or not migrated"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

type platformInfo struct {
	Platform        string `json:"platform"`
	Registration    string `json:"registration"`
	UserKeysAllowed bool   `json:"user_keys_allowed"`
	Version         string `json:"version"`
}

func (h *handlers) info(c *gin.Context) {
	cfg := h.Settings().Config
	reg := cfg.Auth.Registration
	if reg == "" {
		reg = config.RegistrationOpen
	}
	c.JSON(http.StatusOK, platformInfo{Platform: cfg.Platform, Registration: reg, UserKeysAllowed: cfg.UserKeys.Allowed, Version: h.Version})
}
