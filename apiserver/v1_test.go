package apiserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestV1WithTheOfficialClient: the openai-go client lists models and chats, streamed and not, through /v1
// with a personal API token; usage is reported when asked and metered always.
func TestV1WithTheOfficialClient(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	ann := e.register("ann")
	tok := e.apiToken(ann, nil)
	client := e.client(tok)
	ctx := context.Background()
	prompt := int64(mockprovider.PromptTokens("", "Hello there"))

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "oai/mock-chat,oai/slow,oai/broken,oai/fifty,quiet/mock-chat,ant/mock-chat,gem/mock-chat,oll/mock-chat" {
		t.Errorf("models %v", ids)
	}

	for _, model := range []string{"oai/mock-chat", "ant/mock-chat"} {
		t.Run(model+" not streamed", func(t *testing.T) {
			resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: userMessage("Hello there")})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if resp.Choices[0].Message.Content != mockprovider.ReplyText(20) || resp.Choices[0].FinishReason != "stop" {
				t.Errorf("answer %q (%s)", resp.Choices[0].Message.Content, resp.Choices[0].FinishReason)
			}
			if resp.Usage.PromptTokens != prompt || resp.Usage.CompletionTokens != 20 {
				t.Errorf("usage %+v, want %d prompt and 20 completion tokens", resp.Usage, prompt)
			}
		})
		for _, include := range []bool{true, false} {
			t.Run(model+" streamed", func(t *testing.T) {
				params := openai.ChatCompletionNewParams{Model: model, Messages: userMessage("Hello there")}
				if include {
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				}
				stream := client.Chat.Completions.NewStreaming(ctx, params)
				var acc openai.ChatCompletionAccumulator
				usageChunks := 0
				for stream.Next() {
					chunk := stream.Current()
					acc.AddChunk(chunk)
					if chunk.JSON.Usage.Valid() && chunk.Usage.TotalTokens > 0 {
						usageChunks++
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				if acc.Choices[0].Message.Content != mockprovider.ReplyText(20) || acc.Choices[0].FinishReason != "stop" {
					t.Errorf("streamed %q (%s)", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason)
				}
				want := 0
				if include {
					want = 1
					if acc.Usage.PromptTokens != prompt || acc.Usage.CompletionTokens != 20 {
						t.Errorf("usage %+v", acc.Usage)
					}
				}
				if usageChunks != want {
					t.Errorf("%d usage chunks with include_usage %v, want %d", usageChunks, include, want)
				}
			})
		}
	}
	// 2 models × (1 answer + 2 streams), every one metered with the provider's numbers.
	e.waitRecords(6)
	if n := e.scalar(`SELECT count(*) FROM usage_records WHERE outcome = 'ok' AND source = 'api' AND NOT estimated
		AND prompt_tokens = $1 AND completion_tokens = 20 AND token_id IS NOT NULL`, prompt); n != 6 {
		t.Errorf("%d of 6 records are ok API calls with the provider's usage", n)
	}
	// oai: (prompt × $1 + 20 × $2)/M; ant: (prompt × $3 + 20 × $15)/M; three calls each.
	wantCost := 3*((prompt*1_000_000+20*2_000_000+500_000)/1_000_000) + 3*((prompt*3_000_000+20*15_000_000+500_000)/1_000_000)
	if c := e.scalar(`SELECT sum(cost_micros) FROM usage_records`); c != wantCost {
		t.Errorf("cost %d micro-USD, want %d", c, wantCost)
	}
	var tokens struct {
		Items []struct {
			LastUsedAt *time.Time `json:"last_used_at"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/tokens", ann.access, nil), 200).json(t, &tokens)
	if len(tokens.Items) != 1 || tokens.Items[0].LastUsedAt == nil {
		t.Errorf("token list %+v: want one token with its last use", tokens.Items)
	}
}

// TestV1PassesToolsThrough: tools and other OpenAI parameters reach an OpenAI provider as sent, with the
// upstream model name and the granted bound; a provider of another protocol refuses a tool choice it cannot
// honour.
func TestV1PassesToolsThrough(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: "- {name: short, subjects: {allUsers: true}, limits: {maxOutputTokensPerRequest: 50}}\n"})
	tok := e.apiToken(e.register("ann"), nil)
	body := `{"model":"oai/mock-chat","messages":[{"role":"user","content":"weather?"}],"max_tokens":500,
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
		"tool_choice":"auto","response_format":{"type":"text"},"seed":7,"user":"u1"}`
	r := e.postV1(tok, body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(e.mock.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"model": `"mock-chat"`, "tool_choice": `"auto"`, "seed": "7", "user": `"u1"`,
		"response_format": `{"type":"text"}`, "max_tokens": "50", "max_completion_tokens": ""} {
		if got := string(sent[field]); got != want {
			t.Errorf("upstream %s = %s, want %s", field, got, want)
		}
	}
	if !strings.Contains(string(sent["tools"]), `"get_weather"`) {
		t.Errorf("upstream tools = %s", sent["tools"])
	}
	r = e.postV1(tok, strings.NewReplacer("oai/mock-chat", "oll/mock-chat", `"tool_choice":"auto"`, `"tool_choice":"required"`).Replace(body))
	if r.status != 400 || !strings.Contains(string(r.body), `"type":"invalid_request_error"`) {
		t.Errorf("a forced tool call on an Ollama model: %d %s, want a 400 in OpenAI's format", r.status, r.body)
	}
}

// postV1 sends a raw chat-completions body.
func (e *meterEnv) postV1(token, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req, []byte(body))
}

// TestV1Errors: OpenAI's error format for a bad token, a token's model allow-list, an unknown model, a
// quota refusal (with its rate-limit headers) and a provider failure.
func TestV1Errors(t *testing.T) {
	e := newMeterEnv(t, meterOptions{quotas: "- {name: slow-down, subjects: {allUsers: true}, limits: {requestsPerMinute: 1}}\n"})
	ann := e.register("ann")
	tok := e.apiToken(ann, map[string]any{"name": "ci", "allowed_models": []string{"oai/*"}})
	ctx := context.Background()
	check := func(name string, client openai.Client, model string, status int, code string) *openai.Error {
		t.Helper()
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: userMessage("hi")})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status || apiErr.Code != code || apiErr.Message == "" {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
			return nil
		}
		return apiErr
	}
	_ = check("bad token", e.client("llmp_nope"), "oai/mock-chat", 401, "invalid_api_key")
	_ = check("model outside the token's list", e.client(tok), "ant/mock-chat", 403, "model_not_allowed")
	_ = check("unknown model", e.client(tok), "oai/nothing", 422, "unknown_model")
	client := e.client(tok)
	sameMinute()
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "oai/mock-chat", Messages: userMessage("hi")}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if apiErr := check("second call in the minute", e.client(tok), "oai/mock-chat", 429, "rate_limit_exceeded"); apiErr != nil {
		h := apiErr.Response.Header
		if apiErr.Type != "requests" || h.Get("x-ratelimit-limit-requests") != "1" || h.Get("x-ratelimit-remaining-requests") != "0" ||
			h.Get("Retry-After") == "" || !strings.HasSuffix(h.Get("x-ratelimit-reset-requests"), "s") {
			t.Errorf("refusal type %q, headers %v", apiErr.Type, h)
		}
		var detail struct {
			Quota struct{ Quota, Limit, Max string } `json:"quota"`
		}
		_ = json.Unmarshal([]byte(apiErr.RawJSON()), &detail)
		if q := detail.Quota; q.Quota != "slow-down" || q.Limit != "requestsPerMinute" || q.Max != "1" {
			t.Errorf("quota detail %+v in %s", q, apiErr.RawJSON())
		}
	}
	e.setQuotas("")
	e.waitFor("the removed quota to stop refusing", func() bool {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "oai/broken", Messages: userMessage("hi")})
		var apiErr *openai.Error
		return errors.As(err, &apiErr) && apiErr.StatusCode == 502
	})
}

// waitFor polls ok for up to 5 s.
func (e *meterEnv) waitFor(what string, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			e.t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
