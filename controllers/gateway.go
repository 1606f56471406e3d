package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayRecheck is how long the answer "the cluster does not serve HTTPRoute" is trusted before discovery is
// asked again: installing the Gateway API later is noticed without a discovery request per reconcile.
const gatewayRecheck = time.Minute

// gatewayAPI knows whether the cluster serves gateway.networking.k8s.io/v1 HTTPRoute, and starts the
// HTTPRoute watch the first time it does: an operator in a cluster without the Gateway API watches nothing
// of it.
type gatewayAPI struct {
	mapper meta.RESTMapper
	watch  func() error
	now    func() time.Time

	mu        sync.Mutex
	watching  bool
	missingAt time.Time
}

// served reports whether HTTPRoute is served, starting its watch when it is.
func (g *gatewayAPI) served() (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now
	if g.now != nil {
		now = g.now
	}
	if g.watching {
		return true, nil
	}
	if !g.missingAt.IsZero() && now().Sub(g.missingAt) < gatewayRecheck {
		return false, nil
	}
	_, err := g.mapper.RESTMapping(schema.GroupKind{Group: gwapiv1.GroupName, Kind: "HTTPRoute"}, gwapiv1.GroupVersion.Version)
	if meta.IsNoMatchError(err) {
		g.missingAt = now()
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := g.watch(); err != nil {
		return false, err
	}
	g.watching = true
	return true, nil
}
