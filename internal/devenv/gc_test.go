package devenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

func TestCollectGarbageDeletesTheChildrenOfGonePlatforms(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = llmv1.AddToScheme(scheme)
	live := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "live", UID: "live-uid"}}
	recreated := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "recreated", UID: "new-uid"}}
	child := func(name, owner string, uid types.UID) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name,
			Labels: map[string]string{builders.LabelManagedBy: builders.ManagedBy}}}
		if owner != "" {
			cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: llmv1.GroupVersion.String(), Kind: "LLMPlatform",
				Name: owner, UID: uid, Controller: new(true)}}
		}
		return cm
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(live, recreated,
		child("of-live", "live", "live-uid"),
		child("of-deleted", "deleted", "deleted-uid"),
		child("of-recreated", "recreated", "old-uid"),
		child("retained", "", ""),
	).Build()
	if err := collectGarbage(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for name, wantKept := range map[string]bool{"of-live": true, "of-deleted": false, "of-recreated": false, "retained": true} {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &corev1.ConfigMap{})
		if kept := err == nil; kept != wantKept || (err != nil && !apierrors.IsNotFound(err)) {
			t.Errorf("%s kept = %v (%v), want %v", name, kept, err, wantKept)
		}
	}
}
