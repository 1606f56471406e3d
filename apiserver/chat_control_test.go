package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/internal/mockprovider"
	"github.com/llmplatform/llmplatform/internal/testutil/pgtest"
)

// firstDelta sends a streamed request and returns once the first delta arrived, with a function that
// closes the connection.
func (e *chatEnv) firstDelta(path, token string, body any) (*eventReader, func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := e.post(ctx, path, token, body) //nolint:bodyclose // the returned function closes it
	if err != nil || res.StatusCode != 200 {
		cancel()
		e.t.Fatalf("starting the stream: %v %v", res, err)
	}
	r := newEventReader(res.Body)
	for {
		ev, _, err := r.next()
		if err != nil {
			cancel()
			e.t.Fatalf("waiting for the first delta: %v", err)
		}
		if ev.name == "delta" {
			return r, func() { cancel(); _ = res.Body.Close() }
		}
	}
}

// TestChatClientGoneCancelsUpstreamAndKeepsThePartialAnswer: closing the connection reaches the provider
// within 100 ms; the partial answer is stored marked stopped and settled as stopped.
func TestChatClientGoneCancelsUpstreamAndKeepsThePartialAnswer(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("dee")
	conv := e.conversation(s, "oai/slow", "")
	_, closeConn := e.firstDelta("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "talk a lot"})
	up := e.mock.LastRequest()
	time.Sleep(50 * time.Millisecond) // a few more tokens
	closed := time.Now()
	closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := up.Wait(ctx)
	if err != nil || !out.ClientGone || out.Completed {
		t.Fatalf("upstream outcome %+v, %v: want the client gone before completion", out, err)
	}
	if lag := out.GoneAt.Sub(closed); lag > 100*time.Millisecond {
		t.Errorf("the provider noticed %v after the client went away, want ≤ 100ms", lag)
	}
	set := e.waitSettled(1)[0]
	if set.Outcome != metering.OutcomeStopped || set.Usage.CompletionTokens == 0 || set.MessageID == "" {
		t.Errorf("settlement %+v, want stopped with the generated tokens", set)
	}
	msgs := e.messages(s, conv)
	full := mockprovider.ReplyText(1000)
	if len(msgs) != 2 || msgs[1].FinishReason != "stopped" || msgs[1].Content == "" || !strings.HasPrefix(full, msgs[1].Content) ||
		len(msgs[1].Content) >= len(full) || msgs[1].ID != set.MessageID {
		t.Errorf("stored %+v, want a partial answer marked stopped", msgs)
	}
}

// TestChatStopFromAnotherReplica: POST /stop on one replica stops an answer streaming from another (through
// PostgreSQL notifications); the stream ends with usage and done, finish_reason stopped.
func TestChatStopFromAnotherReplica(t *testing.T) {
	db := pgtest.NewDatabase(t)
	a := newChatEnv(t, chatOptions{dbURL: db})
	b := newChatEnv(t, chatOptions{dbURL: db, dir: a.dir, mock: a.mock})
	s := a.register("eve")
	conv := a.conversation(s, "oai/slow", "")
	r, closeConn := a.firstDelta("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "go on"})
	defer closeConn()
	time.Sleep(100 * time.Millisecond) // the other replica's listener is up
	stopped := time.Now()
	b.expect(b.do("POST", "/api/v1/conversations/"+conv+"/stop", s.access, nil), 204)
	var names []string
	var done sseEvent
	for {
		ev, _, err := r.next()
		if err != nil {
			break
		}
		names = append(names, ev.name)
		if ev.name == "done" {
			done = ev
		}
	}
	if !strings.Contains(done.data, `"finish_reason":"stopped"`) || names[len(names)-2] != "usage" {
		t.Fatalf("stream ended with %v, done %s", names[max(0, len(names)-3):], done.data)
	}
	if lag := done.at.Sub(stopped); lag > 2*time.Second {
		t.Errorf("the stream ended %v after the stop", lag)
	}
	if set := a.waitSettled(1)[0]; set.Outcome != metering.OutcomeStopped {
		t.Errorf("settlement %+v", set)
	}
	other := a.register("fay")
	b.expect(b.do("POST", "/api/v1/conversations/"+conv+"/stop", other.access, nil), 404)
}

// TestChatRegenerateEditAndDeleteFrom: regenerating replaces the answer without storing the user turn again
// (B2); editing rewrites the turn and drops what followed; deleting from a message drops it and the rest.
func TestChatRegenerateEditAndDeleteFrom(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("gus")
	conv := e.conversation(s, "oai/mock-chat", "sys")
	send := func(content string) {
		t.Helper()
		if st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": content}); st.status != 200 {
			t.Fatalf("send: %d %s", st.status, st.body)
		}
	}
	send("first")
	send("second")
	msgs := e.messages(s, conv)
	upstream := func() []string {
		var out []string
		for _, m := range e.mock.LastRequest().Messages {
			out = append(out, m.Role+":"+m.Content)
		}
		return out
	}
	reply := mockprovider.ReplyText(chatReply)
	for _, byAnswer := range []bool{false, true} { // by the user turn, then by its answer
		id := msgs[2].ID
		if byAnswer {
			id = msgs[3].ID
		}
		st := e.stream("/api/v1/conversations/"+conv+"/messages/"+id+"/regenerate", s.access, map[string]any{})
		if st.status != 200 || st.text() != reply {
			t.Fatalf("regenerate: %d %s %q", st.status, st.body, st.text())
		}
		after := e.messages(s, conv)
		if len(after) != 4 || after[2].ID != msgs[2].ID || after[3].ID == msgs[3].ID || after[3].Content != reply {
			t.Errorf("after regenerating: %+v", after)
		}
		msgs = after
		if got := strings.Join(upstream(), "|"); got != "user:first|assistant:"+reply+"|user:second" {
			t.Errorf("regenerate sent %s (the user turn must appear once)", got)
		}
	}
	st := e.stream("/api/v1/conversations/"+conv+"/messages/"+msgs[0].ID+"/edit", s.access, map[string]any{"content": "first, edited"})
	if st.status != 200 {
		t.Fatalf("edit: %d %s", st.status, st.body)
	}
	after := e.messages(s, conv)
	if len(after) != 2 || after[0].ID != msgs[0].ID || after[0].Content != "first, edited" || after[1].Content != reply {
		t.Errorf("after editing: %+v", after)
	}
	if got := strings.Join(upstream(), "|"); got != "user:first, edited" {
		t.Errorf("edit sent %s", got)
	}
	r := e.do("POST", "/api/v1/conversations/"+conv+"/messages/"+after[1].ID+"/edit", s.access, map[string]any{"content": "x"})
	if e.expect(r, 422).errCode(t) != "not_a_user_message" {
		t.Errorf("editing an answer: %s", r.body)
	}
	e.expect(e.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+after[1].ID, s.access, nil), 204)
	if got := e.messages(s, conv); len(got) != 1 || got[0].ID != after[0].ID {
		t.Errorf("after deleting the answer: %+v", got)
	}
	e.expect(e.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+after[0].ID, s.access, nil), 204)
	e.expect(e.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+after[0].ID, s.access, nil), 404)
	r = e.expect(e.do("GET", "/api/v1/conversations/"+conv, s.access, nil), 200)
	if !strings.Contains(string(r.body), `"message_count":0`) || !strings.Contains(string(r.body), `"preview":""`) {
		t.Errorf("conversation after deleting everything: %s", r.body)
	}
}

// TestChatFailedTurnIsNotSentAgain (B18): a failed call stores the user turn and an answer marked error,
// answers with a clear error that leaks no key, and the next request's history leaves the failed pair out,
// so the provider never sees two user turns in a row.
func TestChatFailedTurnIsNotSentAgain(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("hal")
	conv := e.conversation(s, "ant/mock-chat", "")
	if st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "ok one"}); st.status != 200 {
		t.Fatal(st.status)
	}
	st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "doomed", "model": "oai/broken"})
	if st.status != 502 || !strings.Contains(string(st.body), `"code":"provider_error"`) || strings.Contains(string(st.body), "sk-") {
		t.Fatalf("failed call answered %d %s", st.status, st.body)
	}
	if err := e.mock.SetKeyOptions(keyOther, "status:401"); err != nil {
		t.Fatal(err)
	}
	st = e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "rejected"})
	if st.status != 502 || !strings.Contains(string(st.body), "provider_rejected_key") || strings.Contains(string(st.body), keyOther) {
		t.Fatalf("rejected key answered %d %s", st.status, st.body)
	}
	if err := e.mock.SetKeyOptions(keyOther, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond) // the rejected key's back-off: then it is probed again
	msgs := e.messages(s, conv)
	if len(msgs) != 6 || msgs[3].FinishReason != "error" || msgs[5].FinishReason != "error" {
		t.Fatalf("stored %+v", msgs)
	}
	set := e.waitSettled(3)
	if set[1].Outcome != metering.OutcomeUpstreamError || set[1].ErrorCode != "provider_error" {
		t.Errorf("settlement of the failed call %+v", set[1])
	}
	if st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": "ok two"}); st.status != 200 {
		t.Fatal(st.status, string(st.body))
	}
	var roles []string
	for _, m := range e.mock.LastRequest().Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	reply := mockprovider.ReplyText(chatReply)
	if got := strings.Join(roles, "|"); got != "user:ok one|assistant:"+reply+"|user:ok two" {
		t.Errorf("the next request sent %s", got)
	}
	logs := e.logText()
	if strings.Contains(logs, keyOther) || strings.Contains(logs, keyOne) {
		t.Error("a provider key is in the logs")
	}
}

// TestChatTrimsHistoryToTheContextWindow: a long conversation sends the system prompt and the newest turns
// that fit the model's window with room for the answer; a message that cannot fit is refused.
func TestChatTrimsHistoryToTheContextWindow(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	s := e.register("ida")
	conv := e.conversation(s, "oai/tiny", "You are terse.") // 400 tokens, 100 for the answer
	para := strings.Repeat("word ", 40)                     // about 50 tokens
	for i := range 8 {
		content := string(rune('a'+i)) + " " + para
		if st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": content}); st.status != 200 {
			t.Fatalf("send %d: %d %s", i, st.status, st.body)
		}
		req := e.mock.LastRequest()
		n := len(req.Messages)
		if req.System != "You are terse." || req.Messages[n-1].Content != content || n%2 != 1 {
			t.Fatalf("send %d: system %q, %d messages", i, req.System, n)
		}
		if i == 7 && (n >= 2*i+1 || n < 3) {
			t.Errorf("the 8th send carried %d messages: the history was not trimmed to the window", n)
		}
		if prompt := mockprovider.PromptTokens(req.System, contentsOf(req.Messages)...); prompt > 300 {
			t.Errorf("send %d: a prompt of %d tokens leaves no room for the answer in 400", i, prompt)
		}
	}
	st := e.stream("/api/v1/conversations/"+conv+"/messages", s.access, map[string]any{"content": strings.Repeat("long ", 400)})
	if st.status != 422 || !strings.Contains(string(st.body), "context_window_exceeded") {
		t.Errorf("a message longer than the window: %d %s", st.status, st.body)
	}
}

func contentsOf(msgs []mockprovider.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Content
	}
	return out
}
