package devenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// sandbox is what a container's paths and ports become on this machine: the mounts live under root (each
// mount path materialised below it, as in a container's root filesystem), the image's PATH is binDirs, and
// each container port is served on a local address.
type sandbox struct {
	root    string
	binDirs []string
	ports   map[int32]string
}

// launch is a container turned into a local command.
type launch struct {
	path string
	args []string
	env  []string
	// readinessURL is the readiness probe's URL on this machine, empty without an HTTP readiness probe.
	readinessURL string
	// readinessPeriod is how often the probe runs once it passed.
	readinessPeriod time.Duration
}

// defaultProbePeriod is a probe's periodSeconds when left empty.
const defaultProbePeriod = 10 * time.Second

// wildcardListen matches a listen address on every interface of the pod: ":8080", "0.0.0.0:8080", "[::]:8080".
var wildcardListen = regexp.MustCompile(`^(0\.0\.0\.0|\[::\])?:([0-9]+)$`)

// hostPath is where a container path lives on this machine: under root when it is inside a mount, else
// unchanged.
func (s sandbox) hostPath(mounts []corev1.VolumeMount, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	for _, m := range mounts {
		if p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return filepath.Join(s.root, p)
		}
	}
	return p
}

// value translates one argument or environment value: a listen address on a declared container port becomes
// that port's local address, a path inside a mount becomes its local path. Everything else is kept. A
// declared port without a local address is an error: kept as it is, the program would listen on every
// interface of this machine.
func (s sandbox) value(c *corev1.Container, v string) (string, error) {
	if m := wildcardListen.FindStringSubmatch(v); m != nil {
		if port, err := strconv.ParseInt(m[2], 10, 32); err == nil && declares(c, int32(port)) {
			addr, ok := s.ports[int32(port)]
			if !ok {
				return "", fmt.Errorf("container %s listens on its port %d (%s), which has no local address", c.Name, port, v)
			}
			return addr, nil
		}
	}
	return s.hostPath(c.VolumeMounts, v), nil
}

// arg translates a command-line argument, and the value of a "--flag=value" argument.
func (s sandbox) arg(c *corev1.Container, a string) (string, error) {
	if strings.HasPrefix(a, "-") {
		flag, v, ok := strings.Cut(a, "=")
		if !ok {
			return a, nil
		}
		v, err := s.value(c, v)
		return flag + "=" + v, err
	}
	return s.value(c, a)
}

func declares(c *corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}

// translate turns the container into a local command: the executable found on the image's PATH, the
// arguments with paths and listen addresses translated, and only the container's environment (plus PATH,
// and TMPDIR when /tmp is a mount), never the runner's, just as a container does not inherit the kubelet's.
func (s sandbox) translate(ctx context.Context, c client.Reader, namespace string, ctr *corev1.Container) (*launch, error) {
	if len(ctr.Command) == 0 {
		return nil, fmt.Errorf("container %s has no command: make dev runs only containers that name their executable", ctr.Name)
	}
	for _, m := range ctr.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, fmt.Errorf("container %s mounts %s with a subPath, which make dev does not support", ctr.Name, m.MountPath)
		}
	}
	if len(ctr.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s uses envFrom, which make dev does not support", ctr.Name)
	}
	exe, err := s.lookPath(ctr.Command[0])
	if err != nil {
		return nil, err
	}
	l := &launch{path: exe}
	for _, a := range slices.Concat(ctr.Command[1:], ctr.Args) {
		arg, err := s.arg(ctr, a)
		if err != nil {
			return nil, err
		}
		l.args = append(l.args, arg)
	}
	l.env = []string{"PATH=" + strings.Join(slices.Concat(s.binDirs, []string{"/usr/local/bin", "/usr/bin", "/bin"}), ":")}
	for _, m := range ctr.VolumeMounts {
		if m.MountPath == "/tmp" {
			l.env = append(l.env, "TMPDIR="+filepath.Join(s.root, "tmp"))
		}
	}
	for i := range ctr.Env {
		v, err := envValue(ctx, c, namespace, &ctr.Env[i])
		if err != nil {
			return nil, fmt.Errorf("container %s: env %s: %w", ctr.Name, ctr.Env[i].Name, err)
		}
		if v, err = s.value(ctr, v); err != nil {
			return nil, err
		}
		l.env = append(l.env, ctr.Env[i].Name+"="+v)
	}
	if p := ctr.ReadinessProbe; p != nil && p.HTTPGet != nil {
		if l.readinessURL, err = s.probeURL(ctr, p.HTTPGet); err != nil {
			return nil, err
		}
		l.readinessPeriod = defaultProbePeriod
		if p.PeriodSeconds > 0 {
			l.readinessPeriod = time.Duration(p.PeriodSeconds) * time.Second
		}
	}
	return l, nil
}

// lookPath finds the command on the image's PATH, as the container runtime does.
func (s sandbox) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return "", fmt.Errorf("command %s: make dev runs commands found on PATH, not absolute paths inside an image", name)
	}
	for _, d := range s.binDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %s not found in %s: run make build", name, strings.Join(s.binDirs, ":"))
}

// probeURL is where an HTTP probe reaches the container on this machine.
func (s sandbox) probeURL(ctr *corev1.Container, g *corev1.HTTPGetAction) (string, error) {
	port := g.Port.IntVal
	if g.Port.StrVal != "" {
		port = 0
		for _, p := range ctr.Ports {
			if p.Name == g.Port.StrVal {
				port = p.ContainerPort
			}
		}
	}
	addr, ok := s.ports[port]
	if !ok {
		return "", fmt.Errorf("container %s: the readiness probe's port %s has no local address", ctr.Name, g.Port.String())
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, p) + g.Path, nil
}

// envValue resolves an environment variable of the container: a literal, or a key of a Secret or ConfigMap.
func envValue(ctx context.Context, c client.Reader, namespace string, e *corev1.EnvVar) (string, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return e.Value, nil
	case src.SecretKeyRef != nil:
		content := volumeContent{}
		ref := src.SecretKeyRef
		if err := addSecret(ctx, c, namespace, ref.Name, []corev1.KeyToPath{{Key: ref.Key, Path: "v"}}, isTrue(ref.Optional), 0, content); err != nil {
			return "", err
		}
		return string(content["v"].data), nil
	case src.ConfigMapKeyRef != nil:
		content := volumeContent{}
		ref := src.ConfigMapKeyRef
		if err := addConfigMap(ctx, c, namespace, ref.Name, []corev1.KeyToPath{{Key: ref.Key, Path: "v"}}, isTrue(ref.Optional), 0, content); err != nil {
			return "", err
		}
		return string(content["v"].data), nil
	}
	return "", fmt.Errorf("only values and Secret or ConfigMap keys are supported by make dev")
}
