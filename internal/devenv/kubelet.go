package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Restart back-off of a container that exits, as a kubelet's CrashLoopBackOff (shorter: this is a laptop).
const (
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
)

// defaultGracePeriod is a pod's terminationGracePeriodSeconds when the template leaves it empty.
const defaultGracePeriod = 30 * time.Second

// kubelet runs one container of a Deployment's pod template as a local process, and does the little of a
// kubelet's and the Deployment controller's work that `make dev` needs: it materialises the pod's
// ConfigMap, Secret and projected volumes under the sandbox root and keeps them current (so the program's
// reloads work as in a cluster), starts the container's command with its args and env translated to this
// machine, restarts it when it exits or when the pod template changes, probes its readiness, and writes the
// Deployment's status so that the operator sees the API server ready.
type kubelet struct {
	client     client.Client
	deployment types.NamespacedName
	container  string
	sandbox    sandbox
	logPath    string
	say        func(format string, args ...any)
	interval   time.Duration
	// force, when closed, kills the process at once instead of waiting for its grace period.
	force <-chan struct{}
	// ready is whether the container runs and passed its last readiness probe.
	ready *atomic.Bool

	template  string
	grace     time.Duration
	volumes   map[string]volumeContent
	proc      *process
	launched  *launch
	lastProbe time.Time
	restarts  int
	nextStart time.Time
	waiting   string
}

// run keeps the container in line with the Deployment until ctx ends, then stops it.
func (k *kubelet) run(ctx context.Context) {
	defer k.stopContainer()
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		if err := k.sync(ctx); err != nil && ctx.Err() == nil {
			k.wait(err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync does one round: follow the Deployment's pod template, run the container, probe it and report.
func (k *kubelet) sync(ctx context.Context) error {
	d := &appsv1.Deployment{}
	if err := k.client.Get(ctx, k.deployment, d); err != nil {
		if apierrors.IsNotFound(err) {
			k.stopContainer()
			k.template = ""
			return nil
		}
		return fmt.Errorf("reading Deployment %s: %w", k.deployment, err)
	}
	if err := k.follow(d); err != nil {
		return err
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		k.stopContainer()
	} else if err := k.runContainer(ctx, &d.Spec.Template.Spec); err != nil {
		k.wait(err.Error())
	}
	switch {
	case k.proc == nil || k.proc.exited():
		k.ready.Store(false)
	case !k.ready.Load() || time.Since(k.lastProbe) >= k.launched.readinessPeriod:
		// Probed every round until ready, for a quick start; then at the probe's period.
		k.ready.Store(k.probe(ctx))
		k.lastProbe = time.Now()
	}
	return k.report(ctx, d)
}

// follow starts a new "pod" when the pod template changed: the process stops and the volumes are written
// afresh, as a rollout replaces a pod.
func (k *kubelet) follow(d *appsv1.Deployment) error {
	tmpl, err := json.Marshal(d.Spec.Template)
	if err != nil {
		return err
	}
	if string(tmpl) == k.template {
		return nil
	}
	if k.template != "" {
		k.say("The pod template of Deployment %s changed: starting a new API server", k.deployment)
	}
	k.stopContainer()
	k.template = string(tmpl)
	k.grace = defaultGracePeriod
	if s := d.Spec.Template.Spec.TerminationGracePeriodSeconds; s != nil {
		k.grace = time.Duration(*s) * time.Second
	}
	k.volumes = map[string]volumeContent{}
	k.restarts, k.nextStart = 0, time.Time{}
	return os.RemoveAll(k.sandbox.root)
}

func (k *kubelet) runContainer(ctx context.Context, spec *corev1.PodSpec) error {
	var ctr *corev1.Container
	for i := range spec.Containers {
		if spec.Containers[i].Name == k.container {
			ctr = &spec.Containers[i]
		}
	}
	if ctr == nil {
		return fmt.Errorf("no container %q in Deployment %s", k.container, k.deployment)
	}
	if err := k.syncVolumes(ctx, spec, ctr); err != nil {
		if k.proc != nil && !k.proc.exited() {
			// A running container keeps the files it has, as under a kubelet.
			k.wait("keeping the API server's files as they are: " + err.Error())
			return nil
		}
		return fmt.Errorf("cannot start the API server yet: %w", err)
	}
	if k.proc != nil && k.proc.exited() {
		delay := min(firstBackoff<<k.restarts, maxBackoff)
		k.restarts++
		k.nextStart = time.Now().Add(delay)
		k.say("The API server stopped (%v); restarting it in %s. The end of its log (%s):\n    %s",
			k.proc.exitError(), delay, k.logPath, lastLine(k.logPath))
		k.proc = nil
	}
	if k.proc != nil || time.Now().Before(k.nextStart) {
		return nil
	}
	return k.start(ctx, ctr)
}

func (k *kubelet) start(ctx context.Context, ctr *corev1.Container) error {
	l, err := k.sandbox.translate(ctx, k.client, k.deployment.Namespace, ctr)
	if err != nil {
		return err
	}
	//nolint:gosec,noctx // the rendered Deployment's command; stopped with its grace period, not by a context
	cmd := exec.Command(l.path, l.args...)
	cmd.Env = l.env
	cmd.Dir = k.sandbox.root
	p, err := startProcess("the API server", cmd, k.logPath, syscall.SIGTERM)
	if err != nil {
		return err
	}
	k.proc, k.launched, k.waiting = p, l, ""
	return nil
}

// syncVolumes writes the volumes the container mounts, each at its mount path under the sandbox root, when
// their content changed.
func (k *kubelet) syncVolumes(ctx context.Context, spec *corev1.PodSpec, ctr *corev1.Container) error {
	for _, m := range ctr.VolumeMounts {
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				vol = &spec.Volumes[i]
			}
		}
		if vol == nil {
			return fmt.Errorf("volume %s is mounted but not defined", m.Name)
		}
		content, err := readVolume(ctx, k.client, k.deployment.Namespace, vol)
		if err != nil {
			return err
		}
		dir := filepath.Join(k.sandbox.root, m.MountPath)
		if content == nil {
			if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // an emptyDir, writable by the container
				return err
			}
			continue
		}
		if old, ok := k.volumes[m.MountPath]; ok && old.equal(content) {
			continue
		}
		if err := writeVolume(dir, content); err != nil {
			return fmt.Errorf("writing volume %s: %w", m.Name, err)
		}
		k.volumes[m.MountPath] = content
	}
	return nil
}

// probe runs the readiness probe once; a container without one is ready when it runs.
func (k *kubelet) probe(ctx context.Context) bool {
	if k.launched == nil || k.launched.readinessURL == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.launched.readinessURL, nil)
	if err != nil {
		return false
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode >= 200 && res.StatusCode < 400
}

// report writes the Deployment's status when it changed.
func (k *kubelet) report(ctx context.Context, d *appsv1.Deployment) error {
	running := k.proc != nil && !k.proc.exited()
	orig := d.DeepCopy()
	d.Status = deploymentStatus(d, running, k.ready.Load(), metav1.Now())
	if equality.Semantic.DeepEqual(orig.Status, d.Status) {
		return nil
	}
	if err := k.client.Status().Patch(ctx, d, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("writing the status of Deployment %s: %w", k.deployment, err)
	}
	return nil
}

// wait says why the container is not (re)started, once per reason.
func (k *kubelet) wait(reason string) {
	if reason != k.waiting {
		k.waiting = reason
		k.say("%s", reason)
	}
}

func (k *kubelet) stopContainer() {
	if k.proc != nil {
		k.proc.stop(k.grace, k.force)
		k.proc = nil
	}
	k.ready.Store(false)
}

// deploymentStatus is the status a Deployment controller would write for a Deployment of which one replica
// runs here (running) and passes its readiness probe (ready). make dev runs one replica whatever
// spec.replicas says; the Available condition follows that replica.
func deploymentStatus(d *appsv1.Deployment, running, ready bool, now metav1.Time) appsv1.DeploymentStatus {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	var current, available int32
	if running {
		current = 1
	}
	if ready {
		available = 1
	}
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            current,
		UpdatedReplicas:     current,
		ReadyReplicas:       available,
		AvailableReplicas:   available,
		UnavailableReplicas: max(desired-available, 0),
	}
	avail := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse,
		Reason: "MinimumReplicasUnavailable", Message: "The API server process is not ready (make dev)"}
	progress := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
		Reason: "ReplicaSetUpdated", Message: "make dev is starting the API server as a local process"}
	if ready {
		avail.Status, avail.Reason = corev1.ConditionTrue, "MinimumReplicasAvailable"
		avail.Message = fmt.Sprintf("make dev runs 1 of %d replicas as a local process, and it is ready", desired)
		progress.Reason, progress.Message = "NewReplicaSetAvailable", "make dev runs the current pod template"
	}
	for _, c := range []appsv1.DeploymentCondition{avail, progress} {
		st.Conditions = append(st.Conditions, keepTimes(d.Status.Conditions, c, now))
	}
	return st
}

// keepTimes stamps a condition, keeping the times of the same condition in old when it did not change, so
// that an unchanged status is not written again.
func keepTimes(old []appsv1.DeploymentCondition, c appsv1.DeploymentCondition, now metav1.Time) appsv1.DeploymentCondition {
	c.LastTransitionTime, c.LastUpdateTime = now, now
	for _, o := range old {
		if o.Type != c.Type {
			continue
		}
		if o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		}
		if o.Status == c.Status && o.Reason == c.Reason && o.Message == c.Message {
			c.LastUpdateTime = o.LastUpdateTime
		}
	}
	return c
}
