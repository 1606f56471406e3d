package controllers

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// fromSample reads one object of a sample file into obj, in the namespace.
func fromSample(t *testing.T, file, namespace string, obj client.Object) {
	t.Helper()
	objs := readObjects(t, filepath.Join("..", "config", "samples", file))
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, obj); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(namespace)
}

// TestMinimalSampleCreatesEveryChild: a platform admin applies the minimal sample, its provider key Secret
// and the default quota; the operator creates every part of the tenant, owned by the platform.
func TestMinimalSampleCreatesEveryChild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	const apiKey = "sk-test-0123456789"
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": apiKey})
	p := &llmv1.LLMPlatform{}
	fromSample(t, "llmplatform_v1alpha1_minimal.yaml", ns, p)
	q := &llmv1.UserQuota{}
	fromSample(t, "userquota_v1alpha1_default.yaml", ns, q)
	for _, obj := range []client.Object{p, q} {
		if err := k8sClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	startOperator(t, cfg, ns)

	waitForCondition(t, k8sClient, p, llmv1.ConditionProvidersReady, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured)
	waitForCondition(t, k8sClient, p, llmv1.ConditionDatabaseReady, metav1.ConditionFalse, llmv1.ReasonDatabaseStarting)
	waitForCondition(t, k8sClient, p, llmv1.ConditionRouteReady, metav1.ConditionTrue, llmv1.ReasonNoRoute)
	waitForCondition(t, k8sClient, p, llmv1.ConditionReady, metav1.ConditionFalse, llmv1.ReasonDatabaseStarting)
	p = mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})

	t.Run("generated Secrets", func(t *testing.T) {
		want := map[string][]string{
			"minimal-jwt":        {"key"},
			"minimal-encryption": {"key"},
			"minimal-internal":   {"token"},
			"minimal-admin":      {"email", "password", "username"},
			"minimal-db":         {"database", "password", "uri", "username"},
		}
		for name, keys := range want {
			s := mustGet(t, k8sClient, ns, name, &corev1.Secret{})
			var got []string
			for k, v := range s.Data {
				if len(v) == 0 {
					t.Errorf("Secret %s key %s is empty", name, k)
				}
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, keys) {
				t.Errorf("Secret %s has keys %v, want %v", name, got, keys)
			}
			if name == "minimal-db" {
				// retainOnDelete (the default) keeps the database credentials with the data.
				if len(s.OwnerReferences) != 0 {
					t.Errorf("the retained database Secret has owners %v", s.OwnerReferences)
				}
				continue
			}
			assertControlledBy(t, s, p)
		}
	})

	t.Run("configuration", func(t *testing.T) {
		cm := mustGet(t, k8sClient, ns, "minimal-config", &corev1.ConfigMap{})
		assertControlledBy(t, cm, p)
		c, err := config.ParseAt([]byte(cm.Data["platform.yaml"]), builders.ConfigDir)
		if err != nil {
			t.Fatalf("platform.yaml does not load: %v", err)
		}
		if strings.Contains(cm.Data["platform.yaml"], apiKey) {
			t.Error("the provider key was copied into the ConfigMap")
		}
		if got := c.Providers[0].Keys[0]; got.ID != "openai-key/apiKey" || got.File != "/etc/llmplatform/providers/openai-key/apiKey" {
			t.Errorf("provider key %+v", got)
		}
		if len(c.Quotas) != 1 || c.Quotas[0].Name != "everyone" || !c.Quotas[0].Subjects.AllUsers || *c.Quotas[0].Limits.CostPerMonth != "5" {
			t.Errorf("quotas %+v, want the default sample's", c.Quotas)
		}
		if c.Database.URLFile != "/etc/llmplatform/database/uri" || c.Secrets.JWTKeyFile != "/etc/llmplatform/secrets/jwt/key" {
			t.Errorf("files: database %s, jwt %s", c.Database.URLFile, c.Secrets.JWTKeyFile)
		}
	})

	t.Run("API server", func(t *testing.T) {
		d := mustGet(t, k8sClient, ns, "minimal-apiserver", &appsv1.Deployment{})
		assertControlledBy(t, d, p)
		pod := d.Spec.Template.Spec
		if c := pod.Containers[0]; c.Image != testImage || *d.Spec.Replicas != 2 || len(c.Env) != 0 {
			t.Errorf("image %s, replicas %d, env %v", c.Image, *d.Spec.Replicas, c.Env)
		}
		if *pod.AutomountServiceAccountToken || !*pod.Containers[0].SecurityContext.ReadOnlyRootFilesystem {
			t.Error("the API server pod mounts a token or has a writable root")
		}
		for _, v := range pod.Volumes {
			if v.Name == "database" && (v.Secret.SecretName != "minimal-db" || v.Secret.Items[0].Key != "uri") {
				t.Errorf("database volume %+v", v.Secret)
			}
		}
		for name, obj := range map[string]client.Object{
			"Service": &corev1.Service{}, "ServiceAccount": &corev1.ServiceAccount{}, "PodDisruptionBudget": &policyv1.PodDisruptionBudget{},
		} {
			assertControlledBy(t, mustGet(t, k8sClient, ns, "minimal-apiserver", obj), p)
			_ = name
		}
	})

	t.Run("managed database", func(t *testing.T) {
		sts := mustGet(t, k8sClient, ns, "minimal-postgres", &appsv1.StatefulSet{})
		assertControlledBy(t, sts, p)
		if sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
			t.Errorf("whenDeleted = %s, want Retain", sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
		}
		if size := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String(); size != "10Gi" {
			t.Errorf("volume size %s, want the default 10Gi", size)
		}
		assertControlledBy(t, mustGet(t, k8sClient, ns, "minimal-postgres", &corev1.Service{}), p)
		np := mustGet(t, k8sClient, ns, "minimal-postgres", &networkingv1.NetworkPolicy{})
		assertControlledBy(t, np, p)
		if from := np.Spec.Ingress[0].From; len(from) != 1 || from[0].PodSelector.MatchLabels["app.kubernetes.io/component"] != "apiserver" {
			t.Errorf("the database admits %+v", from)
		}
		if p.Status.Database.Endpoint != "minimal-postgres."+ns+".svc:5432" {
			t.Errorf("status.database.endpoint = %q", p.Status.Database.Endpoint)
		}
	})

	t.Run("no route, no backup", func(t *testing.T) {
		assertAbsent(t, k8sClient, ns, "minimal", &networkingv1.Ingress{})
		assertAbsent(t, k8sClient, ns, "minimal-backup", &batchv1.CronJob{})
		if p.Status.URL != "" {
			t.Errorf("url = %q without a route", p.Status.URL)
		}
	})

	t.Run("quota accepted", func(t *testing.T) {
		eventually(t, "waiting for the quota's status", func() error {
			got := mustGet(t, k8sClient, ns, "everyone", &llmv1.UserQuota{})
			c := meta.FindStatusCondition(got.Status.Conditions, llmv1.ConditionAccepted)
			if c == nil || c.Status != metav1.ConditionTrue || got.Status.Subjects != "all users" || got.Status.ObservedGeneration != got.Generation {
				return fmt.Errorf("status %+v", got.Status)
			}
			return nil
		})
	})
}

// TestExternalDatabaseSample: the full sample uses an external database, its own admin Secret, an Ingress with
// TLS and a Gateway route — in a cluster without the Gateway API.
func TestExternalDatabaseSample(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "acme-pg-app", map[string]string{"uri": "postgres://app:s3cret@acme-pg-rw:5432/app?sslmode=require"})
	createSecret(t, k8sClient, ns, "acme-admin", map[string]string{"username": "root", "password": "pw", "email": "root@acme.example"})
	for _, name := range []string{"openai-key-1", "openai-key-2", "anthropic-key", "gemini-key"} {
		createSecret(t, k8sClient, ns, name, map[string]string{"apiKey": "k-" + name})
	}
	p := &llmv1.LLMPlatform{}
	fromSample(t, "llmplatform_v1alpha1_full.yaml", ns, p)
	if err := k8sClient.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	startOperator(t, cfg, ns)

	c := waitForCondition(t, k8sClient, p, llmv1.ConditionDatabaseReady, metav1.ConditionTrue, llmv1.ReasonExternalDatabase)
	if !strings.Contains(c.Message, `"acme-pg-app"`) {
		t.Errorf("DatabaseReady message %q does not name the Secret", c.Message)
	}
	route := waitForCondition(t, k8sClient, p, llmv1.ConditionRouteReady, metav1.ConditionFalse, llmv1.ReasonGatewayAPIMissing)
	if !strings.Contains(route.Message, "install the Gateway API") {
		t.Errorf("RouteReady message %q is not actionable", route.Message)
	}
	waitForCondition(t, k8sClient, p, llmv1.ConditionProvidersReady, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured)
	p = mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})
	if p.Status.Database.Endpoint != "acme-pg-rw:5432" || p.Status.URL != "https://chat.acme.example" {
		t.Errorf("endpoint %q, url %q", p.Status.Database.Endpoint, p.Status.URL)
	}

	for _, name := range []string{"acme-postgres"} {
		assertAbsent(t, k8sClient, ns, name, &appsv1.StatefulSet{})
		assertAbsent(t, k8sClient, ns, name, &corev1.Service{})
		assertAbsent(t, k8sClient, ns, name, &networkingv1.NetworkPolicy{})
	}
	assertAbsent(t, k8sClient, ns, "acme-db", &corev1.Secret{})
	assertAbsent(t, k8sClient, ns, "acme-admin-generated", &corev1.Secret{})
	if s := mustGet(t, k8sClient, ns, "acme-admin", &corev1.Secret{}); len(s.OwnerReferences) != 0 {
		t.Error("the operator took ownership of the user's admin Secret")
	}

	d := mustGet(t, k8sClient, ns, "acme-apiserver", &appsv1.Deployment{})
	vols := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	if db := vols["database"].Secret; db.SecretName != "acme-pg-app" || db.Items[0].Key != "uri" {
		t.Errorf("database volume %+v", db)
	}
	if admin := vols["admin"].Secret; admin.SecretName != "acme-admin" {
		t.Errorf("admin volume %+v", admin)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}

	in := mustGet(t, k8sClient, ns, "acme", &networkingv1.Ingress{})
	assertControlledBy(t, in, p)
	if in.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" || in.Spec.TLS[0].SecretName != "chat-acme-tls" || *in.Spec.IngressClassName != "nginx" {
		t.Errorf("ingress %+v %+v", in.Annotations, in.Spec)
	}

	// The platform admin deletes the database Secret by mistake: the condition names it.
	if err := k8sClient.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-pg-app"}}); err != nil {
		t.Fatal(err)
	}
	c = waitForCondition(t, k8sClient, p, llmv1.ConditionDatabaseReady, metav1.ConditionFalse, llmv1.ReasonDatabaseSecretMissing)
	if !strings.Contains(c.Message, `Secret "acme-pg-app"`) || !strings.Contains(c.Message, "not found") {
		t.Errorf("DatabaseReady message %q", c.Message)
	}
}

// minimalPlatform is a small platform for the tests that need one: one provider with a key.
const minimalPlatform = `
metadata: {name: shop}
spec:
  database: {managed: {}}
  providers:
  - name: openai
    type: OpenAI
    keys: [{secretRef: {name: openai-key}}]
    models: [{name: gpt-4o-mini, pricing: {input: "0.15", output: "0.6"}}]
`

// TestDeletedDeploymentComesBack: someone deletes the API server's Deployment; the operator restores it.
func TestDeletedDeploymentComesBack(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform)
	startOperator(t, cfg, ns)
	var first appsv1.Deployment
	eventually(t, "waiting for the Deployment", func() error { return get(k8sClient, ns, "shop-apiserver", &first) })
	if err := k8sClient.Delete(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "waiting for the Deployment to come back", func() error {
		var d appsv1.Deployment
		if err := get(k8sClient, ns, "shop-apiserver", &d); err != nil {
			return err
		}
		if d.UID == first.UID {
			return errors.New("still the deleted Deployment")
		}
		if !reflect.DeepEqual(d.Spec.Template.Spec.Containers[0].Args, first.Spec.Template.Spec.Containers[0].Args) {
			return fmt.Errorf("restored with args %v", d.Spec.Template.Spec.Containers[0].Args)
		}
		return nil
	})
	assertControlledBy(t, mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}), p)
}

// TestEditedServiceIsReverted: someone points the API server's Service elsewhere; the operator puts its
// selector back, and leaves the label they added alone.
func TestEditedServiceIsReverted(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	createPlatform(t, k8sClient, ns, minimalPlatform)
	startOperator(t, cfg, ns)
	svc := &corev1.Service{}
	eventually(t, "waiting for the Service", func() error { return get(k8sClient, ns, "shop-apiserver", svc) })
	want := svc.Spec.Selector
	eventually(t, "editing the Service", func() error {
		if err := get(k8sClient, ns, "shop-apiserver", svc); err != nil {
			return err
		}
		svc.Spec.Selector = map[string]string{"app": "something-else"}
		svc.Labels["team"] = "payments"
		return k8sClient.Update(context.Background(), svc)
	})
	eventually(t, "waiting for the selector to be restored", func() error {
		got := &corev1.Service{}
		if err := get(k8sClient, ns, "shop-apiserver", got); err != nil {
			return err
		}
		if !reflect.DeepEqual(got.Spec.Selector, want) {
			return fmt.Errorf("selector %v, want %v", got.Spec.Selector, want)
		}
		if got.Labels["team"] != "payments" {
			return fmt.Errorf("the label added by someone else was removed: %v", got.Labels)
		}
		return nil
	})
}

// TestMissingProviderSecret: a provider's key Secret does not exist yet. The platform says which one, with an
// Event; once the admin creates it (first without the key, then with it) the condition follows.
func TestMissingProviderSecret(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	p := createPlatform(t, k8sClient, ns, minimalPlatform)
	startOperator(t, cfg, ns)

	c := waitForCondition(t, k8sClient, p, llmv1.ConditionProvidersReady, metav1.ConditionFalse, llmv1.ReasonSecretMissing)
	if c.Message != `Secret "openai-key" (provider openai) not found` {
		t.Errorf("message %q does not name the Secret and provider", c.Message)
	}
	waitForEvent(t, k8sClient, p, corev1.EventTypeWarning, llmv1.ReasonSecretMissing, `Secret "openai-key" (provider openai) not found`)

	s := createSecret(t, k8sClient, ns, "openai-key", map[string]string{"api-key": "typo"})
	c = waitForCondition(t, k8sClient, p, llmv1.ConditionProvidersReady, metav1.ConditionFalse, llmv1.ReasonSecretKeyMissing)
	if !strings.Contains(c.Message, `has no key "apiKey"`) {
		t.Errorf("message %q does not name the key", c.Message)
	}
	eventually(t, "adding the key", func() error {
		if err := get(k8sClient, ns, s.Name, s); err != nil {
			return err
		}
		s.Data["apiKey"] = []byte("sk-1")
		return k8sClient.Update(context.Background(), s)
	})
	waitForCondition(t, k8sClient, p, llmv1.ConditionProvidersReady, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured)
	waitForEvent(t, k8sClient, p, corev1.EventTypeNormal, llmv1.ReasonProvidersConfigured, "ProvidersReady is True")
}

// TestReadyWhenWorkloadsAvailable: while an API server pod crash-loops the platform says so, naming the pod;
// once the Deployment and the StatefulSet are available the platform is Ready with its URL.
func TestReadyWhenWorkloadsAvailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform+`
  ingress: {host: shop.example.com, tls: {secretName: shop-tls}}
`)
	startOperator(t, cfg, ns)
	waitForCondition(t, k8sClient, p, llmv1.ConditionAPIServerReady, metav1.ConditionFalse, llmv1.ReasonPodsNotReady)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-apiserver-7d9f-abcde", Labels: map[string]string{
			"app.kubernetes.io/name": "llmplatform", "app.kubernetes.io/instance": "shop", "app.kubernetes.io/component": "apiserver",
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "apiserver", Image: testImage}}},
	}
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "apiserver", Image: testImage, RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "database unreachable"}},
	}}
	if err := k8sClient.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	// Pods are not watched: the operator looks again while the API server is not ready (or when anything
	// of the platform changes, as here).
	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) { p.Spec.APIServer.Replicas = new(int32(1)) })
	waitForObservedGeneration(t, k8sClient, p)
	c := waitForCondition(t, k8sClient, p, llmv1.ConditionAPIServerReady, metav1.ConditionFalse, llmv1.ReasonCrashLooping)
	for _, want := range []string{"shop-apiserver-7d9f-abcde", "crash-looping", "exit code 1", "database unreachable"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("APIServerReady message %q does not say %q", c.Message, want)
		}
	}
	waitForCondition(t, k8sClient, p, llmv1.ConditionReady, metav1.ConditionFalse, llmv1.ReasonDatabaseStarting)

	markStatefulSetReady(t, k8sClient, ns, "shop-postgres")
	markDeploymentAvailable(t, k8sClient, ns, "shop-apiserver")
	waitForCondition(t, k8sClient, p, llmv1.ConditionReady, metav1.ConditionTrue, llmv1.ReasonReady)
	got := mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})
	if got.Status.URL != "https://shop.example.com" || got.Status.APIServer.ReadyReplicas != 1 || got.Status.ObservedGeneration != got.Generation {
		t.Errorf("status %+v", got.Status)
	}
	waitForEvent(t, k8sClient, p, corev1.EventTypeNormal, llmv1.ReasonReady, "Ready is True")
}

// TestIdlePlatformWritesNothing: reconciling a platform that is as it should be, twenty times, sends no write
// at all to the API server.
func TestIdlePlatformWritesNothing(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform+`
  ingress: {host: shop.example.com, annotations: {example.com/team: payments}}
  cors: {allowedOrigins: ["https://portal.example.com"]}
`)
	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) {
		p.Spec.Database.Managed.Backup = &llmv1.BackupSpec{Schedule: "@daily"}
		p.Spec.APIServer.NodeSelector = map[string]llmv1.LabelValue{"pool": "llm"}
	})
	op := startOperator(t, cfg, ns)
	eventually(t, "waiting for the workloads", func() error {
		return errors.Join(get(k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}), get(k8sClient, ns, "shop-postgres", &appsv1.StatefulSet{}))
	})
	markStatefulSetReady(t, k8sClient, ns, "shop-postgres")
	markDeploymentAvailable(t, k8sClient, ns, "shop-apiserver")
	waitForCondition(t, k8sClient, p, llmv1.ConditionReady, metav1.ConditionTrue, llmv1.ReasonReady)

	// Let the caches catch up with the last writes: a reconcile that writes nothing.
	eventually(t, "waiting for a reconcile without writes", func() error {
		op.client.reset()
		if err := op.reconcile(t, p); err != nil {
			return err
		}
		if w := op.client.reset(); len(w) > 0 {
			return fmt.Errorf("writes: %v", w)
		}
		return nil
	})
	for range 20 {
		if err := op.reconcile(t, p); err != nil {
			t.Fatal(err)
		}
	}
	if w := op.client.reset(); len(w) > 0 {
		t.Errorf("20 reconciles of an idle platform wrote %d times: %v", len(w), w)
	}
}

// TestGeneratedSecretsNeverChange: the generated Secrets stay byte for byte the same across many reconciles
// and a restart of the operator.
func TestGeneratedSecretsNeverChange(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform)
	names := []string{"shop-jwt", "shop-encryption", "shop-internal", "shop-admin", "shop-db"}
	op := startOperator(t, cfg, ns)
	snapshot := func() map[string]map[string][]byte {
		data := map[string]map[string][]byte{}
		for _, n := range names {
			data[n] = mustGet(t, k8sClient, ns, n, &corev1.Secret{}).Data
		}
		return data
	}
	eventually(t, "waiting for the generated Secrets", func() error {
		var errs []error
		for _, n := range names {
			errs = append(errs, get(k8sClient, ns, n, &corev1.Secret{}))
		}
		return errors.Join(errs...)
	})
	before := snapshot()
	for range 10 {
		if err := op.reconcile(t, p); err != nil {
			t.Fatal(err)
		}
	}
	op.stop()
	startOperator(t, cfg, ns)
	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) { p.Spec.UserKeys.Allowed = true })
	eventually(t, "waiting for the new operator to reconcile", func() error {
		got := mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})
		if got.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("observedGeneration %d, want %d", got.Status.ObservedGeneration, p.Generation)
		}
		return nil
	})
	if after := snapshot(); !reflect.DeepEqual(before, after) {
		t.Error("a generated Secret changed across reconciles and an operator restart")
	}
}

// TestInvalidSpecIsTerminal: a time zone the schema lets through but the API server does not know is a spec
// the user must fix: a condition, no retry loop.
func TestInvalidSpecIsTerminal(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform+"  timezone: Mars/Olympus\n")
	op := startOperator(t, cfg, ns)
	c := waitForCondition(t, k8sClient, p, llmv1.ConditionAPIServerReady, metav1.ConditionFalse, llmv1.ReasonInvalidSpec)
	if !strings.Contains(c.Message, "Mars/Olympus") {
		t.Errorf("message %q does not name the time zone", c.Message)
	}
	if err := op.reconcile(t, p); !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Errorf("Reconcile() error = %v, want a terminal error", err)
	}
	got := mustGet(t, k8sClient, ns, p.Name, &llmv1.LLMPlatform{})
	if got.Status.ObservedGeneration != got.Generation {
		t.Errorf("observedGeneration %d, want %d: the generation was handled", got.Status.ObservedGeneration, got.Generation)
	}
	assertAbsent(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{})
}
