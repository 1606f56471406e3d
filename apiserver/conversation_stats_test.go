package apiserver_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// conversationStats is GET /api/v1/conversations/{id}/stats as a client reads it.
type conversationStats struct {
	ConversationID string `json:"conversation_id"`
	Messages       struct {
		Total, User, Assistant, System int64
	} `json:"messages"`
	Answers struct {
		PromptTokens       int64  `json:"prompt_tokens"`
		CachedPromptTokens int64  `json:"cached_prompt_tokens"`
		CompletionTokens   int64  `json:"completion_tokens"`
		ReasoningTokens    int64  `json:"reasoning_tokens"`
		TotalTokens        int64  `json:"total_tokens"`
		Estimated          int64  `json:"estimated"`
		CostUSD            string `json:"cost_usd"`
	} `json:"answers"`
	Calls           usageTotals `json:"calls"`
	FirstActivityAt *time.Time  `json:"first_activity_at"`
	LastActivityAt  *time.Time  `json:"last_activity_at"`
}

// TestConversationStatsSumItsMessagesAndCalls: after streamed answers on two providers, a failed call and a
// regenerated answer, a conversation's statistics are the sums of its stored messages (answers) and of its
// usage records (calls, equal to the owner's /api/v1/usage); the JSON and Markdown exports carry them, and
// nobody else can read them.
func TestConversationStatsSumItsMessagesAndCalls(t *testing.T) {
	me := newMeterEnv(t, meterOptions{})
	e := &chatEnv{env: me.env}
	ann, bob := e.register("ann"), e.register("bob")
	conv := e.conversation(ann, "oai/mock-chat", "be brief")
	statsPath := "/api/v1/conversations/" + conv + "/stats"

	var empty conversationStats
	e.expect(e.do("GET", statsPath, ann.access, nil), 200).json(t, &empty)
	if empty.ConversationID != conv || empty.Messages.Total != 0 || empty.Calls.Requests != 0 || empty.Calls.CostUSD != "0" ||
		empty.FirstActivityAt != nil || empty.LastActivityAt != nil {
		t.Errorf("stats of a new conversation: %+v", empty)
	}

	send := func(body map[string]any) {
		t.Helper()
		e.stream("/api/v1/conversations/"+conv+"/messages", ann.access, body)
	}
	send(map[string]any{"content": "hello there"})
	send(map[string]any{"content": "tell me more about it, please"})
	send(map[string]any{"content": "and in one word?", "model": "ant/mock-chat"})
	send(map[string]any{"content": "fail", "model": "oai/broken"})
	msgs := e.messages(ann, conv)
	last := msgs[len(msgs)-2]
	if last.Role != "user" || last.Content != "fail" {
		t.Fatalf("messages %+v: want the failed turn last", msgs)
	}
	if st := e.stream("/api/v1/conversations/"+conv+"/messages/"+last.ID+"/regenerate", ann.access, map[string]any{}); st.status != 200 {
		t.Fatalf("regenerate: %d %s", st.status, st.body)
	}
	me.waitRecords(5)

	var got conversationStats
	e.expect(e.do("GET", statsPath, ann.access, nil), 200).json(t, &got)

	ctx := context.Background()
	pool := me.srv.DB.Pool()
	var want conversationStats
	var answerCost int64
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE role = 'user'), count(*) FILTER (WHERE role = 'assistant'),
			coalesce(sum(prompt_tokens), 0), coalesce(sum(cached_prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
			coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_micros), 0), count(*) FILTER (WHERE estimated), max(created_at)
		FROM messages WHERE conversation_id = $1`, conv).Scan(&want.Messages.Total, &want.Messages.User, &want.Messages.Assistant,
		&want.Answers.PromptTokens, &want.Answers.CachedPromptTokens, &want.Answers.CompletionTokens, &want.Answers.ReasoningTokens,
		&answerCost, &want.Answers.Estimated, &want.LastActivityAt); err != nil {
		t.Fatal(err)
	}
	want.ConversationID = conv
	want.Answers.TotalTokens = want.Answers.PromptTokens + want.Answers.CompletionTokens
	want.Answers.CostUSD = formatMicros(answerCost)
	var callCost int64
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'upstream_error'), sum(prompt_tokens),
			sum(cached_tokens), sum(completion_tokens), sum(reasoning_tokens), sum(cost_micros), min(started_at)
		FROM usage_records WHERE conversation_id = $1`, conv).Scan(&want.Calls.Requests, &want.Calls.Failed, &want.Calls.PromptTokens,
		&want.Calls.CachedPromptTokens, &want.Calls.CompletionTokens, &want.Calls.ReasoningTokens, &callCost, &want.FirstActivityAt); err != nil {
		t.Fatal(err)
	}
	want.Calls.TotalTokens = want.Calls.PromptTokens + want.Calls.CompletionTokens
	want.Calls.CostUSD = formatMicros(callCost)

	// A call starts before its user turn is stored, and the last answer is stored after its call started.
	if got.FirstActivityAt == nil || got.LastActivityAt == nil || !got.FirstActivityAt.Equal(*want.FirstActivityAt) ||
		!got.LastActivityAt.Equal(*want.LastActivityAt) {
		t.Errorf("activity %v to %v, want the first call's start %v to the last message %v",
			got.FirstActivityAt, got.LastActivityAt, want.FirstActivityAt, want.LastActivityAt)
	}
	got.FirstActivityAt, got.LastActivityAt, want.FirstActivityAt, want.LastActivityAt = nil, nil, nil, nil
	if got != want {
		t.Errorf("stats\n %+v\nwant the sums of the messages and usage records\n %+v", got, want)
	}
	// Four turns and their answers; five calls (the failed one and its regeneration among them). The failed
	// call's prompt counts among the calls, not among the answers: its answer was replaced.
	if got.Messages.User != 4 || got.Messages.Assistant != 4 || got.Calls.Requests != 5 || got.Calls.Failed != 1 ||
		got.Answers.CompletionTokens == 0 || got.Answers.PromptTokens >= got.Calls.PromptTokens || answerCost == 0 {
		t.Errorf("stats %+v (answers cost %d micro-USD): want 4+4 messages, 5 calls with 1 failed, fewer prompt tokens in answers than in calls",
			got, answerCost)
	}

	// The calls are all of ann's usage, as /api/v1/usage counts it.
	var rep struct {
		Summary usageTotals `json:"summary"`
	}
	e.expect(e.do("GET", "/api/v1/usage", ann.access, nil), 200).json(t, &rep)
	if rep.Summary != got.Calls {
		t.Errorf("/api/v1/usage summary %+v, conversation calls %+v", rep.Summary, got.Calls)
	}

	var export struct {
		Stats json.RawMessage `json:"stats"`
	}
	e.expect(e.do("GET", "/api/v1/conversations/"+conv+"/export?format=json", ann.access, nil), 200).json(t, &export)
	var exported, direct any
	_ = json.Unmarshal(export.Stats, &exported)
	_ = json.Unmarshal(e.expect(e.do("GET", statsPath, ann.access, nil), 200).body, &direct)
	if exported == nil || !reflect.DeepEqual(exported, direct) {
		t.Errorf("JSON export stats %s, want %v", export.Stats, direct)
	}
	md := e.expect(e.do("GET", "/api/v1/conversations/"+conv+"/export", ann.access, nil), 200)
	if line := "- Statistics: 8 messages (4 user, 4 assistant); answers "; !strings.Contains(string(md.body), line) ||
		!strings.Contains(string(md.body), "; 5 calls, USD "+got.Calls.CostUSD+"\n") {
		t.Errorf("Markdown export lacks the statistics line:\n%s", md.body)
	}

	for _, path := range []string{statsPath, "/api/v1/conversations/" + conv + "/export?format=json"} {
		if code := e.expect(e.do("GET", path, bob.access, nil), 404).errCode(t); code != "not_found" {
			t.Errorf("bob GET %s: %s, want not_found", path, code)
		}
	}
	e.expect(e.do("GET", "/api/v1/conversations/00000000-0000-4000-8000-000000000000/stats", ann.access, nil), 404)
	e.expect(e.do("GET", "/api/v1/conversations/not-a-uuid/stats", ann.access, nil), 404)
	e.expect(e.do("GET", statsPath, "", nil), 401)
}

// TestConversationStatsCountRefusals: a message a quota refuses is one of the conversation's calls, counted as
// refused, as /api/v1/usage counts it.
func TestConversationStatsCountRefusals(t *testing.T) {
	me := newMeterEnv(t, meterOptions{quotas: "- {name: one-a-minute, subjects: {allUsers: true}, limits: {requestsPerMinute: 1}}\n"})
	e := &chatEnv{env: me.env}
	ann := e.register("ann")
	conv := e.conversation(ann, "oai/mock-chat", "")
	for i, want := range []int{200, 429} {
		if st := e.stream("/api/v1/conversations/"+conv+"/messages", ann.access, map[string]any{"content": "hello"}); st.status != want {
			t.Fatalf("message %d: %d %s, want %d", i+1, st.status, st.body, want)
		}
	}
	me.waitRecords(2)
	var got conversationStats
	e.expect(e.do("GET", "/api/v1/conversations/"+conv+"/stats", ann.access, nil), 200).json(t, &got)
	var rep struct {
		Summary usageTotals `json:"summary"`
	}
	e.expect(e.do("GET", "/api/v1/usage", ann.access, nil), 200).json(t, &rep)
	if got.Calls.Requests != 2 || got.Calls.Refused != 1 || got.Calls != rep.Summary {
		t.Errorf("conversation calls %+v, want 2 with 1 refused, as /api/v1/usage %+v", got.Calls, rep.Summary)
	}
}
