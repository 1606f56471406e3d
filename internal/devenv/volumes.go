package devenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dataDir is the kubelet's name for the symlink to a volume's current content.
const dataDir = "..data"

// Default file modes of Kubernetes volumes (corev1.ConfigMapVolumeSourceDefaultMode and friends).
const defaultVolumeMode = 0o644

// volumeFile is one file of a ConfigMap, Secret or projected volume.
type volumeFile struct {
	data []byte
	mode os.FileMode
}

// volumeContent maps the paths of a volume's files (relative, slash-separated) to their content.
type volumeContent map[string]volumeFile

func (v volumeContent) equal(o volumeContent) bool {
	return maps.EqualFunc(v, o, func(a, b volumeFile) bool { return a.mode == b.mode && string(a.data) == string(b.data) })
}

// errUnsupportedVolume marks a volume kind that `make dev` does not materialise.
var errUnsupportedVolume = errors.New("unsupported volume")

// readVolume reads the content of a ConfigMap, Secret or projected volume from the control plane. emptyDir
// volumes have no content (nil, nil). A missing object or key that is not optional is an error, as it keeps
// a kubelet from starting the pod.
func readVolume(ctx context.Context, c client.Reader, namespace string, v *corev1.Volume) (volumeContent, error) {
	out := volumeContent{}
	switch {
	case v.EmptyDir != nil:
		return nil, nil
	case v.ConfigMap != nil:
		s := v.ConfigMap
		err := addConfigMap(ctx, c, namespace, s.Name, s.Items, isTrue(s.Optional), modeOr(s.DefaultMode), out)
		return out, err
	case v.Secret != nil:
		s := v.Secret
		err := addSecret(ctx, c, namespace, s.SecretName, s.Items, isTrue(s.Optional), modeOr(s.DefaultMode), out)
		return out, err
	case v.Projected != nil:
		mode := modeOr(v.Projected.DefaultMode)
		for _, src := range v.Projected.Sources {
			var err error
			switch {
			case src.Secret != nil:
				err = addSecret(ctx, c, namespace, src.Secret.Name, src.Secret.Items, isTrue(src.Secret.Optional), mode, out)
			case src.ConfigMap != nil:
				err = addConfigMap(ctx, c, namespace, src.ConfigMap.Name, src.ConfigMap.Items, isTrue(src.ConfigMap.Optional), mode, out)
			default:
				err = fmt.Errorf("%w: volume %s projects a source other than Secrets and ConfigMaps", errUnsupportedVolume, v.Name)
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: volume %s is neither a ConfigMap, a Secret, a projected volume nor an emptyDir", errUnsupportedVolume, v.Name)
}

func addSecret(ctx context.Context, c client.Reader, ns, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode, out volumeContent) error {
	s := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) && optional {
			return nil
		}
		return fmt.Errorf("reading Secret %s: %w", name, err)
	}
	return addKeys("Secret "+name, s.Data, items, optional, mode, out)
}

func addConfigMap(ctx context.Context, c client.Reader, ns, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode, out volumeContent) error {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) && optional {
			return nil
		}
		return fmt.Errorf("reading ConfigMap %s: %w", name, err)
	}
	data := maps.Clone(cm.BinaryData)
	if data == nil {
		data = map[string][]byte{}
	}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	return addKeys("ConfigMap "+name, data, items, optional, mode, out)
}

// addKeys adds the listed keys (every key when items is empty) as files.
func addKeys(what string, data map[string][]byte, items []corev1.KeyToPath, optional bool, mode os.FileMode, out volumeContent) error {
	if len(items) == 0 {
		for k, v := range data {
			out[k] = volumeFile{data: v, mode: mode}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		out[path.Clean(it.Path)] = volumeFile{data: v, mode: m}
	}
	return nil
}

func modeOr(m *int32) os.FileMode {
	if m == nil {
		return defaultVolumeMode
	}
	return os.FileMode(*m)
}

func isTrue(b *bool) bool { return b != nil && *b }

// writeVolume lays out content in dir the way the kubelet's atomic writer does: the files live in a hidden
// timestamped directory, "..data" is a symlink to it, and each top-level entry is a symlink through
// "..data". An update writes a new directory and swaps "..data" with one rename, so a reader never sees half
// of an update, and programs that watch the directory (the API server reloads its config and secrets) see
// exactly the events they see in a pod.
func writeVolume(dir string, content volumeContent) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // as a kubelet's volume: the files carry their own modes
		return err
	}
	next, err := os.MkdirTemp(dir, "..")
	if err != nil {
		return err
	}
	for rel, f := range content {
		p := filepath.Join(next, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil { //nolint:gosec // as a kubelet's volume
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode.Perm()); err != nil {
			return err
		}
		// WriteFile's mode is filtered by the umask; the volume's mode is not.
		if err := os.Chmod(p, f.mode.Perm()); err != nil {
			return err
		}
	}
	if err := os.Chmod(next, 0o755); err != nil { //nolint:gosec // as a kubelet's volume: the files carry their own modes
		return err
	}
	data := filepath.Join(dir, dataDir)
	previous, _ := os.Readlink(data)
	tmp := data + "_tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(next), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, data); err != nil {
		return err
	}
	if err := linkTopLevel(dir, content); err != nil {
		return err
	}
	if previous != "" && previous != filepath.Base(next) {
		return os.RemoveAll(filepath.Join(dir, previous))
	}
	return nil
}

// linkTopLevel points each top-level name of content through "..data" and removes the links of names that
// are gone.
func linkTopLevel(dir string, content volumeContent) error {
	want := map[string]bool{}
	for rel := range content {
		top, _, _ := strings.Cut(rel, "/")
		want[top] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") || want[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	for _, top := range slices.Sorted(maps.Keys(want)) {
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDir, top), link); err != nil {
			return err
		}
	}
	return nil
}
