package devenv

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestProcessLogsAndStops(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "p.log")
	p, err := startProcess("echo", exec.Command("sh", "-c", "echo one; echo two; echo"), log, syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	if got := lastLine(log); got != "two" {
		t.Errorf("lastLine = %q, want the last non-empty line", got)
	}

	// A process that ignores the stop signal is killed after the grace period; a closed force channel kills
	// at once.
	stubborn, err := startProcess("stubborn", exec.Command("sh", "-c", "trap '' TERM; echo trapped; sleep 30 & wait"), log, syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); lastLine(log) != "trapped"; { // from here on, SIGTERM is ignored
		if time.Now().After(deadline) {
			t.Fatal("the shell did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	stubborn.stop(300*time.Millisecond, nil)
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second || !stubborn.exited() {
		t.Errorf("stop took %s, exited %v; want the grace period, then a kill", d, stubborn.exited())
	}
	force := make(chan struct{})
	close(force)
	again, err := startProcess("stubborn", exec.Command("sh", "-c", "trap '' TERM; sleep 30 & wait"), log, syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	again.stop(time.Minute, force)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a forced stop took %s", d)
	}
}
