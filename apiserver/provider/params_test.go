package provider_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// TestAdaptersSendSamplingParameters: top_p, stop sequences and the seed reach each protocol where it takes
// them.
func TestAdaptersSendSamplingParameters(t *testing.T) {
	mock, base := startMock(t)
	tr := newTransport(t)
	topP, seed := 0.5, int64(7)
	for _, tc := range []struct {
		typ, path string
		want      map[string]any // JSON paths (dot-separated) and values in the upstream body
	}{
		{config.ProviderAnthropic, "/anthropic", map[string]any{"top_p": 0.5, "stop_sequences": []any{"END", "STOP"}}},
		{config.ProviderGemini, "/gemini", map[string]any{"generationConfig.topP": 0.5,
			"generationConfig.stopSequences": []any{"END", "STOP"}, "generationConfig.seed": 7.0}},
		{config.ProviderOllama, "/ollama", map[string]any{"options.top_p": 0.5, "options.stop": []any{"END", "STOP"},
			"options.seed": 7.0}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			a := newAdapter(t, tc.typ, base+tc.path, provider.Timeouts{}, tr)
			call := conversation("mock-chat")
			call.TopP, call.Stop = &topP, []string{"END", "STOP"}
			if tc.typ != config.ProviderAnthropic {
				call.Seed = &seed
			}
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, err = a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
				} else {
					_, err = a.Complete(ctxFor(t), &call)
				}
				if err != nil {
					t.Fatalf("stream=%v: %v", stream, err)
				}
				var body map[string]any
				if err := json.Unmarshal(mock.LastRequest().Body, &body); err != nil {
					t.Fatal(err)
				}
				for path, want := range tc.want {
					if got := jsonPath(body, path); !reflect.DeepEqual(got, want) {
						t.Errorf("stream=%v: %s = %v, want %v", stream, path, got, want)
					}
				}
			}
		})
	}
}

// jsonPath looks up a dot-separated path of object members.
func jsonPath(v any, path string) any {
	for _, name := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}
