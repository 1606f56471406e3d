//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// budgetConfig is the two API servers' platform.yaml: one OpenAI provider on the mock and a daily token budget
// for ann (and a large one for the probe). %[1]s is the directory of the secret files, %[2]s the mock's URL, %[3]d the budget.
const budgetConfig = `platform: e2e
auth:
  registration: Open
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: %[1]s/jwt
  encryptionKeyFile: %[1]s/enc
providers:
  - name: oai
    type: OpenAI
    baseURL: %[2]s/openai/v1
    keys: [{id: oai/one, file: %[1]s/key}]
    models: [{name: mock-chat, pricing: {input: "1", output: "2"}}]
quotas:
  - name: probe
    subjects: {users: [probe]}
    limits: {tokensPerDay: 1000000}
  - name: daily
    subjects: {users: [ann]}
    limits: {tokensPerDay: %[3]d}
`

// TestTwoAPIServerProcessesEnforceOneBudget: two `llmplatform apiserver` processes on one PostgreSQL share
// one budget. 50 streamed /v1 calls, split between them, meet a daily token budget that fits 10: at least 10
// are answered and the rest refused with 429; the tokens used exceed the budget by no more than the prompt
// estimates missed; the usage records, the quota counter and the daily rollups agree; nothing stays held.
func TestTwoAPIServerProcessesEnforceOneBudget(t *testing.T) {
	bin := requireEnv(t, "LLMP_BINARY")
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	dbURL := createDatabase(t, pg.URL, "budget")
	mock := httptest.NewServer(mockprovider.New(mockprovider.Config{}))
	t.Cleanup(mock.Close)
	dir := t.TempDir()
	writeSecrets(t, dir)
	config := filepath.Join(dir, "platform.yaml")
	writeBudget := func(budget int64) {
		if err := os.WriteFile(config, fmt.Appendf(nil, budgetConfig, dir, mock.URL, budget), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeBudget(1_000_000)
	servers := []string{startAPIServer(t, bin, config, dbURL, "a"), startAPIServer(t, bin, config, dbURL, "b")}

	// One call of the probe's shows what a call reserves; then ann's budget fits ten of them.
	probe, _ := register(t, servers[0], "probe")
	h := v1Call(t, servers[0], probe)
	remaining, err := strconv.ParseInt(h.Get("X-Ratelimit-Remaining-Tokens"), 10, 64)
	if err != nil {
		t.Fatalf("x-ratelimit-remaining-tokens %q: %v", h.Get("X-Ratelimit-Remaining-Tokens"), err)
	}
	reservation := 1_000_000 - remaining
	budget := 10 * reservation
	writeBudget(budget)
	token, access := register(t, servers[1], "ann")
	for _, s := range servers {
		eventually(t, 30*time.Second, func() error {
			var windows struct {
				Items []struct{ Max string } `json:"items"`
			}
			call(t, "GET", s+"/api/v1/usage/quotas", access, nil, &windows, 200)
			if len(windows.Items) != 1 || windows.Items[0].Max != strconv.FormatInt(budget, 10) {
				return errorf("%s still enforces %+v", s, windows.Items)
			}
			return nil
		})
	}
	conn := connect(t, dbURL)
	waitRecords(t, conn, 1)

	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			code := v1Stream(t, servers[i%2], token)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("reservation %d tokens, budget %d; answers %v", reservation, budget, codes)
	if codes[200] < 10 || codes[200]+codes[429] != 50 {
		t.Errorf("answers %v, want at least 10 × 200 and the rest 429", codes)
	}
	waitRecords(t, conn, 51)
	ann := `(SELECT id FROM users WHERE username = 'ann')`
	records := scalar(t, conn, `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_records WHERE user_id = `+ann)
	estimate := reservation - 20
	missed := scalar(t, conn, `SELECT coalesce(sum(greatest(prompt_tokens - $1, 0)), 0) FROM usage_records
		WHERE outcome = 'ok' AND user_id = `+ann, estimate)
	if records > budget+missed {
		t.Errorf("ann used %d tokens of a budget of %d: more than the %d the estimates missed", records, budget, missed)
	}
	counter := scalar(t, conn, `SELECT tokens FROM quota_counters WHERE window_kind = 'day' AND user_id = `+ann)
	rollups := scalar(t, conn, `SELECT sum(prompt_tokens + completion_tokens) FROM usage_daily WHERE user_id = `+ann)
	if records != counter || records != rollups {
		t.Errorf("tokens: records %d, quota counter %d, rollups %d: the books do not balance", records, counter, rollups)
	}
	if refused := scalar(t, conn, `SELECT count(*) FROM usage_records WHERE outcome = 'refused' AND user_id = `+ann); refused != int64(codes[429]) {
		t.Errorf("%d refusals recorded, want %d", refused, codes[429])
	}
	// Unused budget leases go back once idle for a second.
	eventually(t, 15*time.Second, func() error {
		held := scalar(t, conn, `SELECT coalesce(sum(h.tokens), 0) FROM quota_holds h JOIN meter_instances i ON i.id = h.instance_id
			WHERE i.expires_at > now()`)
		if held != 0 {
			return errorf("%d tokens still held by the running processes after every call settled", held)
		}
		return nil
	})
}

// startAPIServer runs `llmplatform apiserver` on a free port until the test ends and returns its URL.
func startAPIServer(t *testing.T, bin, config, dbURL, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(bin, "apiserver", "--config="+config, "--listen="+addr, "--drain-delay=0s", "--shutdown-timeout=5s")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	log, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("API server %s log:\n%s", name, out)
		}
	})
	url := "http://" + addr
	eventually(t, time.Minute, func() error {
		res, err := http.Get(url + "/readyz") //nolint:noctx // a readiness probe of a local process
		if err != nil {
			return err
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return errorf("/readyz = %d", res.StatusCode)
		}
		return nil
	})
	return url
}

// writeSecrets writes the API server's key files and the provider key into dir.
func writeSecrets(t *testing.T, dir string) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for name, content := range map[string]string{
		"jwt": base64.StdEncoding.EncodeToString(key), "enc": base64.StdEncoding.EncodeToString(key), "key": "sk-e2e",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// createDatabase creates a database on the server at adminURL and returns its URL.
func createDatabase(t *testing.T, adminURL, name string) string {
	t.Helper()
	conn := connect(t, adminURL)
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _, _ := strings.Cut(adminURL, "?")
	i := strings.LastIndex(u, "/")
	return u[:i+1] + name + strings.TrimPrefix(adminURL, u)
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func scalar(t *testing.T, conn *pgx.Conn, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitRecords waits until n usage records are written (the processes write them in batches).
func waitRecords(t *testing.T, conn *pgx.Conn, n int64) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		if got := scalar(t, conn, `SELECT count(*) FROM usage_records`); got != n {
			return errorf("%d usage records, want %d", got, n)
		}
		return nil
	})
}

// register registers a user and returns a new personal API token of theirs and their access token.
func register(t *testing.T, base, name string) (token, access string) {
	t.Helper()
	var reg struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "POST", base+"/api/v1/auth/register", "", map[string]string{
		"username": name, "email": name + "@example.com", "password": "password-of-" + name}, &reg, 201)
	var tok struct {
		Token string `json:"token"`
	}
	call(t, "POST", base+"/api/v1/tokens", reg.AccessToken, map[string]string{"name": "e2e"}, &tok, 201)
	return tok.Token, reg.AccessToken
}

// v1Call sends a non-streamed /v1 call of at most 20 tokens and returns the answer's headers.
func v1Call(t *testing.T, base, token string) http.Header {
	t.Helper()
	res := v1Post(t, base, token, false)
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/chat/completions = %d", res.StatusCode)
	}
	return res.Header
}

// v1Stream sends a streamed /v1 call of at most 20 tokens, reads it to the end and returns its status.
func v1Stream(t *testing.T, base, token string) int {
	res := v1Post(t, base, token, true)
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode == http.StatusOK {
		sc := bufio.NewScanner(res.Body)
		done := false
		for sc.Scan() {
			done = done || sc.Text() == "data: [DONE]"
		}
		if !done {
			t.Errorf("a stream from %s ended without [DONE] (%v)", base, sc.Err())
		}
	}
	return res.StatusCode
}

func v1Post(t *testing.T, base, token string, stream bool) *http.Response {
	body := fmt.Sprintf(`{"model":"oai/mock-chat","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":20,"stream":%t}`, stream)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
