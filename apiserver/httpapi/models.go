package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llmplatform/llmplatform/apiserver/service"
)

// itemsBody is a list that is not paginated.
type itemsBody[T any] struct {
	Items []T `json:"items"`
}

func (a *ChatAPI) listModels(c *gin.Context) {
	models, err := a.Models.List(c.Request.Context(), principal(c))
	respond(c, http.StatusOK, itemsBody[service.ModelInfo]{Items: models}, err)
}

// providerHealth is a provider's key pool as the admin API shows it.
type providerHealth struct {
	Name string      `json:"name"`
	Type string      `json:"type"`
	Keys []keyHealth `json:"keys"`
}

// keyHealth is one key's health, never the key.
type keyHealth struct {
	ID                  string     `json:"id"`
	State               string     `json:"state"`
	Weight              int        `json:"weight"`
	RequestsPerMinute   int        `json:"requests_per_minute"`
	Until               *time.Time `json:"until"`
	InFlight            int        `json:"in_flight"`
	Requests            uint64     `json:"requests"`
	Failures            uint64     `json:"failures"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastError           string     `json:"last_error"`
	LastStatus          int        `json:"last_status"`
	LastUsedAt          *time.Time `json:"last_used_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *ChatAPI) providers(c *gin.Context) {
	var out []providerHealth
	for _, p := range a.Providers() {
		ph := providerHealth{Name: p.Name, Type: p.Type, Keys: make([]keyHealth, 0, len(p.Keys))}
		for _, k := range p.Keys {
			ph.Keys = append(ph.Keys, keyHealth{ID: k.ID, State: k.State, Weight: k.Weight, RequestsPerMinute: k.RequestsPerMinute,
				Until: timePtr(k.Until), InFlight: k.InFlight, Requests: k.Requests, Failures: k.Failures,
				ConsecutiveFailures: k.ConsecutiveFailures, LastError: k.LastError, LastStatus: k.LastStatus, LastUsedAt: timePtr(k.LastUsed)})
		}
		out = append(out, ph)
	}
	if out == nil {
		out = []providerHealth{}
	}
	respond(c, http.StatusOK, itemsBody[providerHealth]{Items: out}, nil)
}
