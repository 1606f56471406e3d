package apiserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestChatStreamsEveryProviderType: through the API server over real HTTP, each provider type streams the
// mock's exact text; the usage event, the stored answer and the settlement carry the usage the mock
// reported, and the stream has the headers that keep proxies from buffering it, uncompressed.
func TestChatStreamsEveryProviderType(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("ada")
	want := mockprovider.ReplyText(chatReply)
	for i, prov := range []string{"oai", "ant", "gem", "oll", "compat"} {
		t.Run(prov, func(t *testing.T) {
			conv := e.conversation(s, prov+"/mock-chat", "Be brief.")
			content := fmt.Sprintf("Hello number %d?", i)
			st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": content})
			if st.status != 200 {
				t.Fatalf("status %d: %s", st.status, st.body)
			}
			for h, v := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-store",
				"X-Accel-Buffering": "no", "Content-Encoding": ""} {
				if got := st.header.Get(h); got != v {
					t.Errorf("header %s = %q, want %q", h, got, v)
				}
			}
			if got := st.text(); got != want {
				t.Errorf("streamed text %q, want %q", got, want)
			}
			prompt := int64(mockprovider.PromptTokens("Be brief.", content))
			var usage struct {
				PromptTokens     int64  `json:"prompt_tokens"`
				CompletionTokens int64  `json:"completion_tokens"`
				CostUSD          string `json:"cost_usd"`
				Estimated        bool   `json:"estimated"`
			}
			if !st.event(t, "usage", &usage) || usage.PromptTokens != prompt || usage.CompletionTokens != chatReply || usage.Estimated {
				t.Errorf("usage event %+v, want %d prompt and %d completion tokens, reported", usage, prompt, chatReply)
			}
			var done struct {
				UserMessage      apiMessage `json:"user_message"`
				AssistantMessage apiMessage `json:"assistant_message"`
				FinishReason     string     `json:"finish_reason"`
			}
			if !st.event(t, "done", &done) || done.FinishReason != "stop" || done.UserMessage.Content != content ||
				done.AssistantMessage.Content != want {
				t.Fatalf("done event %+v", done)
			}
			if last := st.events[len(st.events)-1]; last.name != "done" {
				t.Errorf("last event %s, want done", last.name)
			}
			msgs := e.messages(s, conv)
			if len(msgs) != 2 || msgs[1].Content != want || msgs[1].Provider != prov || msgs[1].Model != prov+"/mock-chat" ||
				msgs[1].Usage == nil || msgs[1].Usage.PromptTokens != prompt || msgs[1].Usage.CompletionTokens != chatReply ||
				msgs[1].Usage.CostUSD != usage.CostUSD || msgs[1].LatencyMS == nil || msgs[1].TTFTMS == nil {
				t.Errorf("stored %+v", msgs)
			}
			set := e.waitSettled(i + 1)[i]
			if set.Outcome != metering.OutcomeOK || set.Usage.PromptTokens != prompt || set.Usage.CompletionTokens != chatReply ||
				set.MessageID != done.AssistantMessage.ID || set.ConversationID != conv {
				t.Errorf("settlement %+v", set)
			}
			req := e.mock.LastRequest()
			if req.System != "Be brief." || len(req.Messages) != 1 || req.Messages[0].Content != content {
				t.Errorf("upstream got system %q, messages %+v", req.System, req.Messages)
			}
		})
	}
	// Prices: 1 and 2 USD per million on oai/mock-chat.
	conv := e.conversation(s, "oai/mock-chat", "")
	r := e.expect(e.do("POST", "/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "price?", "stream": false}), 200)
	var body struct {
		AssistantMessage apiMessage `json:"assistant_message"`
		FinishReason     string     `json:"finish_reason"`
	}
	r.json(t, &body)
	u := body.AssistantMessage.Usage
	wantCost := config.FormatUSD((u.PromptTokens*1_000_000 + u.CompletionTokens*2_000_000 + 500_000) / 1_000_000)
	if body.FinishReason != "stop" || body.AssistantMessage.Content != want || u.CostUSD != wantCost {
		t.Errorf("JSON answer %+v, want cost %s", body, wantCost)
	}
	if got := e.meter.requests[len(e.meter.requests)-1]; got.Provider != "oai" || got.Model != "mock-chat" ||
		got.Source != metering.SourceChat || got.Caller.Username != "ada" || got.Caller.Email != "ada@example.com" || got.MaxOutputTokens != 1000 {
		t.Errorf("reservation request %+v", got)
	}
}

// TestChatJSONWhenAskedAndErrorsBeforeTheStream: Accept: application/json answers JSON; an unknown model,
// a bad body and someone else's conversation are JSON errors, not streams.
func TestChatJSONWhenAskedAndErrorsBeforeTheStream(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s, other := e.register("bea"), e.register("cyd")
	conv := e.conversation(s, "mock-chat", "") // a bare name: the first provider that has it
	r := e.do("POST", "/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "hi", "stream": false})
	e.expect(r, 200)
	if !strings.Contains(string(r.body), `"provider":"oai"`) {
		t.Errorf("a bare model name did not resolve to the first provider: %s", r.body)
	}
	for _, tc := range []struct {
		body   map[string]any
		token  string
		conv   string
		status int
		code   string
	}{
		{map[string]any{"content": "hi", "model": "nope/nothing"}, s.access, conv, 422, "unknown_model"},
		{map[string]any{"content": "   "}, s.access, conv, 422, "validation_failed"},
		{map[string]any{"content": "hi", "temperature": 3}, s.access, conv, 422, "validation_failed"},
		{map[string]any{"content": "hi"}, other.access, conv, 404, "not_found"},
	} {
		st := e.stream("/api/v1/conversations/"+tc.conv+"/messages", tc.token, tc.body)
		if st.status != tc.status || !strings.Contains(string(st.body), `"code":"`+tc.code+`"`) {
			t.Errorf("%v: %d %s, want %d %s", tc.body, st.status, st.body, tc.status, tc.code)
		}
	}
	if n := len(e.messages(s, conv)); n != 2 {
		t.Errorf("%d messages after refused sends, want the first exchange's 2", n)
	}
}
