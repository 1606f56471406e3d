package builders

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// Names of a platform's children. The platform's name is at most 40 characters, so each fits a DNS label.

// APIServerName names the API server's Deployment, Service, ServiceAccount and PodDisruptionBudget.
func APIServerName(p *llmv1.LLMPlatform) string { return p.Name + "-apiserver" }

// ConfigMapName names the ConfigMap holding platform.yaml.
func ConfigMapName(p *llmv1.LLMPlatform) string { return p.Name + "-config" }

// PostgresName names the managed database's StatefulSet, Service and NetworkPolicy.
func PostgresName(p *llmv1.LLMPlatform) string { return p.Name + "-postgres" }

// DataPVCName is the name the StatefulSet controller gives the database's PersistentVolumeClaim.
func DataPVCName(p *llmv1.LLMPlatform) string { return DataVolumeClaim + "-" + PostgresName(p) + "-0" }

// BackupName names the backup CronJob and its PersistentVolumeClaim.
func BackupName(p *llmv1.LLMPlatform) string { return p.Name + "-backup" }

// RouteName names the Ingress and the HTTPRoute.
func RouteName(p *llmv1.LLMPlatform) string { return p.Name }

// Labels are the labels of one component's objects.
func Labels(p *llmv1.LLMPlatform, component string) map[string]string {
	l := SelectorLabels(p, component)
	l[LabelManagedBy] = ManagedBy
	l[LabelPartOf] = AppName
	return l
}

// SelectorLabels select the pods of one component of one platform.
func SelectorLabels(p *llmv1.LLMPlatform, component string) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  p.Name,
		LabelComponent: component,
	}
}

// OwnerReference makes the platform the controller of a child, so that the child is garbage-collected with
// it and its changes wake the platform's reconciler.
func OwnerReference(p *llmv1.LLMPlatform) metav1.OwnerReference {
	return *metav1.NewControllerRef(p, llmv1.GroupVersion.WithKind("LLMPlatform"))
}

// objectMeta is the metadata of a child owned by the platform.
func objectMeta(p *llmv1.LLMPlatform, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       p.Namespace,
		Labels:          Labels(p, component),
		OwnerReferences: []metav1.OwnerReference{OwnerReference(p)},
	}
}

// retainedMeta is the metadata of a child that holds data: with retainOnDelete it has no owner, so that
// deleting the platform leaves it behind for a platform of the same name to find again.
func retainedMeta(p *llmv1.LLMPlatform, name, component string) metav1.ObjectMeta {
	m := objectMeta(p, name, component)
	if RetainData(p) {
		m.OwnerReferences = nil
	}
	return m
}

// RetainData reports whether the platform's data (the database volume, its credentials and the backups)
// outlives the platform: true for a managed database with retainOnDelete (the default).
func RetainData(p *llmv1.LLMPlatform) bool {
	m := p.Spec.Database.Managed
	return m != nil && (m.RetainOnDelete == nil || *m.RetainOnDelete)
}
