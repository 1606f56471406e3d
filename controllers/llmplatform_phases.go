package controllers

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// reportUsage puts the user count and today's tokens, as last read from the API server, into the status.
// Before the first read, and while reads fail, the status keeps what it showed (UserQuota's Synced condition
// says why reads fail).
func (r *LLMPlatformReconciler) reportUsage(_ context.Context, s *platformState) error {
	if users, tokens, ok := r.usage.summary(client.ObjectKeyFromObject(s.platform)); ok {
		s.platform.Status.Users, s.platform.Status.TokensToday = users, tokens
	}
	return nil
}

// reconcileSecrets creates the generated Secrets that do not exist yet. Existing ones are never written,
// except to follow retainOnDelete with their owner reference.
func (r *LLMPlatformReconciler) reconcileSecrets(ctx context.Context, s *platformState) error {
	p := s.platform
	for _, g := range builders.GeneratedSecrets(p) {
		existing := &corev1.Secret{}
		err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: g.Name}, existing)
		switch {
		case apierrors.IsNotFound(err):
			if err := r.createGenerated(ctx, p, g); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("reading Secret %s: %w", g.Name, err)
		default:
			if err := r.followRetention(ctx, p, existing, g.Retained); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *LLMPlatformReconciler) createGenerated(ctx context.Context, p *llmv1.LLMPlatform, g builders.GeneratedSecret) error {
	secret, err := g.Build(p, rand.Reader)
	if err != nil {
		return err
	}
	err = r.Create(ctx, secret)
	switch {
	case apierrors.IsAlreadyExists(err):
		// The cache had not seen the Secret yet: the existing one is kept.
		return nil
	case err != nil:
		return fmt.Errorf("creating Secret %s: %w", g.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Created Secret", "Secret", klog.KObj(secret))
	return nil
}

// followRetention gives a child the operator created for this platform's name the owner reference it needs:
// none for data that outlives the platform (retainOnDelete), the platform otherwise — also when the child
// was left by an earlier platform of the same name. Objects the operator did not create are left alone.
func (r *LLMPlatformReconciler) followRetention(ctx context.Context, p *llmv1.LLMPlatform, obj client.Object, retained bool) error {
	l := obj.GetLabels()
	if l[builders.LabelManagedBy] != builders.ManagedBy || l[builders.LabelInstance] != p.Name || metav1.IsControlledBy(obj, p) != retained {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	var refs []metav1.OwnerReference
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind != "LLMPlatform" || ref.APIVersion != llmv1.GroupVersion.String() {
			refs = append(refs, ref)
		}
	}
	if !retained {
		refs = append(refs, builders.OwnerReference(p))
	}
	obj.SetOwnerReferences(refs)
	if err := r.Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("updating the owner of %s: %w", obj.GetName(), err)
	}
	return nil
}

// reconcileDatabase runs the managed database, or checks the external database's URL Secret, and sets
// DatabaseReady.
func (r *LLMPlatformReconciler) reconcileDatabase(ctx context.Context, s *platformState) error {
	p := s.platform
	var obs databaseObservation
	if p.Spec.Database.External != nil {
		name, key := builders.DatabaseURLSecret(p)
		check, uri, err := r.checkSecret(ctx, p.Namespace, name, "spec.database.external.secretRef", key)
		if err != nil {
			return err
		}
		obs.External = &check
		p.Status.Database.Endpoint = builders.ExternalEndpoint(string(uri))
	} else {
		managed, err := r.reconcileManagedDatabase(ctx, p)
		if err != nil {
			return err
		}
		obs.Managed = managed
		p.Status.Database.Endpoint = builders.DatabaseEndpoint(p)
	}
	c := databaseCondition(obs)
	s.set(c)
	if c.Status != metav1.ConditionTrue && obs.External == nil {
		s.waitFor(notReadyRequeue)
	}
	return nil
}

func (r *LLMPlatformReconciler) reconcileManagedDatabase(ctx context.Context, p *llmv1.LLMPlatform) (workloadObservation, error) {
	for _, obj := range []client.Object{builders.PostgresService(p), builders.PostgresNetworkPolicy(p)} {
		if err := r.apply.apply(ctx, p, obj); err != nil {
			return workloadObservation{}, err
		}
	}
	if err := r.reconcileBackup(ctx, p); err != nil {
		return workloadObservation{}, err
	}
	sts := builders.PostgresStatefulSet(p)
	live := &appsv1.StatefulSet{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(sts), live); err == nil {
		// Volume claim templates cannot change once created: keep them (storage grows by expanding the PVC).
		sts.Spec.VolumeClaimTemplates = live.Spec.VolumeClaimTemplates
	} else if !apierrors.IsNotFound(err) {
		return workloadObservation{}, fmt.Errorf("reading StatefulSet %s: %w", sts.Name, err)
	}
	if err := r.apply.apply(ctx, p, sts); err != nil {
		return workloadObservation{}, err
	}
	obs := statefulSetObservation(sts)
	if !obs.Ready {
		var err error
		if obs.Pods, err = r.diagnosePods(ctx, p, builders.ComponentDatabase); err != nil {
			return obs, err
		}
		if obs.PendingPVC, err = r.pendingPVC(ctx, p.Namespace, builders.DataPVCName(p)); err != nil {
			return obs, err
		}
	}
	return obs, nil
}

// reconcileBackup runs the backup CronJob and creates its volume when spec.database.managed.backup is set,
// and removes the CronJob (not the backups) when it is not.
func (r *LLMPlatformReconciler) reconcileBackup(ctx context.Context, p *llmv1.LLMPlatform) error {
	cj := builders.BackupCronJob(p)
	if cj == nil {
		return r.apply.remove(ctx, p, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: builders.BackupName(p)}})
	}
	pvc := builders.BackupPVC(p)
	live := &corev1.PersistentVolumeClaim{}
	err := r.Get(ctx, client.ObjectKeyFromObject(pvc), live)
	switch {
	case apierrors.IsNotFound(err):
		// A volume claim's spec is fixed once bound: it is created once and then only its owner follows
		// retainOnDelete.
		if err := r.Create(ctx, pvc); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating PersistentVolumeClaim %s: %w", pvc.Name, err)
		}
	case err != nil:
		return fmt.Errorf("reading PersistentVolumeClaim %s: %w", pvc.Name, err)
	default:
		if err := r.followRetention(ctx, p, live, builders.RetainData(p)); err != nil {
			return err
		}
	}
	return r.apply.apply(ctx, p, cj)
}

// reconcileProviders checks that every provider key Secret exists and holds its key, and sets
// ProvidersReady. The keys themselves are never read into the configuration: the API server reads them
// from the mounted files.
func (r *LLMPlatformReconciler) reconcileProviders(ctx context.Context, s *platformState) error {
	p := s.platform
	var checks []secretCheck
	for _, pr := range p.Spec.Providers {
		for _, k := range pr.Keys {
			c, _, err := r.checkSecret(ctx, p.Namespace, k.SecretRef.Name, "provider "+pr.Name, builders.ProviderKeyName(k.SecretRef))
			if err != nil {
				return err
			}
			checks = append(checks, c)
		}
	}
	s.set(providersCondition(checks))
	return nil
}

// reconcileAPIServer renders the configuration with the platform's quotas and runs the API server: its
// ConfigMap, ServiceAccount, Service, Deployment and PodDisruptionBudget. It sets APIServerReady.
func (r *LLMPlatformReconciler) reconcileAPIServer(ctx context.Context, s *platformState) error {
	p := s.platform
	var quotas llmv1.UserQuotaList
	if err := r.List(ctx, &quotas, client.InNamespace(p.Namespace), client.MatchingFields{indexQuotaPlatform: p.Name}); err != nil {
		return fmt.Errorf("listing the platform's quotas: %w", err)
	}
	var obs apiServerObservation
	platformYAML, err := builders.RenderConfig(p, quotas.Items)
	if err != nil {
		obs.InvalidConfig = err
		s.set(apiServerCondition(obs))
		return reconcile.TerminalError(fmt.Errorf("rendering platform.yaml: %w", err))
	}
	if ref := p.Spec.Auth.AdminSecretRef; ref != nil {
		check, _, err := r.checkSecret(ctx, p.Namespace, ref.Name, "spec.auth.adminSecretRef", builders.AdminUsernameKey, builders.AdminPasswordKey)
		if err != nil {
			return err
		}
		obs.Admin = &check
	}
	for _, obj := range []client.Object{builders.ConfigMap(p, platformYAML), builders.ServiceAccount(p), builders.APIServerService(p)} {
		if err := r.apply.apply(ctx, p, obj); err != nil {
			return err
		}
	}
	if err := r.applyOrRemove(ctx, p, builders.PodDisruptionBudget(p), &policyv1.PodDisruptionBudget{}, builders.APIServerName(p)); err != nil {
		return err
	}
	d := builders.Deployment(p, r.Options)
	if err := r.apply.apply(ctx, p, d); err != nil {
		return err
	}
	obs.Deployment = deploymentObservation(d)
	if !obs.Deployment.Ready {
		if obs.Deployment.Pods, err = r.diagnosePods(ctx, p, builders.ComponentAPIServer); err != nil {
			return err
		}
	}
	p.Status.APIServer = llmv1.APIServerStatus{Replicas: obs.Deployment.Replicas, ReadyReplicas: obs.Deployment.ReadyReplicas}
	c := apiServerCondition(obs)
	s.set(c)
	if c.Status != metav1.ConditionTrue {
		s.waitFor(notReadyRequeue)
	}
	return nil
}

// reconcileRoute puts the Ingress and the HTTPRoute in place (or removes them when the spec no longer asks
// for them), sets RouteReady and the platform's URL.
func (r *LLMPlatformReconciler) reconcileRoute(ctx context.Context, s *platformState) error {
	p := s.platform
	obs := routeObservation{Service: builders.APIServerName(p)}
	ingress := builders.Ingress(p)
	if err := r.applyOrRemove(ctx, p, ingress, &networkingv1.Ingress{}, builders.RouteName(p)); err != nil {
		return err
	}
	if ingress != nil {
		obs.Ingress = ingress.Name
	}
	if err := r.reconcileHTTPRoute(ctx, p, &obs); err != nil {
		return err
	}
	p.Status.URL = ""
	if obs.Ingress != "" || obs.HTTPRoute != "" {
		p.Status.URL = builders.URL(p)
	}
	s.set(routeCondition(obs))
	if obs.GatewayAPIMissing {
		s.waitFor(gatewayRecheck)
	}
	return nil
}

func (r *LLMPlatformReconciler) reconcileHTTPRoute(ctx context.Context, p *llmv1.LLMPlatform, obs *routeObservation) error {
	route := builders.HTTPRoute(p)
	served, err := r.gateway.served()
	if err != nil {
		return fmt.Errorf("discovering the Gateway API: %w", err)
	}
	if !served {
		obs.GatewayAPIMissing = route != nil
		return nil
	}
	if err := r.applyOrRemove(ctx, p, route, &gwapiv1.HTTPRoute{}, builders.RouteName(p)); err != nil || route == nil {
		return err
	}
	obs.HTTPRoute = route.Name
	obs.NotAccepted = routeRefusal(route)
	return nil
}

// routeRefusal is the first parent Gateway's reason for not accepting the route, or "".
func routeRefusal(route *gwapiv1.HTTPRoute) string {
	for _, parent := range route.Status.Parents {
		for _, c := range parent.Conditions {
			if c.Type == string(gwapiv1.RouteConditionAccepted) && c.Status == metav1.ConditionFalse {
				return fmt.Sprintf("Gateway %s: %s: %s", parent.ParentRef.Name, c.Reason, c.Message)
			}
		}
	}
	return ""
}

// applyOrRemove applies desired, or removes the platform's object of empty's kind named name when desired
// is nil (the builder returns nil for a child the spec no longer asks for).
func (r *LLMPlatformReconciler) applyOrRemove(ctx context.Context, p *llmv1.LLMPlatform, desired, empty client.Object, name string) error {
	if !isNil(desired) {
		return r.apply.apply(ctx, p, desired)
	}
	empty.SetNamespace(p.Namespace)
	empty.SetName(name)
	return r.apply.remove(ctx, p, empty)
}

// checkSecret checks that the Secret exists and holds every key, non-empty, and returns the first key's value.
func (r *LLMPlatformReconciler) checkSecret(ctx context.Context, namespace, name, use string, keys ...string) (secretCheck, []byte, error) {
	c := secretCheck{Name: name, Key: keys[0], Use: use}
	secret := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			c.Missing = true
			return c, nil, nil
		}
		return c, nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	for _, k := range keys {
		if len(secret.Data[k]) == 0 {
			c.Key, c.KeyMissing = k, true
			return c, nil, nil
		}
	}
	return c, secret.Data[keys[0]], nil
}

// diagnosePods lists a component's pods (uncached: only while it is not ready) and finds why they do not run.
func (r *LLMPlatformReconciler) diagnosePods(ctx context.Context, p *llmv1.LLMPlatform, component string) (*podProblem, error) {
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(p.Namespace), client.MatchingLabels(builders.SelectorLabels(p, component))); err != nil {
		return nil, fmt.Errorf("listing the %s pods: %w", component, err)
	}
	return diagnosePods(pods.Items), nil
}

// pendingPVC returns name when that volume claim exists and is Pending.
func (r *LLMPlatformReconciler) pendingPVC(ctx context.Context, namespace, name string) (string, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, pvc); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	if pvc.Status.Phase == corev1.ClaimPending {
		return name, nil
	}
	return "", nil
}

// isNil reports whether a builder returned no object (a typed nil pointer inside the interface).
func isNil(obj client.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
