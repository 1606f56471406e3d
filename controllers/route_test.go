package controllers

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// TestHTTPRouteWhenGatewayAPIInstalled: in a cluster that serves the Gateway API, a platform with
// spec.gateway gets an HTTPRoute to its API server; a Gateway's refusal shows in RouteReady; removing
// spec.gateway removes the route.
func TestHTTPRouteWhenGatewayAPIInstalled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gwCfg := gatewayControlPlane(t)
	c, err := client.New(gwCfg, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespaceIn(t, c)
	createSecret(t, c, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, c, ns, minimalPlatform+`
  gateway:
    parentRefs: [{name: public, namespace: gateway-system, sectionName: https}]
    hostnames: [chat.shop.example]
`)
	startOperator(t, gwCfg, ns)

	route := &gwapiv1.HTTPRoute{}
	eventually(t, "waiting for the HTTPRoute", func() error { return get(c, ns, "shop", route) })
	assertControlledBy(t, route, p)
	rule := route.Spec.Rules[0]
	backend := rule.BackendRefs[0]
	if pr := route.Spec.ParentRefs[0]; pr.Name != "public" || *pr.Namespace != "gateway-system" || *pr.SectionName != "https" {
		t.Errorf("parentRef %+v", pr)
	}
	if route.Spec.Hostnames[0] != "chat.shop.example" || backend.Name != "shop-apiserver" || *backend.Port != 80 || *rule.Timeouts.Request != "3600s" {
		t.Errorf("route spec %+v", route.Spec)
	}
	waitForCondition(t, c, p, llmv1.ConditionRouteReady, metav1.ConditionTrue, llmv1.ReasonRouteCreated)
	if got := mustGet(t, c, ns, p.Name, &llmv1.LLMPlatform{}); got.Status.URL != "https://chat.shop.example" {
		t.Errorf("url = %q", got.Status.URL)
	}

	// The Gateway's controller refuses the route.
	eventually(t, "setting the route's status", func() error {
		if err := get(c, ns, "shop", route); err != nil {
			return err
		}
		route.Status.Parents = []gwapiv1.RouteParentStatus{{
			ParentRef:      route.Spec.ParentRefs[0],
			ControllerName: "example.com/gateway-controller",
			Conditions: []metav1.Condition{{
				Type: "Accepted", Status: metav1.ConditionFalse, Reason: "NotAllowedByListeners", Message: "listener https allows no routes from this namespace",
				LastTransitionTime: metav1.Now(), ObservedGeneration: route.Generation,
			}},
		}}
		return c.Status().Update(ctx, route)
	})
	cond := waitForCondition(t, c, p, llmv1.ConditionRouteReady, metav1.ConditionFalse, llmv1.ReasonRouteNotAccepted)
	if want := "HTTPRoute shop is not accepted: Gateway public: NotAllowedByListeners: listener https allows no routes from this namespace"; cond.Message != want {
		t.Errorf("message %q, want %q", cond.Message, want)
	}

	updatePlatform(t, c, p, func(p *llmv1.LLMPlatform) { p.Spec.Gateway = nil })
	eventually(t, "waiting for the HTTPRoute to go", func() error {
		if err := get(c, ns, "shop", &gwapiv1.HTTPRoute{}); err == nil {
			return fmt.Errorf("HTTPRoute still exists")
		}
		return nil
	})
	waitForCondition(t, c, p, llmv1.ConditionRouteReady, metav1.ConditionTrue, llmv1.ReasonNoRoute)
}

// TestGatewayAPIMissing: in a cluster without the Gateway API, spec.gateway gets a condition saying so
// instead of an error loop, and the platform's other parts are still created.
func TestGatewayAPIMissing(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform+`
  gateway:
    parentRefs: [{name: public}]
    hostnames: [chat.shop.example]
`)
	op := startOperator(t, cfg, ns)
	c := waitForCondition(t, k8sClient, p, llmv1.ConditionRouteReady, metav1.ConditionFalse, llmv1.ReasonGatewayAPIMissing)
	if c.Message == "" {
		t.Error("no message")
	}
	if err := op.reconcile(t, p); err != nil {
		t.Errorf("Reconcile() = %v, want no error: a missing API is a condition, not a failure", err)
	}
	got := mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})
	if got.Status.URL != "" {
		t.Errorf("url = %q without a route in place", got.Status.URL)
	}
	waitForObservedGeneration(t, k8sClient, p)
}
