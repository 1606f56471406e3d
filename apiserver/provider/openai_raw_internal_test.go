package provider

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRawBodySetsModelAndStreaming: a caller's body is forwarded with every member it had, the upstream model
// and the streaming members set (replacing the caller's, however their keys are written), and usage asked
// for in streams; what it means is what decoding it into a map and encoding it again would give.
func TestRawBodySetsModelAndStreaming(t *testing.T) {
	a := &openAI{}
	for _, c := range []struct {
		name, raw string
		stream    bool
		want      map[string]any
	}{
		{"plain", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`, false,
			map[string]any{"model": "up", "stream": false, "messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 16.0}},
		{"stream options replaced", ` { "stream" : false , "stream_options":{"include_usage":false},"tools":[{"a":{"b":"}"}}] } `, true,
			map[string]any{"model": "up", "stream": true, "stream_options": map[string]any{"include_usage": true}, "tools": []any{map[string]any{"a": map[string]any{"b": "}"}}}}},
		{"escaped keys", `{"mod\u0065l":"mine","str\u0065am":true,"stream_options":{},"x\"y":"\u00e9"}`, false,
			map[string]any{"model": "up", "stream": false, "x\"y": "é"}},
		{"empty", `{}`, true, map[string]any{"model": "up", "stream": true, "stream_options": map[string]any{"include_usage": true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := a.rawBody(&Call{Model: "up", Raw: []byte(c.raw)}, c.stream)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %s, want %v", out, c.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1`} {
		if _, err := a.rawBody(&Call{Model: "up", Raw: []byte(bad)}, false); err == nil {
			t.Errorf("body %q accepted", bad)
		}
	}
}

// TestRawBodyBoundsTheAnswer: the granted bound replaces the caller's max_tokens and max_completion_tokens
// (every one of them), and is sent as max_completion_tokens to OpenAI and as max_tokens to compatible
// servers when the caller sent neither; without a bound the caller's members stay.
func TestRawBodyBoundsTheAnswer(t *testing.T) {
	for _, c := range []struct {
		name       string
		compatible bool
		raw        string
		bound      int
		want       map[string]any
	}{
		{"openai, none sent", false, `{}`, 7, map[string]any{"max_completion_tokens": 7.0}},
		{"compatible, none sent", true, `{}`, 7, map[string]any{"max_tokens": 7.0}},
		{"max_tokens kept as the caller's name", false, `{"max_tokens":100}`, 7, map[string]any{"max_tokens": 7.0}},
		{"both", true, `{"max_tokens":100,"max_completion_tokens":50}`, 7, map[string]any{"max_tokens": 7.0, "max_completion_tokens": 7.0}},
		{"repeated", false, `{"max_completion_tokens":100,"max_completion_tokens":200}`, 7, map[string]any{"max_completion_tokens": 7.0}},
		{"no bound", false, `{"max_tokens":100}`, 0, map[string]any{"max_tokens": 100.0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &openAI{compatible: c.compatible}
			out, err := a.rawBody(&Call{Model: "up", Raw: []byte(c.raw), MaxTokens: c.bound}, false)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			delete(got, "model")
			delete(got, "stream")
			if !reflect.DeepEqual(got, c.want) || strings.Count(string(out), "max_") != len(c.want) {
				t.Errorf("got %s, want %v", out, c.want)
			}
		})
	}
}
