package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/apiserver"
	"github.com/llmplatform/llmplatform/controllers/builders"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// usagePlatform is a platform on the mock provider (%s) with an external database (Secret "db").
const usagePlatform = `
metadata: {name: shop}
spec:
  database: {external: {secretRef: {name: db}}}
  auth: {registration: Open}
  providers:
  - name: mock
    type: OpenAICompatible
    baseURL: %s/openai/v1
    keys: [{secretRef: {name: mock-key}}]
    models: [{name: chat, upstreamName: "mock-chat+tps:0+ttft:0", pricing: {input: "1", output: "2"}}]
`

// usageSyncPeriod is the tests' period between two reads of a platform's usage.
const usageSyncPeriod = 500 * time.Millisecond

// TestUsageReachesStatuses runs the platform's API server in the test, on a real PostgreSQL, with the
// configuration and Secrets the operator rendered. A user's call through /v1 shows up in the quota's usage
// and the platform's summaries; an idle platform costs reads but no writes, and no number of events makes
// the operator read faster than its period; a wrong token and a stopped API server say so in Synced.
func TestUsageReachesStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	mock := httptest.NewServer(mockprovider.New(mockprovider.Config{}))
	t.Cleanup(mock.Close)
	createSecret(t, k8sClient, ns, "mock-key", map[string]string{"apiKey": "sk-mock"})
	createSecret(t, k8sClient, ns, "db", map[string]string{"uri": startPostgres(t)})
	p := createPlatform(t, k8sClient, ns, fmt.Sprintf(usagePlatform, mock.URL))
	q := &llmv1.UserQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "everyone"},
		Spec: llmv1.UserQuotaSpec{
			PlatformRef: llmv1.PlatformRef{Name: p.Name},
			Subjects:    llmv1.QuotaSubjects{AllUsers: true},
			Limits:      &llmv1.QuotaLimits{TokensPerDay: new(int64(100000)), CostPerMonth: new("5")},
		},
	}
	if err := k8sClient.Create(ctx, q); err != nil {
		t.Fatal(err)
	}
	var target atomic.Value
	target.Store("http://127.0.0.1:1")
	op := startOperatorWith(t, cfg, ns, UsageSyncOptions{Period: usageSyncPeriod,
		APIServerURL: func(*llmv1.LLMPlatform) string { return target.Load().(string) }})

	// The API server as the kubelet would run it, once the operator rendered its files.
	api := startAPIServer(t, ns, p)
	target.Store(api.url)
	markDeploymentAvailable(t, k8sClient, ns, builders.APIServerName(p))
	waitForQuota(t, ns, q.Name, "the first read", func(st llmv1.UserQuotaStatus) error {
		return synced(st, metav1.ConditionTrue, llmv1.ReasonSynced, `LLMPlatform "shop"`)
	})

	total := api.chat(t, "alice")
	day := time.Now().UTC().Truncate(24 * time.Hour)
	waitForQuota(t, ns, q.Name, "alice's usage", func(st llmv1.UserQuotaStatus) error {
		if st.MatchedUsers != 2 || len(st.Usage) != 1 || st.Usage[0].User != "alice" || st.Usage[0].Exhausted {
			return fmt.Errorf("matchedUsers %d, usage %+v: want the admin and alice, alice's usage", st.MatchedUsers, st.Usage)
		}
		w := st.Usage[0].Windows
		want := []string{
			fmt.Sprintf("tokensPerDay %d/%d until %s", total, 100000-total, day.Add(24*time.Hour).Format(time.RFC3339)),
			"costPerMonth",
		}
		if len(w) != 2 || fmt.Sprintf("%s %s/%s until %s", w[0].Limit, w[0].Used, w[0].Remaining, w[0].ResetAt.UTC().Format(time.RFC3339)) != want[0] || w[1].Limit != want[1] {
			return fmt.Errorf("windows %+v, want %q", w, want)
		}
		return nil
	})
	waitForPlatformUsage(t, p, 2, total)

	t.Run("idle", func(t *testing.T) {
		// Let the last writes reach the cache, then watch several periods.
		eventually(t, "waiting for a quiet period", func() error {
			op.client.reset()
			time.Sleep(2 * usageSyncPeriod)
			if w := op.client.reset(); len(w) > 0 {
				return fmt.Errorf("writes: %v", w)
			}
			return nil
		})
		const window = 6 * usageSyncPeriod
		reads := api.quotaReads.Load()
		started := time.Now().UTC()
		time.Sleep(window)
		reads = api.quotaReads.Load() - reads
		if started.Truncate(24*time.Hour) != time.Now().UTC().Truncate(24*time.Hour) {
			t.Skip("a new day began while the platform was idle: its windows rolled over")
		}
		if w := op.client.reset(); len(w) > 0 {
			t.Errorf("an idle platform wrote %d times in %s: %v", len(w), window, w)
		}
		if maxReads := int64(window/usageSyncPeriod) + 1; reads < 3 || reads > maxReads {
			t.Errorf("%d reads in %s, want between 3 and %d with a period of %s", reads, window, maxReads, usageSyncPeriod)
		}
	})

	t.Run("events do not speed up reads", func(t *testing.T) {
		reads := api.quotaReads.Load()
		for range 50 {
			if _, err := op.reconcilers.Usage.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}); err != nil {
				t.Fatal(err)
			}
		}
		if n := api.quotaReads.Load() - reads; n > 1 {
			t.Errorf("50 events read the usage %d times within a period, want at most once", n)
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		secret := mustGet(t, k8sClient, ns, builders.InternalSecretName(p), &corev1.Secret{})
		good := secret.Data[builders.TokenKey]
		setToken := func(token []byte) {
			secret := mustGet(t, k8sClient, ns, builders.InternalSecretName(p), &corev1.Secret{})
			secret.Data[builders.TokenKey] = token
			if err := k8sClient.Update(ctx, secret); err != nil {
				t.Fatal(err)
			}
		}
		const wrong = "not-the-api-servers-token"
		setToken([]byte(wrong))
		waitForQuota(t, ns, q.Name, "Synced=False (TokenRejected)", func(st llmv1.UserQuotaStatus) error {
			return synced(st, metav1.ConditionFalse, llmv1.ReasonTokenRejected, `401`, `Secret "shop-internal"`, "kubectl rollout restart deployment shop-apiserver")
		})
		got := mustGet(t, k8sClient, ns, q.Name, &llmv1.UserQuota{})
		c := meta.FindStatusCondition(got.Status.Conditions, llmv1.ConditionSynced)
		if strings.Contains(c.Message, wrong) || strings.Contains(c.Message, string(good)) {
			t.Errorf("the condition shows a token: %s", c.Message)
		}
		if len(got.Status.Usage) != 1 || got.Status.MatchedUsers != 2 {
			t.Errorf("the last usage read is gone after a failed read: %+v", got.Status)
		}
		waitForEvent(t, k8sClient, q, corev1.EventTypeWarning, llmv1.ReasonTokenRejected, "Synced is False")
		setToken(good)
		waitForQuota(t, ns, q.Name, "Synced=True again", func(st llmv1.UserQuotaStatus) error {
			return synced(st, metav1.ConditionTrue, llmv1.ReasonSynced)
		})
	})

	t.Run("API server unreachable", func(t *testing.T) {
		api.stop()
		waitForQuota(t, ns, q.Name, "Synced=False (APIServerUnreachable)", func(st llmv1.UserQuotaStatus) error {
			return synced(st, metav1.ConditionFalse, llmv1.ReasonAPIServerUnreachable, api.url, "connection refused")
		})
		waitForPlatformUsage(t, p, 2, total)
	})
}

// synced checks the status's Synced condition.
func synced(st llmv1.UserQuotaStatus, status metav1.ConditionStatus, reason string, texts ...string) error {
	c := meta.FindStatusCondition(st.Conditions, llmv1.ConditionSynced)
	if c == nil || c.Status != status || c.Reason != reason {
		return fmt.Errorf("Synced is %+v, want %s (%s)", c, status, reason)
	}
	for _, text := range texts {
		if !strings.Contains(c.Message, text) {
			return fmt.Errorf("Synced message %q does not say %q", c.Message, text)
		}
	}
	return nil
}

// waitForQuota waits until check accepts the quota's status.
func waitForQuota(t *testing.T, namespace, name, what string, check func(llmv1.UserQuotaStatus) error) {
	t.Helper()
	eventually(t, "waiting for "+what, func() error {
		q := &llmv1.UserQuota{}
		if err := get(k8sClient, namespace, name, q); err != nil {
			return err
		}
		return check(q.Status)
	})
}

// waitForPlatformUsage waits until the platform's status shows the user count and today's tokens.
func waitForPlatformUsage(t *testing.T, p *llmv1.LLMPlatform, users, tokensToday int64) {
	t.Helper()
	eventually(t, "waiting for the platform's summaries", func() error {
		got := &llmv1.LLMPlatform{}
		if err := get(k8sClient, p.Namespace, p.Name, got); err != nil {
			return err
		}
		if got.Status.Users != users || got.Status.TokensToday != tokensToday {
			return fmt.Errorf("users %d, tokensToday %d; want %d, %d", got.Status.Users, got.Status.TokensToday, users, tokensToday)
		}
		return nil
	})
}

// startPostgres starts a throwaway PostgreSQL server for one test and returns its URL.
func startPostgres(t *testing.T) string {
	t.Helper()
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(pg.Stop)
	return pg.URL
}

// testAPIServer is a platform's API server running in the test process.
type testAPIServer struct {
	url string
	// quotaReads counts the GETs of /internal/v1/quotas.
	quotaReads atomic.Int64
	stop       func()
}

// startAPIServer lays out the files the API server's pod would mount — the operator's ConfigMap and
// Secrets, under the paths the Deployment mounts them at — and runs the API server on them.
func startAPIServer(t *testing.T, namespace string, p *llmv1.LLMPlatform) *testAPIServer {
	t.Helper()
	root := t.TempDir()
	write := func(mountPath string, data []byte) {
		path := filepath.Join(root, strings.TrimPrefix(mountPath, builders.MountRoot))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cm corev1.ConfigMap
	eventually(t, "waiting for the rendered configuration with the quota", func() error {
		if err := get(k8sClient, namespace, builders.ConfigMapName(p), &cm); err != nil {
			return err
		}
		if !strings.Contains(cm.Data[builders.ConfigKey], "everyone") {
			return fmt.Errorf("platform.yaml without the quota:\n%s", cm.Data[builders.ConfigKey])
		}
		return nil
	})
	write(builders.ConfigFile, []byte(cm.Data[builders.ConfigKey]))
	secretFiles := []struct{ secret, key, path string }{
		{p.Name + "-jwt", builders.KeyKey, builders.JWTKeyFile},
		{p.Name + "-encryption", builders.KeyKey, builders.EncryptionKeyFile},
		{builders.InternalSecretName(p), builders.TokenKey, builders.InternalTokenFile},
		{p.Name + "-admin", builders.AdminUsernameKey, builders.AdminDir + "/" + builders.AdminUsernameKey},
		{p.Name + "-admin", builders.AdminPasswordKey, builders.AdminDir + "/" + builders.AdminPasswordKey},
		{"db", builders.DatabaseURLKey, builders.DatabaseURLFile},
		{"mock-key", "apiKey", builders.ProviderKeyFile(llmv1.ProviderKeySecretRef{Name: "mock-key"})},
	}
	for _, f := range secretFiles {
		var s corev1.Secret
		eventually(t, "waiting for Secret "+f.secret, func() error { return get(k8sClient, namespace, f.secret, &s) })
		write(f.path, s.Data[f.key])
	}

	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, apiserver.Options{ConfigPath: filepath.Join(root, "config", builders.ConfigKey),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		t.Fatalf("starting the API server: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := &testAPIServer{url: "http://" + l.Addr().String()}
	handler := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == internalQuotasPath {
			api.quotaReads.Add(1)
		}
		handler.ServeHTTP(w, r)
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	stopped := false
	api.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the API server stopped with %v", err)
		}
		srv.Close()
	}
	t.Cleanup(api.stop)
	return api
}

// chat registers a user, creates a personal API token and calls /v1/chat/completions once. It returns the
// tokens the call used.
func (a *testAPIServer) chat(t *testing.T, user string) int64 {
	t.Helper()
	var session struct {
		AccessToken string `json:"access_token"`
	}
	a.post(t, "/api/v1/auth/register", "", map[string]string{"username": user, "email": user + "@example.com", "password": "password-of-" + user}, &session)
	var token struct {
		Token string `json:"token"`
	}
	a.post(t, "/api/v1/tokens", session.AccessToken, map[string]string{"name": "test"}, &token)
	var answer struct {
		Usage struct {
			TotalTokens int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	a.post(t, "/v1/chat/completions", token.Token, map[string]any{"model": "mock/chat", "messages": []map[string]string{{"role": "user", "content": "Hello"}}}, &answer)
	if answer.Usage.TotalTokens <= 0 {
		t.Fatalf("the call reports %d tokens", answer.Usage.TotalTokens)
	}
	return answer.Usage.TotalTokens
}

// post sends a JSON request and decodes the 2xx answer into out.
func (a *testAPIServer) post(t *testing.T, path, bearer string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, a.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s: %s", path, resp.Status, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: decoding %s: %v", path, raw, err)
	}
}
