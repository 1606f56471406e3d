package mockprovider_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// post sends an OpenAI chat request to the mock with extra headers and returns the response.
func post(t *testing.T, ctx context.Context, base, model string, header http.Header) *http.Response {
	t.Helper()
	body := `{"model":"` + model + `","stream":true,"stream_options":{"include_usage":true},` +
		`"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/openai/v1/chat/completions", strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer k1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return resp
}

// contents reads an OpenAI stream and returns the concatenated content deltas and the error that ended it.
func contents(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var text strings.Builder
	for {
		line, err := br.ReadString('\n')
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && data != "[DONE]" {
			var chunk struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if jerr := json.Unmarshal([]byte(data), &chunk); jerr == nil && len(chunk.Choices) > 0 {
				text.WriteString(chunk.Choices[0].Delta.Content)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return text.String(), err
		}
	}
}

func TestDisconnectMidStream(t *testing.T) {
	mock, base := startMock(t)
	resp := post(t, t.Context(), base, "m+disconnect:3", nil)
	defer func() { _ = resp.Body.Close() }()
	text, err := contents(resp.Body)
	if err == nil {
		t.Error("the stream ended cleanly, want it cut")
	}
	if want := mockprovider.ReplyText(3); text != want {
		t.Errorf("text before the cut = %q, want %q", text, want)
	}
	out, _ := mock.LastRequest().Wait(t.Context())
	if out.TokensSent != 3 || out.Completed {
		t.Errorf("outcome = %+v, want 3 tokens sent, not completed", out)
	}
}

func TestClientGoneIsRecorded(t *testing.T) {
	mock, base := startMock(t)
	ctx, cancel := context.WithCancel(t.Context())
	resp := post(t, ctx, base, "m+tps:20", nil)
	defer func() { _ = resp.Body.Close() }()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancelled := time.Now()
	cancel()
	wait, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	out, err := mock.LastRequest().Wait(wait)
	if err != nil || !out.ClientGone || out.Completed {
		t.Fatalf("outcome = %+v (%v), want the client gone", out, err)
	}
	if lag := out.GoneAt.Sub(cancelled); lag > 100*time.Millisecond {
		t.Errorf("the mock noticed the client leave after %v, want within 100ms", lag)
	}
}

func TestLongToken(t *testing.T) {
	_, base := startMock(t)
	resp := post(t, t.Context(), base, "m+longtoken:70000+tokens:3", nil)
	defer func() { _ = resp.Body.Close() }()
	text, err := contents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("x", 70000) + ", world"; text != want {
		t.Errorf("text has %d bytes, want %d", len(text), len(want))
	}
}

func TestPacing(t *testing.T) {
	_, base := startMock(t)
	start := time.Now()
	resp := post(t, t.Context(), base, "m+tps:100+tokens:6+ttft:50ms", nil)
	defer func() { _ = resp.Body.Close() }()
	if _, err := contents(resp.Body); err != nil {
		t.Fatal(err)
	}
	// 50ms to the first token, then 5 gaps of 10ms.
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("a paced reply took %v, want at least 100ms", elapsed)
	}
}

func TestOptionSources(t *testing.T) {
	mock, base := startMock(t)
	// Key options apply, the model's override them, the header's override both, X-Mock-Reply sets the text.
	if err := mock.SetKeyOptions("k1", "tokens:2+status:503"); err != nil {
		t.Fatal(err)
	}
	resp := post(t, t.Context(), base, "m+tokens:4", http.Header{"X-Mock-Options": {"status:0"}})
	text, err := contents(resp.Body)
	_ = resp.Body.Close()
	if err != nil || text != mockprovider.ReplyText(4) {
		t.Errorf("text = %q (%v), want %q", text, err, mockprovider.ReplyText(4))
	}
	resp = post(t, t.Context(), base, "m", http.Header{"X-Mock-Options": {"status:0"}, "X-Mock-Reply": {"Hi%20%22there%22%0A"}})
	text, _ = contents(resp.Body)
	_ = resp.Body.Close()
	if text != "Hi \"there\"\n" {
		t.Errorf("text = %q, want the X-Mock-Reply text", text)
	}
	resp = post(t, t.Context(), base, "m", nil)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want the key's 503", resp.StatusCode)
	}
	if err := mock.SetKeyOptions("k1", "bogus"); err == nil {
		t.Error("SetKeyOptions accepted a malformed option")
	}
}

func TestControlEndpoints(t *testing.T) {
	mock, base := startMock(t)
	ctl, err := http.Post(base+"/mock/keys", "application/json", strings.NewReader(`{"key":"k1","options":"status:401"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = ctl.Body.Close()
	if ctl.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /mock/keys = %d, want 204", ctl.StatusCode)
	}
	resp := post(t, t.Context(), base, "m", nil)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !bytes.Contains(body, []byte("invalid_api_key")) {
		t.Errorf("status %d body %s, want 401 invalid_api_key", resp.StatusCode, body)
	}

	list, err := http.Get(base + "/mock/requests")
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Model   string               `json:"model"`
		Key     string               `json:"key"`
		Outcome mockprovider.Outcome `json:"outcome"`
	}
	err = json.NewDecoder(list.Body).Decode(&recs)
	_ = list.Body.Close()
	if err != nil || len(recs) != 1 || recs[0].Key != "k1" || recs[0].Outcome.Status != http.StatusUnauthorized {
		t.Errorf("GET /mock/requests = %+v (%v)", recs, err)
	}

	reset, err := http.Post(base+"/mock/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = reset.Body.Close()
	if reset.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /mock/reset = %d, want 204", reset.StatusCode)
	}
	if len(mock.Requests()) != 0 {
		t.Error("reset kept the recorded requests")
	}
	resp = post(t, t.Context(), base, "m", nil)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status after reset = %d, want 200", resp.StatusCode)
	}
}

func TestRecordingIsBounded(t *testing.T) {
	mock := mockprovider.New(mockprovider.Config{Record: 2})
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, "/ollama/api/chat", strings.NewReader(`{"model":"m","stream":false}`))
		mock.ServeHTTP(discard{}, req)
	}
	if reqs := mock.Requests(); len(reqs) != 2 || reqs[0].ID != 2 || reqs[1].ID != 3 {
		t.Errorf("recorded %d requests, want the last 2", len(reqs))
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func TestTokens(t *testing.T) {
	text := "Hi there,\n  you  "
	got := mockprovider.Tokens(text)
	if want := []string{"Hi", " there,", "\n  you", "  "}; !slices.Equal(got, want) {
		t.Errorf("Tokens(%q) = %q, want %q", text, got, want)
	}
	if mockprovider.PromptTokens("be brief", "hello there", "") != 2+3+2+3+3 {
		t.Error("PromptTokens is not words plus 3 per text")
	}
}

func TestParseOptions(t *testing.T) {
	var b mockprovider.Behaviour
	if err := b.ParseOptions("tps:2.5+chunk:3+ttft:250ms+retryafter:2+usage:false+disconnect:0"); err != nil {
		t.Fatal(err)
	}
	if b.TokensPerSecond != 2.5 || b.ChunkTokens != 3 || b.TimeToFirstToken != 250*time.Millisecond ||
		b.RetryAfter != 2*time.Second || !b.NoUsage || !b.Disconnect || b.DisconnectAfter != 0 {
		t.Errorf("parsed %+v", b)
	}
	for _, bad := range []string{"tps", "tps:fast", "nosuch:1"} {
		if err := b.ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%q) succeeded", bad)
		}
	}
}
