package builders

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// defaultStorage is the size of the database and backup volumes when the spec leaves it empty (the CRD
// defaults it too).
var defaultStorage = resource.MustParse("10Gi")

// PostgresImage is the image of the managed database and its backups.
func PostgresImage(p *llmv1.LLMPlatform) string {
	if m := p.Spec.Database.Managed; m != nil && m.Image != "" {
		return m.Image
	}
	return DefaultPostgresImage
}

// PostgresStatefulSet runs the managed database: one replica, non-root, its data on a PersistentVolumeClaim
// that is kept or deleted with the StatefulSet as retainOnDelete says. It is nil for an external database.
func PostgresStatefulSet(p *llmv1.LLMPlatform) *appsv1.StatefulSet {
	m := p.Spec.Database.Managed
	if m == nil {
		return nil
	}
	whenDeleted := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	if RetainData(p) {
		whenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	return &appsv1.StatefulSet{
		TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
		ObjectMeta: objectMeta(p, PostgresName(p), ComponentDatabase),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    new(int32(1)),
			ServiceName: PostgresName(p),
			Selector:    &metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentDatabase)},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: whenDeleted,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels(p, ComponentDatabase)},
				Spec:       postgresPodSpec(p, m),
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: DataVolumeClaim, Labels: Labels(p, ComponentDatabase)},
				Spec:       pvcSpec(m.Storage),
			}},
		},
	}
}

func postgresPodSpec(p *llmv1.LLMPlatform, m *llmv1.ManagedDatabaseSpec) corev1.PodSpec {
	isReady := &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"pg_isready", "--host=127.0.0.1", "--port=" + strconv.Itoa(PostgresPort)},
		}},
		PeriodSeconds:    5,
		TimeoutSeconds:   5,
		FailureThreshold: 3,
	}
	alive := isReady.DeepCopy()
	alive.InitialDelaySeconds, alive.PeriodSeconds, alive.FailureThreshold = 30, 10, 6
	return corev1.PodSpec{
		AutomountServiceAccountToken: new(false),
		EnableServiceLinks:           new(false),
		SecurityContext:              podSecurityContext(PostgresUID),
		Containers: []corev1.Container{{
			Name:  "postgres",
			Image: PostgresImage(p),
			Env: []corev1.EnvVar{
				{Name: "PGDATA", Value: PGData},
				{Name: "POSTGRES_USER_FILE", Value: path.Join(PostgresSecretDir, DatabaseUsernameKey)},
				{Name: "POSTGRES_PASSWORD_FILE", Value: path.Join(PostgresSecretDir, DatabasePasswordKey)},
				{Name: "POSTGRES_DB_FILE", Value: path.Join(PostgresSecretDir, DatabaseNameKey)},
			},
			Ports:           []corev1.ContainerPort{{Name: "postgres", ContainerPort: PostgresPort, Protocol: corev1.ProtocolTCP}},
			ReadinessProbe:  isReady,
			LivenessProbe:   alive,
			Resources:       *m.Resources.DeepCopy(),
			SecurityContext: containerSecurityContext(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: DataVolumeClaim, MountPath: PostgresDataDir},
				{Name: "credentials", MountPath: PostgresSecretDir, ReadOnly: true},
				{Name: "run", MountPath: "/var/run/postgresql"},
				{Name: volumeTmp, MountPath: "/tmp"},
			},
		}},
		Volumes: []corev1.Volume{
			databaseCredentialsVolume(p),
			{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: volumeTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
}

// databaseCredentialsVolume mounts the role, password and database name of the managed database.
func databaseCredentialsVolume(p *llmv1.LLMPlatform) corev1.Volume {
	return corev1.Volume{Name: "credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: DatabaseSecretName(p),
		Items: []corev1.KeyToPath{
			{Key: DatabaseUsernameKey, Path: DatabaseUsernameKey},
			{Key: DatabasePasswordKey, Path: DatabasePasswordKey},
			{Key: DatabaseNameKey, Path: DatabaseNameKey},
		},
		DefaultMode: new(secretFileMode),
	}}}
}

func pvcSpec(s llmv1.StorageSpec) corev1.PersistentVolumeClaimSpec {
	size := defaultStorage
	if s.Size != nil {
		size = s.Size.DeepCopy()
	}
	return corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName: clone(s.StorageClassName),
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
	}
}

// PostgresService is the managed database's Service; the API server connects to it. Nil for an external
// database.
func PostgresService(p *llmv1.LLMPlatform) *corev1.Service {
	if p.Spec.Database.Managed == nil {
		return nil
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(p, PostgresName(p), ComponentDatabase),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(p, ComponentDatabase),
			Ports: []corev1.ServicePort{{
				Name: "postgres", Port: PostgresPort, TargetPort: intstr.FromString("postgres"), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// PostgresNetworkPolicy admits only this platform's API server pods (and its backup job's pods) to the
// managed database. Nil for an external database.
func PostgresNetworkPolicy(p *llmv1.LLMPlatform) *networkingv1.NetworkPolicy {
	m := p.Spec.Database.Managed
	if m == nil {
		return nil
	}
	peers := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentAPIServer)}}}
	if m.Backup != nil {
		peers = append(peers, networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentBackup)}})
	}
	tcp, port := corev1.ProtocolTCP, intstr.FromInt32(PostgresPort)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: objectMeta(p, PostgresName(p), ComponentDatabase),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(p, ComponentDatabase)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  peers,
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
}

// BackupPVC holds the backup files. Like the database's volume it is kept when the platform is deleted with
// retainOnDelete. Nil without a backup schedule.
func BackupPVC(p *llmv1.LLMPlatform) *corev1.PersistentVolumeClaim {
	m := p.Spec.Database.Managed
	if m == nil || m.Backup == nil {
		return nil
	}
	return &corev1.PersistentVolumeClaim{
		TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
		ObjectMeta: retainedMeta(p, BackupName(p), ComponentBackup),
		Spec:       pvcSpec(m.Backup.Storage),
	}
}

// backupScript dumps the database into a timestamped file in the custom format (restore with pg_restore),
// then removes all but the newest BACKUP_RETAIN files. The password is read from the mounted Secret into
// the script's environment only. A failed dump exits before the pruning and removes its partial file, so
// failures neither delete good dumps nor fill the volume.
const backupScript = `set -eu
export PGPASSWORD="$(cat ` + PostgresSecretDir + `/password)"
export PGUSER="$(cat ` + PostgresSecretDir + `/username)"
export PGDATABASE="$(cat ` + PostgresSecretDir + `/database)"
file="` + BackupDir + `/$(date -u +%Y%m%dT%H%M%SZ).dump"
trap 'rm -f "$file.partial"' EXIT
pg_dump --format=custom --file="$file.partial"
mv "$file.partial" "$file"
ls -1 ` + BackupDir + `/*.dump | sort -r | tail -n +$((BACKUP_RETAIN + 1)) | xargs -r rm -f --
echo "backup written: $file"
`

// BackupCronJob runs pg_dump on the spec's schedule and keeps the newest `retain` dumps. Nil without a backup
// schedule.
func BackupCronJob(p *llmv1.LLMPlatform) *batchv1.CronJob {
	m := p.Spec.Database.Managed
	if m == nil || m.Backup == nil {
		return nil
	}
	retain := m.Backup.Retain
	if retain < 1 {
		retain = 7
	}
	pod := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: new(false),
		EnableServiceLinks:           new(false),
		SecurityContext:              podSecurityContext(PostgresUID),
		Containers: []corev1.Container{{
			Name:    "pg-dump",
			Image:   PostgresImage(p),
			Command: []string{"/bin/sh", "-c", backupScript},
			Env: []corev1.EnvVar{
				{Name: "PGHOST", Value: PostgresName(p)},
				{Name: "PGPORT", Value: strconv.Itoa(PostgresPort)},
				{Name: "BACKUP_RETAIN", Value: strconv.Itoa(int(retain))},
			},
			SecurityContext: containerSecurityContext(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "backup", MountPath: BackupDir},
				{Name: "credentials", MountPath: PostgresSecretDir, ReadOnly: true},
				{Name: volumeTmp, MountPath: "/tmp"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "backup", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: BackupName(p)}}},
			databaseCredentialsVolume(p),
			{Name: volumeTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	return &batchv1.CronJob{
		TypeMeta:   typeMeta("batch/v1", "CronJob"),
		ObjectMeta: objectMeta(p, BackupName(p), ComponentBackup),
		Spec: batchv1.CronJobSpec{
			Schedule:                   m.Backup.Schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: new(int32(3)),
			FailedJobsHistoryLimit:     new(int32(3)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels(p, ComponentBackup)},
				Spec: batchv1.JobSpec{
					BackoffLimit: new(int32(2)),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: Labels(p, ComponentBackup)},
						Spec:       pod,
					},
				},
			},
		},
	}
}

// DatabaseEndpoint is the managed database's host:port, for status. External endpoints are read from their
// URL by ExternalEndpoint.
func DatabaseEndpoint(p *llmv1.LLMPlatform) string {
	if p.Spec.Database.Managed == nil {
		return ""
	}
	return PostgresEndpoint(p)
}

// ExternalEndpoint extracts host:port (never credentials) from a PostgreSQL URL, or "" when the value is not
// a postgres:// or postgresql:// URL with a host.
func ExternalEndpoint(uri string) string {
	// The parse error is dropped on purpose: it would quote the URL, password included.
	u, err := url.Parse(strings.TrimSpace(uri))
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return ""
	}
	if u.Port() == "" {
		return fmt.Sprintf("%s:%d", u.Hostname(), PostgresPort)
	}
	return u.Host
}
