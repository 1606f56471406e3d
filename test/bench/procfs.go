package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of the times in /proc/<pid>/stat (100 on every Linux
// architecture Go supports).
const clockTick = 100

// procStat is what the harness reads of /proc/<pid>/stat.
type procStat struct {
	ppid int
	// cpu is the process's own user + system time; children is that of its children it has waited for.
	cpu, children time.Duration
}

// parseStat parses the content of /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || end+2 > len(data) {
		return procStat{}, fmt.Errorf("malformed stat line")
	}
	// fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
	fields := strings.Fields(string(data[end+2:]))
	if len(fields) < 15 {
		return procStat{}, fmt.Errorf("stat line has %d fields after the name", len(fields))
	}
	var n [5]int64
	for i, f := range []string{fields[1], fields[11], fields[12], fields[13], fields[14]} {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("stat field %q: %w", f, err)
		}
		n[i] = v
	}
	tick := time.Second / clockTick
	return procStat{ppid: int(n[0]), cpu: time.Duration(n[1]+n[2]) * tick, children: time.Duration(n[3]+n[4]) * tick}, nil
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(data)
}

// processCPU is a process's user + system time, all its threads included.
func processCPU(pid int) time.Duration {
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	return st.cpu
}

// treeCPU is the CPU time of a process and of its children, live or exited: PostgreSQL runs every connection
// in a backend process of its own. A child that exits between two readings moves from the live sum into the
// parent's children time (the postmaster waits for its backends), so the difference of two readings counts
// it once.
func treeCPU(root int) time.Duration {
	st, err := readStat(root)
	if err != nil {
		return 0
	}
	total := st.cpu + st.children
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if c, err := readStat(pid); err == nil && c.ppid == root {
			total += c.cpu
		}
	}
	return total
}

// rssBytes is a process's resident memory (VmRSS).
func rssBytes(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	return parseVmRSS(f)
}

// parseVmRSS finds "VmRSS: <n> kB" in the content of /proc/<pid>/status.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// loadAverage is the first field of /proc/loadavg (the one-minute load average).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return f[0] + " " + f[1] + " " + f[2]
}
