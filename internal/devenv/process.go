package devenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is a child process with its output in a log file. It runs in its own process group, so that a
// Ctrl-C in the terminal reaches only the runner, which stops its children in order; and it gets a signal
// from the kernel if the runner dies, so that nothing is left behind.
type process struct {
	name    string
	cmd     *exec.Cmd
	stopSig syscall.Signal
	done    chan struct{}
	err     error
}

// startProcess starts cmd with its stdout and stderr appended to logPath. stopSig is the signal that asks
// the program to shut down (SIGTERM for most, SIGINT for PostgreSQL's fast shutdown); it is also the signal
// the program receives if the runner dies.
func startProcess(name string, cmd *exec.Cmd, logPath string, stopSig syscall.Signal) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // the runner's own log directory
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = stopSig
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, stopSig: stopSig, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended; call it only after done is closed.
func (p *process) exitError() error {
	if p.err == nil {
		return fmt.Errorf("%s exited", p.name)
	}
	return fmt.Errorf("%s exited: %w", p.name, p.err)
}

// stop asks the process group to shut down and waits up to grace for it, then kills it. A closed force
// channel kills at once (a second Ctrl-C).
func (p *process) stop(grace time.Duration, force <-chan struct{}) {
	if p.exited() {
		return
	}
	p.signal(p.stopSig)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return
	case <-timer.C:
	case <-force:
	}
	p.signal(syscall.SIGKILL)
	<-p.done
}

// signal sends sig to the process's group (the program and anything it started).
func (p *process) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// lastLine is the last non-empty line of a log file (within its last 4 KiB), or "" when there is none.
func lastLine(path string) string {
	f, err := os.Open(path) //nolint:gosec // the runner's own log directory
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	const tail = 4 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		if _, err := f.Seek(-tail, io.SeekEnd); err != nil {
			return ""
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return lines[len(lines)-1]
}
