package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// EventSource names the operator in the Events it records.
const EventSource = "llmplatform-operator"

// NewScheme returns a scheme with every kind the operator reads or writes.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, llmv1.AddToScheme, gwapiv1.Install} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// CacheOptions watches the given namespaces (all when empty) and, of the kinds the operator creates, only
// the objects it labelled: the operator does not hold every Deployment and ConfigMap of the cluster in
// memory. Secrets are cached whole, because platforms reference Secrets that users create, but without
// their managedFields, which the operator does not need for Secrets.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Transform: cache.TransformStripManagedFields()},
	}}
	managed := labels.SelectorFromSet(labels.Set{builders.LabelManagedBy: builders.ManagedBy})
	for _, obj := range []client.Object{
		&corev1.ConfigMap{}, &corev1.ServiceAccount{}, &corev1.Service{}, &corev1.PersistentVolumeClaim{},
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &policyv1.PodDisruptionBudget{},
		&networkingv1.NetworkPolicy{}, &networkingv1.Ingress{}, &batchv1.CronJob{},
	} {
		opts.ByObject[obj] = cache.ByObject{Label: managed}
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// Options are the operator-wide settings.
type Options struct {
	// Builders are the settings of the builders (the default API server image).
	Builders builders.Options
	// Usage tunes the reads of usage from the platforms' API servers.
	Usage UsageSyncOptions
}

// Reconcilers are the operator's reconcilers, as registered with a manager.
type Reconcilers struct {
	Platforms *LLMPlatformReconciler
	Quotas    *UserQuotaReconciler
	Usage     *UsageSyncReconciler
}

// Setup registers the cache indexes and the reconcilers with the manager: LLMPlatform, UserQuota, and the
// usage reader that feeds both their statuses through a shared in-memory store.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) (*Reconcilers, error) {
	if err := setupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	recorder := mgr.GetEventRecorder(EventSource)
	store := newUsageStore()
	platformEvents, quotaEvents := make(chan event.GenericEvent), make(chan event.GenericEvent)
	platforms := &LLMPlatformReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Scheme:      mgr.GetScheme(),
		Recorder:    recorder,
		Options:     opts.Builders,
		usage:       store,
		usageEvents: platformEvents,
	}
	if err := platforms.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	quotas := &UserQuotaReconciler{Client: mgr.GetClient(), Recorder: recorder, usage: store, usageEvents: quotaEvents}
	if err := quotas.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	usage := newUsageSyncReconciler(mgr.GetClient(), opts.Usage, store, platformEvents, quotaEvents)
	if err := usage.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	return &Reconcilers{Platforms: platforms, Quotas: quotas, Usage: usage}, nil
}
