package devenv

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// ownedKinds are the kinds of the children the operator creates.
var ownedKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Version: "v1", Kind: "PersistentVolumeClaim"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
}

// collectGarbage deletes the operator's children whose owning LLMPlatform is gone (or was recreated, with a
// new UID), as a cluster's garbage collector does; the local control plane runs none. Without it, a deleted
// tenant's children would stay, and a tenant of the same name would find them "not controlled by this
// platform". Children without an owner (data kept by retainOnDelete) are left alone.
func collectGarbage(ctx context.Context, c client.Client) error {
	for _, gvk := range ownedKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.MatchingLabels{builders.LabelManagedBy: builders.ManagedBy}); err != nil {
			return fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			obj.SetGroupVersionKind(gvk)
			orphan, err := orphaned(ctx, c, obj)
			if err != nil {
				return err
			}
			if !orphan {
				continue
			}
			if err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting %s %s/%s, whose LLMPlatform is gone: %w", gvk.Kind, obj.Namespace, obj.Name, err)
			}
		}
	}
	return nil
}

// orphaned reports whether obj's controlling LLMPlatform no longer exists.
func orphaned(ctx context.Context, c client.Client, obj client.Object) (bool, error) {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != "LLMPlatform" || ref.APIVersion != llmv1.GroupVersion.String() {
		return false, nil
	}
	owner := &metav1.PartialObjectMetadata{}
	owner.SetGroupVersionKind(llmv1.GroupVersion.WithKind("LLMPlatform"))
	err := c.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}, owner)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading LLMPlatform %s/%s: %w", obj.GetNamespace(), ref.Name, err)
	}
	return owner.UID != ref.UID, nil
}

// runGarbageCollector collects garbage every interval until ctx ends; errors are said once each.
func runGarbageCollector(ctx context.Context, c client.Client, interval time.Duration, say func(string, ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := ""
	for {
		if err := collectGarbage(ctx, c); err != nil && ctx.Err() == nil && err.Error() != last {
			last = err.Error()
			say("Garbage collection: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
