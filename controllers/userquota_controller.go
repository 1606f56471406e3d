package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// maxSubjectNames is how many users or roles the status's subjects summary names before counting the rest.
const maxSubjectNames = 5

// UserQuotaReconciler checks that a quota names an existing platform and reports the quota's status, with
// the usage last read from the platform's API server. The platform's reconciler renders the quota into the
// platform's configuration (it watches quotas too).
type UserQuotaReconciler struct {
	client.Client
	Recorder events.EventRecorder

	// usage holds the usage read from the API servers; usageEvents wakes the quotas of the platforms whose
	// usage changed.
	usage       *usageStore
	usageEvents <-chan event.GenericEvent
}

// +kubebuilder:rbac:groups=llmplatform.io,resources=userquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=llmplatform.io,resources=userquotas/status,verbs=patch

// Reconcile observes the quota's platform and writes the status computed from the observations, once and
// only when it changed.
func (r *UserQuotaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	q := &llmv1.UserQuota{}
	if err := r.Get(ctx, req.NamespacedName, q); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !q.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	obs, err := r.observe(ctx, q)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.writeStatus(ctx, q, quotaStatus(q, obs))
}

// quotaObservation is what a reconcile of a quota found.
type quotaObservation struct {
	// Platform is the platform the quota names; nil when it does not exist or is being deleted.
	Platform *llmv1.LLMPlatform
	// Sync is what the last read of the platform's API server says of the quota; nil before the first read.
	Sync *quotaSync
}

func (r *UserQuotaReconciler) observe(ctx context.Context, q *llmv1.UserQuota) (quotaObservation, error) {
	p := &llmv1.LLMPlatform{}
	err := r.Get(ctx, client.ObjectKey{Namespace: q.Namespace, Name: q.Spec.PlatformRef.Name}, p)
	switch {
	case apierrors.IsNotFound(err):
		return quotaObservation{}, nil
	case err != nil:
		return quotaObservation{}, fmt.Errorf("reading LLMPlatform %s: %w", q.Spec.PlatformRef.Name, err)
	case !p.DeletionTimestamp.IsZero():
		return quotaObservation{}, nil
	}
	return quotaObservation{Platform: p, Sync: r.usage.quota(client.ObjectKeyFromObject(p), q.Name)}, nil
}

// quotaStatus is the quota's status computed from the observations. Fields it does not compute are kept:
// the usage last shown stays while reads fail (Synced says so), and until the first read after the
// operator starts.
func quotaStatus(q *llmv1.UserQuota, o quotaObservation) llmv1.UserQuotaStatus {
	st := *q.Status.DeepCopy()
	st.ObservedGeneration = q.Generation
	st.Subjects = subjectsSummary(q.Spec.Subjects)
	set := func(c metav1.Condition) {
		c.ObservedGeneration = q.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	set(acceptedCondition(q, o))
	switch {
	case o.Platform == nil:
		// No platform: no users, no usage, nothing to read it from.
		meta.RemoveStatusCondition(&st.Conditions, llmv1.ConditionSynced)
		st.MatchedUsers, st.Usage = 0, nil
	case o.Sync == nil && meta.FindStatusCondition(st.Conditions, llmv1.ConditionSynced) != nil:
		// Not read since the operator started: Synced and the usage stay as they were.
	default:
		set(syncedCondition(q, o.Sync))
		if o.Sync != nil && o.Sync.Usage != nil {
			st.MatchedUsers, st.Usage = o.Sync.Usage.MatchedUsers, o.Sync.Usage.Usage
		}
	}
	return st
}

// acceptedCondition sets Accepted: true when the named platform exists, which then renders the quota.
func acceptedCondition(q *llmv1.UserQuota, o quotaObservation) metav1.Condition {
	name := q.Spec.PlatformRef.Name
	if o.Platform == nil {
		return condition(llmv1.ConditionAccepted, metav1.ConditionFalse, llmv1.ReasonPlatformNotFound,
			fmt.Sprintf("LLMPlatform %q does not exist in namespace %s; the quota applies once it does", name, q.Namespace))
	}
	mode := q.Spec.Mode
	if mode == "" {
		mode = llmv1.QuotaModeEnforce
	}
	return condition(llmv1.ConditionAccepted, metav1.ConditionTrue, llmv1.ReasonAccepted,
		fmt.Sprintf("LLMPlatform %q applies the quota (%s)", name, mode))
}

// syncedCondition sets Synced from the last read of the platform's API server.
func syncedCondition(q *llmv1.UserQuota, s *quotaSync) metav1.Condition {
	name := q.Spec.PlatformRef.Name
	switch {
	case s == nil:
		return condition(llmv1.ConditionSynced, metav1.ConditionUnknown, llmv1.ReasonReconciling,
			fmt.Sprintf("Usage has not been read yet from the API server of LLMPlatform %q", name))
	case s.Failure != nil:
		return condition(llmv1.ConditionSynced, metav1.ConditionFalse, s.Failure.Reason, s.Failure.Message)
	case s.Usage == nil:
		return condition(llmv1.ConditionSynced, metav1.ConditionFalse, llmv1.ReasonQuotaNotLoaded, fmt.Sprintf(
			"The API server of LLMPlatform %q does not apply the quota yet: it loads quotas from its configuration file, which the kubelet updates within a minute or two of a change; if this lasts, see the API server's logs", name))
	}
	return condition(llmv1.ConditionSynced, metav1.ConditionTrue, llmv1.ReasonSynced,
		fmt.Sprintf("Usage read from the API server of LLMPlatform %q", name))
}

// subjectsSummary describes the subjects for display: "users: alice, bob", "roles: admin", "all users".
func subjectsSummary(s llmv1.QuotaSubjects) string {
	switch {
	case s.AllUsers:
		return "all users"
	case len(s.Roles) > 0:
		roles := make([]string, len(s.Roles))
		for i, r := range s.Roles {
			roles[i] = string(r)
		}
		return "roles: " + nameList(roles)
	case len(s.Users) > 0:
		return "users: " + nameList(s.Users)
	}
	return ""
}

func nameList(names []string) string {
	if len(names) <= maxSubjectNames {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxSubjectNames], ", "), len(names)-maxSubjectNames)
}

// writeStatus patches the quota's status when it differs, with an Event for a changed condition.
func (r *UserQuotaReconciler) writeStatus(ctx context.Context, q *llmv1.UserQuota, st llmv1.UserQuotaStatus) error {
	if equality.Semantic.DeepEqual(q.Status, st) {
		return nil
	}
	original := q.DeepCopy()
	q.Status = st
	if err := r.Status().Patch(ctx, q, client.MergeFrom(original)); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	for _, c := range transitions(original.Status.Conditions, st.Conditions) {
		kind := corev1.EventTypeNormal
		if c.Status == metav1.ConditionFalse {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(q, nil, kind, c.Reason, "Reconcile", "%s is %s: %s", c.Type, c.Status, c.Message)
	}
	return nil
}

// SetupWithManager watches quotas, platforms as they appear and disappear, and changes of platforms' usage.
func (r *UserQuotaReconciler) SetupWithManager(mgr ctrl.Manager) error {
	existence := predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }}
	return ctrl.NewControllerManagedBy(mgr).
		Named("userquota").
		For(&llmv1.UserQuota{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&llmv1.LLMPlatform{}, handler.EnqueueRequestsFromMapFunc(r.quotasOf), builder.WithPredicates(existence)).
		WatchesRawSource(source.Channel(r.usageEvents, handler.EnqueueRequestsFromMapFunc(r.quotasOf))).
		Complete(r)
}

// quotasOf maps a platform to the quotas that name it.
func (r *UserQuotaReconciler) quotasOf(ctx context.Context, p client.Object) []reconcile.Request {
	var list llmv1.UserQuotaList
	if err := r.List(ctx, &list, client.InNamespace(p.GetNamespace()), client.MatchingFields{indexQuotaPlatform: p.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the quotas of a platform", "LLMPlatform", client.ObjectKeyFromObject(p))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, q := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&q)})
	}
	return reqs
}
