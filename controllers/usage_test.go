package controllers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

func TestPlatformUsageOf(t *testing.T) {
	reset := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("JST", 9*3600))
	minute := time.Date(2026, 2, 14, 10, 31, 0, 0, time.UTC)
	subjects := make([]internalSubject, 25)
	for i := range subjects {
		subjects[i] = internalSubject{User: fmt.Sprintf("user%02d", i), Windows: []internalWindow{
			{Limit: "requestsPerMinute", Used: "0", Remaining: "60", ResetAt: minute},
			{Limit: "tokensPerMonth", Used: "10", Remaining: "90", ResetAt: reset.Add(123 * time.Millisecond)},
		}}
	}
	subjects[0] = internalSubject{User: "alice", Exhausted: true, Windows: []internalWindow{
		{Limit: "requestsPerMinute", Used: "60", Remaining: "0", ResetAt: minute},
		{Limit: "costPerMonth", Used: "1.5", Remaining: "3.5", ResetAt: reset},
	}}
	u := platformUsageOf(&internalQuotas{Items: []internalQuota{
		{Name: "everyone", MatchedUsers: 1 << 40, Usage: subjects},
		{Name: "models-only", MatchedUsers: 3},
	}}, &internalSummary{Users: 30, TokensToday: 1234})

	if u.Failure != nil || u.Users != 30 || u.TokensToday != 1234 || len(u.Quotas) != 2 {
		t.Fatalf("usage %+v", u)
	}
	everyone := u.Quotas["everyone"]
	if everyone.MatchedUsers != 1<<31-1 || len(everyone.Usage) != maxUsageSubjects {
		t.Errorf("matchedUsers %d with %d subjects, want the int32 maximum and %d", everyone.MatchedUsers, len(everyone.Usage), maxUsageSubjects)
	}
	alice := everyone.Usage[0]
	if alice.User != "alice" || !alice.Exhausted || len(alice.Windows) != 2 || alice.Windows[0].Limit != "requestsPerMinute" || alice.Windows[0].Used != "60" {
		t.Errorf("alice %+v: a requests-per-minute window in use is shown", alice)
	}
	other := everyone.Usage[1]
	if len(other.Windows) != 1 || other.Windows[0].Limit != "tokensPerMonth" {
		t.Errorf("%s windows %+v: an idle requests-per-minute window is left out", other.User, other.Windows)
	}
	if got := other.Windows[0].ResetAt.Time; !got.Equal(reset) || got.Location() != time.UTC {
		t.Errorf("resetAt %v, want %v in whole seconds, UTC", got, reset)
	}
	if q := u.Quotas["models-only"]; q.MatchedUsers != 3 || q.Usage != nil {
		t.Errorf("a quota without counted limits: %+v", q)
	}
}

func TestUsageStore(t *testing.T) {
	key := types.NamespacedName{Namespace: "t", Name: "shop"}
	read := func(used string) *platformUsage {
		return &platformUsage{Users: 2, TokensToday: 7, Quotas: map[string]quotaUsage{"q": {MatchedUsers: 2, Usage: []llmv1.SubjectUsage{
			{User: "alice", Windows: []llmv1.WindowUsage{{Limit: "tokensPerDay", Used: used, Remaining: "1", ResetAt: metav1.NewTime(time.Unix(1e9, 0))}}},
		}}}}
	}
	s := newUsageStore()
	if s.quota(key, "q") != nil {
		t.Error("a quota's sync before the first read")
	}
	if _, _, ok := s.summary(key); ok {
		t.Error("a summary before the first read")
	}
	if changed, _ := s.put(key, read("5")); !changed {
		t.Error("the first read is a change")
	}
	if changed, _ := s.put(key, read("5")); changed {
		t.Error("the same read again is a change")
	}
	if changed, _ := s.put(key, read("6")); !changed {
		t.Error("a new amount is no change")
	}
	got := s.quota(key, "q")
	if got == nil || got.Failure != nil || got.Usage == nil || got.Usage.Usage[0].Windows[0].Used != "6" {
		t.Fatalf("quota %+v", got)
	}
	got.Usage.Usage[0].Windows[0].Used = "changed by a reader"
	if again := s.quota(key, "q"); again.Usage.Usage[0].Windows[0].Used != "6" {
		t.Error("a reader changed the stored usage")
	}
	if missing := s.quota(key, "other"); missing == nil || missing.Failure != nil || missing.Usage != nil {
		t.Errorf("a quota the API server does not report: %+v", missing)
	}
	if users, tokens, ok := s.summary(key); !ok || users != 2 || tokens != 7 {
		t.Errorf("summary %d, %d, %v", users, tokens, ok)
	}

	failure := &syncFailure{llmv1.ReasonAPIServerUnreachable, "down"}
	if changed, previous := s.put(key, &platformUsage{Failure: failure}); !changed || previous != nil {
		t.Errorf("a failure: changed %v, previous %v", changed, previous)
	}
	if changed, previous := s.put(key, &platformUsage{Failure: &syncFailure{llmv1.ReasonAPIServerUnreachable, "down"}}); changed || *previous != *failure {
		t.Errorf("the same failure again: changed %v, previous %v", changed, previous)
	}
	if q := s.quota(key, "q"); q.Failure == nil || q.Usage != nil {
		t.Errorf("quota after a failed read %+v", q)
	}
	if _, _, ok := s.summary(key); ok {
		t.Error("a summary from a failed read")
	}
	s.forget(key)
	if s.quota(key, "q") != nil {
		t.Error("a forgotten platform still has usage")
	}
}

func TestQuotaStatusWithUsage(t *testing.T) {
	platform := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	usage := &quotaUsage{MatchedUsers: 4, Usage: []llmv1.SubjectUsage{{User: "alice", Exhausted: true}}}
	shown := llmv1.UserQuotaStatus{MatchedUsers: 9, Usage: []llmv1.SubjectUsage{{User: "old"}},
		Conditions: []metav1.Condition{{Type: llmv1.ConditionSynced, Status: metav1.ConditionTrue, Reason: llmv1.ReasonSynced}}}
	tests := []struct {
		name        string
		before      llmv1.UserQuotaStatus
		obs         quotaObservation
		wantSynced  metav1.ConditionStatus // "" for no Synced condition
		wantReason  string
		wantMatched int32
		wantUsers   string
	}{
		{"no platform", shown, quotaObservation{}, "", "", 0, ""},
		{"not read yet", llmv1.UserQuotaStatus{}, quotaObservation{Platform: platform}, metav1.ConditionUnknown, llmv1.ReasonReconciling, 0, ""},
		{"not read since a restart", shown, quotaObservation{Platform: platform}, metav1.ConditionTrue, llmv1.ReasonSynced, 9, "old"},
		{"read failed", shown, quotaObservation{Platform: platform, Sync: &quotaSync{Failure: &syncFailure{llmv1.ReasonTokenRejected, "401"}}},
			metav1.ConditionFalse, llmv1.ReasonTokenRejected, 9, "old"},
		{"quota not loaded", shown, quotaObservation{Platform: platform, Sync: &quotaSync{}}, metav1.ConditionFalse, llmv1.ReasonQuotaNotLoaded, 9, "old"},
		{"read", shown, quotaObservation{Platform: platform, Sync: &quotaSync{Usage: usage}}, metav1.ConditionTrue, llmv1.ReasonSynced, 4, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &llmv1.UserQuota{Spec: llmv1.UserQuotaSpec{PlatformRef: llmv1.PlatformRef{Name: "shop"}}, Status: *tt.before.DeepCopy()}
			q.Generation = 3
			st := quotaStatus(q, tt.obs)
			c := meta.FindStatusCondition(st.Conditions, llmv1.ConditionSynced)
			switch {
			case tt.wantSynced == "" && c != nil:
				t.Errorf("Synced %+v, want none", c)
			case tt.wantSynced != "" && (c == nil || c.Status != tt.wantSynced || c.Reason != tt.wantReason):
				t.Errorf("Synced %+v, want %s (%s)", c, tt.wantSynced, tt.wantReason)
			}
			var users []string
			for _, u := range st.Usage {
				users = append(users, u.User)
			}
			if st.MatchedUsers != tt.wantMatched || strings.Join(users, ",") != tt.wantUsers {
				t.Errorf("matchedUsers %d, usage of %v; want %d, %q", st.MatchedUsers, users, tt.wantMatched, tt.wantUsers)
			}
			again := q.DeepCopy()
			again.Status = st
			if !equality.Semantic.DeepEqual(quotaStatus(again, tt.obs), st) {
				t.Error("the status computed from its own result differs: every reconcile would write")
			}
		})
	}
}

func TestUsageReadsAreBooked(t *testing.T) {
	r := newUsageSyncReconciler(nil, UsageSyncOptions{Period: time.Minute}, newUsageStore())
	key := types.NamespacedName{Namespace: "t", Name: "shop"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	wait, due := r.claim(key, start)
	if !due || wait < time.Minute || wait > 90*time.Second {
		t.Fatalf("first claim: due %v, next in %s; want due, next in 1m to 1m30s", due, wait)
	}
	for _, at := range []time.Duration{0, time.Second, wait - time.Millisecond} {
		if left, due := r.claim(key, start.Add(at)); due || left != wait-at {
			t.Errorf("claim %s later: due %v, %s left; want %s left", at, due, left, wait-at)
		}
	}
	if _, due := r.claim(key, start.Add(wait)); !due {
		t.Error("not due once the period passed")
	}
	r.forget(key)
	if _, due := r.claim(key, start.Add(wait)); !due {
		t.Error("a platform created again under a forgotten name waits for the old one's period")
	}
}

func TestUsageClientFailures(t *testing.T) {
	const token = "s3cret-internal-token"
	p := &llmv1.LLMPlatform{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "shop"}}
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	_ = closed.Close()

	tests := []struct {
		name, url, reason, text string
	}{
		{"wrong token", serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid_internal_token","message":"for the operator"}}`))
		}), llmv1.ReasonTokenRejected, `Secret "shop-internal" (key "token")`},
		{"server error", serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"database_unavailable","message":"the database is unreachable"}}`))
		}), llmv1.ReasonSyncFailed, "503 Service Unavailable: the database is unreachable (database_unavailable)"},
		{"not JSON", serve(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }),
			llmv1.ReasonSyncFailed, "a body the operator cannot read"},
		{"nothing listening", closedURL, llmv1.ReasonAPIServerUnreachable, "dial: connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newUsageClient(func(*llmv1.LLMPlatform) string { return tt.url })
			var messages []string
			for range 2 {
				_, _, f := c.read(context.Background(), p, []byte(token))
				if f == nil || f.Reason != tt.reason || !strings.Contains(f.Message, tt.text) || !strings.Contains(f.Message, tt.url) {
					t.Fatalf("failure %+v, want %s naming %s and %q", f, tt.reason, tt.url, tt.text)
				}
				if strings.Contains(f.Message, token) {
					t.Fatalf("the message shows the token: %s", f.Message)
				}
				messages = append(messages, f.Message)
			}
			if messages[0] != messages[1] {
				t.Errorf("two reads failing alike differ, so each would write: %q, %q", messages[0], messages[1])
			}
		})
	}

	var auth string
	ok := serve(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if r.URL.Path == internalSummaryPath {
			_, _ = w.Write([]byte(`{"users":3,"tokensToday":42,"requestsToday":1}`))
			return
		}
		_, _ = w.Write([]byte(`{"generatedAt":"2026-01-01T00:00:00Z","items":[{"name":"q","mode":"Enforce","matchedUsers":3,"usage":[]}]}`))
	})
	c := newUsageClient(func(*llmv1.LLMPlatform) string { return ok + "/" })
	quotas, summary, f := c.read(context.Background(), p, []byte(token))
	if f != nil || auth != "Bearer "+token || summary.Users != 3 || summary.TokensToday != 42 || len(quotas.Items) != 1 || quotas.Items[0].MatchedUsers != 3 {
		t.Errorf("read: %+v, %+v, %+v with Authorization %q", quotas, summary, f, auth)
	}
}
