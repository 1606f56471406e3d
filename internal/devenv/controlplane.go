package devenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// The control plane's processes are started by envtest, without a parent-death signal: when the runner is
// killed (SIGKILL, where it cannot stop them), they outlive it and etcd keeps its data directory locked. Their
// process ids, with their start times against reuse of an id, are recorded in a file, and the next start
// stops what is left.

// recordControlPlane writes the ids of the runner's kube-apiserver and etcd processes to path, in the order
// they are to be stopped: kube-apiserver first (it does not shut down once etcd is gone).
func recordControlPlane(path string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	lines := map[string]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _, ppid, start, err := procStat(pid)
		if err == nil && ppid == os.Getpid() && (comm == "etcd" || comm == "kube-apiserver") {
			lines[comm] += fmt.Sprintf("%d %d\n", pid, start)
		}
	}
	return os.WriteFile(path, []byte(lines["kube-apiserver"]+lines["etcd"]), 0o600)
}

// stopLeftovers stops, in order, the processes recorded in path that still run (the same id and start
// time), and returns their ids.
func stopLeftovers(path string) ([]int, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the runner's own state directory
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stopped []int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var pid int
		var start uint64
		if _, err := fmt.Sscan(line, &pid, &start); err != nil {
			continue
		}
		// A zombie has ended: its new parent (init) has yet to collect it.
		running := func() bool { _, state, _, now, err := procStat(pid); return err == nil && state != "Z" && now == start }
		if !running() {
			continue // gone, or the id belongs to another process now
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for deadline := time.Now().Add(5 * time.Second); running() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if running() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		stopped = append(stopped, pid)
	}
	return stopped, os.Remove(path)
}

// procStat reads a process's command name, state, parent id and start time (in clock ticks since boot) from
// /proc/<pid>/stat.
func procStat(pid int) (comm, state string, ppid int, start uint64, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", "", 0, 0, err
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	fields := strings.Fields(s[closing+1:])
	// After the command come the state (field 3), the parent id (4), … and the start time (22).
	if open < 0 || closing < open || len(fields) < 20 {
		return "", "", 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	if ppid, err = strconv.Atoi(fields[1]); err != nil {
		return "", "", 0, 0, err
	}
	if start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return "", "", 0, 0, err
	}
	return s[open+1 : closing], fields[0], ppid, start, nil
}
