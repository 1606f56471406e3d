package apiserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"

	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/apiserver/openapi"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// internalToken is the operator's token in the metering tests.
const internalToken = "internal-token-0123456789abcdef0123456789abcdef"

// meterConfig is platform.yaml for the metering tests: models on the mock (OpenAI, Anthropic, one without
// usage reports, a slow one, a broken one), the internal token, and the quotas appended (%[3]s).
const meterConfig = `platform: meter-test
timezone: Asia/Tokyo
auth:
  registration: Open
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: %[1]s/secrets/jwt
  encryptionKeyFile: %[1]s/secrets/enc
  adminDir: %[1]s/admin
  internalTokenFile: %[1]s/secrets/internal
providers:
  - name: oai
    type: OpenAI
    baseURL: %[2]s/openai/v1
    keys: [{id: oai/one, file: %[1]s/keys/one}]
    models:
      - {name: mock-chat, pricing: {input: "1", cachedInput: "0.5", output: "2"}, maxOutputTokens: 1000}
      - {name: slow, upstreamName: "mock-chat+tps:200+tokens:2000", maxOutputTokens: 4000}
      - {name: broken, upstreamName: "mock-chat+status:500"}
      - {name: fifty, upstreamName: "mock-chat+tokens:50", pricing: {input: "1", output: "2"}}
  - name: quiet
    type: OpenAICompatible
    baseURL: %[2]s/openai/v1
    models: [{name: mock-chat, upstreamName: "mock-chat+usage:false", pricing: {input: "1", output: "2"}}]
  - name: ant
    type: Anthropic
    baseURL: %[2]s/anthropic
    keys: [{id: ant/one, file: %[1]s/keys/one}]
    models: [{name: mock-chat, pricing: {input: "3", output: "15"}}]
%[3]s`

// meterEnv is an API server with its real meter, providers on an in-process mock.
type meterEnv struct {
	*env
	mock    *mockprovider.Server
	mockURL string
}

type meterOptions struct {
	quotas string
	dbURL  string
	// peer shares another env's database, files and mock: a second replica.
	peer *meterEnv
}

func newMeterEnv(t testing.TB, o meterOptions) *meterEnv {
	t.Helper()
	me := &meterEnv{}
	e := &env{t: t, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	if o.peer != nil {
		e.dir, e.dbURL, me.mock, me.mockURL = o.peer.dir, o.peer.dbURL, o.peer.mock, o.peer.mockURL
	} else {
		e.dir, e.dbURL = t.TempDir(), o.dbURL
		if e.dbURL == "" {
			e.dbURL = pgtest.NewDatabase(t)
		}
		me.mock = mockprovider.New(mockprovider.Config{})
		mockSrv := httptest.NewServer(me.mock)
		t.Cleanup(mockSrv.Close)
		me.mockURL = mockSrv.URL
		writeFile(t, filepath.Join(e.dir, "secrets", "jwt"), testKey)
		encKey := make([]byte, 32)
		_, _ = rand.Read(encKey)
		writeFile(t, filepath.Join(e.dir, "secrets", "enc"), base64.StdEncoding.EncodeToString(encKey))
		writeFile(t, filepath.Join(e.dir, "secrets", "internal"), internalToken+"\n")
		writeFile(t, filepath.Join(e.dir, "admin", "username"), adminUser)
		writeFile(t, filepath.Join(e.dir, "admin", "password"), adminPass)
		writeFile(t, filepath.Join(e.dir, "keys", "one"), "sk-platform-0123456789")
	}
	me.env = e
	if o.peer == nil {
		me.setQuotas(o.quotas)
	}
	log := slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: filepath.Join(e.dir, "config", "platform.yaml"),
		DatabaseURL: e.dbURL, Log: log, Version: "test", ShutdownTimeout: 5 * time.Second})
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
	e.router = newDocRouter(t, e.base)
	return me
}

// setQuotas rewrites platform.yaml with these quotas (YAML under "quotas:"; empty for none).
func (e *meterEnv) setQuotas(quotas string) {
	if quotas != "" {
		quotas = "quotas:\n" + quotas
	}
	e.writeConfigText(fmt.Sprintf(meterConfig, e.dir, e.mockURL, quotas))
}

// apiToken creates a personal API token for s and returns its secret.
func (e *meterEnv) apiToken(s session, body map[string]any) string {
	e.t.Helper()
	if body == nil {
		body = map[string]any{"name": "test"}
	}
	var tok struct {
		Token string `json:"token"`
	}
	e.expect(e.do("POST", "/api/v1/tokens", s.access, body), 201).json(e.t, &tok)
	return tok.Token
}

// client is the official OpenAI client on this server's /v1 with token.
func (e *meterEnv) client(token string) openai.Client {
	return openai.NewClient(openaioption.WithBaseURL(e.base+"/v1/"), openaioption.WithAPIKey(token),
		openaioption.WithMaxRetries(0))
}

// flush waits until every usage record settled so far is written.
func (e *meterEnv) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Meter.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// scalar runs a query returning one number (NULL counts as 0).
func (e *meterEnv) scalar(q string, args ...any) int64 {
	e.t.Helper()
	var n *int64
	if err := e.srv.DB.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	if n == nil {
		return 0
	}
	return *n
}

// waitRecords waits until the database holds n usage records (settles finish after answers end).
func (e *meterEnv) waitRecords(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.flush()
		got := e.scalar(`SELECT count(*) FROM usage_records`)
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			e.t.Fatalf("%d usage records, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func userMessage(text string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
}

// newDocRouter finds the OpenAPI operations of requests to base, for checking answers against the document.
func newDocRouter(t testing.TB, base string) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameMinute waits for the next minute when this one is about to end, so that a test's calls against a
// requestsPerMinute limit fall in one window.
func sameMinute() {
	if s := time.Now().Second(); s >= 50 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}
