package service

import (
	"encoding/json"
	"testing"
)

// FuzzParseChatRequest: any body is either refused with an error or parsed into a request that can be
// forwarded (its raw body is JSON again, with the bound set) and estimated, without panicking.
func FuzzParseChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"x"}]},{"role":"tool","content":"r"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"max_completion_tokens":3,"n":1,"tools":[{"type":"function"}]}`,
		`{"model":1}`, `[]`, `null`, `{"model":"m","messages":[],"n":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseChatRequest(body)
		if err != nil {
			return
		}
		if r.Model == "" || len(r.fields) == 0 || r.MaxTokens < 0 {
			t.Fatalf("parsed %+v from %q", r, body)
		}
		raw := r.rawBody(7, true)
		var back map[string]json.RawMessage
		if err := json.Unmarshal(raw, &back); err != nil || string(back["max_completion_tokens"]) != "7" && string(back["max_tokens"]) != "7" {
			t.Fatalf("forwarded body %s: %v", raw, err)
		}
		if r.promptEstimate() < 3 {
			t.Fatalf("estimate %d", r.promptEstimate())
		}
	})
}
