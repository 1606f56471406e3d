package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestStopLeftoversStopsOnlyTheRecordedProcesses(t *testing.T) {
	start := func() (*exec.Cmd, uint64) {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		comm, _, ppid, started, err := procStat(cmd.Process.Pid)
		if err != nil || comm != "sleep" || ppid != os.Getpid() {
			t.Fatalf("procStat = %q, %d, %v", comm, ppid, err)
		}
		return cmd, started
	}
	left, leftStart := start()
	other, otherStart := start()
	path := filepath.Join(t.TempDir(), "pids")
	// The second line names a process that has the id but not the start time: an id reused since.
	record := fmt.Sprintf("%d %d\n%d %d\n", left.Process.Pid, leftStart, other.Process.Pid, otherStart+1)
	if err := os.WriteFile(path, []byte(record), 0o600); err != nil {
		t.Fatal(err)
	}
	stopped, err := stopLeftovers(path)
	if err != nil || !slices.Equal(stopped, []int{left.Process.Pid}) {
		t.Fatalf("stopLeftovers = %v, %v; want only %d", stopped, err, left.Process.Pid)
	}
	if err := left.Wait(); err == nil {
		t.Error("the recorded process was not stopped")
	}
	if _, state, _, now, err := procStat(other.Process.Pid); err != nil || state == "Z" || now != otherStart {
		t.Errorf("a process whose start time differs was stopped: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the record was kept: %v", err)
	}
	if stopped, err := stopLeftovers(path); err != nil || stopped != nil {
		t.Errorf("without a record: %v, %v", stopped, err)
	}
}
