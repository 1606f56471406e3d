// Package v1alpha1 holds the llmplatform.io/v1alpha1 API: the LLMPlatform resource, which declares one
// isolated LLM chat platform (a tenant), and the UserQuota resource, which limits what the platform's users may
// spend.
//
// +kubebuilder:object:generate=true
// +groupName=llmplatform.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the resources in this package.
	GroupVersion = schema.GroupVersion{Group: "llmplatform.io", Version: "v1alpha1"}

	// SchemeBuilder registers the resources of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the resources of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the resources and their lists under GroupVersion, with the meta types (options,
// watch events) every group version has. It depends on apimachinery only, so that the API package stays
// cheap to import.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &LLMPlatform{}, &LLMPlatformList{}, &UserQuota{}, &UserQuotaList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
