//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/llmplatform/llmplatform/internal/devenv"
)

// TestInstallersApplyToARealAPIServer renders the Helm chart with several sets of values and kustomize's
// config/default, checks what each installs, and applies every object with server-side dry-run to a real
// kube-apiserver (with the CRDs installed): all must be accepted. The operator's arguments in each, and the
// demo mock provider's, are checked against the binary's own flag parsing. (The samples themselves are
// applied to a kube-apiserver by the controllers' TestSamplesAreAccepted.)
func TestInstallersApplyToARealAPIServer(t *testing.T) {
	helm, kustomize, binary := requireEnv(t, "HELM"), requireEnv(t, "KUSTOMIZE"), requireEnv(t, "LLMP_BINARY")
	env := &envtest.Environment{
		BinaryAssetsDirectory: requireEnv(t, "KUBEBUILDER_ASSETS"),
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(repoRoot, "charts", "llmplatform")
	if out, err := exec.Command(helm, "lint", "--strict", chart).CombinedOutput(); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}

	tests := []struct {
		name  string
		build []string
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{"chart with default values", []string{helm, "template", "llmp", chart, "-n", "llmplatform-system", "--include-crds"},
			func(t *testing.T, objs []*unstructured.Unstructured) {
				wantKinds(t, objs, "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment")
				wantArgs(t, objs, "--leader-elect=true", "--metrics-bind-address=:8080", "--apiserver-image=ghcr.io/llmplatform/llmplatform:0.1.0",
					"--usage-sync-period=30s")
				wantRulesOfRoleYAML(t, objs)
			}},
		{"chart watching two namespaces", []string{helm, "template", "llmp", chart, "-n", "llmplatform-system", "--set", "watchNamespaces={team-a,team-b}"},
			func(t *testing.T, objs []*unstructured.Unstructured) {
				wantArgs(t, objs, "--watch-namespaces=team-a,team-b")
				var bindings []string
				for _, o := range objs {
					if o.GetKind() == "ClusterRoleBinding" {
						t.Errorf("ClusterRoleBinding %s grants the whole cluster", o.GetName())
					}
					if o.GetKind() == "RoleBinding" && strings.HasSuffix(o.GetName(), "-manager") {
						bindings = append(bindings, o.GetNamespace())
					}
				}
				if !slices.Equal(bindings, []string{"team-a", "team-b"}) {
					t.Errorf("the manager role is bound in %v, want team-a and team-b", bindings)
				}
			}},
		{"chart without metrics and leader election", []string{helm, "template", "llmp", chart, "-n", "ops",
			"--set", "metrics.enabled=false", "--set", "leaderElection.enabled=false", "--set", "image.tag=v9.9.9", "--set", "apiServerImage=registry.example/llmp:v1",
			"--set", "usageSyncPeriod=1m30s"},
			func(t *testing.T, objs []*unstructured.Unstructured) {
				wantArgs(t, objs, "--metrics-bind-address=0", "--leader-elect=false", "--apiserver-image=registry.example/llmp:v1", "--usage-sync-period=1m30s")
				for _, o := range objs {
					if o.GetKind() == "Service" || o.GetKind() == "Role" {
						t.Errorf("%s %s rendered with metrics and leader election off", o.GetKind(), o.GetName())
					}
				}
				if d := deployment(t, objs); d.Spec.Template.Spec.Containers[0].Image != "ghcr.io/llmplatform/llmplatform:v9.9.9" {
					t.Errorf("image %s", d.Spec.Template.Spec.Containers[0].Image)
				}
			}},
		{"kustomize config/default", []string{kustomize, "build", filepath.Join(repoRoot, "config", "default")},
			func(t *testing.T, objs []*unstructured.Unstructured) {
				wantKinds(t, objs, "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment")
				ctr := deployment(t, objs).Spec.Template.Spec.Containers[0]
				if len(ctr.Env) != 1 || ctr.Env[0].Name != "LLMPLATFORM_IMAGE" || ctr.Env[0].Value != ctr.Image {
					t.Errorf("LLMPLATFORM_IMAGE %+v does not follow the operator's image %s", ctr.Env, ctr.Image)
				}
			}},
	}
	t.Run("the chart refuses values that cannot work", func(t *testing.T) {
		for _, bad := range []struct{ set, want string }{
			{"watchNamespaces=team-a", "watchNamespaces"},
			{"logLevel=verbose", "logLevel"},
			{"replicaCount=2,leaderElection.enabled=false", "leaderElection"},
			{"usageSyncPeriod=500ms", "usageSyncPeriod"},
			{"usageSyncPeriod=soon", "usageSyncPeriod"},
		} {
			out, err := exec.Command(helm, "template", "llmp", chart, "--set", bad.set).CombinedOutput()
			if err == nil || !strings.Contains(string(out), bad.want) {
				t.Errorf("helm template --set %s: %v, want an error naming %s:\n%s", bad.set, err, bad.want, out)
			}
		}
	})
	t.Run("the demo's mock provider Deployment runs the binary with valid flags", func(t *testing.T) {
		objs, err := devenv.ReadObjects(filepath.Join(repoRoot, "config", "samples"))
		if err != nil {
			t.Fatal(err)
		}
		var mock []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "Deployment" && o.GetName() == "llm-mock" {
				mock = append(mock, o)
			}
		}
		args := append(slices.Clone(deployment(t, mock).Spec.Template.Spec.Containers[0].Args), "-h")
		if out, err := exec.Command(binary, args...).CombinedOutput(); err != nil || args[0] != "mock-provider" {
			t.Errorf("llmplatform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(tt.build[0], tt.build[1:]...).Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(tt.build, " "), err, stderr(err))
			}
			objs, err := devenv.DecodeObjects(out)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, objs)
			checkOperatorFlags(t, binary, deployment(t, objs))
			dryRun(t, c, objs)
		})
	}
}

// dryRun applies every object with server-side dry-run. The namespaces the objects live in are created for
// real first (a dry-run Namespace does not exist for the objects after it).
func dryRun(t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	for _, o := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("e2e"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("%s %s/%s was refused: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// checkOperatorFlags runs the binary with the Deployment's arguments and -h: the flag parser reads every
// argument before it sees -h, so an unknown or malformed flag fails.
func checkOperatorFlags(t *testing.T, binary string, d *appsv1.Deployment) {
	t.Helper()
	args := append(slices.Clone(d.Spec.Template.Spec.Containers[0].Args), "-h")
	if args[0] != "operator" {
		t.Fatalf("the operator Deployment runs %v", args)
	}
	if out, err := exec.Command(binary, args...).CombinedOutput(); err != nil {
		t.Errorf("llmplatform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatal("no Deployment rendered")
	return nil
}

func wantKinds(t *testing.T, objs []*unstructured.Unstructured, kinds ...string) {
	t.Helper()
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind())
	}
	for _, k := range kinds {
		if !slices.Contains(got, k) {
			t.Errorf("no %s among %v", k, got)
		}
	}
}

func wantArgs(t *testing.T, objs []*unstructured.Unstructured, want ...string) {
	t.Helper()
	args := deployment(t, objs).Spec.Template.Spec.Containers[0].Args
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("operator args %v lack %s", args, w)
		}
	}
}

// wantRulesOfRoleYAML checks that the chart grants the operator exactly the generated RBAC rules.
func wantRulesOfRoleYAML(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated rbacv1.ClusterRole
	if err := yaml.Unmarshal(raw, &generated); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		var chart rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &chart); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(chart.Rules, generated.Rules) {
			t.Errorf("the chart's ClusterRole rules differ from config/rbac/role.yaml: run make manifests")
		}
		return
	}
	t.Error("the chart renders no ClusterRole")
}

// stderr is the error output of a failed command.
func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
