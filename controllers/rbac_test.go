package controllers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// TestOperatorRunsWithItsGeneratedRole runs the operator as a user that has only the generated
// config/rbac/role.yaml, bound in one namespace as the Helm chart does with watchNamespaces: the platform
// becomes Ready and Events are recorded, so the kubebuilder markers grant everything the operator uses.
func TestOperatorRunsWithItsGeneratedRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		t.Fatal(err)
	}
	role.Name = "llmplatform-test-" + ns
	if err := k8sClient.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, role) })
	user := "operator-" + ns
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "operator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := k8sClient.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	operator, err := testEnv.ControlPlane.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}

	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, platformWithBackup+`
  ingress: {host: shop.example.com}
`)
	startOperator(t, operator.Config(), ns)
	waitForObservedGeneration(t, k8sClient, p)
	markStatefulSetReady(t, k8sClient, ns, "shop-postgres")
	markDeploymentAvailable(t, k8sClient, ns, "shop-apiserver")
	waitForCondition(t, k8sClient, p, llmv1.ConditionReady, metav1.ConditionTrue, llmv1.ReasonReady)
	waitForEvent(t, k8sClient, p, corev1.EventTypeNormal, llmv1.ReasonReady, "Ready is True")
}
