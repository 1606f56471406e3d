package apiserver_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestShutdownLeavesNoGoroutines: a server that served requests and watched its files stops cleanly (Serve
// returns nil) and leaves no goroutine behind.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	e := newEnv(t, envOptions{})
	s := e.register("kim")
	e.expect(e.do("GET", "/api/v1/auth/me", s.access, nil), 200)
	e.stop()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuthenticatedRequest measures GET /api/v1/auth/me over HTTP (token check, cached session state,
// one user query); cpu-us/op is the whole process's CPU (client and server) per request.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	e := newEnv(b, envOptions{})
	s := e.register("bench")
	req, _ := http.NewRequest("GET", e.base+"/api/v1/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+s.access)
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("%v %v", res, err)
		}
		_ = res.Body.Close()
	}
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-us/op")
	b.StopTimer()
	e.stop()
}

// TestDrainFailsReadinessWhileServing: during the drain delay /readyz answers 503 and requests are still
// served; then Serve returns.
func TestDrainFailsReadinessWhileServing(t *testing.T) {
	e := newEnv(t, envOptions{drain: 400 * time.Millisecond})
	e.cancel()
	e.cancel = nil
	waitFor(t, "readiness to fail", func() bool {
		code, _, _ := get(t, e.base+"/readyz")
		return code == 503
	})
	if code, _, _ := get(t, e.base+"/healthz"); code != 200 {
		t.Errorf("healthz while draining = %d, want 200", code)
	}
	select {
	case err := <-e.stopped:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	e.srv.Close()
}
