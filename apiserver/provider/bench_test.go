package provider_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// benchModel is a 50-token reply, one token per chunk, sent as fast as possible.
const benchModel = "mock-chat+tokens:50+tps:0"

// replayTransport answers every request with the same recorded response, so that a benchmark measures the
// adapter alone: building the request, reading the stream, sniffing text and usage.
type replayTransport struct {
	header http.Header
	body   []byte
}

func (r *replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, req.Body)
	return &http.Response{
		StatusCode: http.StatusOK, Header: r.header, Request: req,
		Body: io.NopCloser(bytes.NewReader(r.body)),
	}, nil
}

// record captures the mock's answer to one streamed call of the adapter type.
func record(b *testing.B, typ, path string) *replayTransport {
	mock := mockprovider.New(mockprovider.Config{})
	rec := httptest.NewRecorder()
	var captured *http.Request
	capture := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		captured = req
		return nil, io.EOF
	})
	a := newAdapter(b, typ, "http://mock"+path, provider.Timeouts{}, capture)
	call := conversation(benchModel)
	_, _ = a.Stream(ctxFor(b), &call, func(provider.Event) error { return nil })
	mock.ServeHTTP(rec, captured.WithContext(context.Background())) // the call's own context has ended
	return &replayTransport{header: rec.Header(), body: rec.Body.Bytes()}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runStreams(b *testing.B, a provider.Adapter) {
	call := conversation(benchModel)
	var text strings.Builder
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		text.Reset()
		res, err := a.Stream(b.Context(), &call, func(ev provider.Event) error {
			text.WriteString(ev.Text)
			return nil
		})
		if err != nil || res.Usage.CompletionTokens != 50 || res.Usage.Estimated {
			b.Fatalf("stream: %v, usage %+v", err, res.Usage)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkStreamAdapter50Tokens is the adapter's own CPU per 50-token streamed answer (one chunk per
// token), from a recorded upstream response: what the API server spends in this package per stream.
func BenchmarkStreamAdapter50Tokens(b *testing.B) {
	for _, p := range protocols {
		b.Run(p.typ, func(b *testing.B) {
			rt := record(b, p.typ, p.path)
			runStreams(b, newAdapter(b, p.typ, "http://mock"+p.path, provider.Timeouts{FirstByte: time.Minute, BetweenChunks: time.Minute, Total: time.Hour}, rt))
		})
	}
}

// BenchmarkStreamOverHTTP50Tokens streams 50-token answers from the mock over real HTTP on 127.0.0.1 through
// the shared transport. The mock runs in the same process, so cpu-ns/op counts both sides.
func BenchmarkStreamOverHTTP50Tokens(b *testing.B) {
	_, base := startMock(b)
	a := newAdapter(b, config.ProviderOpenAICompatible, base+"/openai/v1",
		provider.Timeouts{FirstByte: time.Minute, BetweenChunks: time.Minute, Total: time.Hour}, newTransport(b))
	runStreams(b, a)
}
