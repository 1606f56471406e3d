package devenv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteVolumeLaysOutFilesLikeAKubelet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "llmplatform", "secrets")
	first := volumeContent{"jwt/key": {data: []byte("one"), mode: 0o440}, "old": {data: []byte("x"), mode: 0o644}}
	if err := writeVolume(dir, first); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "jwt")); err != nil || target != filepath.Join(dataDir, "jwt") {
		t.Errorf("jwt links to %q (%v), want it through %s", target, err, dataDir)
	}
	if got := readFile(t, filepath.Join(dir, "jwt", "key")); got != "one" {
		t.Errorf("jwt/key = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "jwt", "key")); err != nil || fi.Mode().Perm() != 0o440 {
		t.Errorf("jwt/key mode = %v (%v), want 0440", fi.Mode(), err)
	}
	before, _ := os.Readlink(filepath.Join(dir, dataDir))

	second := volumeContent{"jwt/key": {data: []byte("two"), mode: 0o440}, "new": {data: []byte("y"), mode: 0o644}}
	if err := writeVolume(dir, second); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "jwt", "key")); got != "two" {
		t.Errorf("after the update jwt/key = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "new")); got != "y" {
		t.Errorf("new = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "old")); !os.IsNotExist(err) {
		t.Errorf("a removed key's file is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, before)); !os.IsNotExist(err) {
		t.Errorf("the previous content directory %s was not removed: %v", before, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // ..<timestamp>, ..data, jwt, new
		t.Errorf("volume directory holds %v", names)
	}
}

// devPlatform is the dev sample's platform as the operator sees it.
func devPlatform(t *testing.T) *llmv1.LLMPlatform {
	t.Helper()
	tenant, err := loadTenant(filepath.Join("..", "..", "config", "samples", "dev"), "default", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	return tenant.platform
}

func TestLoadTenantReadsTheDevSample(t *testing.T) {
	tenant, err := loadTenant(filepath.Join("..", "..", "config", "samples", "dev"), "team", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	p := tenant.platform
	if p.Name != "dev" || p.Namespace != "team" || p.Spec.Database.External == nil {
		t.Fatalf("platform %s/%s, external database %v", p.Namespace, p.Name, p.Spec.Database.External)
	}
	for _, pr := range p.Spec.Providers {
		if !strings.HasPrefix(pr.BaseURL, "http://127.0.0.1:9/") {
			t.Errorf("provider %s still points at %s, not at the mock's address", pr.Name, pr.BaseURL)
		}
	}
	var kinds []string
	for _, u := range tenant.objects {
		kinds = append(kinds, u.GetKind())
		if u.GetNamespace() != "team" {
			t.Errorf("%s %s in namespace %q", u.GetKind(), u.GetName(), u.GetNamespace())
		}
	}
	for _, want := range []string{"LLMPlatform", "Secret", "UserQuota"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("the dev sample has no %s (has %v)", want, kinds)
		}
	}
	if s := databaseSecret(p, "postgres://x"); s.Name != "dev-database" || s.StringData["uri"] != "postgres://x" {
		t.Errorf("database Secret %s %v", s.Name, s.StringData)
	}
}

func TestLoadTenantRefusesAManagedDatabase(t *testing.T) {
	dir := t.TempDir()
	doc := "apiVersion: llmplatform.io/v1alpha1\nkind: LLMPlatform\nmetadata: {name: x}\nspec:\n  database: {managed: {}}\n"
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTenant(dir, "default", DefaultMockAddr); err == nil || !strings.Contains(err.Error(), "spec.database.external") {
		t.Errorf("loadTenant = %v, want an error asking for an external database", err)
	}
}

func TestReadVolumeMaterialisesTheRenderedPod(t *testing.T) {
	p := devPlatform(t)
	yml, err := builders.RenderConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	objs := []runtime.Object{builders.ConfigMap(p, yml), databaseSecret(p, "postgres://local")}
	for name, key := range map[string]string{"dev-jwt": "key", "dev-encryption": "key", "dev-internal": "token"} {
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: name}, Data: map[string][]byte{key: []byte(name)}})
	}
	// The database Secret as the API server stores it: stringData becomes data.
	objs[1].(*corev1.Secret).Data = map[string][]byte{"uri": []byte("postgres://local")}
	c := fake.NewClientBuilder().WithScheme(scheme).WithRuntimeObjects(objs...).Build()
	spec := builders.Deployment(p, builders.Options{}).Spec.Template.Spec
	got := map[string]volumeContent{}
	var errs []string
	for i := range spec.Volumes {
		content, err := readVolume(context.Background(), c, p.Namespace, &spec.Volumes[i])
		if err != nil {
			errs = append(errs, err.Error())
		}
		got[spec.Volumes[i].Name] = content
	}
	// The admin Secret is not there: a kubelet could not start the pod, and says which Secret it waits for.
	if len(errs) != 1 || !strings.Contains(errs[0], "dev-admin") {
		t.Errorf("errors %v, want one naming the missing admin Secret", errs)
	}
	if string(got["config"]["platform.yaml"].data) != string(yml) {
		t.Errorf("config volume %v", got["config"])
	}
	if string(got["secrets"]["jwt/key"].data) != "dev-jwt" || got["secrets"]["jwt/key"].mode != 0o440 {
		t.Errorf("secrets volume: jwt/key = %+v", got["secrets"]["jwt/key"])
	}
	if string(got["database"]["uri"].data) != "postgres://local" {
		t.Errorf("database volume %v", got["database"])
	}
	// The provider keys are optional projections: their missing Secret leaves the volume empty, not broken.
	if len(got["providers"]) != 0 || got["tmp"] != nil {
		t.Errorf("providers %v, tmp %v", got["providers"], got["tmp"])
	}
}

func TestSandboxTranslatesTheRenderedContainer(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, builders.APIServerCommand), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "pod")
	s := sandbox{root: root, binDirs: []string{bin}, ports: map[int32]string{builders.APIServerPort: "127.0.0.1:9999", builders.MetricsPort: "127.0.0.1:9998"}}
	p := devPlatform(t)
	ctr := builders.Deployment(p, builders.Options{}).Spec.Template.Spec.Containers[0]
	l, err := s.translate(context.Background(), fake.NewClientBuilder().Build(), p.Namespace, &ctr)
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(root, builders.ConfigFile)
	if want := []string{"apiserver", "--config=" + configFile, "--listen=127.0.0.1:9999", "--metrics-listen=127.0.0.1:9998"}; !slices.Equal(l.args, want) {
		t.Errorf("args %q, want %q", l.args, want)
	}
	if l.path != filepath.Join(bin, builders.APIServerCommand) {
		t.Errorf("executable %s", l.path)
	}
	if !slices.Contains(l.env, "TMPDIR="+filepath.Join(root, "tmp")) || !strings.HasPrefix(l.env[0], "PATH="+bin+":") || len(l.env) != 2 {
		t.Errorf("env %q, want PATH and TMPDIR only", l.env)
	}
	if l.readinessURL != "http://127.0.0.1:9999/readyz" || l.readinessPeriod != 5*time.Second {
		t.Errorf("readiness %s every %s", l.readinessURL, l.readinessPeriod)
	}
	// The rendered platform.yaml, read from its local path, finds the secrets in the local mounts.
	yml, err := builders.RenderConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseAt(yml, filepath.Dir(configFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, builders.JWTKeyFile); cfg.Secrets.JWTKeyFile != want {
		t.Errorf("jwtKeyFile resolves to %s, want %s", cfg.Secrets.JWTKeyFile, want)
	}

	// A declared port left without a local address would listen on every interface of this machine.
	delete(s.ports, builders.MetricsPort)
	if _, err := s.translate(context.Background(), fake.NewClientBuilder().Build(), p.Namespace, &ctr); err == nil || !strings.Contains(err.Error(), "9090") {
		t.Errorf("without a local address for the metrics port: %v, want an error naming port 9090", err)
	}
	s.ports[builders.MetricsPort] = "127.0.0.1:9998"
	s.binDirs = []string{t.TempDir()}
	if _, err := s.translate(context.Background(), fake.NewClientBuilder().Build(), p.Namespace, &ctr); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("without the binary: %v, want an error saying to build it", err)
	}
}

func TestDeploymentStatus(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: new(int32(1))}}
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name                     string
		running, ready           bool
		wantReady, wantAvailable int32
		wantCondition            corev1.ConditionStatus
	}{
		{"not running", false, false, 0, 0, corev1.ConditionFalse},
		{"starting", true, false, 0, 0, corev1.ConditionFalse},
		{"ready", true, true, 1, 1, corev1.ConditionTrue},
	}
	for _, tt := range tests {
		st := deploymentStatus(d, tt.running, tt.ready, t0)
		if st.ObservedGeneration != 3 || st.ReadyReplicas != tt.wantReady || st.AvailableReplicas != tt.wantAvailable ||
			st.Conditions[0].Type != appsv1.DeploymentAvailable || st.Conditions[0].Status != tt.wantCondition {
			t.Errorf("%s: status %+v", tt.name, st)
		}
	}
	d.Status = deploymentStatus(d, true, true, t0)
	later := deploymentStatus(d, true, true, metav1.NewTime(t0.Add(time.Hour)))
	if !later.Conditions[0].LastTransitionTime.Equal(&t0) || !later.Conditions[0].LastUpdateTime.Equal(&t0) {
		t.Errorf("an unchanged condition got new times: %+v", later.Conditions[0])
	}
	down := deploymentStatus(d, false, false, metav1.NewTime(t0.Add(time.Hour)))
	if down.Conditions[0].LastTransitionTime.Equal(&t0) {
		t.Errorf("a changed condition kept its transition time: %+v", down.Conditions[0])
	}
}
