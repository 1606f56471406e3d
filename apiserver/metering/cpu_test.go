package metering_test

import (
	"context"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/store"
	"github.com/llmplatform/llmplatform/internal/testutil/procstat"
)

// cpuMeter measures CPU time spent by this process and by the PostgreSQL server (the postmaster and its
// children, read from /proc) over a benchmark.
type cpuMeter struct {
	postmaster int
	pg0, self0 time.Duration
}

func startCPU(b *testing.B, db *store.DB) *cpuMeter {
	b.Helper()
	var backend int
	if err := db.Pool().QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	st, err := procstat.Read(backend)
	if err != nil {
		b.Fatal(err)
	}
	c := &cpuMeter{postmaster: st.PPID}
	c.pg0, c.self0 = procstat.TreeCPU(c.postmaster), procstat.SelfCPU()
	return c
}

func (c *cpuMeter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64((procstat.TreeCPU(c.postmaster)-c.pg0).Microseconds())/n, "pg-µs/op")
	b.ReportMetric(float64((procstat.SelfCPU()-c.self0).Microseconds())/n, "proc-µs/op")
}
