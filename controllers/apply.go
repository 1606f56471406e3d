package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"
)

// FieldManager is the operator's server-side apply field manager: it owns exactly the fields the builders
// set, so fields that other controllers or people add (a label, a defaulted value) are left alone.
const FieldManager = "llmplatform-operator"

// applier writes children with server-side apply, and only when the fields the operator owns differ from
// what the builders want. Reading the live object from the cache and comparing the operator's own fields
// (extracted from managedFields) with the desired ones costs no request, so a reconcile that changes
// nothing writes nothing; defaults the API server fills in are not the operator's and cannot cause a diff.
type applier struct {
	client client.Client
	scheme *runtime.Scheme
}

// apply creates or updates desired, owned by owner. On return desired holds the object as stored.
func (a *applier) apply(ctx context.Context, owner metav1.Object, desired client.Object) error {
	gvk, err := apiutil.GVKForObject(desired, a.scheme)
	if err != nil {
		return err
	}
	desired.GetObjectKind().SetGroupVersionKind(gvk)
	live, err := a.scheme.New(gvk)
	if err != nil {
		return err
	}
	liveObj := live.(client.Object)
	err = a.client.Get(ctx, client.ObjectKeyFromObject(desired), liveObj)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading %s %s: %w", gvk.Kind, desired.GetName(), err)
	case !metav1.IsControlledBy(liveObj, owner):
		return fmt.Errorf("%s %s exists but is not controlled by this platform (delete it, or wait for the garbage collector to remove a deleted platform's children)", gvk.Kind, desired.GetName())
	default:
		same, err := ownedFieldsMatch(liveObj, desired)
		if err != nil {
			return fmt.Errorf("comparing %s %s: %w", gvk.Kind, desired.GetName(), err)
		}
		if same {
			reflect.ValueOf(desired).Elem().Set(reflect.ValueOf(liveObj).Elem())
			return nil
		}
	}
	body, err := applyBody(desired)
	if err != nil {
		return fmt.Errorf("encoding %s %s: %w", gvk.Kind, desired.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: body}
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", gvk.Kind, desired.GetName(), err)
	}
	ctrl.LoggerFrom(ctx).Info("Applied "+gvk.Kind, gvk.Kind, klog.KObj(desired))
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, desired)
}

// remove deletes the object named like obj when it exists and owner controls it; objects of others stay.
func (a *applier) remove(ctx context.Context, owner metav1.Object, obj client.Object) error {
	if err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, owner) {
		return nil
	}
	uid := obj.GetUID()
	if err := a.client.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
		return client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("Deleted a child the spec no longer asks for", "name", obj.GetName(), "type", fmt.Sprintf("%T", obj))
	return nil
}

// applyBody is the apply request for obj: its fields without status, nulls or the server-set creation time.
func applyBody(obj client.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	pruneNulls(m)
	return m, nil
}

// pruneNulls drops null values, which in an apply request would mean "remove this field" (zero-valued
// timestamps and nil pointers of typed objects come out as null).
func pruneNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			pruneNulls(e)
		}
	case []any:
		for _, e := range t {
			pruneNulls(e)
		}
	}
}

// ownedFieldsMatch reports whether the fields FieldManager owns in live hold exactly what desired asks for.
func ownedFieldsMatch(live, desired client.Object) (bool, error) {
	owned, err := extractOwned(live)
	if err != nil {
		return false, err
	}
	want, err := applyBody(desired)
	if err != nil {
		return false, err
	}
	a, err := normalize(owned)
	if err != nil {
		return false, err
	}
	b, err := normalize(want)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(a, b), nil
}

// normalize turns v into plain JSON values and drops empty maps and lists, which an apply request and the
// fields extracted from managedFields may spell differently ({} against absent).
func normalize(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return dropEmpty(out), nil
}

func dropEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e = dropEmpty(e); e == nil {
				delete(t, k)
			} else {
				t[k] = e
			}
		}
		if len(t) == 0 {
			return nil
		}
	case []any:
		for i, e := range t {
			t[i] = dropEmpty(e)
		}
		if len(t) == 0 {
			return nil
		}
	}
	return v
}

// extractOwned returns the fields FieldManager owns in obj, as an apply configuration.
func extractOwned(obj client.Object) (any, error) {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		return corev1ac.ExtractConfigMap(o, FieldManager)
	case *corev1.Service:
		return corev1ac.ExtractService(o, FieldManager)
	case *corev1.ServiceAccount:
		return corev1ac.ExtractServiceAccount(o, FieldManager)
	case *appsv1.Deployment:
		return appsv1ac.ExtractDeployment(o, FieldManager)
	case *appsv1.StatefulSet:
		return appsv1ac.ExtractStatefulSet(o, FieldManager)
	case *policyv1.PodDisruptionBudget:
		return policyv1ac.ExtractPodDisruptionBudget(o, FieldManager)
	case *networkingv1.NetworkPolicy:
		return networkingv1ac.ExtractNetworkPolicy(o, FieldManager)
	case *networkingv1.Ingress:
		return networkingv1ac.ExtractIngress(o, FieldManager)
	case *batchv1.CronJob:
		return batchv1ac.ExtractCronJob(o, FieldManager)
	case *gwapiv1.HTTPRoute:
		return gwapiv1ac.ExtractHTTPRoute(o, FieldManager)
	default:
		return nil, fmt.Errorf("no apply configuration for %T", obj)
	}
}
