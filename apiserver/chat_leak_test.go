package apiserver_test

import (
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/metering"
)

// TestChatAbortedStreamsLeaveNoGoroutines: 1,000 streams aborted by their clients after the first delta
// leave no goroutine behind (no stuck producer, heartbeat or upstream reader), and each was settled once,
// as stopped.
func TestChatAbortedStreamsLeaveNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 streams")
	}
	e := newChatEnv(t, chatOptions{})
	s := e.register("ned")
	path := func() string { return "/api/v1/conversations/" + e.conversation(s, "oai/slow", "") + "/messages" }
	abort := func(p string) {
		_, closeConn := e.firstDelta(p, s.access, map[string]any{"content": "go"})
		closeConn()
	}
	abort(path()) // warm up: connections, pools, timers
	e.waitSettled(1)
	// settle waits until no answer is streaming and the goroutine count is at most limit (or, with limit
	// -1, the same twice in a row), for at most 15s, and returns the count.
	settle := func(limit int) int {
		deadline := time.Now().Add(15 * time.Second)
		last := -1
		for {
			http.DefaultClient.CloseIdleConnections()
			n := runtime.NumGoroutine()
			idle := e.srv.Chat.ActiveStreams() == 0
			if idle && ((limit < 0 && n == last) || (limit >= 0 && n <= limit)) || time.Now().After(deadline) {
				return n
			}
			last = n
			time.Sleep(50 * time.Millisecond)
		}
	}
	base := settle(-1)
	const streams, workers = 1000, 8
	var wg sync.WaitGroup
	for range workers {
		p := path() // a conversation per worker: its history grows by one short pair per stream
		wg.Go(func() {
			for range streams / workers {
				abort(p)
			}
		})
	}
	wg.Wait()
	set := e.waitSettled(streams + 1)
	if n := settle(base + 5); n > base+5 {
		t.Errorf("%d goroutines after %d aborted streams, %d before", n, streams, base)
	}
	if a := e.srv.Chat.ActiveStreams(); a != 0 {
		t.Errorf("%d answers still registered as streaming", a)
	}
	stopped := 0
	for _, st := range set {
		if st.Outcome == metering.OutcomeStopped {
			stopped++
		}
	}
	if stopped != streams+1 || len(set) != streams+1 {
		t.Errorf("%d settlements, %d stopped; want %d, all stopped", len(set), stopped, streams+1)
	}
}

func cpuOfProcess() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChatStream50Tokens measures a 50-token streamed chat answer through the API server over HTTP
// (authentication, history, user turn and answer stored, one SSE event per token), with the mock provider in
// the same process. cpu-us/op is the whole process's CPU per answer: the API server, the mock and the client.
func BenchmarkChatStream50Tokens(b *testing.B) {
	e := newChatEnv(b, chatOptions{})
	s := e.register("bench")
	body := map[string]any{"content": "benchmark"}
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		conv := e.conversation(s, "oai/fifty", "") // a fresh conversation: the history stays empty
		e.mock.Reset()
		b.StartTimer()
		start := cpuOfProcess()
		st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, body)
		cpu += cpuOfProcess() - start
		if st.status != 200 || len(st.events) < 50 {
			b.Fatalf("stream: %d, %d events", st.status, len(st.events))
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
}
