// Package procstat reads processes' CPU time from /proc, for benchmarks that report the CPU a request costs
// in this process and in others (the PostgreSQL server, whose every connection is a process of its own).
// Linux only.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of the times in /proc/<pid>/stat (100 on every Linux
// architecture Go supports).
const clockTick = 100

// Stat is what is read of /proc/<pid>/stat.
type Stat struct {
	PPID int
	// CPU is the process's own user + system time; Children is that of its children it has waited for.
	CPU, Children time.Duration
}

// Parse parses the content of /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func Parse(data []byte) (Stat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || end+2 > len(data) {
		return Stat{}, fmt.Errorf("malformed stat line")
	}
	// fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
	fields := strings.Fields(string(data[end+2:]))
	if len(fields) < 15 {
		return Stat{}, fmt.Errorf("stat line has %d fields after the name", len(fields))
	}
	var n [5]int64
	for i, f := range []string{fields[1], fields[11], fields[12], fields[13], fields[14]} {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("stat field %q: %w", f, err)
		}
		n[i] = v
	}
	tick := time.Second / clockTick
	return Stat{PPID: int(n[0]), CPU: time.Duration(n[1]+n[2]) * tick, Children: time.Duration(n[3]+n[4]) * tick}, nil
}

// Read reads a process's stat.
func Read(pid int) (Stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	return Parse(data)
}

// ProcessCPU is a process's user + system time, all its threads included; 0 when it cannot be read.
func ProcessCPU(pid int) time.Duration {
	st, err := Read(pid)
	if err != nil {
		return 0
	}
	return st.CPU
}

// TreeCPU is the CPU time of a process and of its children, live or exited. A child that exits between two
// readings moves from the live sum into the parent's children time (when the parent waits for it, as
// PostgreSQL's postmaster does for its backends), so the difference of two readings counts it once.
func TreeCPU(root int) time.Duration {
	st, err := Read(root)
	if err != nil {
		return 0
	}
	total := st.CPU + st.Children
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if c, err := Read(pid); err == nil && c.PPID == root {
			total += c.CPU
		}
	}
	return total
}

// SelfCPU is this process's user + system time.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
