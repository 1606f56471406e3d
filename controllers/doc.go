// Package controllers holds the operator's reconcilers: LLMPlatform, which turns one platform's spec into its
// running parts, UserQuota, which validates quotas and hands them to their platform, and the usage reader,
// which reads each platform's usage from its API server for both their statuses.
package controllers
