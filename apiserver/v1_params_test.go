package apiserver_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestV1TranslatesOrRefusesParametersForOtherProtocols: for a model on another protocol than OpenAI's, top_p
// and stop reach the provider in its own form, and a parameter it cannot honour is refused with a 400 that
// names it instead of being dropped; out-of-range values are refused as invalid. Nothing reaches the provider
// or is metered for a refusal.
func TestV1TranslatesOrRefusesParametersForOtherProtocols(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	tok := e.apiToken(e.register("ann"), nil)
	r := e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"}],"top_p":0.25,"stop":"END"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(e.mock.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["top_p"]) != "0.25" || string(sent["stop_sequences"]) != `["END"]` {
		t.Errorf("upstream top_p %s, stop_sequences %s; want 0.25 and [\"END\"]", sent["top_p"], sent["stop_sequences"])
	}
	upstream := len(e.mock.Requests())
	for field, body := range map[string]string{
		"response_format": `"response_format":{"type":"json_object"}`,
		"logprobs":        `"logprobs":true`,
		"seed":            `"seed":7`,
	} {
		r := e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"}],`+body+`}`)
		if r.status != 400 || !strings.Contains(string(r.body), "does not take "+field) {
			t.Errorf("%s for an Anthropic model: %d %s, want a 400 naming it", field, r.status, r.body)
		}
	}
	for field, body := range map[string]string{
		"top_p": `"top_p":1.5`,
		"stop":  `"stop":["END",""]`,
	} {
		r := e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"}],`+body+`}`)
		if r.status != 422 || !strings.Contains(string(r.body), `"param":"`+field+`"`) {
			t.Errorf("bad %s: %d %s, want a 422 naming it", field, r.status, r.body)
		}
	}
	if n := len(e.mock.Requests()); n != upstream {
		t.Errorf("%d refused requests reached the provider", n-upstream)
	}
	e.flush()
	if n := e.scalar(`SELECT count(*) FROM usage_records`); n != 1 {
		t.Errorf("%d usage records, want 1: refusals of bad input are not metered calls", n)
	}
	r = e.postV1(tok, `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"},"logprobs":false}`)
	if r.status != 200 {
		t.Errorf("harmless values for an Anthropic model: %d %s", r.status, r.body)
	}
}
