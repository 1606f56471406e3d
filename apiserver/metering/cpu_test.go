package metering_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/store"
)

// cpuMeter measures CPU time spent by this process and by the PostgreSQL server (the postmaster's children,
// read from /proc) over a benchmark.
type cpuMeter struct {
	postmaster int
	pg0, self0 time.Duration
}

// clockTick is the kernel's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTick = 100

func startCPU(b *testing.B, db *store.DB) *cpuMeter {
	b.Helper()
	var backend int
	if err := db.Pool().QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	c := &cpuMeter{postmaster: parentOf(backend)}
	c.pg0, c.self0 = c.pgCPU(), selfCPU()
	return c
}

func (c *cpuMeter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64((c.pgCPU()-c.pg0).Microseconds())/n, "pg-µs/op")
	b.ReportMetric(float64((selfCPU()-c.self0).Microseconds())/n, "proc-µs/op")
}

// stat reads a process's parent and CPU time (user + system).
func stat(pid int) (ppid int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return ppid, time.Duration(utime+stime) * time.Second / clockTick, true
}

func parentOf(pid int) int {
	ppid, _, _ := stat(pid)
	return ppid
}

// pgCPU sums the CPU time of the postmaster's live children (connections and background workers).
func (c *cpuMeter) pgCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, cpu, ok := stat(pid); ok && (ppid == c.postmaster || pid == c.postmaster) {
			total += cpu
		}
	}
	return total
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
