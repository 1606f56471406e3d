package controllers

import (
	"math"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	llmv1 "github.com/llmplatform/llmplatform/api/v1alpha1"
)

// Bounds of UserQuota.status.usage (its schema's MaxItems).
const (
	maxUsageSubjects = 20
	maxUsageWindows  = 8
)

// limitRequestsPerMinute names the requests-per-minute limit in the internal endpoint and in status.
const limitRequestsPerMinute = "requestsPerMinute"

// platformUsage is what one read of a platform's API server found: the summaries and every quota's usage,
// or why the read failed. It holds exactly what the statuses show, so that two reads that would write the
// same statuses compare equal.
type platformUsage struct {
	// Failure is why the read failed; the other fields are then empty.
	Failure *syncFailure
	// Users and TokensToday are LLMPlatform.status.users and tokensToday.
	Users, TokensToday int64
	// Quotas holds the usage of the quotas the API server applies, by name.
	Quotas map[string]quotaUsage
}

// quotaUsage is a quota's status.matchedUsers and status.usage.
type quotaUsage struct {
	MatchedUsers int32
	Usage        []llmv1.SubjectUsage
}

// quotaSync is what the last read of a platform's API server says of one of its quotas.
type quotaSync struct {
	// Failure is why the read failed.
	Failure *syncFailure
	// Usage is the quota's usage; nil when the API server does not apply the quota.
	Usage *quotaUsage
}

// platformUsageOf turns the internal endpoints' answers into what the statuses show.
func platformUsageOf(q *internalQuotas, s *internalSummary) *platformUsage {
	u := &platformUsage{Users: s.Users, TokensToday: s.TokensToday, Quotas: make(map[string]quotaUsage, len(q.Items))}
	for _, item := range q.Items {
		qu := quotaUsage{MatchedUsers: int32(min(max(item.MatchedUsers, 0), math.MaxInt32))}
		for _, sub := range item.Usage[:min(len(item.Usage), maxUsageSubjects)] {
			qu.Usage = append(qu.Usage, subjectUsageOf(sub))
		}
		u.Quotas[item.Name] = qu
	}
	return u
}

// subjectUsageOf is one user's entry in status.usage, in the API server's order (nearest to a limit first).
// A requestsPerMinute window without requests is left out: its resetAt moves every minute, and showing it
// would make an idle platform write every quota's status once a minute. Times are whole seconds, as status
// stores them, so that a read compares equal to the status it wrote.
func subjectUsageOf(s internalSubject) llmv1.SubjectUsage {
	out := llmv1.SubjectUsage{User: s.User, Exhausted: s.Exhausted}
	for _, w := range s.Windows {
		if w.Limit == limitRequestsPerMinute && w.Used == "0" {
			continue
		}
		if len(out.Windows) == maxUsageWindows {
			break
		}
		out.Windows = append(out.Windows, llmv1.WindowUsage{Limit: w.Limit, Used: w.Used, Remaining: w.Remaining,
			ResetAt: metav1.NewTime(w.ResetAt.UTC().Truncate(time.Second))})
	}
	return out
}

// usageStore holds the last read of each platform's API server, for the reconcilers to put into the
// statuses they write. Entries are never changed once stored; readers get copies.
type usageStore struct {
	mu        sync.RWMutex
	platforms map[types.NamespacedName]*platformUsage
}

func newUsageStore() *usageStore {
	return &usageStore{platforms: map[types.NamespacedName]*platformUsage{}}
}

// put stores a platform's read and reports whether it differs from the previous one, and the previous one's
// failure.
func (s *usageStore) put(key types.NamespacedName, u *platformUsage) (changed bool, previous *syncFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, found := s.platforms[key]
	s.platforms[key] = u
	if found {
		previous = old.Failure
	}
	return !found || !equality.Semantic.DeepEqual(old, u), previous
}

// forget drops a platform that is gone.
func (s *usageStore) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.platforms, key)
}

// summary returns the platform's user count and tokens used today; ok is false until a read succeeded and
// after a failed one (the status then keeps what it showed).
func (s *usageStore) summary(key types.NamespacedName) (users, tokensToday int64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.platforms[key]
	if u == nil || u.Failure != nil {
		return 0, 0, false
	}
	return u.Users, u.TokensToday, true
}

// quota returns what the last read of the platform says of one quota; nil before the first read.
func (s *usageStore) quota(key types.NamespacedName, name string) *quotaSync {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.platforms[key]
	switch {
	case u == nil:
		return nil
	case u.Failure != nil:
		return &quotaSync{Failure: u.Failure}
	}
	qu, found := u.Quotas[name]
	if !found {
		return &quotaSync{}
	}
	cp := quotaUsage{MatchedUsers: qu.MatchedUsers}
	if qu.Usage != nil {
		cp.Usage = make([]llmv1.SubjectUsage, len(qu.Usage))
		for i := range qu.Usage {
			qu.Usage[i].DeepCopyInto(&cp.Usage[i])
		}
	}
	return &quotaSync{Usage: &cp}
}
