package apiserver_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/internal/testutil/procstat"
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
		st, err := procstat.Read(backend)
		if err != nil {
			b.Fatal(err)
		}
		postmaster := st.PPID
		pg0, self0, start := procstat.TreeCPU(postmaster), procstat.SelfCPU(), time.Now()
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
		b.ReportMetric(float64((procstat.SelfCPU()-self0).Microseconds())/n, "proc-µs/op")
		b.ReportMetric(float64((procstat.TreeCPU(postmaster)-pg0).Microseconds())/n, "pg-µs/op")
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
