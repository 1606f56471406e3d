// Package controllers holds the operator's reconcilers: LLMPlatform, which turns one platform's spec into its
// running parts, and UserQuota, which validates quotas and hands them to their platform.
package controllers
