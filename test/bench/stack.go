package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
	"github.com/llmplatform/llmplatform/internal/testutil/procstat"
)

// Models of the API server's bench provider, and the mock models they call (the mock takes its behaviour
// from the model name's options).
const (
	modelPlain  = "mock/chat16"
	modelStream = "mock/chat50"
	modelIdle   = "mock/idle"

	upstreamPlain  = "mock-chat+tokens:16"
	upstreamStream = "mock-chat+tokens:50"
	// upstreamIdle sends its first token at once and the second after 1,000 s: a stream that stays open.
	upstreamIdle = "mock-chat+tokens:2+tps:0.001"
)

// platformConfig is the API server's platform.yaml: one OpenAI provider on the mock, with prices, and a
// quota with every counted limit over the benchmark's users, so that every call of theirs is reserved. The
// limits are far above what the benchmark uses (so, as far from a limit, most calls are decided from leases). One more user, whom no quota names, shows
// what the calls cost without a reservation (its usage is still recorded). %[1]s is the work directory, %[2]s
// the mock's URL, %[3]s the metered users.
const platformConfig = `platform: bench
auth:
  registration: Open
  # Cheap password hashes: registering the benchmark's users is set-up, not what is measured.
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: %[1]s/secrets/jwt
  encryptionKeyFile: %[1]s/secrets/enc
providers:
  - name: mock
    type: OpenAI
    baseURL: %[2]s/openai/v1
    keys: [{id: mock/one, file: %[1]s/secrets/key}]
    models:
      - {name: chat16, upstreamName: "` + upstreamPlain + `", pricing: {input: "1", output: "2"}, maxOutputTokens: 1000}
      - {name: chat50, upstreamName: "` + upstreamStream + `", pricing: {input: "1", output: "2"}, maxOutputTokens: 1000}
      - {name: idle, upstreamName: "` + upstreamIdle + `", pricing: {input: "1", output: "2"}, maxOutputTokens: 1000}
quotas:
  - name: everyone
    subjects: {users: [%[3]s]}
    limits: {requestsPerMinute: 1000000000, tokensPerDay: 1000000000000, tokensPerMonth: 1000000000000, costPerMonth: "100000000"}
`

// stack is the running processes: PostgreSQL, the mock, the proxy and the API server.
type stack struct {
	dir string
	bin string
	pg  *pgtest.Server
	// postmaster is the PostgreSQL server's process: it and its children are PostgreSQL's CPU.
	postmaster int
	dbURL      string
	mock       *process
	mockURL    string
	proxy      *process
	proxyURL   string
	api        *process
	apiURL     string
	pprofURL   string
	// tokens are personal API tokens of distinct metered users, in order; unmetered is the unmetered user's.
	tokens    []string
	unmetered string
}

// startStack starts PostgreSQL, the mock and the proxy, and writes the API server's configuration.
func startStack(ctx context.Context, dir, bin, self string, users int) (*stack, error) {
	s := &stack{dir: dir, bin: bin}
	if err := s.startPostgres(ctx); err != nil {
		return s, err
	}
	var err error
	if s.mock, s.mockURL, err = s.listen(ctx, "mock", nil, bin, "mock-provider", "--tokens-per-second=0", "--time-to-first-token=0s", "--record=1"); err != nil {
		return s, err
	}
	if err := s.mock.waitReady(ctx, s.mockURL+"/healthz", 30*time.Second); err != nil {
		return s, err
	}
	if s.proxy, s.proxyURL, err = s.listen(ctx, "proxy", nil, self, "proxy", "-upstream="+s.mockURL); err != nil {
		return s, err
	}
	if err := s.proxy.waitReady(ctx, s.proxyURL+"/healthz", 30*time.Second); err != nil {
		return s, err
	}
	return s, s.writeConfig(users)
}

// listen starts a child that takes its address as --listen/-listen, on a free port.
func (s *stack) listen(ctx context.Context, name string, env []string, argv ...string) (*process, string, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, "", err
	}
	p, err := startProcess(ctx, s.dir, name, env, append(argv, "-listen="+addr)...)
	return p, "http://" + addr, err
}

func (s *stack) startPostgres(ctx context.Context) error {
	var err error
	if s.pg, err = pgtest.Start(); err != nil { //nolint:contextcheck // a test helper that bounds its own waits; it takes no context
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	conn, err := pgx.Connect(ctx, s.pg.URL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return err
	}
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return err
	}
	st, err := procstat.Read(backend)
	if err != nil {
		return err
	}
	s.postmaster = st.PPID
	u, err := url.Parse(s.pg.URL)
	if err != nil {
		return err
	}
	u.Path = "/bench"
	s.dbURL = u.String()
	return nil
}

// userName names the benchmark's i-th metered user.
func userName(i int) string { return fmt.Sprintf("bench%03d", i) }

// unmeteredUser is the user whom no quota names.
const unmeteredUser = "unmetered"

func (s *stack) writeConfig(users int) error {
	names := make([]string, users)
	for i := range names {
		names[i] = userName(i)
	}
	enc := make([]byte, 32)
	_, _ = rand.Read(enc)
	files := map[string]string{
		"secrets/jwt":   base64.RawURLEncoding.EncodeToString(enc) + "-bench-signing-key",
		"secrets/enc":   base64.StdEncoding.EncodeToString(enc),
		"secrets/key":   "sk-bench-0123456789",
		"platform.yaml": fmt.Sprintf(platformConfig, s.dir, s.mockURL, strings.Join(names, ", ")),
	}
	for name, content := range files {
		p := filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startAPIServer starts an API server process (stopping the previous one), with its profiles served on a
// separate address.
func (s *stack) startAPIServer(ctx context.Context, name string) error {
	s.api.stop(30 * time.Second)
	pprofAddr, err := freeAddr(ctx)
	if err != nil {
		return err
	}
	s.pprofURL = "http://" + pprofAddr
	s.api, s.apiURL, err = s.listen(ctx, name, []string{"DATABASE_URL=" + s.dbURL}, s.bin, "apiserver",
		"--config="+filepath.Join(s.dir, "platform.yaml"), "--pprof-listen="+pprofAddr, "--drain-delay=0s", "--shutdown-timeout=5s")
	if err != nil {
		return err
	}
	return s.api.waitReady(ctx, s.apiURL+"/readyz", time.Minute)
}

// createUsers registers n metered users with a personal API token each, and the unmetered user.
func (s *stack) createUsers(ctx context.Context, n int) error {
	for i := range n {
		tok, err := s.createUser(ctx, userName(i))
		if err != nil {
			return err
		}
		s.tokens = append(s.tokens, tok)
	}
	var err error
	s.unmetered, err = s.createUser(ctx, unmeteredUser)
	return err
}

// createUser registers a user and returns a new personal API token of theirs.
func (s *stack) createUser(ctx context.Context, name string) (string, error) {
	var auth struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.call(ctx, "/api/v1/auth/register", "", map[string]string{
		"username": name, "email": name + "@example.com", "password": "password-of-" + name}, &auth); err != nil {
		return "", err
	}
	var tok struct {
		Token string `json:"token"`
	}
	err := s.call(ctx, "/api/v1/tokens", auth.AccessToken, map[string]string{"name": "bench"}, &tok)
	return tok.Token, err
}

// call POSTs a JSON body to the API server and decodes a 2xx answer into out.
func (s *stack) call(ctx context.Context, path, bearer string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, data)
	}
	return json.Unmarshal(data, out)
}

// stop stops every process, the API server first (it writes its queued usage records on the way out).
func (s *stack) stop() {
	s.api.stop(30 * time.Second)
	s.proxy.stop(5 * time.Second)
	s.mock.stop(10 * time.Second)
	if s.pg != nil {
		s.pg.Stop()
	}
}
