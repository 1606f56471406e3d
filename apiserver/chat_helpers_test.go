package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// Platform keys of the chat tests; the mock answers per key as told (mock.SetKeyOptions).
const (
	keyOne    = "sk-platform-one-0123456789"
	keyTwo    = "sk-platform-two-0123456789"
	keyOther  = "sk-platform-other-0123456789"
	chatReply = 20 // mockprovider.DefaultReplyTokens
)

// chatConfig is platform.yaml with a provider of every type on the mock, a slow and a broken model, a small
// context window, and user keys allowed.
const chatConfig = `platform: chat-test
auth:
  registration: Open
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
userKeys: {allowed: true}
secrets:
  jwtKeyFile: %[1]s/secrets/jwt
  encryptionKeyFile: %[1]s/secrets/enc
  adminDir: %[1]s/admin
providers:
  - name: oai
    type: OpenAI
    baseURL: %[2]s/openai/v1
    keys:
      - {id: oai/one, file: %[1]s/keys/one}
      - {id: oai/two, file: %[1]s/keys/two}
    models:
      - {name: mock-chat, pricing: {input: "1", cachedInput: "0.5", output: "2"}, contextWindow: 100000, maxOutputTokens: 1000}
      - {name: slow, upstreamName: "mock-chat+tps:100+tokens:1000", maxOutputTokens: 2000}
      - {name: crawl, upstreamName: "mock-chat+tps:20+tokens:40"}
      - {name: broken, upstreamName: "mock-chat+status:500"}
      - {name: tiny, upstreamName: mock-chat, contextWindow: 400, maxOutputTokens: 100}
      - {name: fifty, upstreamName: "mock-chat+tokens:50"}
  - name: ant
    type: Anthropic
    baseURL: %[2]s/anthropic
    keys: [{id: ant/one, file: %[1]s/keys/other}]
    models: [{name: mock-chat, pricing: {input: "3", output: "15"}}]
  - name: gem
    type: Gemini
    baseURL: %[2]s/gemini
    keys: [{id: gem/one, file: %[1]s/keys/other}]
    models: [{name: mock-chat}]
  - name: oll
    type: Ollama
    baseURL: %[2]s/ollama
    models: [{name: mock-chat}]
  - name: compat
    type: OpenAICompatible
    baseURL: %[2]s/openai/v1
    keys: [{id: compat/one, file: %[1]s/keys/other}]
    models: [{name: mock-chat}]
`

// chatEnv is an API server with providers on an in-process mock, and a recording meter.
type chatEnv struct {
	*env
	mock    *mockprovider.Server
	mockURL string
	meter   *recMeter
}

type chatOptions struct {
	dbURL string
	dir   string // share another env's files (a second replica)
	mock  *mockprovider.Server
}

func newChatEnv(t testing.TB, o chatOptions) *chatEnv {
	t.Helper()
	if o.dbURL == "" {
		o.dbURL = pgtest.NewDatabase(t)
	}
	if o.mock == nil {
		o.mock = mockprovider.New(mockprovider.Config{})
	}
	mockSrv := httptest.NewServer(o.mock)
	t.Cleanup(mockSrv.Close)
	e := &env{t: t, dir: o.dir, dbURL: o.dbURL, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	if e.dir == "" {
		e.dir = t.TempDir()
		writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), testKey)
		encKey := make([]byte, 32)
		_, _ = rand.Read(encKey)
		writeFile(t, filepath.Join(e.dir, "secrets", "enc"), base64.StdEncoding.EncodeToString(encKey))
		writeFile(t, filepath.Join(e.dir, "admin", "username"), adminUser)
		writeFile(t, filepath.Join(e.dir, "admin", "password"), adminPass)
		writeFile(t, filepath.Join(e.dir, "keys", "one"), keyOne)
		writeFile(t, filepath.Join(e.dir, "keys", "two"), keyTwo)
		writeFile(t, filepath.Join(e.dir, "keys", "other"), keyOther)
		e.writeConfigText(fmt.Sprintf(chatConfig, e.dir, mockSrv.URL))
	}
	ce := &chatEnv{env: e, mock: o.mock, mockURL: mockSrv.URL, meter: &recMeter{}}
	log := slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: filepath.Join(e.dir, "config", "platform.yaml"),
		DatabaseURL: o.dbURL, Log: log, Version: "test", ShutdownTimeout: 5 * time.Second, Meter: ce.meter,
		KeyPool: provider.PoolOptions{BadBackoff: 300 * time.Millisecond, RateLimitCooldown: 300 * time.Millisecond}})
	if err != nil {
		cancel()
		t.Fatalf("apiserver.New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.cancel, e.base, e.stopped = srv, cancel, "http://"+l.Addr().String(), make(chan error, 1)
	go func() { e.stopped <- srv.Serve(ctx, l) }()
	t.Cleanup(e.stop)
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: e.base}}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return ce
}

// conversation creates a conversation of s with a model and returns its id.
func (e *chatEnv) conversation(s session, model, system string) string {
	e.t.Helper()
	r := e.expect(e.do("POST", "/api/v1/conversations", s.access, map[string]any{"model": model, "system_prompt": system}), 201)
	var c struct{ ID string }
	r.json(e.t, &c)
	return c.ID
}

// sseEvent is one Server-Sent Event as the client read it.
type sseEvent struct {
	name, data string
	at         time.Time
}

// streamed is a streamed answer read whole.
type streamed struct {
	status int
	header http.Header
	events []sseEvent
	pings  int
	body   []byte // the JSON error, when the answer did not stream
}

func (s streamed) text() string {
	var b strings.Builder
	for _, ev := range s.events {
		if ev.name == "delta" {
			var d struct{ Text string }
			_ = json.Unmarshal([]byte(ev.data), &d)
			b.WriteString(d.Text)
		}
	}
	return b.String()
}

func (s streamed) event(t testing.TB, name string, v any) bool {
	t.Helper()
	for _, ev := range s.events {
		if ev.name == name {
			if err := json.Unmarshal([]byte(ev.data), v); err != nil {
				t.Fatalf("event %s: %v in %s", name, err, ev.data)
			}
			return true
		}
	}
	return false
}

// post sends a chat request (send, regenerate, edit) for an SSE answer.
func (e *chatEnv) post(ctx context.Context, path, token string, body any) (*http.Response, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", e.base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}

// stream sends a chat request and reads the whole stream.
func (e *chatEnv) stream(path, token string, body any) streamed {
	e.t.Helper()
	res, err := e.post(context.Background(), path, token, body) //nolint:bodyclose // readStream closes it
	if err != nil {
		e.t.Fatal(err)
	}
	return readStream(e.t, res)
}

func readStream(t testing.TB, res *http.Response) streamed {
	t.Helper()
	defer func() { _ = res.Body.Close() }()
	out := streamed{status: res.StatusCode, header: res.Header}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		out.body, _ = io.ReadAll(res.Body)
		return out
	}
	r := newEventReader(res.Body)
	for {
		ev, ping, err := r.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if ping {
			out.pings++
			continue
		}
		out.events = append(out.events, ev)
	}
}

// eventReader parses a Server-Sent Events stream as the tests need it: named events with one data line,
// and comment lines (heartbeats).
type eventReader struct{ r *bufio.Reader }

func newEventReader(r io.Reader) *eventReader { return &eventReader{r: bufio.NewReaderSize(r, 1<<20)} }

func (r *eventReader) next() (ev sseEvent, ping bool, err error) {
	for {
		line, err := r.r.ReadString('\n')
		if err != nil {
			return ev, false, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, ":"):
			return ev, true, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case line == "" && ev.name != "":
			ev.at = time.Now()
			return ev, false, nil
		}
	}
}

// apiMessage is a message as the API returns it.
type apiMessage struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Content      string `json:"content"`
	Model        string `json:"model"`
	Provider     string `json:"provider"`
	FinishReason string `json:"finish_reason"`
	Usage        *struct {
		PromptTokens       int64  `json:"prompt_tokens"`
		CachedPromptTokens int64  `json:"cached_prompt_tokens"`
		CompletionTokens   int64  `json:"completion_tokens"`
		CostUSD            string `json:"cost_usd"`
		Estimated          bool   `json:"estimated"`
	} `json:"usage"`
	LatencyMS *int64 `json:"latency_ms"`
	TTFTMS    *int64 `json:"ttft_ms"`
}

func (e *chatEnv) messages(s session, conv string) []apiMessage {
	e.t.Helper()
	r := e.expect(e.do("GET", "/api/v1/conversations/"+conv+"/messages?limit=100", s.access, nil), 200)
	var page struct{ Items []apiMessage }
	r.json(e.t, &page)
	return page.Items
}

// recMeter is a recording service.Meter: it grants what was asked and keeps every request and settlement.
type recMeter struct {
	mu       sync.Mutex
	requests []metering.Request
	settled  []metering.Settlement
	refuse   error
}

func (m *recMeter) Reserve(_ context.Context, req metering.Request) (metering.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = append(m.requests, req)
	if m.refuse != nil {
		return nil, m.refuse
	}
	return &recReservation{m: m, grant: metering.Grant{MaxOutputTokens: req.MaxOutputTokens}}, nil
}

func (m *recMeter) settlements() []metering.Settlement {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]metering.Settlement{}, m.settled...)
}

type recReservation struct {
	m     *recMeter
	grant metering.Grant
	done  bool
}

func (r *recReservation) Grant() metering.Grant { return r.grant }

func (r *recReservation) Settle(_ context.Context, s metering.Settlement) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.done {
		panic("settled twice")
	}
	r.done = true
	r.m.settled = append(r.m.settled, s)
	return nil
}

// waitSettled waits until the meter has n settlements and returns them.
func (e *chatEnv) waitSettled(n int) []metering.Settlement {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.meter.settlements()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d settlements after 10s, want %d", len(s), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
