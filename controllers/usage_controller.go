package controllers

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// DefaultUsageSyncPeriod is the least time between two reads of one platform's usage, unless
// UsageSyncOptions.Period says otherwise.
const DefaultUsageSyncPeriod = 30 * time.Second

// usageSyncJitter lengthens each wait by up to half a period at random, so that platforms read together
// (at the operator's start) drift apart.
const usageSyncJitter = 0.5

// usageSyncWorkers is how many platforms are read at the same time.
const usageSyncWorkers = 4

// UsageSyncOptions tune the reads of usage from the platforms' API servers.
type UsageSyncOptions struct {
	// Period is the least time between two reads of one platform (DefaultUsageSyncPeriod when zero); each
	// wait is up to half a period longer, at random.
	Period time.Duration
	// APIServerURL returns the base URL of a platform's API server; nil means its Service
	// (builders.ServiceURL). `make dev`, which runs the API server on the host, and tests set it.
	APIServerURL func(*llmv1.LLMPlatform) string
}

// UsageSyncReconciler reads each platform's usage from its API server (GET /internal/v1/quotas and
// /internal/v1/summary, with the platform's internal token), for UserQuota.status (matched users, the
// heaviest users' windows, Synced) and the LLMPlatform.status summaries (users, tokensToday).
//
// It reads and never writes. Each read lands in an in-memory store keyed by platform; when it differs from
// the previous read in anything a status shows, the reconciler wakes the LLMPlatform and UserQuota
// reconcilers through channel sources, and they copy the stored usage into the statuses they write. So each
// status keeps a single writer — the LLMPlatform reconciler keeps its one deferred status patch — and a read
// that changes nothing wakes no one: an idle platform costs two GETs per period and no write to Kubernetes.
// The store needs no persistence: after a restart the first read refills it, and until then the statuses
// keep what they showed.
//
// The rate is bounded per platform, whatever happens: the time of the next read is booked (period plus
// jitter) before a read starts, and an event that arrives earlier — the platform's creation, its API server
// becoming ready — only requeues the platform for that time. Platforms whose API server is not ready are not
// read at all. Being a controller, it runs only on the elected leader, next to the reconcilers that use the
// store.
type UsageSyncReconciler struct {
	client.Client
	// Options are the period and the API servers' addresses.
	Options UsageSyncOptions

	store  *usageStore
	reader *usageClient
	// wake holds a channel per reconciler that shows usage; each receives the platforms whose usage changed.
	wake []chan<- event.GenericEvent

	mu   sync.Mutex
	next map[types.NamespacedName]time.Time
}

// newUsageSyncReconciler reads usage into store and wakes the reconcilers behind wake when it changes.
func newUsageSyncReconciler(c client.Client, opts UsageSyncOptions, store *usageStore, wake ...chan<- event.GenericEvent) *UsageSyncReconciler {
	if opts.Period <= 0 {
		opts.Period = DefaultUsageSyncPeriod
	}
	if opts.APIServerURL == nil {
		opts.APIServerURL = builders.ServiceURL
	}
	return &UsageSyncReconciler{Client: c, Options: opts, store: store, reader: newUsageClient(opts.APIServerURL),
		wake: wake, next: map[types.NamespacedName]time.Time{}}
}

// +kubebuilder:rbac:groups=llmplatform.io,resources=llmplatforms,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile reads the platform's usage when its read is due, and asks to be run again when the next one is.
func (r *UsageSyncReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &llmv1.LLMPlatform{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if !apiServerReady(p) {
		// Its becoming ready is an event of this reconciler: no need to look again before.
		return ctrl.Result{}, r.record(ctx, p, &platformUsage{Failure: &syncFailure{llmv1.ReasonAPIServerNotReady,
			fmt.Sprintf("The API server of LLMPlatform %q is not ready (see its APIServerReady condition); usage is read once it is", p.Name)}})
	}
	next, due := r.claim(req.NamespacedName, time.Now())
	if !due {
		return ctrl.Result{RequeueAfter: next}, nil
	}
	u, err := r.read(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: next}, r.record(ctx, p, u)
}

// claim says whether the platform's read is due and, if it is, books the next one. It returns the time until
// the next read.
func (r *UsageSyncReconciler) claim(key types.NamespacedName, now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if next, booked := r.next[key]; booked && now.Before(next) {
		return next.Sub(now), false
	}
	d := wait.Jitter(r.Options.Period, usageSyncJitter)
	r.next[key] = now.Add(d)
	return d, true
}

// forget drops a platform that is gone.
func (r *UsageSyncReconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	delete(r.next, key)
	r.mu.Unlock()
	r.store.forget(key)
}

// read reads the platform's usage from its API server. A failure to read is an observation, not an error:
// errors are the cache's, or the operator stopping.
func (r *UsageSyncReconciler) read(ctx context.Context, p *llmv1.LLMPlatform) (*platformUsage, error) {
	token, failure, err := r.token(ctx, p)
	switch {
	case err != nil:
		return nil, err
	case failure != nil:
		return &platformUsage{Failure: failure}, nil
	}
	quotas, summary, failure := r.reader.read(ctx, p, token)
	if ctx.Err() != nil {
		// Stopping: the failed request says nothing about the API server.
		return nil, ctx.Err()
	}
	if failure != nil {
		return &platformUsage{Failure: failure}, nil
	}
	return platformUsageOf(quotas, summary), nil
}

// token reads the internal token from the generated Secret, through the cache. It is sent to the API server
// and nowhere else: not in logs, events, conditions or errors.
func (r *UsageSyncReconciler) token(ctx context.Context, p *llmv1.LLMPlatform) ([]byte, *syncFailure, error) {
	name := builders.InternalSecretName(p)
	secret := &corev1.Secret{}
	err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &syncFailure{llmv1.ReasonSecretMissing, fmt.Sprintf(
			"Secret %q (the operator's token for the API server) not found: the operator creates it for the platform, see the LLMPlatform's events", name)}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	token := bytes.TrimSpace(secret.Data[builders.TokenKey])
	if len(token) == 0 {
		return nil, &syncFailure{llmv1.ReasonSecretKeyMissing, fmt.Sprintf(
			"Secret %q has no key %q: delete the Secret, and the operator generates a new token for the operator and the API server", name, builders.TokenKey)}, nil
	}
	return token, nil, nil
}

// record stores a platform's read and, when it differs from the previous one, wakes the reconcilers that
// write the platform's and its quotas' statuses. A failure is logged when it begins or changes, and its end;
// an API server that is not ready yet is the platform's conditions' business.
func (r *UsageSyncReconciler) record(ctx context.Context, p *llmv1.LLMPlatform, u *platformUsage) error {
	changed, previous := r.store.put(client.ObjectKeyFromObject(p), u)
	if !changed {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	notReady := func(f *syncFailure) bool { return f != nil && f.Reason == llmv1.ReasonAPIServerNotReady }
	switch f := u.Failure; {
	case notReady(f):
	case f != nil && (previous == nil || *previous != *f):
		log.Info("Reading usage from the API server failed", "reason", f.Reason, "message", f.Message)
	case f == nil && previous != nil && !notReady(previous):
		log.Info("Reading usage from the API server works again")
	}
	for _, ch := range r.wake {
		select {
		case ch <- event.GenericEvent{Object: p}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// SetupWithManager runs the reconciler for platforms as they come and go and as their API server becomes
// ready or not; their other changes do not matter to it.
func (r *UsageSyncReconciler) SetupWithManager(mgr ctrl.Manager) error {
	readiness := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return apiServerReady(e.ObjectOld) != apiServerReady(e.ObjectNew)
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("llmplatform-usage").
		For(&llmv1.LLMPlatform{}, builder.WithPredicates(readiness)).
		WithOptions(controller.Options{MaxConcurrentReconciles: usageSyncWorkers}).
		Complete(r)
}

// apiServerReady reports whether a platform's APIServerReady condition is True.
func apiServerReady(obj client.Object) bool {
	p, ok := obj.(*llmv1.LLMPlatform)
	return ok && meta.IsStatusConditionTrue(p.Status.Conditions, llmv1.ConditionAPIServerReady)
}
