package mockprovider_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// flushDiscard is a ResponseWriter that drops what it is sent and can flush.
type flushDiscard struct{ discard }

func (flushDiscard) Flush() {}

// BenchmarkMockStream50Tokens is the mock's own cost per 50-token streamed answer (one chunk per token),
// without the network: it is the upstream of the benchmarks and must stay cheap per chunk.
func BenchmarkMockStream50Tokens(b *testing.B) {
	mock := mockprovider.New(mockprovider.Config{Record: 1})
	body := `{"model":"mock-chat+tokens:50","stream":true,"stream_options":{"include_usage":true},` +
		`"messages":[{"role":"user","content":"Say hello to the world."}]}`
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "/openai/v1/chat/completions", strings.NewReader(body))
		mock.ServeHTTP(flushDiscard{}, req)
	}
}
