package devenv

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// controlPlane is a local kube-apiserver and etcd (envtest's), with the CRDs installed. etcd keeps its data
// in a directory, so that the tenant, its generated Secrets (and so the admin's password) survive a restart.
type controlPlane struct {
	env    *envtest.Environment
	config *rest.Config
	logs   []*os.File
}

// startControlPlane starts etcd and kube-apiserver from the binaries in assets, installs the CRDs found in
// crdDir, and writes an admin kubeconfig to kubeconfig.
func startControlPlane(assets, crdDir, etcdDir, kubeconfig, logDir string) (*controlPlane, error) {
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return nil, err
	}
	etcdLog, err := os.Create(filepath.Join(logDir, "etcd.log")) //nolint:gosec // the runner's own log directory
	if err != nil {
		return nil, err
	}
	apiLog, err := os.Create(filepath.Join(logDir, "kube-apiserver.log")) //nolint:gosec // the runner's own log directory
	if err != nil {
		_ = etcdLog.Close()
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{DataDir: etcdDir, Out: etcdLog, Err: etcdLog},
			APIServer: &envtest.APIServer{Out: apiLog, Err: apiLog},
		},
	}
	cp := &controlPlane{env: env, logs: []*os.File{etcdLog, apiLog}}
	if cp.config, err = env.Start(); err != nil {
		cp.stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s (logs in %s): %w", assets, logDir, err)
	}
	user, err := env.AddUser(envtest.User{Name: "developer", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.stop()
		return nil, err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		cp.stop()
		return nil, err
	}
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		cp.stop()
		return nil, err
	}
	return cp, nil
}

func (cp *controlPlane) stop() {
	_ = cp.env.Stop()
	for _, f := range cp.logs {
		_ = f.Close()
	}
}
