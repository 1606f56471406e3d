package service

import (
	"encoding/json"
	"testing"
)

// FuzzParseChatRequest: any body is either refused with an error or parsed into a request that can be
// forwarded (its body is a JSON object) and estimated, without panicking.
func FuzzParseChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"x"}]},{"role":"tool","content":"r"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"max_completion_tokens":3,"n":1,"tools":[{"type":"function"}]}`,
		`{"model":1}`, `[]`, `null`, `{"model":"m","messages":[],"n":2}`, ` {"mod\u0065l":"m","model":null,"messages":[{"role":"user","content":"x"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseChatRequest(body)
		if err != nil {
			return
		}
		var back map[string]json.RawMessage
		if r.Model == "" || r.MaxTokens < 0 || json.Unmarshal(r.body, &back) != nil || back == nil {
			t.Fatalf("parsed %+v from %q", r, body)
		}
		if r.promptEstimate() < 3 {
			t.Fatalf("estimate %d", r.promptEstimate())
		}
	})
}
