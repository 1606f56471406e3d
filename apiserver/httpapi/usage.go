package httpapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/service"
	"github.com/llmplatform/llmplatform/apiserver/settings"
)

// MeteringAPI serves what metering shows and sells: personal API tokens (/api/v1/tokens), usage statistics
// (/api/v1/usage, /api/v1/admin/usage, /api/v1/admin/quotas), the operator's /internal/v1 and the
// OpenAI-compatible /v1.
type MeteringAPI struct {
	Tokens *service.APITokens
	Usage  *service.Usage
	// OpenAI answers /v1; nil leaves /v1 unrouted.
	OpenAI *service.OpenAI
	// Settings name the internal token's file.
	Settings func() *settings.Snapshot
}

// Mount adds the routes.
func (a *MeteringAPI) Mount(g Groups) {
	g.User.GET("/tokens", a.listTokens)
	g.User.POST("/tokens", a.createToken)
	g.User.DELETE("/tokens/:id", a.revokeToken)
	g.User.GET("/usage", a.usage)
	g.User.GET("/usage/quotas", a.quotaWindows)
	g.Admin.GET("/usage", a.adminUsage)
	g.Admin.GET("/quotas", a.quotasInForce)
	internal := g.Root.Group("/internal/v1", a.internalAuth)
	internal.GET("/quotas", a.internalQuotas)
	internal.GET("/summary", a.internalSummary)
	if a.OpenAI != nil {
		a.mountV1(g.Root)
	}
}

// listBody is a list that is not paginated.
type listBody[T any] struct {
	Items []T `json:"items"`
}

// usageRange reads ?from= and ?to= and ?format= (json or csv).
func usageRange(c *gin.Context) (service.UsageRange, bool, bool) {
	r := service.UsageRange{From: c.Query("from"), To: c.Query("to")}
	switch c.Query("format") {
	case "", "json":
		return r, false, true
	case "csv":
		return r, true, true
	}
	writeError(c, apperr.Invalid("format must be json or csv"))
	return r, false, false
}

func (a *MeteringAPI) usage(c *gin.Context) {
	r, csv, ok := usageRange(c)
	if !ok {
		return
	}
	if csv {
		a.usageCSV(c, r, false)
		return
	}
	rep, err := a.Usage.Report(c.Request.Context(), principal(c), r)
	respond(c, http.StatusOK, rep, err)
}

// usageCSV answers a usage report as a CSV download.
func (a *MeteringAPI) usageCSV(c *gin.Context, r service.UsageRange, all bool) {
	var buf bytes.Buffer
	if err := a.Usage.CSV(c.Request.Context(), &buf, principal(c), all, r); err != nil {
		writeError(c, err)
		return
	}
	attachment(c, "usage.csv")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func (a *MeteringAPI) quotaWindows(c *gin.Context) {
	w, err := a.Usage.QuotaWindows(c.Request.Context(), principal(c))
	respond(c, http.StatusOK, listBody[service.QuotaWindow]{Items: w}, err)
}

func (a *MeteringAPI) adminUsage(c *gin.Context) {
	r, csv, ok := usageRange(c)
	if !ok {
		return
	}
	if csv {
		a.usageCSV(c, r, true)
		return
	}
	top := service.DefaultTopUsers
	if s := c.Query("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > service.MaxTopUsers {
			writeError(c, apperr.Invalid("top must be a number from 1 to %d", service.MaxTopUsers))
			return
		}
		top = n
	}
	rep, err := a.Usage.AdminReport(c.Request.Context(), r, top)
	respond(c, http.StatusOK, rep, err)
}

func (a *MeteringAPI) quotasInForce(c *gin.Context) {
	q, err := a.Usage.QuotasInForce(c.Request.Context())
	respond(c, http.StatusOK, listBody[service.QuotaInForce]{Items: q}, err)
}
