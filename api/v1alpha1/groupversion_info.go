// Package v1alpha1 holds the llmplatform.io/v1alpha1 API: the LLMPlatform resource, which declares one
// isolated LLM chat platform (a tenant), and the UserQuota resource, which limits what the platform's users may
// spend.
//
// +kubebuilder:object:generate=true
// +groupName=llmplatform.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the resources in this package.
	GroupVersion = schema.GroupVersion{Group: "llmplatform.io", Version: "v1alpha1"}

	// SchemeBuilder registers the resources of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the resources of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
