package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers"
)

func TestOperatorFlags(t *testing.T) {
	t.Setenv("LLMPLATFORM_IMAGE", "registry.example/llmplatform:v9")
	f, err := parseOperatorFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if f.metricsAddr != ":8080" || f.probeAddr != ":8081" || f.leaderElect || f.apiServerImage != "registry.example/llmplatform:v9" || len(f.namespaces()) != 0 {
		t.Errorf("defaults %+v", f)
	}
	if u := f.usageOptions(); u.Period != controllers.DefaultUsageSyncPeriod || u.APIServerURL != nil {
		t.Errorf("default usage options %+v: want the default period and the platforms' Services", u)
	}
	f, err = parseOperatorFlags([]string{"--watch-namespaces= team-a, ,team-b", "--leader-elect", "--apiserver-image=img:2", "--zap-log-level=debug",
		"--usage-sync-period=45s", "--apiserver-url=http://127.0.0.1:8080"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.namespaces(), []string{"team-a", "team-b"}) || !f.leaderElect || f.apiServerImage != "img:2" {
		t.Errorf("parsed %+v, namespaces %v", f, f.namespaces())
	}
	if u := f.usageOptions(); u.Period != 45*time.Second || u.APIServerURL == nil || u.APIServerURL(&llmv1.LLMPlatform{}) != "http://127.0.0.1:8080" {
		t.Errorf("usage options %+v", u)
	}
	for _, bad := range [][]string{{"--no-such-flag"}, {"--usage-sync-period=100ms"}, {"--apiserver-url=127.0.0.1:8080"}, {"--apiserver-url=ftp://x"}} {
		if _, err := parseOperatorFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
	var help bytes.Buffer
	if _, err := parseOperatorFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "-watch-namespaces") {
		t.Errorf("-h: error %v, usage %q", err, help.String())
	}
}

// TestOperatorRunsAndStops runs `llmplatform operator` against a real control plane: it reconciles a
// platform in the namespace it watches, ignores one elsewhere, and returns cleanly when its context ends.
func TestOperatorRunsAndStops(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		out, err := exec.Command(filepath.Join("..", "..", "hack", "envtest-bins.sh")).Output()
		if err != nil {
			t.Fatalf("hack/envtest-bins.sh: %v", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"watched", "other"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		p := &llmv1.LLMPlatform{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"},
			Spec:       llmv1.LLMPlatformSpec{Database: llmv1.DatabaseSpec{Managed: &llmv1.ManagedDatabaseSpec{}}},
		}
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runOperator(runCtx, []string{"--kubeconfig=" + path, "--metrics-bind-address=0", "--health-probe-bind-address=0",
			"--watch-namespaces=watched", "--apiserver-image=img:run"})
	}()
	deadline := time.Now().Add(30 * time.Second)
	d := &appsv1.Deployment{}
	for c.Get(ctx, client.ObjectKey{Namespace: "watched", Name: "p-apiserver"}, d) != nil {
		select {
		case err := <-done:
			t.Fatalf("the operator stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the operator did not create the watched platform's Deployment")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "img:run" {
		t.Errorf("image %q, want the --apiserver-image", img)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "other", Name: "p-apiserver"}, &appsv1.Deployment{}); err == nil {
		t.Error("the operator reconciled a platform outside --watch-namespaces")
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runOperator() = %v after its context ended, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the operator did not stop")
	}
}
