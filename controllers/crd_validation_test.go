package controllers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// TestSamplesAreAccepted applies every object in config/samples/ and its subdirectories (the dev stack's
// samples in config/samples/dev/ included) to the real kube-apiserver. Kustomization files are not objects.
func TestSamplesAreAccepted(t *testing.T) {
	files := sampleFiles(t, filepath.Join("..", "config", "samples"))
	if !slices.Contains(files, filepath.Join("..", "config", "samples", "dev", "llmplatform.yaml")) {
		t.Fatalf("the walk missed config/samples/dev/llmplatform.yaml: %v", files)
	}
	applied := 0
	namespaces := map[string]string{} // directory → namespace: each directory is a set of samples
	for _, f := range files {
		dir := filepath.Dir(f)
		if namespaces[dir] == "" {
			namespaces[dir] = newNamespace(t)
		}
		for _, obj := range readObjects(t, f) {
			obj.SetNamespace(namespaces[dir])
			if err := k8sClient.Create(context.Background(), obj); err != nil {
				t.Errorf("%s: %s %s rejected: %v", f, obj.GetKind(), obj.GetName(), err)
			}
			applied++
		}
	}
	if applied < 8 {
		t.Errorf("applied only %d sample objects, want at least 8", applied)
	}
}

// sampleFiles lists the YAML files below dir, without kustomization files.
func sampleFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if !d.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && name != "kustomization.yaml" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found in %s: %v", dir, err)
	}
	return files
}

func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// validPlatform is a platform that the schema accepts; the invalid cases each break one rule of it.
const validPlatform = `
apiVersion: llmplatform.io/v1alpha1
kind: LLMPlatform
metadata:
  name: p
spec:
  apiServer:
    trustedProxies: [10.0.0.0/8, 192.0.2.7, "fd00::/8", "2001:db8::1"]
    nodeSelector: {topology.kubernetes.io/zone: eu-west-1a, example.com/gpu: "", example.com/pool: a_b.c-d}
  database:
    managed:
      backup: {schedule: "0 3 * * *"}
  ingress:
    host: chat.example.com
    annotations: {example.com/note: "any text: spaces, / and = allowed", example.com/empty: ""}
  providers:
  - name: openai
    type: OpenAI
    keys: [{secretRef: {name: k1}}, {secretRef: {name: k2}}]
    models:
    - {name: gpt-4o-mini, pricing: {input: "0.15", output: "0.6"}}
    - {name: gpt-4o}
`

const validQuota = `
apiVersion: llmplatform.io/v1alpha1
kind: UserQuota
metadata:
  name: q
spec:
  platformRef: {name: p}
  subjects: {users: [alice]}
  limits: {tokensPerDay: 1000, costPerMonth: "5"}
`

// TestSchemaRejectsInvalidObjects proves each validation rule of the CRD schemas against the real
// kube-apiserver: every object breaks one rule and must be refused with a message naming the field.
func TestSchemaRejectsInvalidObjects(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		mutate func(spec map[string]any, obj map[string]any)
		want   []string // substrings of the error, the offending field first
	}{
		{"database mode missing", validPlatform, func(s, _ map[string]any) { s["database"] = map[string]any{} },
			[]string{"spec.database", "exactly one of database.managed or database.external"}},
		{"database modes both", validPlatform, func(s, _ map[string]any) {
			s["database"] = map[string]any{"managed": map[string]any{}, "external": map[string]any{"secretRef": map[string]any{"name": "db"}}}
		}, []string{"spec.database", "exactly one of"}},
		{"provider name not a DNS label", validPlatform, func(s, _ map[string]any) { provider(s)["name"] = "Open_AI" },
			[]string{"spec.providers[0].name"}},
		{"duplicate provider names", validPlatform, func(s, _ map[string]any) {
			s["providers"] = append(s["providers"].([]any), deepCopy(provider(s)))
		}, []string{"spec.providers[1]", "Duplicate value"}},
		{"duplicate model names", validPlatform, func(s, _ map[string]any) {
			provider(s)["models"].([]any)[1].(map[string]any)["name"] = "gpt-4o-mini"
		}, []string{"spec.providers[0].models[1]", "Duplicate value"}},
		{"unknown provider type", validPlatform, func(s, _ map[string]any) { provider(s)["type"] = "Bard" },
			[]string{"spec.providers[0].type", "Unsupported value"}},
		{"price not a decimal", validPlatform, func(s, _ map[string]any) {
			provider(s)["models"].([]any)[0].(map[string]any)["pricing"] = map[string]any{"input": "1e-3"}
		}, []string{"spec.providers[0].models[0].pricing.input"}},
		{"access token TTL does not parse", validPlatform, func(s, _ map[string]any) {
			s["auth"] = map[string]any{"accessTokenTTL": "30 minutes"}
		}, []string{"spec.auth.accessTokenTTL"}},
		{"access token TTL out of bounds", validPlatform, func(s, _ map[string]any) {
			s["auth"] = map[string]any{"accessTokenTTL": "5s"}
		}, []string{"spec.auth.accessTokenTTL", "between 1m and 24h"}},
		{"refresh token TTL out of bounds", validPlatform, func(s, _ map[string]any) {
			s["auth"] = map[string]any{"refreshTokenTTL": "10000h"}
		}, []string{"spec.auth.refreshTokenTTL", "between 1h and 8760h"}},
		{"too many replicas", validPlatform, func(s, _ map[string]any) { s["apiServer"] = map[string]any{"replicas": 101} },
			[]string{"spec.apiServer.replicas"}},
		{"trusted proxy not an address", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"trustedProxies": []any{"10.0.0.0/8", "ingress-nginx"}}
		}, []string{"spec.apiServer.trustedProxies[1]", "must be an IP address or a CIDR"}},
		{"trusted proxy CIDR too long a prefix", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"trustedProxies": []any{"10.0.0.0/33"}}
		}, []string{"spec.apiServer.trustedProxies[0]", "must be an IP address or a CIDR"}},
		{"trusted proxy with a port", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"trustedProxies": []any{"10.1.2.3:443"}}
		}, []string{"spec.apiServer.trustedProxies[0]", "must be an IP address or a CIDR"}},
		{"the same trusted proxy twice", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"trustedProxies": []any{"10.0.0.0/8", "10.0.0.0/8"}}
		}, []string{"spec.apiServer.trustedProxies[1]", "Duplicate value"}},
		{"too many trusted proxies", validPlatform, func(s, _ map[string]any) {
			var many []any
			for i := range 33 {
				many = append(many, fmt.Sprintf("10.0.%d.0/24", i))
			}
			s["apiServer"] = map[string]any{"trustedProxies": many}
		}, []string{"spec.apiServer.trustedProxies", "must have at most 32 items"}},
		{"node selector value too long for a label", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"nodeSelector": map[string]any{"zone": strings.Repeat("a", 64)}}
		}, []string{"spec.apiServer.nodeSelector.zone", "may not be more than 63"}},
		{"node selector value not a label value", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"nodeSelector": map[string]any{"zone": "eu west"}}
		}, []string{"spec.apiServer.nodeSelector.zone", "should match"}},
		{"node selector value ending in a dash", validPlatform, func(s, _ map[string]any) {
			s["apiServer"] = map[string]any{"nodeSelector": map[string]any{"zone": "eu-"}}
		}, []string{"spec.apiServer.nodeSelector.zone", "should match"}},
		{"ingress annotation value too long", validPlatform, func(s, _ map[string]any) {
			s["ingress"] = map[string]any{"host": "chat.example.com", "annotations": map[string]any{"example.com/x": strings.Repeat("a", 4097)}}
		}, []string{"spec.ingress.annotations", "annotation values must be at most 4096 characters"}},
		{"unknown registration mode", validPlatform, func(s, _ map[string]any) { s["auth"] = map[string]any{"registration": "Invite"} },
			[]string{"spec.auth.registration", "Unsupported value"}},
		{"OpenAI-compatible without baseURL", validPlatform, func(s, _ map[string]any) { provider(s)["type"] = "OpenAICompatible" },
			[]string{"spec.providers[0]", "baseURL is required"}},
		{"OpenAI without keys", validPlatform, func(s, _ map[string]any) { delete(provider(s), "keys") },
			[]string{"spec.providers[0]", "keys must hold at least one key"}},
		{"the same key twice in a pool", validPlatform, func(s, _ map[string]any) {
			provider(s)["keys"] = []any{map[string]any{"secretRef": map[string]any{"name": "k1"}}, map[string]any{"secretRef": map[string]any{"name": "k1", "key": "apiKey"}}}
		}, []string{"spec.providers[0].keys", "must be unique"}},
		{"ingress host not a host name", validPlatform, func(s, _ map[string]any) { s["ingress"] = map[string]any{"host": "https://chat.example.com"} },
			[]string{"spec.ingress.host"}},
		{"backup schedule not cron", validPlatform, func(s, _ map[string]any) {
			s["database"] = map[string]any{"managed": map[string]any{"backup": map[string]any{"schedule": "every night"}}}
		}, []string{"spec.database.managed.backup.schedule"}},
		{"storage size zero", validPlatform, func(s, _ map[string]any) {
			s["database"] = map[string]any{"managed": map[string]any{"storage": map[string]any{"size": "0"}}}
		}, []string{"spec.database.managed.storage.size", "must be positive"}},
		{"timezone not a zone name", validPlatform, func(s, _ map[string]any) { s["timezone"] = "UTC+2 hours" },
			[]string{"spec.timezone"}},
		{"CORS origin with a path", validPlatform, func(s, _ map[string]any) {
			s["cors"] = map[string]any{"allowedOrigins": []any{"https://app.example.com/x"}}
		}, []string{"spec.cors.allowedOrigins[0]"}},
		{"platform name too long", validPlatform, func(_, o map[string]any) {
			o["metadata"].(map[string]any)["name"] = strings.Repeat("a", 41)
		}, []string{"metadata.name must be a DNS label of at most 40 characters"}},
		{"quota without subjects", validQuota, func(s, _ map[string]any) { s["subjects"] = map[string]any{} },
			[]string{"spec.subjects", "exactly one of subjects.users, subjects.roles or subjects.allUsers"}},
		{"quota with two kinds of subjects", validQuota, func(s, _ map[string]any) {
			s["subjects"] = map[string]any{"users": []any{"alice"}, "allUsers": true}
		}, []string{"spec.subjects", "exactly one of"}},
		{"quota cost not a decimal", validQuota, func(s, _ map[string]any) { s["limits"] = map[string]any{"costPerMonth": "$5"} },
			[]string{"spec.limits.costPerMonth"}},
		{"quota mode unknown", validQuota, func(s, _ map[string]any) { s["mode"] = "Warn" },
			[]string{"spec.mode", "Unsupported value"}},
		{"quota role unknown", validQuota, func(s, _ map[string]any) { s["subjects"] = map[string]any{"roles": []any{"owner"}} },
			[]string{"spec.subjects.roles[0]", "Unsupported value"}},
		{"quota with nothing to limit", validQuota, func(s, _ map[string]any) { delete(s, "limits") },
			[]string{"spec", "a quota needs limits, allowedModels or both"}},
		{"quota with negative tokens", validQuota, func(s, _ map[string]any) { s["limits"] = map[string]any{"tokensPerDay": -1} },
			[]string{"spec.limits.tokensPerDay"}},
	}
	ns := newNamespace(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := parseObject(t, tt.base)
			obj.SetNamespace(ns)
			spec := obj.Object["spec"].(map[string]any)
			tt.mutate(spec, obj.Object)
			err := k8sClient.Create(context.Background(), obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("Create() error = %v, want Invalid", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestValidBaseObjectsAreAccepted keeps the invalid cases honest: without their one change, the objects pass.
func TestValidBaseObjectsAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	for _, doc := range []string{validPlatform, validQuota} {
		obj := parseObject(t, doc)
		obj.SetNamespace(ns)
		if err := k8sClient.Create(context.Background(), obj); err != nil {
			t.Errorf("valid %s rejected: %v", obj.GetKind(), err)
		}
	}
}

// TestMapValueBoundsAcceptTheLimits: a node selector value of 63 characters and an annotation value of 4096,
// the largest the schema allows, are accepted.
func TestMapValueBoundsAcceptTheLimits(t *testing.T) {
	obj := parseObject(t, validPlatform)
	obj.SetNamespace(newNamespace(t))
	spec := obj.Object["spec"].(map[string]any)
	spec["apiServer"] = map[string]any{"nodeSelector": map[string]any{"zone": strings.Repeat("a", 63)}}
	spec["ingress"] = map[string]any{"host": "chat.example.com", "annotations": map[string]any{"example.com/x": strings.Repeat("a", 4096)}}
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Errorf("values at the bounds rejected: %v", err)
	}
}

func TestDatabaseModeIsImmutable(t *testing.T) {
	ctx := context.Background()
	obj := parseObject(t, validPlatform)
	obj.SetNamespace(newNamespace(t))
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	obj.Object["spec"].(map[string]any)["database"] = map[string]any{"external": map[string]any{"secretRef": map[string]any{"name": "db"}}}
	err := k8sClient.Update(ctx, obj)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "database mode is immutable") {
		t.Fatalf("switching to an external database: error = %v, want the immutability message", err)
	}
}

func TestDefaultsAreApplied(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	p := &llmv1.LLMPlatform{}
	if err := yaml.Unmarshal([]byte(validPlatform), p); err != nil {
		t.Fatal(err)
	}
	p.Namespace = ns
	if err := k8sClient.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	q := &llmv1.UserQuota{}
	if err := yaml.Unmarshal([]byte(validQuota), q); err != nil {
		t.Fatal(err)
	}
	q.Namespace = ns
	if err := k8sClient.Create(ctx, q); err != nil {
		t.Fatal(err)
	}
	got := &llmv1.LLMPlatform{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got); err != nil {
		t.Fatal(err)
	}
	s := got.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"apiServer.replicas", *s.APIServer.Replicas, int32(2)},
		{"apiServer.logLevel", s.APIServer.LogLevel, llmv1.LogLevelInfo},
		{"auth.accessTokenTTL", s.Auth.AccessTokenTTL.Duration, 30 * time.Minute},
		{"auth.refreshTokenTTL", s.Auth.RefreshTokenTTL.Duration, 168 * time.Hour},
		{"auth.registration", s.Auth.Registration, llmv1.RegistrationOpen},
		{"database.managed.storage.size", s.Database.Managed.Storage.Size.String(), "10Gi"},
		{"database.managed.retainOnDelete", *s.Database.Managed.RetainOnDelete, true},
		{"database.managed.backup.retain", s.Database.Managed.Backup.Retain, int32(7)},
		{"providers[0].keys[0].secretRef.key", s.Providers[0].Keys[0].SecretRef.Key, "apiKey"},
		{"providers[0].keys[0].weight", s.Providers[0].Keys[0].Weight, int32(1)},
		{"providers[0].timeouts.firstByte", s.Providers[0].Timeouts.FirstByte.Duration, 5 * time.Minute},
		{"timezone", s.Timezone, "UTC"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	gotQ := &llmv1.UserQuota{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(q), gotQ); err != nil {
		t.Fatal(err)
	}
	if gotQ.Spec.Mode != llmv1.QuotaModeEnforce {
		t.Errorf("mode = %q, want Enforce", gotQ.Spec.Mode)
	}
}

// TestKubectlExplainDocumentsFields runs kubectl explain against the test kube-apiserver. Every field that
// `kubectl explain --recursive` lists under llmplatform.spec and userquota.spec must have a description in the
// OpenAPI document kubectl explain reads, and kubectl explain must print those descriptions.
func TestKubectlExplainDocumentsFields(t *testing.T) {
	kubectl := filepath.Join(testEnv.BinaryAssetsDirectory, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl is not next to kube-apiserver (hack/envtest-bins.sh builds it): %v", err)
	}
	user, err := testEnv.ControlPlane.AddUser(envtest.User{Name: "explain", Groups: []string{"system:masters"}}, nil)
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
	schemas := publishedSchemas(t)
	for _, kind := range []struct {
		field, schema string
		minFields     int
	}{
		{"llmplatform.spec", "io.llmplatform.v1alpha1.LLMPlatform", 150},
		{"userquota.spec", "io.llmplatform.v1alpha1.UserQuota", 10},
	} {
		fields := recursiveFields(t, explain(t, kubectl, path, kind.field, "--recursive"))
		if len(fields) < kind.minFields {
			t.Errorf("kubectl explain --recursive %s listed %d fields, want at least %d", kind.field, len(fields), kind.minFields)
		}
		spec := schemas[kind.schema].Properties["spec"]
		for _, f := range fields {
			if d := spec.describe(f); d == "" {
				t.Errorf("%s.%s has no description", kind.field, f)
			}
		}
	}
	for _, field := range []string{"llmplatform.spec.apiServer", "llmplatform.spec.providers", "userquota.spec.limits"} {
		assertEveryFieldDescribed(t, field, explain(t, kubectl, path, field))
	}
}

// openAPISchema is the part of an OpenAPI v3 schema that kubectl explain prints.
type openAPISchema struct {
	Description string                    `json:"description"`
	Properties  map[string]*openAPISchema `json:"properties"`
	Items       *openAPISchema            `json:"items"`
}

// describe returns the description of the field at a dotted path below s, or "" when the path has none.
func (s *openAPISchema) describe(path string) string {
	for _, name := range strings.Split(path, ".") {
		for s != nil && s.Items != nil {
			s = s.Items
		}
		if s == nil {
			return ""
		}
		s = s.Properties[name]
	}
	if s == nil {
		return ""
	}
	return s.Description
}

// publishedSchemas reads the API group's OpenAPI v3 document from the kube-apiserver: the document kubectl
// explain renders.
func publishedSchemas(t *testing.T) map[string]*openAPISchema {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := strings.TrimSuffix(cfg.Host, "/") + "/openapi/v3/apis/" + llmv1.GroupVersion.Group + "/" + llmv1.GroupVersion.Version
	deadline := time.Now().Add(30 * time.Second)
	for {
		var doc struct {
			Components struct {
				Schemas map[string]*openAPISchema `json:"schemas"`
			} `json:"components"`
		}
		err := getJSON(httpClient, u, &doc)
		if err == nil && doc.Components.Schemas["io.llmplatform.v1alpha1.UserQuota"] != nil {
			return doc.Components.Schemas
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v (schemas %v)", u, err, slices.Sorted(maps.Keys(doc.Components.Schemas)))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func getJSON(c *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// recursiveFields reads the tree that kubectl explain --recursive prints below FIELDS: ("  name\t<type>",
// two more spaces per level) as dotted paths.
func recursiveFields(t *testing.T, out string) []string {
	t.Helper()
	_, tree, ok := strings.Cut(out, "FIELDS:\n")
	if !ok {
		t.Fatalf("kubectl explain --recursive printed no FIELDS:\n%s", out)
	}
	var paths, stack []string
	for _, l := range strings.Split(tree, "\n") {
		name, _, ok := strings.Cut(strings.TrimLeft(l, " "), "\t")
		if !ok || name == "" {
			continue
		}
		depth := (len(l)-len(strings.TrimLeft(l, " ")))/2 - 1
		if depth < 0 || depth > len(stack) {
			t.Fatalf("kubectl explain --recursive: unexpected indentation in %q", l)
		}
		stack = append(stack[:depth], name)
		paths = append(paths, strings.Join(stack, "."))
	}
	return paths
}

// explain runs kubectl explain, retrying while the new CRDs are not yet in the published OpenAPI document.
func explain(t *testing.T, kubectl, kubeconfig, field string, flags ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	args := append([]string{"--kubeconfig", kubeconfig, "explain", field}, flags...)
	for {
		out, err := exec.Command(kubectl, args...).CombinedOutput()
		if err == nil {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubectl explain %s: %v\n%s", field, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// assertEveryFieldDescribed checks kubectl explain output: each field line ("  name\t<type>"), after an
// optional "  enum:" line, must be followed by a description line.
func assertEveryFieldDescribed(t *testing.T, field, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "FIELDS:") {
			start = i + 1
		}
	}
	if start < 0 {
		t.Fatalf("kubectl explain %s printed no FIELDS:\n%s", field, out)
	}
	fields := 0
	for i := start; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "    ") || strings.TrimSpace(l) == "" {
			continue
		}
		if strings.HasPrefix(l, "  enum:") {
			continue
		}
		fields++
		next := i + 1
		for next < len(lines) && strings.HasPrefix(lines[next], "  enum:") {
			next++
		}
		if next >= len(lines) || strings.TrimSpace(lines[next]) == "" || !strings.HasPrefix(lines[next], "    ") {
			t.Errorf("kubectl explain %s: field %q has no description", field, strings.TrimSpace(l))
		}
	}
	if fields == 0 {
		t.Errorf("kubectl explain %s listed no fields:\n%s", field, out)
	}
}

func parseObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

func provider(spec map[string]any) map[string]any {
	return spec["providers"].([]any)[0].(map[string]any)
}

func deepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
