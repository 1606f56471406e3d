//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
	"github.com/llmplatform/llmplatform/controllers/builders"
	"github.com/llmplatform/llmplatform/internal/devenv"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestDevEnvironment is `make dev` without a terminal, used as a developer would: the dev tenant comes up
// Ready with its API server run from the rendered Deployment; a new user registers and streams a chat through
// the mock provider with a key from the mounted provider Secret; the operator reads the usage into the
// UserQuota and LLMPlatform statuses; a change to the tenant and a rotated key reach the running API server
// as files, a pod template change starts a new one; deleting the tenant stops it; stopping leaves nothing
// running; and a second run starts from the kept state, with the users and conversations of the first.
func TestDevEnvironment(t *testing.T) {
	state, err := os.MkdirTemp("", "llmp-e2e-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(state) })
	start := time.Now()
	opts := devenv.Options{
		Root:       repoRoot,
		StateDir:   state,
		Binary:     requireEnv(t, "LLMP_BINARY"),
		Assets:     requireEnv(t, "KUBEBUILDER_ASSETS"),
		Listen:     "127.0.0.1:0",
		MockListen: "127.0.0.1:0",
		Out:        testWriter{t},
	}
	env, err := devenv.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			env.Stop()
		}
	})
	t.Logf("dev environment Ready in %s", time.Since(start).Round(100*time.Millisecond))
	c := env.Client

	t.Run("the platform reports Ready with its URL", func(t *testing.T) {
		p := &llmv1.LLMPlatform{}
		if err := c.Get(context.Background(), env.Platform, p); err != nil {
			t.Fatal(err)
		}
		if p.Status.URL != "http://localhost" || p.Status.APIServer.ReadyReplicas != 1 {
			t.Errorf("status url %q, apiServer %+v", p.Status.URL, p.Status.APIServer)
		}
		for typ, reason := range map[string]string{
			llmv1.ConditionReady: llmv1.ReasonReady, llmv1.ConditionDatabaseReady: llmv1.ReasonExternalDatabase,
			llmv1.ConditionAPIServerReady: llmv1.ReasonReady, llmv1.ConditionProvidersReady: llmv1.ReasonProvidersConfigured,
		} {
			if cond := meta.FindStatusCondition(p.Status.Conditions, typ); cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != reason {
				t.Errorf("%s = %+v, want True with reason %s", typ, cond, reason)
			}
		}
		q := &llmv1.UserQuota{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: "dev-everyone"}, q); err != nil {
			t.Fatal(err)
		}
		if cond := meta.FindStatusCondition(q.Status.Conditions, llmv1.ConditionAccepted); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("UserQuota Accepted = %+v, want True", cond)
		}
	})

	t.Run("the API server runs as the operator rendered it", func(t *testing.T) {
		cm := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: env.Platform.Name + "-config"}, cm); err != nil {
			t.Fatal(err)
		}
		local, err := os.ReadFile(filepath.Join(env.PodRoot, builders.ConfigFile))
		if err != nil || string(local) != cm.Data[builders.ConfigKey] {
			t.Errorf("the local platform.yaml (%v) differs from the ConfigMap's", err)
		}
		uri, err := os.ReadFile(filepath.Join(env.PodRoot, builders.DatabaseURLFile))
		if err != nil || string(uri) != env.DatabaseURL {
			t.Errorf("the mounted database URL = %q (%v), want the local PostgreSQL's", uri, err)
		}
		d := &appsv1.Deployment{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: env.Platform.Name + "-apiserver"}, d); err != nil {
			t.Fatal(err)
		}
		if d.Status.ReadyReplicas != 1 || d.Status.ObservedGeneration != d.Generation {
			t.Errorf("Deployment status %+v", d.Status)
		}
		// The rendered --metrics-listen: the metrics on their own local port, a JSON 404 on the UI's.
		var notFound struct{ Error struct{ Code string } }
		call(t, "GET", env.URL+"/metrics", "", nil, &notFound, 404)
		if notFound.Error.Code != "not_found" {
			t.Errorf("GET %s/metrics answered %+v, want the JSON not_found", env.URL, notFound)
		}
		processStart(t, env.MetricsURL)
	})

	t.Run("the admin logs in with the generated credentials", func(t *testing.T) {
		var login struct {
			User struct{ Role string } `json:"user"`
		}
		call(t, "POST", env.URL+"/api/v1/auth/login", "", map[string]string{"login": env.Admin.Username, "password": env.Admin.Password}, &login, 200)
		if login.User.Role != "admin" {
			t.Errorf("the bootstrap admin has role %q", login.User.Role)
		}
	})

	var token string
	t.Run("a new user registers and streams a chat through the mock provider", func(t *testing.T) {
		var reg struct {
			AccessToken string `json:"access_token"`
		}
		call(t, "POST", env.URL+"/api/v1/auth/register", "", map[string]string{
			"username": "carol", "email": "carol@example.com", "password": "carol-password-1"}, &reg, 201)
		token = reg.AccessToken
		models := modelIDs(t, env.URL, token)
		for _, want := range []string{"mock-openai/mock-chat", "mock-openai/mock-fast", "mock-anthropic/mock-claude"} {
			if !slices.Contains(models, want) {
				t.Errorf("models %v lack %s", models, want)
			}
		}
		var conv struct{ ID string }
		call(t, "POST", env.URL+"/api/v1/conversations", token, map[string]string{"model": "mock-openai/mock-chat"}, &conv, 201)
		header, events := stream(t, env.URL+"/api/v1/conversations/"+conv.ID+"/messages", token, map[string]string{"content": "Hello from the end-to-end test"})
		if header.Get("X-Accel-Buffering") != "no" {
			t.Errorf("stream headers %v", header)
		}
		var text strings.Builder
		var usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
		var done struct {
			AssistantMessage struct{ Content string } `json:"assistant_message"`
		}
		deltas := 0
		for _, ev := range events {
			var err error
			switch ev.name {
			case "delta":
				var d struct{ Text string }
				err = json.Unmarshal([]byte(ev.data), &d)
				text.WriteString(d.Text)
				deltas++
			case "usage":
				err = json.Unmarshal([]byte(ev.data), &usage)
			case "done":
				err = json.Unmarshal([]byte(ev.data), &done)
			case "error":
				t.Fatalf("the stream failed: %s", ev.data)
			}
			if err != nil {
				t.Fatalf("event %s %s: %v", ev.name, ev.data, err)
			}
		}
		if deltas < 2 || usage.CompletionTokens == 0 || text.String() != mockprovider.ReplyText(usage.CompletionTokens) ||
			done.AssistantMessage.Content != text.String() {
			t.Errorf("%d deltas making %q, usage %+v, stored answer %q", deltas, text.String(), usage, done.AssistantMessage.Content)
		}
		if key := lastMockKey(t, env.MockURL); key != "sk-mock-dev-one" && key != "sk-mock-dev-two" {
			t.Errorf("the mock was called with key %q, not one of the pool's mounted keys", key)
		}
	})

	t.Run("the operator reads the usage into the UserQuota and LLMPlatform statuses", func(t *testing.T) {
		eventually(t, time.Minute, func() error {
			q := &llmv1.UserQuota{}
			if err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: "dev-everyone"}, q); err != nil {
				return err
			}
			if cond := meta.FindStatusCondition(q.Status.Conditions, llmv1.ConditionSynced); cond == nil || cond.Status != metav1.ConditionTrue {
				return errorf("UserQuota Synced = %+v", cond)
			}
			var carol *llmv1.SubjectUsage
			for i := range q.Status.Usage {
				if q.Status.Usage[i].User == "carol" {
					carol = &q.Status.Usage[i]
				}
			}
			if q.Status.MatchedUsers < 2 || carol == nil {
				return errorf("UserQuota status: %d matched users, usage %+v; want the admin and carol, with carol's use", q.Status.MatchedUsers, q.Status.Usage)
			}
			for _, w := range carol.Windows {
				if w.Limit == "tokensPerDay" && w.Used != "0" && w.Used != "" {
					p := &llmv1.LLMPlatform{}
					if err := c.Get(context.Background(), env.Platform, p); err != nil {
						return err
					}
					if p.Status.Users < 2 || p.Status.TokensToday == 0 {
						return errorf("LLMPlatform status users %d, tokensToday %d", p.Status.Users, p.Status.TokensToday)
					}
					return nil
				}
			}
			return errorf("carol's windows %+v show no tokens used today", carol.Windows)
		})
	})

	t.Run("changes to the tenant reach the running API server as files", func(t *testing.T) {
		started := processStart(t, env.MetricsURL)
		p := &llmv1.LLMPlatform{}
		if err := c.Get(context.Background(), env.Platform, p); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(p.DeepCopy())
		p.Spec.Providers[1].Models = append(p.Spec.Providers[1].Models, llmv1.ModelSpec{Name: "mock-added", UpstreamName: "mock-chat"})
		if err := c.Patch(context.Background(), p, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			if models := modelIDs(t, env.URL, token); !slices.Contains(models, "mock-anthropic/mock-added") {
				return errorf("models %v lack the added mock-anthropic/mock-added", models)
			}
			return nil
		})

		s := &corev1.Secret{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: "dev-mock-keys"}, s); err != nil {
			t.Fatal(err)
		}
		s.Data["anthropic"] = []byte("sk-ant-rotated")
		if err := c.Update(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		var conv struct{ ID string }
		call(t, "POST", env.URL+"/api/v1/conversations", token, map[string]string{"model": "mock-anthropic/mock-added"}, &conv, 201)
		eventually(t, 30*time.Second, func() error {
			stream(t, env.URL+"/api/v1/conversations/"+conv.ID+"/messages", token, map[string]any{"content": "Which key?", "model": "mock-anthropic/mock-added"})
			if key := lastMockKey(t, env.MockURL); key != "sk-ant-rotated" {
				return errorf("the mock was last called with key %q, want the rotated one", key)
			}
			return nil
		})
		if now := processStart(t, env.MetricsURL); now != started {
			t.Errorf("the API server was restarted (started at %s, now %s); config and keys must reach it as files", started, now)
		}
	})

	t.Run("a pod template change starts a new API server", func(t *testing.T) {
		started := processStart(t, env.MetricsURL)
		p := &llmv1.LLMPlatform{}
		if err := c.Get(context.Background(), env.Platform, p); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(p.DeepCopy())
		p.Spec.APIServer.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
		if err := c.Patch(context.Background(), p, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, func() error {
			if err := c.Get(context.Background(), env.Platform, p); err != nil {
				return err
			}
			ready := meta.FindStatusCondition(p.Status.Conditions, llmv1.ConditionReady)
			if ready == nil || ready.Status != metav1.ConditionTrue || p.Status.ObservedGeneration != p.Generation {
				return errorf("platform generation %d, observed %d, Ready %+v", p.Generation, p.Status.ObservedGeneration, ready)
			}
			if now, err := processStartOrErr(env.MetricsURL); err != nil || now == started {
				return errorf("API server started at %s (%v), want a new process", now, err)
			}
			return nil
		})
		modelIDs(t, env.URL, token) // the new process serves the same users: the session still works
	})

	t.Run("deleting the tenant stops its API server and removes its children", func(t *testing.T) {
		p := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Namespace: env.Platform.Namespace, Name: env.Platform.Name}}
		if err := c.Delete(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, func() error {
			d := &appsv1.Deployment{}
			err := c.Get(context.Background(), types.NamespacedName{Namespace: env.Platform.Namespace, Name: env.Platform.Name + "-apiserver"}, d)
			if !apierrors.IsNotFound(err) {
				return errorf("the Deployment is still there (%v)", err)
			}
			if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(env.URL, "http://"), time.Second); err == nil {
				_ = conn.Close()
				return errorf("the API server still listens")
			}
			return nil
		})
	})

	t.Run("stopping leaves nothing running", func(t *testing.T) {
		env.Stop()
		stopped = true
		for _, u := range []string{env.URL, env.MetricsURL, env.MockURL, env.DatabaseURL} {
			host := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "postgres://llmplatform@")
			host, _, _ = strings.Cut(host, "/")
			if conn, err := net.DialTimeout("tcp", host, time.Second); err == nil {
				_ = conn.Close()
				t.Errorf("%s still accepts connections after Stop", host)
			}
		}
	})

	t.Run("a second run starts from the kept state", func(t *testing.T) {
		again := time.Now()
		env, err := devenv.Start(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer env.Stop()
		t.Logf("second run Ready in %s", time.Since(again).Round(100*time.Millisecond))
		var login struct {
			AccessToken string `json:"access_token"`
		}
		call(t, "POST", env.URL+"/api/v1/auth/login", "", map[string]string{"login": "carol", "password": "carol-password-1"}, &login, 200)
		type conversation struct {
			MessageCount int `json:"message_count"`
		}
		var convs struct {
			Items []conversation `json:"items"`
		}
		call(t, "GET", env.URL+"/api/v1/conversations", login.AccessToken, nil, &convs, 200)
		empty := func(c conversation) bool { return c.MessageCount < 2 }
		if len(convs.Items) == 0 || slices.ContainsFunc(convs.Items, empty) {
			t.Errorf("carol's conversations after a restart: %+v, want the ones she had, with their messages", convs.Items)
		}
	})
}

// modelIDs lists the ids of /api/v1/models.
func modelIDs(t *testing.T, base, token string) []string {
	t.Helper()
	var page struct {
		Items []struct{ ID string } `json:"items"`
	}
	call(t, "GET", base+"/api/v1/models", token, nil, &page, 200)
	var ids []string
	for _, m := range page.Items {
		ids = append(ids, m.ID)
	}
	return ids
}

// lastMockKey is the API key of the mock provider's most recent request.
func lastMockKey(t *testing.T, mockURL string) string {
	t.Helper()
	var reqs []struct{ Key string }
	call(t, "GET", mockURL+"/mock/requests", "", nil, &reqs, 200)
	if len(reqs) == 0 {
		t.Fatal("the mock provider received no request")
	}
	return reqs[len(reqs)-1].Key
}

// processStart is the API server process's start time, from its Prometheus metrics.
func processStart(t *testing.T, base string) string {
	t.Helper()
	s, err := processStartOrErr(base)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func processStartOrErr(base string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "process_start_time_seconds "); ok {
			return v, nil
		}
	}
	return "", errorf("no process_start_time_seconds in /metrics")
}
