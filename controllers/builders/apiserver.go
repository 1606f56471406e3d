package builders

import (
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// Options are the operator-wide settings the builders need besides the platform.
type Options struct {
	// APIServerImage is the API server image of platforms that do not set spec.apiServer.image: the
	// operator's own image.
	APIServerImage string
}

// defaultReplicas is the API server's replica count when the spec leaves it empty (the CRD defaults it too).
const defaultReplicas = 2

// secretFileMode makes mounted secret files readable by the pod's user and group only.
const secretFileMode int32 = 0o440

// Volume names of the API server pod.
const (
	volumeConfig    = "config"
	volumeSecrets   = "secrets"
	volumeAdmin     = "admin"
	volumeDatabase  = "database"
	volumeProviders = "providers"
	volumeTmp       = "tmp"
)

// APIServerImage is the image the platform's API server runs.
func APIServerImage(p *llmv1.LLMPlatform, o Options) string {
	if p.Spec.APIServer.Image != "" {
		return p.Spec.APIServer.Image
	}
	return o.APIServerImage
}

// APIServerArgs are the arguments of the API server command: /metrics on its own port, off the routes.
func APIServerArgs() []string {
	return []string{"apiserver", "--config=" + ConfigFile, fmt.Sprintf("--listen=:%d", APIServerPort),
		fmt.Sprintf("--metrics-listen=:%d", MetricsPort)}
}

// Replicas is the number of API server pods the platform asks for.
func Replicas(p *llmv1.LLMPlatform) int32 {
	if p.Spec.APIServer.Replicas == nil {
		return defaultReplicas
	}
	return *p.Spec.APIServer.Replicas
}

// Deployment runs the API server. Its pod template changes only when a restart is really needed (image,
// resources, scheduling, the set of mounted Secrets): configuration and Secret contents reach running pods
// as updated files, so there is deliberately no checksum of them here.
func Deployment(p *llmv1.LLMPlatform, o Options) *appsv1.Deployment {
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: objectMeta(p, APIServerName(p), ComponentAPIServer),
		Spec: appsv1.DeploymentSpec{
			Replicas: new(Replicas(p)),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentAPIServer)},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      Labels(p, ComponentAPIServer),
					Annotations: podAnnotations(),
				},
				Spec: apiServerPodSpec(p, o),
			},
		},
	}
}

// podAnnotations name the default container for kubectl, and tell a Prometheus that discovers pods by the
// common prometheus.io annotations where the metrics are.
func podAnnotations() map[string]string {
	return map[string]string{
		"kubectl.kubernetes.io/default-container": APIServerContainer,
		"prometheus.io/scrape":                    "true",
		"prometheus.io/port":                      strconv.Itoa(MetricsPort),
		"prometheus.io/path":                      MetricsPath,
	}
}

// labelValues converts the spec's node selector to a pod's; nil stays nil.
func labelValues(in map[string]llmv1.LabelValue) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = string(v)
	}
	return out
}

func apiServerPodSpec(p *llmv1.LLMPlatform, o Options) corev1.PodSpec {
	s := p.Spec.APIServer
	spec := corev1.PodSpec{
		ServiceAccountName:           APIServerName(p),
		AutomountServiceAccountToken: new(false),
		EnableServiceLinks:           new(false),
		SecurityContext:              podSecurityContext(APIServerUID),
		Containers:                   []corev1.Container{apiServerContainer(p, o)},
		Volumes:                      apiServerVolumes(p),
		NodeSelector:                 labelValues(s.NodeSelector),
	}
	for i := range s.Tolerations {
		spec.Tolerations = append(spec.Tolerations, *s.Tolerations[i].DeepCopy())
	}
	if s.Affinity != nil {
		spec.Affinity = s.Affinity.DeepCopy()
	}
	return spec
}

func apiServerContainer(p *llmv1.LLMPlatform, o Options) corev1.Container {
	mounts := []corev1.VolumeMount{
		{Name: volumeConfig, MountPath: ConfigDir, ReadOnly: true},
		{Name: volumeSecrets, MountPath: SecretsDir, ReadOnly: true},
		{Name: volumeAdmin, MountPath: AdminDir, ReadOnly: true},
		{Name: volumeDatabase, MountPath: DatabaseDir, ReadOnly: true},
	}
	if len(providerKeySources(p)) > 0 {
		mounts = append(mounts, corev1.VolumeMount{Name: volumeProviders, MountPath: ProvidersDir, ReadOnly: true})
	}
	mounts = append(mounts, corev1.VolumeMount{Name: volumeTmp, MountPath: "/tmp"})
	return corev1.Container{
		Name:    APIServerContainer,
		Image:   APIServerImage(p, o),
		Command: []string{APIServerCommand},
		Args:    APIServerArgs(),
		Ports: []corev1.ContainerPort{
			{Name: APIServerPortName, ContainerPort: APIServerPort, Protocol: corev1.ProtocolTCP},
			{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
		},
		StartupProbe:    httpProbe(LivenessPath, 2, 60),
		LivenessProbe:   httpProbe(LivenessPath, 10, 3),
		ReadinessProbe:  httpProbe(ReadinessPath, 5, 3),
		Resources:       *p.Spec.APIServer.Resources.DeepCopy(),
		SecurityContext: containerSecurityContext(),
		VolumeMounts:    mounts,
	}
}

func httpProbe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString(APIServerPortName), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds:    period,
		TimeoutSeconds:   3,
		FailureThreshold: failures,
	}
}

// apiServerVolumes mounts the config, the generated secrets, the admin credentials, the database URL and the
// provider keys. Each is one volume, so the volume list does not grow with the number of keys.
func apiServerVolumes(p *llmv1.LLMPlatform) []corev1.Volume {
	dbSecret, dbKey := DatabaseURLSecret(p)
	vols := []corev1.Volume{
		{Name: volumeConfig, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(p)},
		}}},
		{Name: volumeSecrets, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: new(secretFileMode),
			Sources: []corev1.VolumeProjection{
				secretProjection(JWTSecretName(p), false, corev1.KeyToPath{Key: KeyKey, Path: "jwt/key"}),
				secretProjection(EncryptionSecretName(p), false, corev1.KeyToPath{Key: KeyKey, Path: "encryption/key"}),
				secretProjection(InternalSecretName(p), false, corev1.KeyToPath{Key: TokenKey, Path: "internal/token"}),
			},
		}}},
		{Name: volumeAdmin, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: AdminSecret(p), DefaultMode: new(secretFileMode),
		}}},
		{Name: volumeDatabase, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  dbSecret,
			Items:       []corev1.KeyToPath{{Key: dbKey, Path: DatabaseURLKey}},
			DefaultMode: new(secretFileMode),
		}}},
	}
	if sources := providerKeySources(p); len(sources) > 0 {
		vols = append(vols, corev1.Volume{Name: volumeProviders, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: sources, DefaultMode: new(secretFileMode)},
		}})
	}
	return append(vols, corev1.Volume{Name: volumeTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
}

// providerKeySources project every provider key as <secretName>/<key>, one source per Secret, in the order
// the Secrets first appear in the spec. The sources are optional: a missing Secret leaves its key out (and
// ProvidersReady says so) instead of keeping the whole API server from starting.
func providerKeySources(p *llmv1.LLMPlatform) []corev1.VolumeProjection {
	var names []string
	keys := map[string][]corev1.KeyToPath{}
	for _, pr := range p.Spec.Providers {
		for _, k := range pr.Keys {
			ref := k.SecretRef
			item := corev1.KeyToPath{Key: ProviderKeyName(ref), Path: ref.Name + "/" + ProviderKeyName(ref)}
			if _, seen := keys[ref.Name]; !seen {
				names = append(names, ref.Name)
			}
			if !slices.Contains(keys[ref.Name], item) {
				keys[ref.Name] = append(keys[ref.Name], item)
			}
		}
	}
	var sources []corev1.VolumeProjection
	for _, n := range names {
		sources = append(sources, secretProjection(n, true, keys[n]...))
	}
	return sources
}

func secretProjection(name string, optional bool, items ...corev1.KeyToPath) corev1.VolumeProjection {
	return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: name},
		Items:                items,
		Optional:             new(optional),
	}}
}

// AdminSecret names the Secret holding the bootstrap admin: spec.auth.adminSecretRef or the generated one.
func AdminSecret(p *llmv1.LLMPlatform) string {
	if ref := p.Spec.Auth.AdminSecretRef; ref != nil {
		return ref.Name
	}
	return AdminSecretName(p)
}

// DatabaseURLSecret names the Secret and key holding the database URL: the generated credentials of a managed
// database, or the external database's reference (key "uri" unless given).
func DatabaseURLSecret(p *llmv1.LLMPlatform) (name, key string) {
	if ext := p.Spec.Database.External; ext != nil {
		if ext.SecretRef.Key == "" {
			return ext.SecretRef.Name, DatabaseURLKey
		}
		return ext.SecretRef.Name, ext.SecretRef.Key
	}
	return DatabaseSecretName(p), DatabaseURLKey
}

// APIServerService is the API server's Service: its "http" port is the backend of the routes, its
// "metrics" port is for Prometheus inside the cluster (a ServiceMonitor selects it by name) and no route
// names it.
func APIServerService(p *llmv1.LLMPlatform) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(p, APIServerName(p), ComponentAPIServer),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(p, ComponentAPIServer),
			Ports: []corev1.ServicePort{
				{Name: APIServerPortName, Port: ServicePort, TargetPort: intstr.FromString(APIServerPortName), Protocol: corev1.ProtocolTCP},
				{Name: MetricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(MetricsPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// ServiceAccount is the API server's identity. It needs no access to the Kubernetes API, so no token is
// mounted.
func ServiceAccount(p *llmv1.LLMPlatform) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     typeMeta("v1", "ServiceAccount"),
		ObjectMeta:                   objectMeta(p, APIServerName(p), ComponentAPIServer),
		AutomountServiceAccountToken: new(false),
	}
}

// PodDisruptionBudget keeps all but one API server pod up during voluntary disruptions. It is nil when the
// platform runs one replica or none, where a budget would only block node drains.
func PodDisruptionBudget(p *llmv1.LLMPlatform) *policyv1.PodDisruptionBudget {
	if Replicas(p) <= 1 {
		return nil
	}
	maxUnavailable := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   typeMeta("policy/v1", "PodDisruptionBudget"),
		ObjectMeta: objectMeta(p, APIServerName(p), ComponentAPIServer),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &maxUnavailable,
			Selector:       &metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentAPIServer)},
		},
	}
}

// podSecurityContext runs a pod as uid, with its volumes writable by that group. Volume ownership is changed
// only when the volume's root does not match, so a large database volume mounts quickly.
func podSecurityContext(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:        new(true),
		RunAsUser:           new(uid),
		RunAsGroup:          new(uid),
		FSGroup:             new(uid),
		FSGroupChangePolicy: new(corev1.FSGroupChangeOnRootMismatch),
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurityContext meets the "restricted" Pod Security Standard, with a read-only root filesystem.
func containerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		ReadOnlyRootFilesystem:   new(true),
		RunAsNonRoot:             new(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
