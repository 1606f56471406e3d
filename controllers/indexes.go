package controllers

import (
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
)

// Field indexes of the cache.
const (
	// indexSecretRefs indexes platforms by the names of the Secrets they reference (provider keys, the
	// external database, the bootstrap admin), so that a changed Secret wakes the platforms that use it.
	indexSecretRefs = "llmplatform.io/secret-refs" //nolint:gosec // an index name, not a credential
	// indexQuotaPlatform indexes quotas by the platform they name.
	indexQuotaPlatform = "llmplatform.io/platform-ref"
)

// setupIndexes registers the field indexes with the manager's cache.
func setupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &llmv1.LLMPlatform{}, indexSecretRefs, referencedSecrets); err != nil {
		return err
	}
	return indexer.IndexField(ctx, &llmv1.UserQuota{}, indexQuotaPlatform, func(obj client.Object) []string {
		return []string{obj.(*llmv1.UserQuota).Spec.PlatformRef.Name}
	})
}

// referencedSecrets lists, once each, the Secrets a platform references but does not generate.
func referencedSecrets(obj client.Object) []string {
	p := obj.(*llmv1.LLMPlatform)
	var names []string
	for _, pr := range p.Spec.Providers {
		for _, k := range pr.Keys {
			names = append(names, k.SecretRef.Name)
		}
	}
	if p.Spec.Database.External != nil {
		name, _ := builders.DatabaseURLSecret(p)
		names = append(names, name)
	}
	if ref := p.Spec.Auth.AdminSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
