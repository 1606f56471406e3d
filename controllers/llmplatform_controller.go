package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// notReadyRequeue is how often a platform that waits for its pods is looked at again, to refresh the pods'
// reasons in its conditions (status changes of its children wake it up sooner).
const notReadyRequeue = 30 * time.Second

// LLMPlatformReconciler turns an LLMPlatform into its running parts — generated Secrets, the managed
// database, the API server and its configuration, the routes — and reports their state in the platform's
// status and Events.
type LLMPlatformReconciler struct {
	client.Client
	// APIReader reads what the cache does not hold (pods, the database's volume claim), and only while a
	// workload is not ready.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	// Options are the operator-wide settings of the builders (the default API server image).
	Options builders.Options

	apply   applier
	gateway *gatewayAPI
	// usage holds the usage read from the API servers; usageEvents wakes the platforms whose usage changed.
	usage       *usageStore
	usageEvents <-chan event.GenericEvent
}

// +kubebuilder:rbac:groups=llmplatform.io,resources=llmplatforms,verbs=get;list;watch
// +kubebuilder:rbac:groups=llmplatform.io,resources=llmplatforms/status,verbs=patch
// +kubebuilder:rbac:groups=llmplatform.io,resources=llmplatforms/finalizers,verbs=update
// +kubebuilder:rbac:groups=llmplatform.io,resources=userquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=configmaps;services;serviceaccounts,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the phases of one platform in order, each owning its children and one condition, and
// writes the status once at the end, only when it changed.
func (r *LLMPlatformReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	p := &llmv1.LLMPlatform{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		// The children go with the platform through their owner references; retained data stays.
		return ctrl.Result{}, nil
	}
	s := newPlatformState(p)
	defer func() { reterr = r.writeStatus(ctx, s, reterr) }()

	phases := []func(context.Context, *platformState) error{
		r.reportUsage,
		r.reconcileSecrets,
		r.reconcileDatabase,
		r.reconcileProviders,
		r.reconcileAPIServer,
		r.reconcileRoute,
	}
	for _, phase := range phases {
		if err := phase(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

// platformState carries one reconcile: the platform whose status the phases fill in, the platform as read,
// and how soon to look again.
type platformState struct {
	platform     *llmv1.LLMPlatform
	original     *llmv1.LLMPlatform
	requeueAfter time.Duration
}

func newPlatformState(p *llmv1.LLMPlatform) *platformState {
	s := &platformState{platform: p, original: p.DeepCopy()}
	for _, typ := range platformConditions {
		if meta.FindStatusCondition(p.Status.Conditions, typ) == nil {
			s.set(condition(typ, metav1.ConditionUnknown, llmv1.ReasonReconciling, "Not observed yet"))
		}
	}
	return s
}

// set records a condition for the generation being reconciled.
func (s *platformState) set(c metav1.Condition) {
	c.ObservedGeneration = s.platform.Generation
	meta.SetStatusCondition(&s.platform.Status.Conditions, c)
}

// waitFor asks to reconcile again within d.
func (s *platformState) waitFor(d time.Duration) {
	if s.requeueAfter == 0 || d < s.requeueAfter {
		s.requeueAfter = d
	}
}

// writeStatus summarises the conditions into Ready and writes the status when it changed, with an Event for
// each condition that changed. observedGeneration moves only when the generation was fully handled: every
// phase succeeded, or the spec was found to be one the user must fix.
func (r *LLMPlatformReconciler) writeStatus(ctx context.Context, s *platformState, reconcileErr error) error {
	p := s.platform
	if reconcileErr == nil || errors.Is(reconcileErr, reconcile.TerminalError(nil)) {
		p.Status.ObservedGeneration = p.Generation
	}
	s.set(readyCondition(p.Status.Conditions))
	if equality.Semantic.DeepEqual(s.original.Status, p.Status) {
		return reconcileErr
	}
	if err := r.Status().Patch(ctx, p, client.MergeFrom(s.original)); err != nil {
		return errors.Join(reconcileErr, fmt.Errorf("writing status: %w", err))
	}
	for _, c := range transitions(s.original.Status.Conditions, p.Status.Conditions) {
		kind := corev1.EventTypeNormal
		if c.Status == metav1.ConditionFalse {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(p, nil, kind, c.Reason, "Reconcile", "%s is %s: %s", c.Type, c.Status, c.Message)
	}
	return reconcileErr
}

// SetupWithManager watches the platforms, their children, the Secrets they reference, the quotas that name
// them and changes of their usage. HTTPRoutes are watched once a platform needs one and the cluster serves
// them.
func (r *LLMPlatformReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.apply = applier{client: r.Client, scheme: r.Scheme}
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("llmplatform").
		For(&llmv1.LLMPlatform{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.Secret{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Owns(&networkingv1.Ingress{}).
		Owns(&batchv1.CronJob{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.platformsReferencing)).
		Watches(&llmv1.UserQuota{}, handler.EnqueueRequestsFromMapFunc(platformOfQuota), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.usageEvents, &handler.EnqueueRequestForObject{})).
		Build(r)
	if err != nil {
		return err
	}
	r.gateway = &gatewayAPI{mapper: mgr.GetRESTMapper(), watch: func() error {
		return c.Watch(source.Kind(mgr.GetCache(), &gwapiv1.HTTPRoute{},
			handler.TypedEnqueueRequestForOwner[*gwapiv1.HTTPRoute](mgr.GetScheme(), mgr.GetRESTMapper(), &llmv1.LLMPlatform{}, handler.OnlyControllerOwner())))
	}}
	return nil
}

// platformsReferencing maps a Secret to the platforms in its namespace that reference it.
func (r *LLMPlatformReconciler) platformsReferencing(ctx context.Context, secret client.Object) []reconcile.Request {
	var list llmv1.LLMPlatformList
	if err := r.List(ctx, &list, client.InNamespace(secret.GetNamespace()), client.MatchingFields{indexSecretRefs: secret.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the platforms that reference a Secret", "Secret", client.ObjectKeyFromObject(secret))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return reqs
}

// platformOfQuota maps a quota to the platform it names, so that the platform renders it.
func platformOfQuota(_ context.Context, q client.Object) []reconcile.Request {
	quota, ok := q.(*llmv1.UserQuota)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: quota.Namespace, Name: quota.Spec.PlatformRef.Name}}}
}
