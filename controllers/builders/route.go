package builders

import (
	"maps"
	"net"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// StreamTimeout is how long a streamed answer may run through a route: an hour covers the slowest reasoning
// models; chat streams send a heartbeat well inside it.
const StreamTimeout = "3600"

// StreamingAnnotations keep Server-Sent Events unbuffered and long streams alive on the common Ingress
// controllers. Controllers ignore the annotations of the others. spec.ingress.annotations override them.
//
//   - ingress-nginx: no response or request buffering, one-hour read and send timeouts (default 60 s).
//   - NGINX Inc. kubernetes-ingress (nginx.org): the same, in its own annotations.
//   - Contour: the Envoy route timeout (default 15 s) is the whole response, so it must cover a stream.
//   - HAProxy Kubernetes Ingress (haproxy.org): the server timeout (default 50 s) is the silence allowed.
//
// Traefik streams without buffering by default and sets timeouts on its entry points, not per Ingress;
// cloud load balancers (AWS ALB, GKE) set idle timeouts on the load balancer or a BackendConfig, which a
// tenant admin adds through spec.ingress.annotations.
var StreamingAnnotations = map[string]string{
	"nginx.ingress.kubernetes.io/proxy-buffering":         "off",
	"nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
	"nginx.ingress.kubernetes.io/proxy-read-timeout":      StreamTimeout,
	"nginx.ingress.kubernetes.io/proxy-send-timeout":      StreamTimeout,
	"nginx.org/proxy-buffering":                           "false",
	"nginx.org/proxy-read-timeout":                        StreamTimeout + "s",
	"nginx.org/proxy-send-timeout":                        StreamTimeout + "s",
	"projectcontour.io/response-timeout":                  StreamTimeout + "s",
	"haproxy.org/timeout-server":                          StreamTimeout + "s",
}

// URL is where users reach the platform: https://<ingress host> with TLS, http://<ingress host> without, or
// https://<first gateway hostname> (Gateways that face users terminate TLS). Empty without a route.
func URL(p *llmv1.LLMPlatform) string {
	if in := p.Spec.Ingress; in != nil {
		if in.TLS != nil {
			return "https://" + in.Host
		}
		return "http://" + in.Host
	}
	if gw := p.Spec.Gateway; gw != nil && len(gw.Hostnames) > 0 {
		return "https://" + string(gw.Hostnames[0])
	}
	return ""
}

// ServiceURL is the API server's base URL inside the cluster, through its Service: where the operator reads
// usage (/internal/v1).
func ServiceURL(p *llmv1.LLMPlatform) string {
	return "http://" + net.JoinHostPort(APIServerName(p)+"."+p.Namespace+".svc", strconv.Itoa(ServicePort))
}

// Ingress routes the platform's host to the API server's Service. Nil without spec.ingress.
func Ingress(p *llmv1.LLMPlatform) *networkingv1.Ingress {
	in := p.Spec.Ingress
	if in == nil {
		return nil
	}
	meta := objectMeta(p, RouteName(p), ComponentAPIServer)
	meta.Annotations = maps.Clone(StreamingAnnotations)
	maps.Copy(meta.Annotations, in.Annotations)
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "Ingress"),
		ObjectMeta: meta,
		Spec: networkingv1.IngressSpec{
			IngressClassName: clone(in.ClassName),
			Rules: []networkingv1.IngressRule{{
				Host: in.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: APIServerName(p),
							Port: networkingv1.ServiceBackendPort{Name: APIServerPortName},
						}},
					}},
				}},
			}},
		},
	}
	if in.TLS != nil {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{in.Host}, SecretName: in.TLS.SecretName}}
	}
	return ing
}

// HTTPRoute attaches the platform to the spec's Gateways. Every field the Gateway API would default is set
// here, so that what the operator applies is what the API server stores. Nil without spec.gateway.
func HTTPRoute(p *llmv1.LLMPlatform) *gwapiv1.HTTPRoute {
	gw := p.Spec.Gateway
	if gw == nil {
		return nil
	}
	var parents []gwapiv1.ParentReference
	for i := range gw.ParentRefs {
		parents = append(parents, *gw.ParentRefs[i].DeepCopy())
	}
	group, kind := gwapiv1.Group(""), gwapiv1.Kind("Service")
	port := gwapiv1.PortNumber(ServicePort)
	pathType, slash := gwapiv1.PathMatchPathPrefix, "/"
	timeout := gwapiv1.Duration(StreamTimeout + "s")
	return &gwapiv1.HTTPRoute{
		TypeMeta:   typeMeta(gwapiv1.GroupVersion.String(), "HTTPRoute"),
		ObjectMeta: objectMeta(p, RouteName(p), ComponentAPIServer),
		Spec: gwapiv1.HTTPRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: parents},
			Hostnames:       append([]gwapiv1.Hostname(nil), gw.Hostnames...),
			Rules: []gwapiv1.HTTPRouteRule{{
				Matches: []gwapiv1.HTTPRouteMatch{{Path: &gwapiv1.HTTPPathMatch{Type: &pathType, Value: &slash}}},
				BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{
					BackendObjectReference: gwapiv1.BackendObjectReference{
						Group: &group, Kind: &kind, Name: gwapiv1.ObjectName(APIServerName(p)), Port: &port,
					},
					Weight: new(int32(1)),
				}}},
				// The request timeout bounds a whole exchange, stream included; implementations default it
				// to as little as 15 s.
				Timeouts: &gwapiv1.HTTPRouteTimeouts{Request: &timeout},
			}},
		},
	}
}
