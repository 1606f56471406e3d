package apiserver_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkV1ChatCompletion sends /v1/chat/completions calls with 50 concurrent clients, with a quota of
// every counted kind in force (so every call reserves and settles), and the same calls straight to the mock:
// non-streamed, and streams of 50 tokens (one chunk each). It reports requests per second and CPU per call of this process (API server, mock and clients
// together: subtract the direct run's to get the API server's) and of the PostgreSQL server (pg-µs/op).
func BenchmarkV1ChatCompletion(b *testing.B) {
	e := newMeterEnv(b, meterOptions{quotas: `- {name: all, subjects: {allUsers: true}, limits: {requestsPerMinute: 1000000000, tokensPerDay: 1000000000000, costPerMonth: "1000000"}}` + "\n"})
	e.waitFor("the quota", func() bool { return len(e.srv.Meter.Quotas(nil)) == 1 })
	tok := e.apiToken(e.register("bench"), nil)
	body := `{"model":"oai/mock-chat","messages":[{"role":"user","content":"Say hello"}],"max_tokens":16}`
	transport := &http.Transport{MaxIdleConnsPerHost: 100}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	run := func(b *testing.B, url, auth, body string) {
		var backend int
		if err := e.srv.DB.Pool().QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
			b.Fatal(err)
		}
		postmaster := procParent(backend)
		pg0, self0, start := childrenCPU(postmaster), ownCPU(), time.Now()
		var failed atomic.Int64
		b.SetParallelism(25)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+auth)
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
		b.StopTimer()
		e.flush()
		n := float64(b.N)
		b.ReportMetric(n/time.Since(start).Seconds(), "req/s")
		b.ReportMetric(float64((ownCPU()-self0).Microseconds())/n, "proc-µs/op")
		b.ReportMetric(float64((childrenCPU(postmaster)-pg0).Microseconds())/n, "pg-µs/op")
		if failed.Load() > 0 {
			b.Errorf("%d calls failed", failed.Load())
		}
	}
	b.Run("direct", func(b *testing.B) {
		run(b, e.mockURL+"/openai/v1/chat/completions", "sk-direct", strings.Replace(body, "oai/mock-chat", "mock-chat", 1))
	})
	b.Run("v1-metered", func(b *testing.B) { run(b, e.base+"/v1/chat/completions", tok, body) })
	stream := `{"model":"oai/fifty","messages":[{"role":"user","content":"Say hello"}],"stream":true}`
	b.Run("direct-stream-50", func(b *testing.B) {
		run(b, e.mockURL+"/openai/v1/chat/completions", "sk-direct", strings.Replace(stream, "oai/fifty", "mock-chat+tokens:50", 1))
	})
	b.Run("v1-metered-stream-50", func(b *testing.B) { run(b, e.base+"/v1/chat/completions", tok, stream) })
}

// procStat reads a process's parent and CPU time (user + system) from /proc.
func procStat(pid int) (ppid int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return ppid, time.Duration(utime+stime) * 10 * time.Millisecond, true // USER_HZ = 100
}

func procParent(pid int) int {
	ppid, _, _ := procStat(pid)
	return ppid
}

// childrenCPU sums the CPU time of a process and its live children (the PostgreSQL server's processes).
func childrenCPU(parent int) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		if ppid, cpu, ok := procStat(pid); ok && (ppid == parent || pid == parent) {
			total += cpu
		}
	}
	return total
}

func ownCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
