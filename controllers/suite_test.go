package controllers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// The envtest control plane shared by the package's tests: a real kube-apiserver and etcd with the
// generated CRDs installed.
var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
	testScheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	if err := clientgoscheme.AddToScheme(testScheme); err != nil {
		return 0, err
	}
	if err := llmv1.AddToScheme(testScheme); err != nil {
		return 0, err
	}
	if err := gwapiv1.Install(testScheme); err != nil {
		return 0, err
	}
	assets, err := assetsDir()
	if err != nil {
		return 0, err
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	if err != nil {
		return 0, fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() { _ = testEnv.Stop() }()
	defer stopGatewayControlPlane()
	k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// assetsDir returns KUBEBUILDER_ASSETS, or builds the binaries with hack/envtest-bins.sh (cached in bin/).
func assetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command(filepath.Join("..", "hack", "envtest-bins.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("hack/envtest-bins.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// newNamespace creates a namespace for one test, so tests do not see each other's objects.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}
