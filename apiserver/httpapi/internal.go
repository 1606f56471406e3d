package httpapi

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
)

// internalAuth lets through requests bearing the operator's token (secrets.internalTokenFile), compared in
// constant time. The file is read on each request, so a rotated Secret applies at once; without a configured,
// readable token every request is refused.
func (a *MeteringAPI) internalAuth(c *gin.Context) {
	scheme, given, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	want := a.internalToken(c)
	if !strings.EqualFold(scheme, "Bearer") || len(want) == 0 ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(given)), want) != 1 {
		writeError(c, apperr.Unauthorized("invalid_internal_token", "this endpoint is for the operator; it needs the platform's internal token"))
		return
	}
	c.Next()
}

// internalToken reads the internal token; nil when none is configured or readable.
func (a *MeteringAPI) internalToken(c *gin.Context) []byte {
	path := a.Settings().Config.Secrets.InternalTokenFile
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path) //nolint:gosec // the path is the operator's config, not a request's
	if err != nil {
		logger(c).WarnContext(c.Request.Context(), "Reading the internal token failed", "error", err)
		return nil
	}
	return bytes.TrimSpace(b)
}

func (a *MeteringAPI) internalQuotas(c *gin.Context) {
	q, err := a.Usage.InternalQuotas(c.Request.Context())
	respond(c, http.StatusOK, q, err)
}

func (a *MeteringAPI) internalSummary(c *gin.Context) {
	s, err := a.Usage.InternalSummary(c.Request.Context())
	respond(c, http.StatusOK, s, err)
}
