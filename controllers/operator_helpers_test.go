package controllers

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// testImage is the operator's default API server image in the tests.
const testImage = "ghcr.io/llmplatform/llmplatform:test"

// testOperator is the operator running against a control plane: a manager with both reconcilers, watching
// one namespace, whose client counts the writes it sends.
type testOperator struct {
	client      *countingClient
	reconcilers *Reconcilers
	stop        func()
}

// noAPIServer is where the tests' operators read usage unless a test runs an API server: a local port
// where nothing listens, so that reads fail at once instead of waiting for DNS.
func noAPIServer(*llmv1.LLMPlatform) string { return "http://127.0.0.1:1" }

// startOperator starts the operator for one namespace and stops it when the test ends.
func startOperator(t *testing.T, cfg *rest.Config, namespace string) *testOperator {
	t.Helper()
	return startOperatorWith(t, cfg, namespace, UsageSyncOptions{APIServerURL: noAPIServer})
}

// startOperatorWith starts the operator with these usage reads.
func startOperatorWith(t *testing.T, cfg *rest.Config, namespace string, usage UsageSyncOptions) *testOperator {
	t.Helper()
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingClient{}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  CacheOptions([]string{namespace}),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Every test runs its own manager with the same controller names.
		Controller: crconfig.Controller{SkipNameValidation: new(true)},
		NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			counting.Client = c
			return counting, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reconcilers, err := Setup(ctx, mgr, Options{Builders: builders.Options{APIServerImage: testImage}, Usage: usage})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	op := &testOperator{client: counting, reconcilers: reconcilers}
	op.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	t.Cleanup(op.stop)
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	return op
}

// reconcile runs one reconcile of the platform directly, as the manager would.
func (op *testOperator) reconcile(t *testing.T, p *llmv1.LLMPlatform) error {
	t.Helper()
	_, err := op.reconcilers.Platforms.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)})
	return err
}

// countingClient records every write the operator sends to the API server.
type countingClient struct {
	client.Client
	mu     sync.Mutex
	writes []string
}

func (c *countingClient) record(verb string, obj runtime.Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := ""
	if o, ok := obj.(client.Object); ok {
		name = o.GetName()
	}
	c.writes = append(c.writes, fmt.Sprintf("%s %T %s", verb, obj, name))
}

// reset forgets the writes so far and returns them.
func (c *countingClient) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes
	c.writes = nil
	return w
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.record("create", obj)
	return c.Client.Create(ctx, obj, opts...)
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.record("update", obj)
	return c.Client.Update(ctx, obj, opts...)
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.record("patch", obj)
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.mu.Lock()
	c.writes = append(c.writes, fmt.Sprintf("apply %v", obj))
	c.mu.Unlock()
	return c.Client.Apply(ctx, obj, opts...)
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.record("delete", obj)
	return c.Client.Delete(ctx, obj, opts...)
}

func (c *countingClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	c.record("deleteAllOf", obj)
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatusWriter{SubResourceWriter: c.Client.Status(), counter: c}
}

// countingStatusWriter records status writes.
type countingStatusWriter struct {
	client.SubResourceWriter
	counter *countingClient
}

func (w *countingStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	w.counter.record("update status", obj)
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

func (w *countingStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	w.counter.record("patch status", obj)
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// eventually retries check until it returns nil, failing the test with its last error after a while.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get reads an object fresh from the API server.
func get(c client.Client, namespace, name string, obj client.Object) error {
	return c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj)
}

// mustGet reads an object or fails the test.
func mustGet[T client.Object](t *testing.T, c client.Client, namespace, name string, obj T) T {
	t.Helper()
	if err := get(c, namespace, name, obj); err != nil {
		t.Fatalf("reading %T %s: %v", obj, name, err)
	}
	return obj
}

// waitForCondition waits until the platform's condition has the status and reason, and returns it.
func waitForCondition(t *testing.T, c client.Client, p *llmv1.LLMPlatform, typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var found metav1.Condition
	eventually(t, fmt.Sprintf("waiting for %s=%s (%s)", typ, status, reason), func() error {
		got := &llmv1.LLMPlatform{}
		if err := get(c, p.Namespace, p.Name, got); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, typ)
		if cond == nil || cond.Status != status || cond.Reason != reason {
			return fmt.Errorf("condition is %+v", cond)
		}
		found = *cond
		return nil
	})
	return found
}

// waitForObservedGeneration waits until the operator has handled the platform's current generation, so that
// its children reflect the latest spec.
func waitForObservedGeneration(t *testing.T, c client.Client, p *llmv1.LLMPlatform) {
	t.Helper()
	eventually(t, "waiting for the operator to handle the spec", func() error {
		got := &llmv1.LLMPlatform{}
		if err := get(c, p.Namespace, p.Name, got); err != nil {
			return err
		}
		if got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("observedGeneration %d of %d", got.Status.ObservedGeneration, got.Generation)
		}
		return nil
	})
}

// waitForEvent waits for an Event about the object with the reason, whose note contains text.
func waitForEvent(t *testing.T, c client.Client, obj client.Object, eventType, reason, text string) {
	t.Helper()
	eventually(t, fmt.Sprintf("waiting for a %s Event %s about %s", eventType, reason, obj.GetName()), func() error {
		var list eventsv1.EventList
		if err := c.List(context.Background(), &list, client.InNamespace(obj.GetNamespace())); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name == obj.GetName() && e.Type == eventType && e.Reason == reason && strings.Contains(e.Note, text) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Note)
		}
		return fmt.Errorf("events: %q", seen)
	})
}

// createPlatform creates a platform from YAML in the namespace and returns it as stored.
func createPlatform(t *testing.T, c client.Client, namespace, doc string) *llmv1.LLMPlatform {
	t.Helper()
	p := &llmv1.LLMPlatform{}
	if err := yaml.UnmarshalStrict([]byte(doc), p); err != nil {
		t.Fatal(err)
	}
	p.Namespace = namespace
	if err := c.Create(context.Background(), p); err != nil {
		t.Fatalf("creating LLMPlatform: %v", err)
	}
	return p
}

// createSecret creates a Secret with the given string data.
func createSecret(t *testing.T, c client.Client, namespace, name string, data map[string]string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, StringData: data}
	if err := c.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s: %v", name, err)
	}
	return s
}

// updatePlatform re-reads the platform, changes it and writes it back, retrying on conflicts.
func updatePlatform(t *testing.T, c client.Client, p *llmv1.LLMPlatform, change func(*llmv1.LLMPlatform)) *llmv1.LLMPlatform {
	t.Helper()
	got := &llmv1.LLMPlatform{}
	eventually(t, "updating the platform", func() error {
		if err := get(c, p.Namespace, p.Name, got); err != nil {
			return err
		}
		change(got)
		return c.Update(context.Background(), got)
	})
	return got
}

// markDeploymentAvailable does what the Deployment controller and the kubelet would do once every replica
// runs and is ready (envtest has neither).
func markDeploymentAvailable(t *testing.T, c client.Client, namespace, name string) {
	t.Helper()
	eventually(t, "marking Deployment "+name+" available", func() error {
		d := &appsv1.Deployment{}
		if err := get(c, namespace, name, d); err != nil {
			return err
		}
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		}
		return c.Status().Update(context.Background(), d)
	})
}

// markStatefulSetReady does what the StatefulSet controller and the kubelet would do once the pod is ready.
func markStatefulSetReady(t *testing.T, c client.Client, namespace, name string) {
	t.Helper()
	eventually(t, "marking StatefulSet "+name+" ready", func() error {
		s := &appsv1.StatefulSet{}
		if err := get(c, namespace, name, s); err != nil {
			return err
		}
		s.Status = appsv1.StatefulSetStatus{
			ObservedGeneration: s.Generation, Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1,
		}
		return c.Status().Update(context.Background(), s)
	})
}

// assertControlledBy checks that obj has p as its controlling owner.
func assertControlledBy(t *testing.T, obj client.Object, p *llmv1.LLMPlatform) {
	t.Helper()
	if !metav1.IsControlledBy(obj, p) {
		t.Errorf("%T %s is not controlled by the platform: owners %v", obj, obj.GetName(), obj.GetOwnerReferences())
	}
}

// assertAbsent checks that no object of obj's kind has the name.
func assertAbsent(t *testing.T, c client.Client, namespace, name string, obj client.Object) {
	t.Helper()
	if err := get(c, namespace, name, obj); !apierrors.IsNotFound(err) {
		t.Errorf("%T %s: error = %v, want NotFound", obj, name, err)
	}
}

// The second control plane has the Gateway API's HTTPRoute CRD; the shared one has none, as many clusters.
var (
	gatewayOnce sync.Once
	gatewayEnv  *envtest.Environment
	gatewayCfg  *rest.Config
	gatewayErr  error
)

// gatewayControlPlane starts the control plane with the Gateway API once, for the tests that need it.
func gatewayControlPlane(t *testing.T) *rest.Config {
	t.Helper()
	gatewayOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
		if err != nil {
			gatewayErr = fmt.Errorf("finding the sigs.k8s.io/gateway-api module: %w", err)
			return
		}
		crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml")
		gatewayEnv = &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases"), crd},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: testEnv.BinaryAssetsDirectory,
		}
		gatewayCfg, gatewayErr = gatewayEnv.Start()
	})
	if gatewayErr != nil {
		t.Fatalf("starting the control plane with the Gateway API: %v", gatewayErr)
	}
	return gatewayCfg
}

// stopGatewayControlPlane stops the second control plane if a test started it.
func stopGatewayControlPlane() {
	if gatewayEnv != nil && gatewayCfg != nil {
		_ = gatewayEnv.Stop()
	}
}

// newNamespaceIn creates a namespace for one test in another control plane.
func newNamespaceIn(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}
