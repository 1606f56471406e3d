package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	crconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers"
	"github.com/llmplatform/llmplatform/controllers/builders"
	"github.com/llmplatform/llmplatform/internal/version"

	// The operator checks platforms' time zones the way the API server will, also in images without a
	// zoneinfo database (the API server needs them for its quota windows).
	_ "time/tzdata"
)

// leaderElectionID names the Lease the operator's replicas elect their leader with.
const leaderElectionID = "llmplatform-operator.llmplatform.io"

// operatorFlags are the flags of `llmplatform operator`.
type operatorFlags struct {
	metricsAddr             string
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	watchNamespaces         string
	apiServerImage          string
	usageSyncPeriod         time.Duration
	apiServerURL            string
	zap                     zap.Options
}

// minUsageSyncPeriod is the shortest --usage-sync-period: the API server computes its usage answers at most
// once every 5 s anyway.
const minUsageSyncPeriod = time.Second

// parseOperatorFlags reads the operator's flags. The default API server image is LLMPLATFORM_IMAGE, or the
// operator's own image: the one image holds both.
func parseOperatorFlags(args []string, stderr io.Writer) (*operatorFlags, error) {
	f := &operatorFlags{}
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint (plain HTTP; protect it with a NetworkPolicy); \"0\" turns it off")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader through a Lease, so that several replicas can run with one active")
	fs.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the operator's own namespace when it runs in a cluster)")
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "", "comma-separated namespaces whose platforms the operator manages; empty manages every namespace")
	image := os.Getenv("LLMPLATFORM_IMAGE")
	if image == "" {
		image = builders.DefaultImageRepository + ":" + version.Version
	}
	fs.StringVar(&f.apiServerImage, "apiserver-image", image, "API server image of platforms that do not set spec.apiServer.image (default: $LLMPLATFORM_IMAGE, else the operator's own image)")
	fs.DurationVar(&f.usageSyncPeriod, "usage-sync-period", controllers.DefaultUsageSyncPeriod, "least time between two reads of one platform's usage from its API server, for the UserQuota and LLMPlatform statuses; each wait is up to half of it longer, at random (at least 1s)")
	fs.StringVar(&f.apiServerURL, "apiserver-url", "", "base URL at which to read every platform's usage instead of its API server's Service (http://<platform>-apiserver.<namespace>.svc:80): for `make dev`, which runs one platform's API server on this machine")
	crconfig.RegisterFlags(fs)
	f.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if f.usageSyncPeriod < minUsageSyncPeriod {
		return nil, fmt.Errorf("--usage-sync-period=%s: must be at least %s", f.usageSyncPeriod, minUsageSyncPeriod)
	}
	if f.apiServerURL != "" {
		if u, err := url.Parse(f.apiServerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--apiserver-url=%q: want an http:// or https:// URL with a host", f.apiServerURL)
		}
	}
	return f, nil
}

// usageOptions are the settings of the usage reads.
func (f *operatorFlags) usageOptions() controllers.UsageSyncOptions {
	opts := controllers.UsageSyncOptions{Period: f.usageSyncPeriod}
	if f.apiServerURL != "" {
		opts.APIServerURL = func(*llmv1.LLMPlatform) string { return f.apiServerURL }
	}
	return opts
}

// namespaces is the list given to --watch-namespaces, without blanks; empty means all namespaces.
func (f *operatorFlags) namespaces() []string {
	var out []string
	for _, ns := range strings.Split(f.watchNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// runOperator runs the operator's manager until ctx is cancelled (SIGINT or SIGTERM), then stops it:
// in-flight reconciles finish and the leader Lease is released.
func runOperator(ctx context.Context, args []string) error {
	f, err := parseOperatorFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&f.zap)))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         controllers.CacheOptions(f.namespaces()),
		Metrics:                       metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:        f.probeAddr,
		LeaderElection:                f.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       f.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	opts := controllers.Options{Builders: builders.Options{APIServerImage: f.apiServerImage}, Usage: f.usageOptions()}
	if _, err := controllers.Setup(ctx, mgr, opts); err != nil {
		return fmt.Errorf("setting up the reconcilers: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("operator").Info("Starting the operator", "version", version.Version,
		"apiServerImage", f.apiServerImage, "namespaces", f.namespaces(), "leaderElection", f.leaderElect,
		"usageSyncPeriod", f.usageSyncPeriod.String(), "apiServerURL", f.apiServerURL)
	return mgr.Start(ctx)
}
