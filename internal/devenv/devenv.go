// Package devenv is `make dev`: the whole platform on one machine, without Docker or a cluster. It starts a
// local kube-apiserver and etcd (envtest's) with the CRDs installed, the operator, PostgreSQL and the mock
// provider as processes, and applies the dev tenant (config/samples/dev). Then it plays the kubelet for the
// tenant's API server: it reads the Deployment the operator rendered, materialises the pod's ConfigMap and
// Secret volumes under a local root directory (and keeps them current, so the API server's reloads work as in
// a cluster), runs the container's command with its args and env — mount paths and the listen ports being
// the only translations, as a kubelet's — probes its readiness and writes the Deployment's status, so the
// operator reports the platform Ready.
//
// Everything lives in a state directory (.dev by default): the kubeconfig, etcd's and PostgreSQL's data (so
// users, conversations and the generated Secrets survive a restart), the API server's files and the logs.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// Default addresses on this machine.
const (
	// DefaultListen is where the tenant's API server (and web UI) listens.
	DefaultListen = "127.0.0.1:8080"
	// DefaultMockAddr is where the mock provider listens, and the address the dev sample's providers name.
	DefaultMockAddr = "127.0.0.1:18080"
	// DefaultMetricsListen is where the API server serves /metrics: a free port on 127.0.0.1.
	DefaultMetricsListen = "127.0.0.1:0"
)

// Options configure a development environment. Root is required; the rest have defaults.
type Options struct {
	// Root is the repository: the CRDs come from config/crd/bases, the tenant from config/samples/dev.
	Root string
	// StateDir holds the kubeconfig, the data, the API server's files and the logs (default Root/.dev).
	StateDir string
	// Binary is the llmplatform binary, built with the web UI (default Root/bin/llmplatform).
	Binary string
	// Assets is the directory with kube-apiserver, etcd and kubectl (hack/envtest-bins.sh prints it).
	Assets string
	// Samples is the directory of the dev tenant (default Root/config/samples/dev).
	Samples string
	// Namespace receives the sample's objects that name none (default "default").
	Namespace string
	// Listen is the API server's address on this machine (DefaultListen); port 0 picks a free port.
	Listen string
	// MockListen is the mock provider's address (DefaultMockAddr); port 0 picks a free port.
	MockListen string
	// MetricsListen is the address of the API server's metrics port on this machine (DefaultMetricsListen);
	// port 0 picks a free port.
	MetricsListen string
	// ReadyTimeout bounds the wait for the platform to become Ready (default 3 minutes).
	ReadyTimeout time.Duration
	// UsageSyncPeriod is how often the operator reads the tenant's usage into the UserQuota and LLMPlatform
	// statuses (default 5s: one tenant, and its API server caches the answer that long anyway).
	UsageSyncPeriod time.Duration
	// Out receives progress lines (default os.Stdout).
	Out io.Writer
}

// Credentials are the bootstrap admin's login.
type Credentials struct {
	Username, Password string
}

// Env is a running development environment.
type Env struct {
	// Client talks to the local control plane as a cluster admin.
	Client client.Client
	// Kubeconfig is the path of an admin kubeconfig for kubectl.
	Kubeconfig string
	// Kubectl is the kubectl built for the control plane, empty if there is none.
	Kubectl string
	// Platform is the dev tenant.
	Platform types.NamespacedName
	// URL is the API server and web UI on this machine.
	URL string
	// MetricsURL is the API server's metrics port on this machine (/metrics below it).
	MetricsURL string
	// MockURL is the mock provider.
	MockURL string
	// DatabaseURL is the tenant's database in the local PostgreSQL.
	DatabaseURL string
	// Admin is the bootstrap admin's login, from AdminSecret.
	Admin Credentials
	// AdminSecret names the Secret holding the admin's login.
	AdminSecret types.NamespacedName
	// LogDir holds a log file per component.
	LogDir string
	// PodRoot is where the API server's volumes are materialised (its mount paths below it).
	PodRoot string

	opts     Options
	started  time.Time
	cp       *controlPlane
	pg       *postgres
	mock     *process
	operator *process
	kubelet  *kubelet
	ready    atomic.Bool

	// background runs the kubelet and the garbage collector until stopBackground.
	background     sync.WaitGroup
	stopBackground context.CancelFunc
	failed         chan error
	stopping       atomic.Bool
	force          chan struct{}
	forceOnce      sync.Once
}

// Start brings the environment up and returns once the dev tenant is Ready. On error everything started so
// far is stopped.
func Start(ctx context.Context, opts Options) (env *Env, err error) {
	opts, err = withDefaults(ctx, opts)
	if err != nil {
		return nil, err
	}
	e := &Env{opts: opts, started: time.Now(), failed: make(chan error, 4), force: make(chan struct{}),
		LogDir: filepath.Join(opts.StateDir, "logs"), Kubeconfig: filepath.Join(opts.StateDir, "kubeconfig")}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	steps := []func(context.Context) error{e.prepareDirs, e.startControlPlane, e.forgetPods, e.startPostgres, e.startMock,
		e.startOperator, e.startTenant}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	if err := e.waitReady(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func withDefaults(ctx context.Context, o Options) (Options, error) {
	if o.Root == "" {
		return o, errors.New("devenv: Options.Root is required")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return o, err
	}
	o.Root = root
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.StateDir, filepath.Join(root, ".dev"))
	def(&o.Binary, filepath.Join(root, "bin", "llmplatform"))
	def(&o.Samples, filepath.Join(root, "config", "samples", "dev"))
	def(&o.Namespace, "default")
	def(&o.Listen, DefaultListen)
	def(&o.MockListen, DefaultMockAddr)
	def(&o.MetricsListen, DefaultMetricsListen)
	if o.Assets == "" {
		o.Assets = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if o.Assets == "" {
		return o, errors.New("devenv: no kube-apiserver and etcd: set Options.Assets or KUBEBUILDER_ASSETS (hack/envtest-bins.sh prints the directory)")
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	if o.UsageSyncPeriod == 0 {
		o.UsageSyncPeriod = 5 * time.Second
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	for _, p := range []*string{&o.StateDir, &o.Binary, &o.Samples, &o.Assets} {
		if *p, err = filepath.Abs(*p); err != nil {
			return o, err
		}
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return o, fmt.Errorf("devenv: the llmplatform binary: %w (run make build)", err)
	}
	for _, addr := range []*string{&o.Listen, &o.MockListen, &o.MetricsListen} {
		if *addr, err = resolvePort(ctx, *addr); err != nil {
			return o, err
		}
	}
	return o, nil
}

// say prints a progress line with the time since the start.
func (e *Env) say(format string, args ...any) {
	_, _ = fmt.Fprintf(e.opts.Out, "[%5.1fs] %s\n", time.Since(e.started).Seconds(), fmt.Sprintf(format, args...))
}

// prepareDirs creates the state directory, with empty logs for this run. It is world-traversable (not
// readable) because PostgreSQL runs as its own user when the runner is root.
func (e *Env) prepareDirs(context.Context) error {
	if err := os.RemoveAll(e.LogDir); err != nil {
		return err
	}
	if err := os.MkdirAll(e.LogDir, 0o750); err != nil {
		return err
	}
	if err := os.Chmod(e.opts.StateDir, 0o711); err != nil { //nolint:gosec // traversable, not readable, by PostgreSQL's user
		return err
	}
	// The image: the one binary on PATH at /usr/local/bin, as in the Dockerfile.
	bin := filepath.Join(e.opts.StateDir, "image", "usr", "local", "bin")
	if err := os.MkdirAll(bin, 0o750); err != nil {
		return err
	}
	link := filepath.Join(bin, builders.APIServerCommand)
	_ = os.Remove(link)
	return os.Symlink(e.opts.Binary, link)
}

func (e *Env) startControlPlane(context.Context) error {
	pids := filepath.Join(e.opts.StateDir, "controlplane.pids")
	if left, err := stopLeftovers(pids); err != nil {
		return fmt.Errorf("stopping the control plane of a killed run: %w", err)
	} else if len(left) > 0 {
		e.say("Stopped the control plane that a killed run left behind (processes %v)", left)
	}
	cp, err := startControlPlane(e.opts.Assets, filepath.Join(e.opts.Root, "config", "crd", "bases"),
		filepath.Join(e.opts.StateDir, "etcd"), e.Kubeconfig, e.LogDir)
	if err != nil {
		return err
	}
	e.cp = cp
	if err := recordControlPlane(pids); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := llmv1.AddToScheme(scheme); err != nil {
		return err
	}
	if e.Client, err = client.New(cp.config, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if k := filepath.Join(e.opts.Assets, "kubectl"); fileExists(k) {
		e.Kubectl = k
	}
	e.say("Control plane (kube-apiserver, etcd) up with the CRDs; kubeconfig %s", e.Kubeconfig)
	return nil
}

// forgetPods deletes the Deployments the operator rendered in an earlier run. Processes do not survive a
// restart of make dev, as pods do not survive a cluster whose nodes all restarted: the API server starts
// again from the Deployment the operator renders now (perhaps with a new binary), not from the last run's,
// and no stale status from the last run says it is ready.
//
// It also deletes the children of tenants deleted since (see collectGarbage), before the operator looks.
func (e *Env) forgetPods(ctx context.Context) error {
	if err := collectGarbage(ctx, e.Client); err != nil {
		return err
	}
	var list appsv1.DeploymentList
	if err := e.Client.List(ctx, &list, client.MatchingLabels{builders.LabelManagedBy: builders.ManagedBy}); err != nil {
		return fmt.Errorf("listing the operator's Deployments: %w", err)
	}
	for i := range list.Items {
		if err := e.Client.Delete(ctx, &list.Items[i]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting Deployment %s/%s of the last run: %w", list.Items[i].Namespace, list.Items[i].Name, err)
		}
	}
	return nil
}

func (e *Env) startPostgres(ctx context.Context) error {
	pg, err := startPostgres(ctx, filepath.Join(e.opts.StateDir, "postgres"), filepath.Join(e.LogDir, "postgres.log"))
	if err != nil {
		return err
	}
	e.pg = pg
	e.DatabaseURL = pg.URL()
	e.watch(pg.proc)
	e.say("PostgreSQL up at %s", e.DatabaseURL)
	return nil
}

func (e *Env) startMock(ctx context.Context) error {
	//nolint:gosec,noctx // our own binary; stopped with a grace period by process.stop, not killed by a context
	cmd := exec.Command(e.opts.Binary, "mock-provider", "--listen="+e.opts.MockListen)
	p, err := startProcess("the mock provider", cmd, filepath.Join(e.LogDir, "mock-provider.log"), syscall.SIGTERM)
	if err != nil {
		return err
	}
	e.mock = p
	e.MockURL = "http://" + e.opts.MockListen
	if err := waitHTTP(ctx, e.MockURL+"/healthz", p, 30*time.Second); err != nil {
		return fmt.Errorf("%w (log: %s)", err, filepath.Join(e.LogDir, "mock-provider.log"))
	}
	e.watch(p)
	e.say("Mock provider up at %s (OpenAI /openai/v1, Anthropic /anthropic, Gemini /gemini, Ollama /ollama)", e.MockURL)
	return nil
}

func (e *Env) startOperator(context.Context) error {
	// The operator's metrics and health endpoints serve a cluster's Prometheus and kubelet; here they would
	// only take ports. It reads usage from the API server on this machine, as there is no Service DNS here.
	//nolint:gosec,noctx // our own binary; stopped with a grace period by process.stop, not killed by a context
	cmd := exec.Command(e.opts.Binary, "operator", "--kubeconfig="+e.Kubeconfig,
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--apiserver-url=http://"+e.opts.Listen,
		"--usage-sync-period="+e.opts.UsageSyncPeriod.String())
	p, err := startProcess("the operator", cmd, filepath.Join(e.LogDir, "operator.log"), syscall.SIGTERM)
	if err != nil {
		return err
	}
	e.operator = p
	e.watch(p)
	e.say("Operator running")
	return nil
}

// startTenant applies the dev tenant with its database Secret, and starts the kubelet for its API server.
func (e *Env) startTenant(ctx context.Context) error {
	t, err := loadTenant(e.opts.Samples, e.opts.Namespace, e.opts.MockListen)
	if err != nil {
		return err
	}
	p := t.platform
	e.Platform = types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
	objs := []client.Object{databaseSecret(p, e.DatabaseURL)}
	for _, u := range t.objects {
		objs = append(objs, u)
	}
	if err := apply(ctx, e.Client, objs...); err != nil {
		return err
	}
	e.say("Applied the dev tenant %s from %s", e.Platform, e.opts.Samples)
	e.PodRoot = filepath.Join(e.opts.StateDir, "pods", p.Namespace+"_"+builders.APIServerName(p))
	e.URL = "http://" + e.opts.Listen
	e.MetricsURL = "http://" + e.opts.MetricsListen
	e.kubelet = &kubelet{
		client:     e.Client,
		deployment: types.NamespacedName{Namespace: p.Namespace, Name: builders.APIServerName(p)},
		container:  builders.APIServerContainer,
		sandbox: sandbox{
			root:    e.PodRoot,
			binDirs: []string{filepath.Join(e.opts.StateDir, "image", "usr", "local", "bin")},
			ports:   map[int32]string{builders.APIServerPort: e.opts.Listen, builders.MetricsPort: e.opts.MetricsListen},
		},
		logPath:  filepath.Join(e.LogDir, "apiserver.log"),
		say:      e.say,
		interval: time.Second,
		force:    e.force,
		ready:    &e.ready,
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stopBackground = cancel
	e.background.Go(func() { e.kubelet.run(bg) })
	e.background.Go(func() { runGarbageCollector(bg, e.Client, 2*time.Second, e.say) })
	return nil
}

// waitReady waits for the API server to pass its readiness probe and the platform to be Ready for its
// current generation, and reads the admin's login.
func (e *Env) waitReady(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, e.opts.ReadyTimeout)
	defer cancel()
	p := &llmv1.LLMPlatform{}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := e.Client.Get(ctx, e.Platform, p); err != nil && ctx.Err() == nil {
			return fmt.Errorf("reading LLMPlatform %s: %w", e.Platform, err)
		}
		ready := meta.FindStatusCondition(p.Status.Conditions, llmv1.ConditionReady)
		if e.ready.Load() && ready != nil && ready.Status == "True" && p.Status.ObservedGeneration == p.Generation {
			break
		}
		select {
		case err := <-e.failed:
			return err
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("interrupted while waiting for LLMPlatform %s to be Ready: %w", e.Platform, parent.Err())
			}
			why := "no status yet"
			if ready != nil {
				why = ready.Reason + ": " + ready.Message
			}
			return fmt.Errorf("LLMPlatform %s is not Ready after %s (%s); logs in %s", e.Platform, e.opts.ReadyTimeout, why, e.LogDir)
		case <-tick.C:
		}
	}
	s := &corev1.Secret{}
	e.AdminSecret = types.NamespacedName{Namespace: p.Namespace, Name: builders.AdminSecret(p)}
	if err := e.Client.Get(ctx, e.AdminSecret, s); err != nil {
		return fmt.Errorf("reading the admin Secret: %w", err)
	}
	e.Admin = Credentials{Username: string(s.Data[builders.AdminUsernameKey]), Password: string(s.Data[builders.AdminPasswordKey])}
	e.say("LLMPlatform %s is Ready", e.Platform)
	return nil
}

// Failed delivers the error of a component that stopped by itself.
func (e *Env) Failed() <-chan error { return e.failed }

// watch reports the end of a process that was not asked to stop.
func (e *Env) watch(p *process) {
	go func() {
		<-p.done
		if !e.stopping.Load() {
			e.failed <- fmt.Errorf("%w (logs in %s)", p.exitError(), e.LogDir)
		}
	}()
}

// Kill makes a running or later Stop kill the processes at once instead of letting them shut down.
func (e *Env) Kill() {
	e.forceOnce.Do(func() { close(e.force) })
}

// Stop stops everything, in order: the API server, the operator and the mock provider, then PostgreSQL,
// then the control plane. It waits for each to exit.
func (e *Env) Stop() {
	e.stopping.Store(true)
	var wg sync.WaitGroup
	if e.stopBackground != nil {
		e.stopBackground()
		wg.Go(e.background.Wait)
	}
	for _, p := range []*process{e.operator, e.mock} {
		if p != nil {
			wg.Go(func() { p.stop(10*time.Second, e.force) })
		}
	}
	wg.Wait()
	if e.pg != nil {
		e.pg.stop(e.force)
	}
	if e.cp != nil {
		e.cp.stop()
		_ = os.Remove(filepath.Join(e.opts.StateDir, "controlplane.pids"))
	}
}

// waitHTTP waits for url to answer 200 while p runs.
func waitHTTP(ctx context.Context, url string, p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		switch {
		case p.exited():
			return p.exitError()
		case time.Now().After(deadline):
			return fmt.Errorf("%s did not answer within %s", url, timeout)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// resolvePort checks that a host:port address is free now, replacing port 0 with a free port, so that a busy
// port is reported at once rather than as a process that keeps failing to start.
func resolvePort(ctx context.Context, addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s is not free (%w): choose another address with --listen, --mock-listen or --metrics-listen", addr, err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// freePort returns a port that is free on 127.0.0.1 now.
func freePort(ctx context.Context) (int, error) {
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Summary is what a developer needs to use the environment: where the UI is, the admin login, kubectl.
func (e *Env) Summary() string {
	kubectl := "kubectl"
	if e.Kubectl != "" {
		kubectl = e.Kubectl
	}
	return fmt.Sprintf(`
LLMPlatform dev environment is ready (%.1fs): tenant %s

  Web UI and API   %s   (API docs: %s/docs)
  Metrics          %s/metrics
  Admin login      %s / %s   (Secret %s)
  kubectl          export KUBECONFIG=%s
                   %s get llmp,uq
  Mock provider    %s
  PostgreSQL       %s
  API server files %s
  Logs             %s

Edit the tenant with kubectl (edit llmp %s, or the Secrets): config and Secret changes reach the running API
server as files; pod template changes restart it. Ctrl-C stops everything (twice: at once).
`, time.Since(e.started).Seconds(), e.Platform, e.URL, e.URL, e.MetricsURL, e.Admin.Username, e.Admin.Password,
		e.AdminSecret,
		e.Kubeconfig, kubectl, e.MockURL, e.DatabaseURL, filepath.Join(e.PodRoot, builders.MountRoot), e.LogDir, e.Platform.Name)
}
