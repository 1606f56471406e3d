package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsEmptyAndIsolated(t *testing.T) {
	ctx := context.Background()
	first, second := NewDatabase(t), NewDatabase(t)
	if first == second {
		t.Fatalf("two calls returned the same database %s", first)
	}
	conn, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatalf("creating a table: %v", err)
	}
	other, err := pgx.Connect(ctx, second)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer func() { _ = other.Close(ctx) }()
	var n int
	if err := other.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("table created in one database is visible in another")
	}
}

// TestServerDiesWithTheTestProcess starts a server from a child test process, kills that process with
// SIGKILL (as a test binary killed on timeout would end, without running Stop) and expects the server and
// every process it started to be gone.
func TestServerDiesWithTheTestProcess(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") == "1" {
		runHelper()
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has a parent-death signal")
	}
	//nolint:gosec // this test binary, run again as the helper
	helper := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheTestProcess$")
	// The helper's TestMain uses this package's server instead of starting one more.
	helper.Env = append(os.Environ(), "PGTEST_HELPER=1", "TEST_DATABASE_URL="+adminURL)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = helper.Process.Kill(); _ = helper.Wait() }()
	var pid int
	var dir string
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		if _, err := fmt.Sscanf(scanner.Text(), "server %d %s", &pid, &dir); err == nil {
			break
		}
		t.Logf("helper: %s", scanner.Text())
	}
	if pid == 0 {
		t.Fatal("the helper did not report a server")
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	processes := append([]int{pid}, childrenOf(pid)...)
	if len(processes) < 2 {
		t.Fatalf("the postmaster %d has no child processes to check", pid)
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range processes {
		for running(p) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d of the server (postmaster %d) still runs after its test process was killed", p, pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// runHelper starts a server, reports its postmaster's pid and directory, and waits to be killed.
func runHelper() {
	srv, err := Start()
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(1)
	}
	fmt.Printf("server %d %s\n", srv.proc.Pid, srv.dir)
	time.Sleep(2 * time.Minute)
	srv.Stop()
	os.Exit(1) // not killed: the parent test has failed already
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var children []int
	for _, f := range stats {
		state, ppid, ok := procStat(f)
		if ok && ppid == pid && state != "Z" {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			children = append(children, n)
		}
	}
	return children
}

// running reports whether pid exists and is not a zombie (a zombie has exited; its reaper may be slow).
func running(pid int) bool {
	state, _, ok := procStat(fmt.Sprintf("/proc/%d/stat", pid))
	return ok && state != "Z" && state != "X"
}

// procStat reads a process's state and parent pid from /proc/<pid>/stat ("pid (comm) state ppid ...").
func procStat(path string) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}
