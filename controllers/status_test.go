package controllers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

func TestDatabaseCondition(t *testing.T) {
	tests := []struct {
		name       string
		obs        databaseObservation
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{"external, present", databaseObservation{External: &secretCheck{Name: "pg", Key: "uri"}},
			metav1.ConditionTrue, llmv1.ReasonExternalDatabase, `Secret "pg" key "uri"`},
		{"external, Secret missing", databaseObservation{External: &secretCheck{Name: "pg", Key: "uri", Use: "spec.database.external.secretRef", Missing: true}},
			metav1.ConditionFalse, llmv1.ReasonDatabaseSecretMissing, `Secret "pg" (spec.database.external.secretRef) not found`},
		{"external, key missing", databaseObservation{External: &secretCheck{Name: "pg", Key: "url", Use: "u", KeyMissing: true}},
			metav1.ConditionFalse, llmv1.ReasonDatabaseSecretMissing, `has no key "url"`},
		{"managed, ready", databaseObservation{Managed: workloadObservation{Kind: "StatefulSet", Name: "p-postgres", Ready: true, Replicas: 1, ReadyReplicas: 1}},
			metav1.ConditionTrue, llmv1.ReasonReady, "StatefulSet p-postgres is ready"},
		{"managed, starting", databaseObservation{Managed: workloadObservation{Kind: "StatefulSet", Name: "p-postgres", Replicas: 1}},
			metav1.ConditionFalse, llmv1.ReasonDatabaseStarting, "0 of 1 replicas ready"},
		{"managed, volume pending", databaseObservation{Managed: workloadObservation{Kind: "StatefulSet", Name: "p-postgres", Replicas: 1, PendingPVC: "data-p-postgres-0"}},
			metav1.ConditionFalse, llmv1.ReasonPVCPending, "PersistentVolumeClaim data-p-postgres-0 is Pending"},
		{"managed, image not pulled", databaseObservation{Managed: workloadObservation{Replicas: 1, Pods: &podProblem{llmv1.ReasonImagePullFailed, "pod p-postgres-0 ..."}}},
			metav1.ConditionFalse, llmv1.ReasonImagePullFailed, "pod p-postgres-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCondition(t, databaseCondition(tt.obs), llmv1.ConditionDatabaseReady, tt.wantStatus, tt.wantReason, tt.wantText)
		})
	}
}

func TestProvidersCondition(t *testing.T) {
	tests := []struct {
		name       string
		checks     []secretCheck
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{"no keys", nil, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured, "0 provider key(s)"},
		{"all present", []secretCheck{{Name: "a", Key: "apiKey"}, {Name: "b", Key: "apiKey"}}, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured, "2 provider key(s)"},
		{"one missing, one without its key", []secretCheck{
			{Name: "a", Key: "apiKey"},
			{Name: "b", Key: "apiKey", Use: "provider openai", Missing: true},
			{Name: "c", Key: "token", Use: "provider anthropic", KeyMissing: true},
		}, metav1.ConditionFalse, llmv1.ReasonSecretMissing,
			`Secret "b" (provider openai) not found; Secret "c" (provider anthropic) has no key "token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCondition(t, providersCondition(tt.checks), llmv1.ConditionProvidersReady, tt.wantStatus, tt.wantReason, tt.wantText)
		})
	}
}

func TestAPIServerCondition(t *testing.T) {
	ready := workloadObservation{Kind: "Deployment", Name: "p-apiserver", Ready: true, Replicas: 2, ReadyReplicas: 2}
	tests := []struct {
		name       string
		obs        apiServerObservation
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{"ready", apiServerObservation{Deployment: ready}, metav1.ConditionTrue, llmv1.ReasonReady, "2 of 2 replicas ready"},
		{"invalid config", apiServerObservation{InvalidConfig: errors.New("timezone: unknown time zone \"Mars/Olympus\""), Deployment: ready},
			metav1.ConditionFalse, llmv1.ReasonInvalidSpec, "Mars/Olympus"},
		{"admin Secret missing", apiServerObservation{Admin: &secretCheck{Name: "boss", Use: "spec.auth.adminSecretRef", Missing: true}, Deployment: ready},
			metav1.ConditionFalse, llmv1.ReasonSecretMissing, `Secret "boss" (spec.auth.adminSecretRef) not found`},
		{"crash loop", apiServerObservation{Deployment: workloadObservation{Replicas: 2, Pods: &podProblem{llmv1.ReasonCrashLooping, "pod x: container apiserver is crash-looping"}}},
			metav1.ConditionFalse, llmv1.ReasonCrashLooping, "pod x"},
		{"scaled to zero", apiServerObservation{Deployment: workloadObservation{Kind: "Deployment", Name: "p-apiserver"}},
			metav1.ConditionFalse, llmv1.ReasonPodsNotReady, "scaled to zero"},
		{"pods cannot be created", apiServerObservation{Deployment: deploymentObservation(&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "p-apiserver"},
			Spec:       appsv1.DeploymentSpec{Replicas: new(int32(2))},
			Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "p-apiserver-x" is forbidden: exceeded quota: compute`,
			}}},
		})}, metav1.ConditionFalse, llmv1.ReasonPodsNotReady, `Deployment p-apiserver: FailedCreate: pods "p-apiserver-x" is forbidden: exceeded quota`},
		{"rolling out", apiServerObservation{Deployment: workloadObservation{Kind: "Deployment", Name: "p-apiserver", Replicas: 3, ReadyReplicas: 1}},
			metav1.ConditionFalse, llmv1.ReasonPodsNotReady, "1 of 3 replicas ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCondition(t, apiServerCondition(tt.obs), llmv1.ConditionAPIServerReady, tt.wantStatus, tt.wantReason, tt.wantText)
		})
	}
}

func TestRouteCondition(t *testing.T) {
	tests := []struct {
		name       string
		obs        routeObservation
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{"no route", routeObservation{Service: "p-apiserver"}, metav1.ConditionTrue, llmv1.ReasonNoRoute, "Service p-apiserver"},
		{"ingress", routeObservation{Ingress: "p"}, metav1.ConditionTrue, llmv1.ReasonRouteCreated, "Ingress p in place"},
		{"both", routeObservation{Ingress: "p", HTTPRoute: "p"}, metav1.ConditionTrue, llmv1.ReasonRouteCreated, "Ingress p and HTTPRoute p in place"},
		{"gateway API missing", routeObservation{Ingress: "p", GatewayAPIMissing: true}, metav1.ConditionFalse, llmv1.ReasonGatewayAPIMissing, "install the Gateway API CRDs"},
		{"route refused", routeObservation{HTTPRoute: "p", NotAccepted: "Gateway public: NoMatchingParent: x"}, metav1.ConditionFalse, llmv1.ReasonRouteNotAccepted, "NoMatchingParent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCondition(t, routeCondition(tt.obs), llmv1.ConditionRouteReady, tt.wantStatus, tt.wantReason, tt.wantText)
		})
	}
}

func TestReadyCondition(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: typ + " says " + reason}
	}
	allTrue := []metav1.Condition{
		cond(llmv1.ConditionDatabaseReady, metav1.ConditionTrue, "Ready"), cond(llmv1.ConditionAPIServerReady, metav1.ConditionTrue, "Ready"),
		cond(llmv1.ConditionRouteReady, metav1.ConditionTrue, "NoRoute"), cond(llmv1.ConditionProvidersReady, metav1.ConditionTrue, "ProvidersConfigured"),
	}
	with := func(c metav1.Condition) []metav1.Condition {
		out := append([]metav1.Condition(nil), allTrue...)
		meta.SetStatusCondition(&out, c)
		return out
	}
	tests := []struct {
		name       string
		conditions []metav1.Condition
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{"all true", allTrue, metav1.ConditionTrue, llmv1.ReasonReady, "ready"},
		{"one false carries its reason", with(cond(llmv1.ConditionAPIServerReady, metav1.ConditionFalse, "CrashLooping")),
			metav1.ConditionFalse, "CrashLooping", "APIServerReady: APIServerReady says CrashLooping"},
		{"the first false in order gives the reason", func() []metav1.Condition {
			c := with(cond(llmv1.ConditionProvidersReady, metav1.ConditionFalse, "SecretMissing"))
			meta.SetStatusCondition(&c, cond(llmv1.ConditionAPIServerReady, metav1.ConditionFalse, "CrashLooping"))
			return c
		}(), metav1.ConditionFalse, "CrashLooping", "APIServerReady says CrashLooping; ProvidersReady: ProvidersReady says SecretMissing"},
		{"a condition not set yet", allTrue[:3], metav1.ConditionUnknown, llmv1.ReasonReconciling, "Waiting for ProvidersReady"},
		{"unknown", with(cond(llmv1.ConditionRouteReady, metav1.ConditionUnknown, "Reconciling")),
			metav1.ConditionUnknown, llmv1.ReasonReconciling, "RouteReady"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCondition(t, readyCondition(tt.conditions), llmv1.ConditionReady, tt.wantStatus, tt.wantReason, tt.wantText)
		})
	}
}

func assertCondition(t *testing.T, c metav1.Condition, typ string, status metav1.ConditionStatus, reason, text string) {
	t.Helper()
	if c.Type != typ || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, text) {
		t.Errorf("condition = %s/%s/%s %q, want %s/%s/%s containing %q", c.Type, c.Status, c.Reason, c.Message, typ, status, reason, text)
	}
}

func TestDiagnosePods(t *testing.T) {
	waiting := func(pod, reason, message string) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: pod},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "apiserver", Image: "img:1", RestartCount: 3,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
			}}},
		}
	}
	unschedulable := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/3 nodes are available: 3 Insufficient memory.",
	}}}}
	tests := []struct {
		name       string
		pods       []corev1.Pod
		wantReason string
		wantText   string
	}{
		{"no pods", nil, "", ""},
		{"running", []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}}, "", ""},
		{"crash loop", []corev1.Pod{waiting("b", "CrashLoopBackOff", "back-off")}, llmv1.ReasonCrashLooping, "pod b: container apiserver is crash-looping (restarted 3 times)"},
		{"image pull", []corev1.Pod{waiting("b", "ImagePullBackOff", "not found")}, llmv1.ReasonImagePullFailed, "cannot pull image img:1: ImagePullBackOff: not found"},
		{"missing Secret", []corev1.Pod{waiting("b", "CreateContainerConfigError", `secret "x" not found`)}, llmv1.ReasonPodsNotReady, `secret "x" not found`},
		{"unschedulable", []corev1.Pod{unschedulable}, llmv1.ReasonPodsNotReady, "pod a cannot be scheduled: 0/3 nodes"},
		{"first pod by name", []corev1.Pod{waiting("z", "ErrImagePull", "x"), waiting("m", "CrashLoopBackOff", "y")}, llmv1.ReasonCrashLooping, "pod m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diagnosePods(tt.pods)
			if tt.wantReason == "" {
				if got != nil {
					t.Errorf("diagnosePods() = %+v, want nothing", got)
				}
				return
			}
			if got == nil || got.Reason != tt.wantReason || !strings.Contains(got.Message, tt.wantText) {
				t.Errorf("diagnosePods() = %+v, want %s containing %q", got, tt.wantReason, tt.wantText)
			}
		})
	}
}

func TestWorkloadObservations(t *testing.T) {
	available := []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
	tests := []struct {
		name string
		d    appsv1.Deployment
		want bool
	}{
		{"available", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: appsv1.DeploymentStatus{ObservedGeneration: 2, ReadyReplicas: 1, Conditions: available}}, true},
		{"spec not observed yet", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Status: appsv1.DeploymentStatus{ObservedGeneration: 2, ReadyReplicas: 1, Conditions: available}}, false},
		{"not available", appsv1.Deployment{Status: appsv1.DeploymentStatus{ReadyReplicas: 1}}, false},
		{"no ready replica", appsv1.Deployment{Status: appsv1.DeploymentStatus{Conditions: available}}, false},
	}
	for _, tt := range tests {
		if got := deploymentObservation(&tt.d).Ready; got != tt.want {
			t.Errorf("%s: ready = %v, want %v", tt.name, got, tt.want)
		}
	}
	sts := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 1}}
	if !statefulSetObservation(&sts).Ready {
		t.Error("a StatefulSet with its replica ready is not ready")
	}
	sts.Generation = 2
	if statefulSetObservation(&sts).Ready {
		t.Error("a StatefulSet whose spec is not observed yet is ready")
	}
}

func TestTransitions(t *testing.T) {
	old := []metav1.Condition{
		{Type: "A", Status: metav1.ConditionTrue, Reason: "R"},
		{Type: "B", Status: metav1.ConditionFalse, Reason: "X"},
		{Type: "C", Status: metav1.ConditionFalse, Reason: "X"},
	}
	new := []metav1.Condition{
		{Type: "A", Status: metav1.ConditionTrue, Reason: "R", Message: "message changed only"},
		{Type: "B", Status: metav1.ConditionFalse, Reason: "Y"},
		{Type: "C", Status: metav1.ConditionTrue, Reason: "X"},
		{Type: "D", Status: metav1.ConditionUnknown, Reason: "Reconciling"},
		{Type: "E", Status: metav1.ConditionTrue, Reason: "New"},
	}
	var got []string
	for _, c := range transitions(old, new) {
		got = append(got, c.Type)
	}
	if strings.Join(got, ",") != "B,C,E" {
		t.Errorf("transitions = %v, want B (reason), C (status), E (new); not A (message only) or D (unknown)", got)
	}
}

func TestSubjectsSummary(t *testing.T) {
	tests := []struct {
		in   llmv1.QuotaSubjects
		want string
	}{
		{llmv1.QuotaSubjects{AllUsers: true}, "all users"},
		{llmv1.QuotaSubjects{Roles: []llmv1.Role{llmv1.RoleAdmin}}, "roles: admin"},
		{llmv1.QuotaSubjects{Users: []string{"alice", "bob"}}, "users: alice, bob"},
		{llmv1.QuotaSubjects{Users: []string{"a", "b", "c", "d", "e"}}, "users: a, b, c, d, e"},
		{llmv1.QuotaSubjects{Users: []string{"a", "b", "c", "d", "e", "f"}}, "users: a, b, c, d, e and 1 more"},
	}
	for _, tt := range tests {
		if got := subjectsSummary(tt.in); got != tt.want {
			t.Errorf("subjectsSummary(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAcceptedCondition(t *testing.T) {
	q := &llmv1.UserQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "t"}, Spec: llmv1.UserQuotaSpec{PlatformRef: llmv1.PlatformRef{Name: "shop"}, Mode: llmv1.QuotaModeShadow}}
	assertCondition(t, acceptedCondition(q, quotaObservation{}), llmv1.ConditionAccepted, metav1.ConditionFalse, llmv1.ReasonPlatformNotFound, `LLMPlatform "shop" does not exist in namespace t`)
	assertCondition(t, acceptedCondition(q, quotaObservation{Platform: &llmv1.LLMPlatform{}}), llmv1.ConditionAccepted, metav1.ConditionTrue, llmv1.ReasonAccepted, "applies the quota (Shadow)")
	st := quotaStatus(q, quotaObservation{})
	if st.Subjects != "" || len(st.Conditions) != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestReferencedSecrets(t *testing.T) {
	p := &llmv1.LLMPlatform{Spec: llmv1.LLMPlatformSpec{
		Database: llmv1.DatabaseSpec{External: &llmv1.ExternalDatabaseSpec{SecretRef: llmv1.DatabaseSecretRef{Name: "pg"}}},
		Auth:     llmv1.AuthSpec{AdminSecretRef: &llmv1.SecretRef{Name: "boss"}},
		Providers: []llmv1.ProviderSpec{
			{Keys: []llmv1.ProviderKey{{SecretRef: llmv1.ProviderKeySecretRef{Name: "k1"}}, {SecretRef: llmv1.ProviderKeySecretRef{Name: "k2"}}}},
			{Keys: []llmv1.ProviderKey{{SecretRef: llmv1.ProviderKeySecretRef{Name: "k1", Key: "other"}}}},
		},
	}}
	if got := strings.Join(referencedSecrets(p), ","); got != "boss,k1,k2,pg" {
		t.Errorf("referencedSecrets = %s, want boss,k1,k2,pg", got)
	}
}

// fakeMapper answers RESTMapping like a cluster with or without the Gateway API.
type fakeMapper struct {
	meta.RESTMapper
	served  bool
	lookups int
}

func (m *fakeMapper) RESTMapping(gk schema.GroupKind, _ ...string) (*meta.RESTMapping, error) {
	m.lookups++
	if !m.served {
		return nil, &meta.NoKindMatchError{GroupKind: gk}
	}
	return &meta.RESTMapping{}, nil
}

func TestGatewayAPIDiscovery(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mapper := &fakeMapper{}
	watches := 0
	g := &gatewayAPI{mapper: mapper, watch: func() error { watches++; return nil }, now: func() time.Time { return now }}
	for range 3 {
		if served, err := g.served(); served || err != nil {
			t.Fatalf("served() = %v, %v without the Gateway API", served, err)
		}
	}
	if mapper.lookups != 1 {
		t.Errorf("%d discovery lookups within a minute, want 1", mapper.lookups)
	}
	mapper.served = true
	if served, _ := g.served(); served {
		t.Error("the missing answer was not trusted for a minute")
	}
	now = now.Add(gatewayRecheck)
	for range 3 {
		if served, err := g.served(); !served || err != nil {
			t.Fatalf("served() = %v, %v once the Gateway API is installed", served, err)
		}
	}
	if watches != 1 || mapper.lookups != 2 {
		t.Errorf("%d watches started after %d lookups, want 1 watch after 2 lookups", watches, mapper.lookups)
	}
}

func TestOwnedFieldsMatchIgnoresEmptyValues(t *testing.T) {
	a, err := normalize(map[string]any{"spec": map[string]any{"resources": map[string]any{}, "args": []any{}, "x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := normalize(map[string]any{"spec": map[string]any{"x": int64(1)}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := normalize(map[string]any{"spec": map[string]any{"x": 2}})
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Errorf("normalize: %v vs %v vs %v", a, b, c)
	}
}
