package controllers

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// platformConditions are the platform's condition types in the order status shows them; Ready summarises
// the others.
var platformConditions = []string{
	llmv1.ConditionReady, llmv1.ConditionDatabaseReady, llmv1.ConditionAPIServerReady,
	llmv1.ConditionRouteReady, llmv1.ConditionProvidersReady,
}

// maxMessage bounds condition and event messages (events.k8s.io notes hold 1 kB).
const maxMessage = 1000

// secretCheck is what the operator found of one referenced Secret key.
type secretCheck struct {
	// Name and Key name the reference; Use says what it is for ("provider openai", "spec.auth.adminSecretRef").
	Name, Key, Use string
	// Missing is true when the Secret does not exist; KeyMissing when it exists without a non-empty Key.
	Missing, KeyMissing bool
}

// problem returns the condition reason and an actionable message when the reference is broken.
func (c secretCheck) problem() (reason, message string, broken bool) {
	switch {
	case c.Missing:
		return llmv1.ReasonSecretMissing, fmt.Sprintf("Secret %q (%s) not found", c.Name, c.Use), true
	case c.KeyMissing:
		return llmv1.ReasonSecretKeyMissing, fmt.Sprintf("Secret %q (%s) has no key %q", c.Name, c.Use, c.Key), true
	}
	return "", "", false
}

// podProblem is why a workload's pods are not ready, read from the pods themselves.
type podProblem struct {
	Reason, Message string
}

// workloadObservation is what the operator sees of a Deployment or StatefulSet and, when it is not ready,
// of its pods and volume claims.
type workloadObservation struct {
	Kind, Name              string
	Ready                   bool
	Replicas, ReadyReplicas int32
	// Stalled is the workload controller's own complaint: pods it cannot create (a ResourceQuota, a
	// policy) or a rollout past its deadline.
	Stalled    string
	Pods       *podProblem
	PendingPVC string
}

// deploymentObservation reads a Deployment's status: ready when its rollout is observed, it is Available
// and at least one replica is ready.
func deploymentObservation(d *appsv1.Deployment) workloadObservation {
	o := workloadObservation{Kind: "Deployment", Name: d.Name, ReadyReplicas: d.Status.ReadyReplicas, Replicas: 1}
	if d.Spec.Replicas != nil {
		o.Replicas = *d.Spec.Replicas
	}
	available := false
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue:
			available = true
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue,
			c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse:
			o.Stalled = c.Reason + ": " + c.Message
		}
	}
	o.Ready = d.Status.ObservedGeneration >= d.Generation && available && d.Status.ReadyReplicas > 0
	return o
}

// statefulSetObservation reads a StatefulSet's status: ready when observed with a ready replica.
func statefulSetObservation(s *appsv1.StatefulSet) workloadObservation {
	o := workloadObservation{Kind: "StatefulSet", Name: s.Name, ReadyReplicas: s.Status.ReadyReplicas, Replicas: 1}
	if s.Spec.Replicas != nil {
		o.Replicas = *s.Spec.Replicas
	}
	o.Ready = s.Status.ObservedGeneration >= s.Generation && s.Status.ReadyReplicas > 0
	return o
}

// diagnosePods finds the first reason, in pod name order, why pods are not running: a crash loop, an image
// that cannot be pulled, a container that cannot be created, a pod that cannot be scheduled.
func diagnosePods(pods []corev1.Pod) *podProblem {
	sorted := slices.Clone(pods)
	slices.SortFunc(sorted, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, pod := range sorted {
		statuses := append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if p := containerProblem(pod.Name, cs); p != nil {
				return p
			}
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return &podProblem{llmv1.ReasonPodsNotReady, fmt.Sprintf("pod %s cannot be scheduled: %s", pod.Name, c.Message)}
			}
		}
	}
	return nil
}

func containerProblem(pod string, cs corev1.ContainerStatus) *podProblem {
	w := cs.State.Waiting
	if w == nil {
		return nil
	}
	switch w.Reason {
	case "CrashLoopBackOff":
		msg := fmt.Sprintf("pod %s: container %s is crash-looping (restarted %d times)", pod, cs.Name, cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			msg += fmt.Sprintf("; last exit code %d", t.ExitCode)
			if t.Reason != "" {
				msg += " (" + t.Reason + ")"
			}
			if t.Message != "" {
				msg += ": " + t.Message
			}
		}
		return &podProblem{llmv1.ReasonCrashLooping, msg}
	case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
		return &podProblem{llmv1.ReasonImagePullFailed, fmt.Sprintf("pod %s: container %s cannot pull image %s: %s: %s", pod, cs.Name, cs.Image, w.Reason, w.Message)}
	case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
		return &podProblem{llmv1.ReasonPodsNotReady, fmt.Sprintf("pod %s: container %s: %s: %s", pod, cs.Name, w.Reason, w.Message)}
	}
	return nil
}

// workloadCondition is the condition of a workload that is expected to be ready.
func workloadCondition(typ string, o workloadObservation, readyReason, readyMessage string) metav1.Condition {
	switch {
	case o.Ready:
		return condition(typ, metav1.ConditionTrue, readyReason, readyMessage)
	case o.Pods != nil:
		return condition(typ, metav1.ConditionFalse, o.Pods.Reason, o.Pods.Message)
	case o.Stalled != "":
		return condition(typ, metav1.ConditionFalse, llmv1.ReasonPodsNotReady, fmt.Sprintf("%s %s: %s", o.Kind, o.Name, o.Stalled))
	case o.PendingPVC != "":
		return condition(typ, metav1.ConditionFalse, llmv1.ReasonPVCPending,
			fmt.Sprintf("PersistentVolumeClaim %s is Pending: check its events and the StorageClass", o.PendingPVC))
	case o.Replicas == 0:
		return condition(typ, metav1.ConditionFalse, llmv1.ReasonPodsNotReady, fmt.Sprintf("%s %s is scaled to zero replicas", o.Kind, o.Name))
	}
	return condition(typ, metav1.ConditionFalse, llmv1.ReasonPodsNotReady,
		fmt.Sprintf("%s %s has %d of %d replicas ready", o.Kind, o.Name, o.ReadyReplicas, o.Replicas))
}

// databaseObservation is what the database phase found.
type databaseObservation struct {
	// External holds the check of the external database's URL Secret; nil for a managed database.
	External *secretCheck
	// Managed is the managed database's StatefulSet.
	Managed workloadObservation
}

// databaseCondition sets DatabaseReady: an external database is ready when its URL Secret holds the key (the
// API server's readiness shows whether it answers); a managed one when its StatefulSet has a ready pod.
func databaseCondition(o databaseObservation) metav1.Condition {
	if ext := o.External; ext != nil {
		if _, msg, broken := ext.problem(); broken {
			return condition(llmv1.ConditionDatabaseReady, metav1.ConditionFalse, llmv1.ReasonDatabaseSecretMissing, msg)
		}
		return condition(llmv1.ConditionDatabaseReady, metav1.ConditionTrue, llmv1.ReasonExternalDatabase,
			fmt.Sprintf("External database URL from Secret %q key %q", ext.Name, ext.Key))
	}
	c := workloadCondition(llmv1.ConditionDatabaseReady, o.Managed, llmv1.ReasonReady,
		fmt.Sprintf("StatefulSet %s is ready", o.Managed.Name))
	if c.Status == metav1.ConditionFalse && c.Reason == llmv1.ReasonPodsNotReady && o.Managed.Pods == nil {
		c.Reason = llmv1.ReasonDatabaseStarting
	}
	return c
}

// providersCondition sets ProvidersReady from the checks of every provider key Secret.
func providersCondition(checks []secretCheck) metav1.Condition {
	var reasons, messages []string
	for _, c := range checks {
		if reason, msg, broken := c.problem(); broken {
			reasons = append(reasons, reason)
			messages = append(messages, msg)
		}
	}
	if len(messages) > 0 {
		return condition(llmv1.ConditionProvidersReady, metav1.ConditionFalse, reasons[0], strings.Join(messages, "; "))
	}
	return condition(llmv1.ConditionProvidersReady, metav1.ConditionTrue, llmv1.ReasonProvidersConfigured,
		fmt.Sprintf("%d provider key(s) present", len(checks)))
}

// apiServerObservation is what the API server phase found.
type apiServerObservation struct {
	// InvalidConfig is why the spec renders a configuration the API server would refuse.
	InvalidConfig error
	// Admin is the check of spec.auth.adminSecretRef; nil when the operator generates the admin.
	Admin *secretCheck
	// Deployment is the API server's Deployment.
	Deployment workloadObservation
}

// apiServerCondition sets APIServerReady.
func apiServerCondition(o apiServerObservation) metav1.Condition {
	if o.InvalidConfig != nil {
		return condition(llmv1.ConditionAPIServerReady, metav1.ConditionFalse, llmv1.ReasonInvalidSpec,
			"The spec renders a configuration the API server refuses: "+o.InvalidConfig.Error())
	}
	if o.Admin != nil {
		if reason, msg, broken := o.Admin.problem(); broken {
			return condition(llmv1.ConditionAPIServerReady, metav1.ConditionFalse, reason, msg)
		}
	}
	return workloadCondition(llmv1.ConditionAPIServerReady, o.Deployment, llmv1.ReasonReady,
		fmt.Sprintf("Deployment %s has %d of %d replicas ready", o.Deployment.Name, o.Deployment.ReadyReplicas, o.Deployment.Replicas))
}

// routeObservation is what the route phase found.
type routeObservation struct {
	// Service is the API server's Service, reachable inside the cluster in any case.
	Service string
	// Ingress and HTTPRoute name the routes in place.
	Ingress, HTTPRoute string
	// GatewayAPIMissing is true when spec.gateway is set but the cluster does not serve HTTPRoute.
	GatewayAPIMissing bool
	// NotAccepted is a Gateway's reason for refusing the HTTPRoute.
	NotAccepted string
}

// routeCondition sets RouteReady.
func routeCondition(o routeObservation) metav1.Condition {
	switch {
	case o.GatewayAPIMissing:
		return condition(llmv1.ConditionRouteReady, metav1.ConditionFalse, llmv1.ReasonGatewayAPIMissing,
			"spec.gateway is set but the cluster does not serve gateway.networking.k8s.io/v1 HTTPRoute: install the Gateway API CRDs, or remove spec.gateway")
	case o.NotAccepted != "":
		return condition(llmv1.ConditionRouteReady, metav1.ConditionFalse, llmv1.ReasonRouteNotAccepted,
			fmt.Sprintf("HTTPRoute %s is not accepted: %s", o.HTTPRoute, o.NotAccepted))
	case o.Ingress == "" && o.HTTPRoute == "":
		return condition(llmv1.ConditionRouteReady, metav1.ConditionTrue, llmv1.ReasonNoRoute,
			fmt.Sprintf("No ingress or gateway is configured; the platform is reachable inside the cluster at Service %s", o.Service))
	}
	var routes []string
	if o.Ingress != "" {
		routes = append(routes, "Ingress "+o.Ingress)
	}
	if o.HTTPRoute != "" {
		routes = append(routes, "HTTPRoute "+o.HTTPRoute)
	}
	return condition(llmv1.ConditionRouteReady, metav1.ConditionTrue, llmv1.ReasonRouteCreated, strings.Join(routes, " and ")+" in place")
}

// readyCondition summarises the other conditions: False when one is False (with that one's reason), Unknown
// while one is not yet known, True when all are True.
func readyCondition(conditions []metav1.Condition) metav1.Condition {
	var falseReason string
	var falseMsgs, unknown []string
	for _, typ := range platformConditions[1:] {
		c := meta.FindStatusCondition(conditions, typ)
		switch {
		case c == nil || c.Status == metav1.ConditionUnknown:
			unknown = append(unknown, typ)
		case c.Status == metav1.ConditionFalse:
			if falseReason == "" {
				falseReason = c.Reason
			}
			falseMsgs = append(falseMsgs, typ+": "+c.Message)
		}
	}
	switch {
	case falseReason != "":
		return condition(llmv1.ConditionReady, metav1.ConditionFalse, falseReason, strings.Join(falseMsgs, "; "))
	case len(unknown) > 0:
		return condition(llmv1.ConditionReady, metav1.ConditionUnknown, llmv1.ReasonReconciling, "Waiting for "+strings.Join(unknown, ", "))
	}
	return condition(llmv1.ConditionReady, metav1.ConditionTrue, llmv1.ReasonReady, "The platform is ready")
}

// condition builds a condition with a bounded message.
func condition(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	if len(message) > maxMessage {
		message = strings.ToValidUTF8(message[:maxMessage-3], "") + "..."
	}
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

// transitions lists the conditions whose status or reason differ between old and new, skipping those that
// are merely not known yet: each deserves an Event.
func transitions(old, new []metav1.Condition) []metav1.Condition {
	var changed []metav1.Condition
	for _, c := range new {
		if c.Status == metav1.ConditionUnknown {
			continue
		}
		if o := meta.FindStatusCondition(old, c.Type); o == nil || o.Status != c.Status || o.Reason != c.Reason {
			changed = append(changed, c)
		}
	}
	return changed
}
