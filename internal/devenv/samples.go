package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// FieldManager is the server-side apply field manager of what `make dev` writes.
const FieldManager = "llmplatform-dev"

// ReadObjects decodes every object of the YAML files (*.yaml, *.yml) in dir, in file name order. A
// kustomization.yaml is not an object and is skipped.
func ReadObjects(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if base := filepath.Base(f); base == "kustomization.yaml" || base == "kustomization.yml" {
			continue
		}
		data, err := os.ReadFile(f) //nolint:gosec // the samples of this repository
		if err != nil {
			return nil, err
		}
		more, err := DecodeObjects(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		objs = append(objs, more...)
	}
	return objs, nil
}

// DecodeObjects decodes a multi-document YAML stream into objects, skipping empty documents.
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("a document without apiVersion and kind")
		}
		objs = append(objs, u)
	}
}

// devTenant is the tenant of the dev sample, with the objects to apply.
type devTenant struct {
	platform *llmv1.LLMPlatform
	objects  []*unstructured.Unstructured
}

// loadTenant reads the dev sample: exactly one LLMPlatform, with an external database (make dev runs
// PostgreSQL itself, as a process), and anything else it needs (provider key Secrets, UserQuotas). Objects
// without a namespace go to namespace. Providers whose baseURL points at DefaultMockAddr are pointed at
// mockAddr, where the mock provider actually listens.
func loadTenant(dir, namespace, mockAddr string) (*devTenant, error) {
	objs, err := ReadObjects(dir)
	if err != nil {
		return nil, err
	}
	t := &devTenant{objects: objs}
	for _, u := range objs {
		if u.GetNamespace() == "" && u.GetKind() != "Namespace" {
			u.SetNamespace(namespace)
		}
		if u.GroupVersionKind() != llmv1.GroupVersion.WithKind("LLMPlatform") {
			continue
		}
		if t.platform != nil {
			return nil, fmt.Errorf("%s: make dev runs one LLMPlatform; found %s and %s", dir, t.platform.Name, u.GetName())
		}
		if err := pointAtMock(u, mockAddr); err != nil {
			return nil, err
		}
		t.platform = &llmv1.LLMPlatform{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t.platform); err != nil {
			return nil, fmt.Errorf("%s: LLMPlatform %s: %w", dir, u.GetName(), err)
		}
	}
	switch {
	case t.platform == nil:
		return nil, fmt.Errorf("%s holds no LLMPlatform", dir)
	case t.platform.Spec.Database.External == nil:
		return nil, fmt.Errorf("LLMPlatform %s: make dev runs PostgreSQL as a local process, so the dev tenant must use spec.database.external (a managed database needs a kubelet)", t.platform.Name)
	}
	return t, nil
}

// pointAtMock rewrites the base URLs that name DefaultMockAddr to mockAddr.
func pointAtMock(u *unstructured.Unstructured, mockAddr string) error {
	providers, _, err := unstructured.NestedSlice(u.Object, "spec", "providers")
	if err != nil {
		return err
	}
	for _, p := range providers {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		base, _ := m["baseURL"].(string)
		if parsed, err := url.Parse(base); err == nil && parsed.Host == DefaultMockAddr {
			parsed.Host = mockAddr
			m["baseURL"] = parsed.String()
		}
	}
	return unstructured.SetNestedSlice(u.Object, providers, "spec", "providers")
}

// databaseSecret holds the local PostgreSQL's URL under the key the tenant's spec.database.external names,
// so the URL reaches the API server as the operator mounts it: a file from a Secret.
func databaseSecret(p *llmv1.LLMPlatform, uri string) *corev1.Secret {
	name, key := builders.DatabaseURLSecret(p)
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": FieldManager}},
		StringData: map[string]string{key: uri},
	}
}

// apply writes objects with server-side apply as FieldManager, taking over conflicting fields.
func apply(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				return err
			}
			u = &unstructured.Unstructured{Object: m}
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), objectName(u), err)
		}
	}
	return nil
}

func objectName(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns + "/" + u.GetName()
	}
	return u.GetName()
}
