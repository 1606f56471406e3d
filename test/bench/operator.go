package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// benchPlatform is each platform of the operator benchmark: a managed database, an Ingress and one
// provider whose key is in a shared Secret. %s is its name.
const benchPlatform = `
metadata: {name: %s}
spec:
  database: {managed: {}}
  ingress: {host: %s.example.com}
  providers:
  - name: openai
    type: OpenAI
    keys: [{secretRef: {name: provider-key}}]
    models: [{name: gpt-4o-mini, pricing: {input: "0.15", output: "0.6"}}]
`

// operatorResult is what the operator benchmark measured.
type operatorResult struct {
	Platforms int `json:"platforms"`
	// ReconciledSeconds: from the first create until every platform's children exist and its status
	// observed its generation. ReadySeconds: from the workloads reported ready (as the kubelet and the
	// workload controllers would) until every platform is Ready.
	ReconciledSeconds float64 `json:"reconciled_seconds"`
	ReadySeconds      float64 `json:"ready_seconds"`
	// ReconcilesPerObject and WritesPerObject count from start to Ready, over the platforms.
	ReconcilesPerObject float64            `json:"reconciles_per_object"`
	WritesPerObject     float64            `json:"writes_per_object"`
	WritesByMethod      map[string]float64 `json:"writes_by_method"`
	RSSMiB              float64            `json:"rss_mib"`
	HeapMiB             float64            `json:"heap_mib"`
	// IdleSeconds is the idle window; IdleWrites and IdleReconciles what happened in it.
	IdleSeconds    float64 `json:"idle_seconds"`
	IdleWrites     float64 `json:"idle_writes"`
	IdleReconciles float64 `json:"idle_reconciles"`
	// IdleWritesByResource are the writes the kube-apiserver counted in the idle window, by verb and resource
	// (its own Lease renewals included); IdleReconcilesByController the reconciles by controller.
	IdleWritesByResource       map[string]float64 `json:"idle_writes_by_resource,omitempty"`
	IdleReconcilesByController map[string]float64 `json:"idle_reconciles_by_controller,omitempty"`
	// CreateSeconds is how long creating the platforms took (part of ReconciledSeconds).
	CreateSeconds float64 `json:"create_seconds"`
}

// operatorBench runs the operator benchmark: a control plane (envtest), the real operator process, and n
// platforms.
type operatorBench struct {
	root, dir, bin string
	n              int
	idle           time.Duration
}

func (ob *operatorBench) run(ctx context.Context) (operatorResult, error) {
	res := operatorResult{Platforms: ob.n}
	assets, err := exec.CommandContext(ctx, filepath.Join(ob.root, "hack", "envtest-bins.sh")).Output() //nolint:gosec // the repository's own script
	if err != nil {
		return res, fmt.Errorf("hack/envtest-bins.sh: %w", err)
	}
	// The control plane's own logs are not wanted (the operator process logs to its file).
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(ob.root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: strings.TrimSpace(string(assets)),
	}
	// envtest's default Service range (a /24) holds fewer Services than 200 platforms have.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return res, fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()
	user, err := env.AddUser(envtest.User{Name: "llmplatform-operator", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return res, err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return res, err
	}
	kubeconfigPath := filepath.Join(ob.dir, "operator.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return res, err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = llmv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return res, err
	}
	const ns = "bench"
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "provider-key"}, StringData: map[string]string{"apiKey": "sk-bench"}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			return res, err
		}
	}

	metricsAddr, err := freeAddr(ctx)
	if err != nil {
		return res, err
	}
	probeAddr, err := freeAddr(ctx)
	if err != nil {
		return res, err
	}
	op, err := startProcess(ctx, ob.dir, "operator", nil, ob.bin, "operator", "--kubeconfig="+kubeconfigPath,
		"--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+probeAddr, "--watch-namespaces="+ns,
		"--apiserver-image=ghcr.io/llmplatform/llmplatform:bench")
	if err != nil {
		return res, err
	}
	defer op.stop(10 * time.Second)
	if err := op.waitReady(ctx, "http://"+probeAddr+"/readyz", time.Minute); err != nil {
		return res, err
	}
	counters := func() (opCounters, error) { return readOpCounters(ctx, "http://"+metricsAddr+"/metrics") }
	start0, err := counters()
	if err != nil {
		return res, err
	}

	began := time.Now()
	platforms, err := ob.createPlatforms(ctx, c, ns)
	if err != nil {
		return res, err
	}
	res.CreateSeconds = time.Since(began).Seconds()
	if err := waitAll(ctx, c, ns, platforms, childrenObserved); err != nil {
		return res, fmt.Errorf("waiting for the platforms to be reconciled: %w", err)
	}
	res.ReconciledSeconds = time.Since(began).Seconds()
	if err := markWorkloadsReady(ctx, c, ns, platforms); err != nil {
		return res, err
	}
	readyFrom := time.Now()
	if err := waitAll(ctx, c, ns, platforms, isReady); err != nil {
		return res, fmt.Errorf("waiting for the platforms to be Ready: %w", err)
	}
	res.ReadySeconds = time.Since(readyFrom).Seconds()

	// Let the last events and status writes land, then count.
	quiet, err := waitQuiet(ctx, counters, 5*time.Second, time.Minute)
	if err != nil {
		return res, err
	}
	n := float64(ob.n)
	res.ReconcilesPerObject = (quiet.reconciles - start0.reconciles) / n
	res.WritesPerObject = (quiet.writes() - start0.writes()) / n
	res.WritesByMethod = map[string]float64{}
	for _, m := range writeMethods {
		if d := quiet.byMethod[m] - start0.byMethod[m]; d > 0 {
			res.WritesByMethod[m] = d / n
		}
	}
	rss, err := rssBytes(op.pid())
	if err != nil {
		return res, err
	}
	res.RSSMiB, res.HeapMiB = float64(rss)/(1<<20), quiet.heap/(1<<20)

	// The kube-apiserver's own counters say what the idle writes were (the harness writes nothing meanwhile).
	kubeWrites := func() (map[string]float64, error) { return readKubeWrites(ctx, cfg) }
	kube0, err := kubeWrites()
	if err != nil {
		return res, err
	}
	if err := sleepCtx(ctx, ob.idle); err != nil {
		return res, err
	}
	end, err := counters()
	if err != nil {
		return res, err
	}
	kube1, err := kubeWrites()
	if err != nil {
		return res, err
	}
	res.IdleSeconds = ob.idle.Seconds()
	res.IdleWrites = end.writes() - quiet.writes()
	res.IdleReconciles = end.reconciles - quiet.reconciles
	res.IdleReconcilesByController = map[string]float64{}
	for c, v := range end.byController {
		if d := v - quiet.byController[c]; d > 0 {
			res.IdleReconcilesByController[c] = d
		}
	}
	res.IdleWritesByResource = map[string]float64{}
	for k, v := range kube1 {
		if d := v - kube0[k]; d > 0 {
			res.IdleWritesByResource[k] = d
		}
	}
	return res, nil
}

// readKubeWrites reads the kube-apiserver's apiserver_request_total, summing the writes by verb and
// resource ("PATCH events").
func readKubeWrites(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kube-apiserver /metrics: %s", res.Status)
	}
	m, err := parseMetrics(res.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for series, v := range m {
		if !strings.HasPrefix(series, "apiserver_request_total{") {
			continue
		}
		switch verb := labelValue(series, "verb"); verb {
		case "GET", "LIST", "WATCH", "WATCHLIST", "CONNECT":
		default:
			key := verb + " " + labelValue(series, "resource")
			if sub := labelValue(series, "subresource"); sub != "" {
				key += "/" + sub
			}
			out[key] += v
		}
	}
	return out, nil
}

// createPlatforms creates the platforms, eight at a time.
func (ob *operatorBench) createPlatforms(ctx context.Context, c client.Client, ns string) ([]string, error) {
	names := make([]string, ob.n)
	errs := make([]error, ob.n)
	gate := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range ob.n {
		names[i] = fmt.Sprintf("p%03d", i)
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			p := &llmv1.LLMPlatform{}
			if err := yaml.UnmarshalStrict(fmt.Appendf(nil, benchPlatform, names[i], names[i]), p); err != nil {
				errs[i] = err
				return
			}
			p.Namespace = ns
			errs[i] = c.Create(ctx, p)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("creating a platform: %w", err)
		}
	}
	return names, nil
}

// childrenObserved: the platform's workloads exist and its status observed its generation.
func childrenObserved(ctx context.Context, c client.Client, p *llmv1.LLMPlatform) bool {
	if p.Status.ObservedGeneration != p.Generation {
		return false
	}
	key := client.ObjectKey{Namespace: p.Namespace, Name: builders.APIServerName(p)}
	if c.Get(ctx, key, &appsv1.Deployment{}) != nil {
		return false
	}
	key.Name = builders.PostgresName(p)
	return c.Get(ctx, key, &appsv1.StatefulSet{}) == nil
}

// isReady: the platform is Ready for its current generation.
func isReady(_ context.Context, _ client.Client, p *llmv1.LLMPlatform) bool {
	return p.Status.ObservedGeneration == p.Generation && meta.IsStatusConditionTrue(p.Status.Conditions, llmv1.ConditionReady)
}

// waitAll polls until done holds for every named platform, for at most five minutes.
func waitAll(ctx context.Context, c client.Client, ns string, names []string, done func(context.Context, client.Client, *llmv1.LLMPlatform) bool) error {
	pending := map[string]bool{}
	for _, n := range names {
		pending[n] = true
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(pending) > 0 {
		var list llmv1.LLMPlatformList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		for i := range list.Items {
			if p := &list.Items[i]; pending[p.Name] && done(ctx, c, p) {
				delete(pending, p.Name)
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d platforms still pending", len(pending))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// markWorkloadsReady does what the StatefulSet and Deployment controllers and the kubelet would do once the
// pods are ready: envtest runs none of them.
func markWorkloadsReady(ctx context.Context, c client.Client, ns string, names []string) error {
	for _, name := range names {
		p := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		var s appsv1.StatefulSet
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: builders.PostgresName(p)}, &s); err != nil {
			return err
		}
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: 1, ReadyReplicas: 1,
			CurrentReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
		if err := c.Status().Update(ctx, &s); err != nil {
			return err
		}
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: builders.APIServerName(p)}, &d); err != nil {
			return err
		}
		r := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: r, UpdatedReplicas: r,
			ReadyReplicas: r, AvailableReplicas: r, Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
		if err := c.Status().Update(ctx, &d); err != nil {
			return err
		}
	}
	return nil
}

// opCounters are the operator's own counters: reconciles (in all and by controller), API requests by method,
// Go heap.
type opCounters struct {
	reconciles   float64
	byController map[string]float64
	byMethod     map[string]float64
	heap         float64
}

// writeMethods are the HTTP methods of writes to the Kubernetes API.
var writeMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// writes is the number of write requests sent to the API server.
func (o opCounters) writes() float64 {
	var n float64
	for _, m := range writeMethods {
		n += o.byMethod[m]
	}
	return n
}

// readOpCounters reads controller_runtime_reconcile_total and rest_client_requests_total from the
// operator's metrics endpoint.
func readOpCounters(ctx context.Context, url string) (opCounters, error) {
	m, err := scrape(ctx, url)
	if err != nil {
		return opCounters{}, err
	}
	o := opCounters{byController: map[string]float64{}, byMethod: map[string]float64{}, heap: m["go_memstats_heap_inuse_bytes"]}
	for series, v := range m {
		switch {
		case strings.HasPrefix(series, "controller_runtime_reconcile_total{"):
			o.reconciles += v
			o.byController[labelValue(series, "controller")] += v
		case strings.HasPrefix(series, "rest_client_requests_total{"):
			o.byMethod[labelValue(series, "method")] += v
		}
	}
	return o, nil
}

// labelValue is the value of a label in a series written as name{a="x",b="y"}.
func labelValue(series, label string) string {
	_, rest, ok := strings.Cut(series, label+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// waitQuiet waits until the operator's writes and reconciles have not moved for quiet, at most limit (an
// operator that never stops writing shows in the idle window that follows).
func waitQuiet(ctx context.Context, counters func() (opCounters, error), quiet, limit time.Duration) (opCounters, error) {
	deadline := time.Now().Add(limit)
	last, err := counters()
	if err != nil {
		return last, err
	}
	since := time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			return last, nil
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return last, err
		}
		now, err := counters()
		if err != nil {
			return last, err
		}
		if now.writes() != last.writes() || now.reconciles != last.reconciles {
			since = time.Now()
		}
		last = now
	}
	return last, nil
}
