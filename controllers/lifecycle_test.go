package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver/config"
)

// childKinds are the kinds of a platform's children, for the garbage collector's stand-in.
var childKinds = []client.ObjectList{
	&corev1.SecretList{}, &corev1.ConfigMapList{}, &corev1.ServiceList{}, &corev1.ServiceAccountList{},
	&corev1.PersistentVolumeClaimList{}, &appsv1.DeploymentList{}, &appsv1.StatefulSetList{},
	&policyv1.PodDisruptionBudgetList{}, &networkingv1.NetworkPolicyList{}, &networkingv1.IngressList{}, &batchv1.CronJobList{},
}

// collectGarbage does what Kubernetes' garbage collector would do, which envtest does not run: it deletes
// the objects of the namespace whose owners are all gone, until nothing more goes. (Objects with finalizers,
// such as volume claims, stay behind being deleted: no controller finishes them here.)
func collectGarbage(t *testing.T, c client.Client, namespace string) {
	t.Helper()
	ctx := context.Background()
	for deleted, rounds := true, 0; deleted; rounds++ {
		if rounds == 10 {
			t.Fatal("the garbage collector's stand-in does not converge")
		}
		deleted = false
		for _, list := range childKinds {
			if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
				t.Fatal(err)
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range items {
				obj := item.(client.Object)
				if obj.GetDeletionTimestamp() != nil || len(obj.GetOwnerReferences()) == 0 || ownerExists(t, c, namespace, obj.GetOwnerReferences()) {
					continue
				}
				if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
					t.Fatal(err)
				}
				deleted = true
			}
		}
	}
}

func ownerExists(t *testing.T, c client.Client, namespace string, refs []metav1.OwnerReference) bool {
	t.Helper()
	for _, ref := range refs {
		owner := &unstructured.Unstructured{}
		owner.SetAPIVersion(ref.APIVersion)
		owner.SetKind(ref.Kind)
		err := get(c, namespace, ref.Name, owner)
		if err == nil && owner.GetUID() == ref.UID {
			return true
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	return false
}

var platformWithBackup = strings.Replace(minimalPlatform, "database: {managed: {}}",
	`database: {managed: {backup: {schedule: "0 3 * * *", retain: 3}}}`, 1)

// TestDeletingPlatformKeepsData: a platform admin deletes a platform whose database is retained (the
// default). Everything goes but the data: the database volume, its credentials and the backups. Created
// again under the same name, the platform finds them, with the same credentials.
func TestDeletingPlatformKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, platformWithBackup)
	startOperator(t, cfg, ns)
	eventually(t, "waiting for the database", func() error {
		return errors.Join(get(k8sClient, ns, "shop-postgres", &appsv1.StatefulSet{}), get(k8sClient, ns, "shop-backup", &corev1.PersistentVolumeClaim{}),
			get(k8sClient, ns, "shop-backup", &batchv1.CronJob{}), get(k8sClient, ns, "shop-db", &corev1.Secret{}))
	})
	sts := mustGet(t, k8sClient, ns, "shop-postgres", &appsv1.StatefulSet{})
	if got := sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted; got != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Fatalf("whenDeleted = %s, want Retain", got)
	}
	// The StatefulSet controller creates the data volume from the claim template; with whenDeleted: Retain
	// it gives it no owner.
	data := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data-shop-postgres-0", Labels: sts.Spec.VolumeClaimTemplates[0].Labels},
		Spec:       sts.Spec.VolumeClaimTemplates[0].Spec,
	}
	if err := k8sClient.Create(ctx, data); err != nil {
		t.Fatal(err)
	}
	credentials := mustGet(t, k8sClient, ns, "shop-db", &corev1.Secret{}).Data

	if err := k8sClient.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	collectGarbage(t, k8sClient, ns)

	for name, obj := range map[string]client.Object{
		"shop-apiserver": &appsv1.Deployment{}, "shop-postgres": &appsv1.StatefulSet{}, "shop-config": &corev1.ConfigMap{},
		"shop-jwt": &corev1.Secret{}, "shop-backup": &batchv1.CronJob{},
	} {
		assertAbsent(t, k8sClient, ns, name, obj)
	}
	for name, obj := range map[string]client.Object{
		"data-shop-postgres-0": &corev1.PersistentVolumeClaim{}, "shop-backup": &corev1.PersistentVolumeClaim{}, "shop-db": &corev1.Secret{},
	} {
		if err := get(k8sClient, ns, name, obj); err != nil {
			t.Errorf("%T %s was not kept: %v", obj, name, err)
		}
	}

	p = createPlatform(t, k8sClient, ns, platformWithBackup)
	eventually(t, "waiting for the platform to come back", func() error { return get(k8sClient, ns, "shop-postgres", &appsv1.StatefulSet{}) })
	waitForObservedGeneration(t, k8sClient, p)
	if again := mustGet(t, k8sClient, ns, "shop-db", &corev1.Secret{}).Data; !bytes.Equal(again["uri"], credentials["uri"]) || !bytes.Equal(again["password"], credentials["password"]) {
		t.Error("the re-created platform got new database credentials: its retained data would be unreadable")
	}
}

// TestNotRetainedDataGoesWithThePlatform: with retainOnDelete false the database credentials and the backup
// volume are owned by the platform — also when the admin turns retention off later — and go with it.
func TestNotRetainedDataGoesWithThePlatform(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, platformWithBackup)
	startOperator(t, cfg, ns)
	eventually(t, "waiting for the backup volume", func() error { return get(k8sClient, ns, "shop-backup", &corev1.PersistentVolumeClaim{}) })

	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) { p.Spec.Database.Managed.RetainOnDelete = new(false) })
	eventually(t, "waiting for the data to follow the platform", func() error {
		sts := &appsv1.StatefulSet{}
		if err := get(k8sClient, ns, "shop-postgres", sts); err != nil {
			return err
		}
		if sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			return fmt.Errorf("whenDeleted = %s", sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
		}
		for name, obj := range map[string]client.Object{"shop-db": &corev1.Secret{}, "shop-backup": &corev1.PersistentVolumeClaim{}} {
			if err := get(k8sClient, ns, name, obj); err != nil {
				return err
			}
			if !metav1.IsControlledBy(obj, p) {
				return fmt.Errorf("%s has owners %v", name, obj.GetOwnerReferences())
			}
		}
		return nil
	})

	if err := k8sClient.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	collectGarbage(t, k8sClient, ns)
	assertAbsent(t, k8sClient, ns, "shop-db", &corev1.Secret{})
	if err := get(k8sClient, ns, "shop-backup", &corev1.PersistentVolumeClaim{}); err == nil {
		// The volume claim's protection finalizer keeps it until no pod uses it; it is being deleted.
		if pvc := mustGet(t, k8sClient, ns, "shop-backup", &corev1.PersistentVolumeClaim{}); pvc.DeletionTimestamp == nil {
			t.Error("the backup volume was kept although retainOnDelete is false")
		}
	}
}

// TestUserQuotaLifecycle: a quota for a platform that does not exist yet says so; once the platform exists
// the quota is accepted and rendered into its configuration; changing or deleting the quota re-renders the
// configuration without restarting the API server.
func TestUserQuotaLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	q := &llmv1.UserQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "interns"},
		Spec: llmv1.UserQuotaSpec{
			PlatformRef: llmv1.PlatformRef{Name: "shop"},
			Subjects:    llmv1.QuotaSubjects{Users: []string{"ana", "ben", "cy", "dee", "eve", "fay", "gus"}},
			Limits:      &llmv1.QuotaLimits{TokensPerDay: new(int64(1000))},
		},
	}
	if err := k8sClient.Create(ctx, q); err != nil {
		t.Fatal(err)
	}
	startOperator(t, cfg, ns)
	accepted := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		var found metav1.Condition
		eventually(t, "waiting for Accepted="+string(status), func() error {
			got := mustGet(t, k8sClient, ns, q.Name, &llmv1.UserQuota{})
			c := meta.FindStatusCondition(got.Status.Conditions, llmv1.ConditionAccepted)
			if c == nil || c.Status != status || c.Reason != reason {
				return fmt.Errorf("Accepted is %+v", c)
			}
			if got.Status.Subjects != "users: ana, ben, cy, dee, eve and 2 more" || got.Status.ObservedGeneration != got.Generation {
				return fmt.Errorf("status %+v", got.Status)
			}
			found = *c
			return nil
		})
		return found
	}
	c := accepted(metav1.ConditionFalse, llmv1.ReasonPlatformNotFound)
	if !strings.Contains(c.Message, `LLMPlatform "shop" does not exist`) {
		t.Errorf("message %q", c.Message)
	}
	waitForEvent(t, k8sClient, q, corev1.EventTypeWarning, llmv1.ReasonPlatformNotFound, `"shop"`)

	p := createPlatform(t, k8sClient, ns, minimalPlatform)
	accepted(metav1.ConditionTrue, llmv1.ReasonAccepted)
	renderedQuotas := func(want string) {
		eventually(t, "waiting for the configuration's quotas to be "+want, func() error {
			cm := &corev1.ConfigMap{}
			if err := get(k8sClient, ns, "shop-config", cm); err != nil {
				return err
			}
			c, err := config.Parse([]byte(cm.Data["platform.yaml"]))
			if err != nil {
				return err
			}
			var got []string
			for _, q := range c.Quotas {
				got = append(got, fmt.Sprintf("%s:%d", q.Name, *q.Limits.TokensPerDay))
			}
			if strings.Join(got, ",") != want {
				return fmt.Errorf("quotas %v", got)
			}
			return nil
		})
	}
	renderedQuotas("interns:1000")
	eventually(t, "waiting for the Deployment", func() error { return get(k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}) })
	generation := mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}).Generation

	eventually(t, "raising the quota", func() error {
		if err := get(k8sClient, ns, q.Name, q); err != nil {
			return err
		}
		q.Spec.Limits.TokensPerDay = new(int64(5000))
		return k8sClient.Update(ctx, q)
	})
	renderedQuotas("interns:5000")
	if d := mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}); d.Generation != generation {
		t.Errorf("the Deployment changed (generation %d to %d) for a quota change: pods would restart", generation, d.Generation)
	}
	if err := k8sClient.Delete(ctx, q); err != nil {
		t.Fatal(err)
	}
	renderedQuotas("")

	// Another quota outlives its platform: it says so again.
	q = &llmv1.UserQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "interns"},
		Spec:       llmv1.UserQuotaSpec{PlatformRef: llmv1.PlatformRef{Name: "shop"}, Subjects: q.Spec.Subjects, AllowedModels: []string{"*-mini"}},
	}
	if err := k8sClient.Create(ctx, q); err != nil {
		t.Fatal(err)
	}
	accepted(metav1.ConditionTrue, llmv1.ReasonAccepted)
	if err := k8sClient.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	accepted(metav1.ConditionFalse, llmv1.ReasonPlatformNotFound)
}

// TestSpecChangesRestartOnlyWhenNeeded: a price change reaches the running API server through its
// configuration file; a new image rolls the Deployment.
func TestSpecChangesRestartOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	createSecret(t, k8sClient, ns, "openai-key", map[string]string{"apiKey": "k"})
	p := createPlatform(t, k8sClient, ns, minimalPlatform)
	startOperator(t, cfg, ns)
	waitForObservedGeneration(t, k8sClient, p)
	before := mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{})

	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) {
		p.Spec.Providers[0].Models[0].Pricing.Output = "0.75"
		p.Spec.Auth.Registration = llmv1.RegistrationClosed
	})
	waitForObservedGeneration(t, k8sClient, p)
	cm := mustGet(t, k8sClient, ns, "shop-config", &corev1.ConfigMap{})
	if c, err := config.Parse([]byte(cm.Data["platform.yaml"])); err != nil || c.Providers[0].Models[0].Pricing.Output != "0.75" || c.Auth.Registration != "Closed" {
		t.Fatalf("configuration not updated: %v\n%s", err, cm.Data["platform.yaml"])
	}
	if d := mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{}); d.Generation != before.Generation {
		t.Errorf("a price change changed the Deployment (generation %d to %d)", before.Generation, d.Generation)
	}

	p = updatePlatform(t, k8sClient, p, func(p *llmv1.LLMPlatform) {
		p.Spec.APIServer.Image = "registry.example/llmplatform:v2"
		p.Spec.APIServer.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
	})
	waitForObservedGeneration(t, k8sClient, p)
	d := mustGet(t, k8sClient, ns, "shop-apiserver", &appsv1.Deployment{})
	if c := d.Spec.Template.Spec.Containers[0]; d.Generation == before.Generation || c.Image != "registry.example/llmplatform:v2" || c.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("generation %d, image %s, limits %v: the new image did not roll out", d.Generation, c.Image, c.Resources.Limits)
	}
}
