package mockprovider_test

// Each protocol of the mock is checked by its provider's official Go client: a fake is only as good as a
// real client's acceptance of it.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

const (
	replyTokens = 40
	system      = "You are a terse assistant."
	question    = "Say hello to the world, please."
)

var (
	wantText   = mockprovider.ReplyText(replyTokens)
	wantPrompt = int64(mockprovider.PromptTokens(system, question))
)

// startMock serves a mock whose replies have replyTokens tokens, sent as fast as possible.
func startMock(t *testing.T) (*mockprovider.Server, string) {
	t.Helper()
	mock := mockprovider.New(mockprovider.Config{Defaults: mockprovider.Behaviour{ReplyTokens: replyTokens}})
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	return mock, srv.URL
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenAISDK(t *testing.T) {
	mock, base := startMock(t)
	ctx := testContext(t)
	client := openai.NewClient(openaioption.WithBaseURL(base+"/openai/v1/"), openaioption.WithAPIKey("sk-test"),
		openaioption.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:    "mock-chat+chunk:3+cached:2+reasoning:5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(question)},
	}

	t.Run("streamed", func(t *testing.T) {
		p := params
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		var text strings.Builder
		for stream.Next() {
			chunk := stream.Current()
			acc.AddChunk(chunk)
			if len(chunk.Choices) > 0 {
				text.WriteString(chunk.Choices[0].Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if text.String() != wantText || acc.Choices[0].Message.Content != wantText {
			t.Errorf("streamed text = %q, want %q", text.String(), wantText)
		}
		if acc.Choices[0].FinishReason != "stop" {
			t.Errorf("finish reason = %q, want stop", acc.Choices[0].FinishReason)
		}
		u := acc.Usage
		if u.PromptTokens != wantPrompt || u.CompletionTokens != replyTokens+5 ||
			u.PromptTokensDetails.CachedTokens != 2 || u.CompletionTokensDetails.ReasoningTokens != 5 {
			t.Errorf("usage = %+v, want prompt %d (2 cached), completion %d (5 reasoning)", u, wantPrompt, replyTokens+5)
		}
		rec := mock.LastRequest()
		if rec.Key != "sk-test" || rec.System != system || !rec.Stream {
			t.Errorf("mock recorded key %q, system %q, stream %v", rec.Key, rec.System, rec.Stream)
		}
	})

	t.Run("not streamed", func(t *testing.T) {
		p := params
		p.MaxCompletionTokens = openai.Int(7)
		resp, err := client.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if want := mockprovider.ReplyText(7); resp.Choices[0].Message.Content != want || resp.Choices[0].FinishReason != "length" {
			t.Errorf("reply = %q (%s), want %q (length)", resp.Choices[0].Message.Content, resp.Choices[0].FinishReason, want)
		}
		if resp.Usage.PromptTokens != wantPrompt || resp.Usage.CompletionTokens != 7+5 {
			t.Errorf("usage = %+v", resp.Usage)
		}
	})

	t.Run("error", func(t *testing.T) {
		p := params
		p.Model = "mock-chat+status:429+retryafter:7"
		_, err := client.Chat.Completions.New(ctx, p)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" ||
			apiErr.Response.Header.Get("Retry-After") != "7" {
			t.Errorf("error = %v, want a 429 rate_limit_exceeded with Retry-After 7", err)
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, mockprovider.DefaultModels) {
			t.Errorf("models = %v, want %v", ids, mockprovider.DefaultModels)
		}
	})
}

func TestAnthropicSDK(t *testing.T) {
	mock, base := startMock(t)
	ctx := testContext(t)
	client := anthropic.NewClient(anthropicoption.WithBaseURL(base+"/anthropic/"), anthropicoption.WithAPIKey("sk-ant-test"),
		anthropicoption.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model:     "mock-chat+chunk:2+cached:3+reasoning:4",
		MaxTokens: 1000,
		System:    []anthropic.TextBlockParam{{Text: system}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(question))},
	}

	t.Run("streamed", func(t *testing.T) {
		stream := client.Messages.NewStreaming(ctx, params)
		var msg anthropic.Message
		var text strings.Builder
		for stream.Next() {
			event := stream.Current()
			if err := msg.Accumulate(event); err != nil {
				t.Fatalf("Accumulate: %v", err)
			}
			if delta, ok := event.AsAny().(anthropic.ContentBlockDeltaEvent); ok {
				text.WriteString(delta.Delta.Text)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if text.String() != wantText || msg.Content[0].Text != wantText {
			t.Errorf("streamed text = %q, want %q", text.String(), wantText)
		}
		if msg.StopReason != anthropic.StopReasonEndTurn {
			t.Errorf("stop reason = %q", msg.StopReason)
		}
		// Anthropic's input_tokens excludes what was read from the cache.
		if u := msg.Usage; u.InputTokens+u.CacheReadInputTokens != wantPrompt || u.CacheReadInputTokens != 3 ||
			u.OutputTokens != replyTokens+4 || u.OutputTokensDetails.ThinkingTokens != 4 {
			t.Errorf("usage = %+v, want input %d (3 read from cache), output %d (4 thinking)", u, wantPrompt, replyTokens+4)
		}
		if rec := mock.LastRequest(); rec.Key != "sk-ant-test" || rec.System != system {
			t.Errorf("mock recorded key %q, system %q", rec.Key, rec.System)
		}
	})

	t.Run("not streamed", func(t *testing.T) {
		msg, err := client.Messages.New(ctx, params)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if msg.Content[0].Text != wantText || msg.Usage.OutputTokens != replyTokens+4 || msg.Usage.InputTokens != wantPrompt-3 {
			t.Errorf("message = %q, usage %+v", msg.Content[0].Text, msg.Usage)
		}
	})

	t.Run("tool call", func(t *testing.T) {
		p := params
		p.Model = "mock-chat"
		p.Tools = []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{}, "search")}
		wantInput := `{"query":` + strconv.Quote(question) + `}`
		streamed := client.Messages.NewStreaming(ctx, p)
		var acc anthropic.Message
		for streamed.Next() {
			if err := acc.Accumulate(streamed.Current()); err != nil {
				t.Fatalf("Accumulate: %v", err)
			}
		}
		if err := streamed.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		whole, err := client.Messages.New(ctx, p)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		for name, msg := range map[string]*anthropic.Message{"streamed": &acc, "not streamed": whole} {
			if len(msg.Content) != 1 || msg.StopReason != anthropic.StopReasonToolUse {
				t.Fatalf("%s: message %+v, want one tool_use block and the stop reason tool_use", name, msg)
			}
			use := msg.Content[0].AsToolUse()
			if use.ID == "" || use.Name != "search" || string(use.Input) != wantInput {
				t.Errorf("%s: tool use %s %s(%s), want search(%s)", name, use.ID, use.Name, use.Input, wantInput)
			}
		}
		if rec := mock.LastRequest(); !slices.Equal(rec.Tools, []string{"search"}) {
			t.Errorf("mock recorded tools %v", rec.Tools)
		}
		// After the tool's result, the model answers in text.
		p.Messages = append(slices.Clone(p.Messages), whole.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(whole.Content[0].ID, "sunny", false)))
		msg, err := client.Messages.New(ctx, p)
		if err != nil {
			t.Fatalf("New after the tool's result: %v", err)
		}
		if msg.StopReason != anthropic.StopReasonEndTurn || msg.Content[0].Text != wantText {
			t.Errorf("after the tool's result: %q (%s), want the text answer", msg.Content[0].Text, msg.StopReason)
		}
	})

	t.Run("error", func(t *testing.T) {
		p := params
		p.Model = "mock-chat+status:401"
		_, err := client.Messages.New(ctx, p)
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || !strings.Contains(err.Error(), "authentication_error") {
			t.Errorf("error = %v, want a 401 authentication_error", err)
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, mockprovider.DefaultModels) {
			t.Errorf("models = %v, want %v", ids, mockprovider.DefaultModels)
		}
	})
}

func TestGeminiSDK(t *testing.T) {
	mock, base := startMock(t)
	ctx := testContext(t)
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey: "gm-test", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: base + "/gemini/", APIVersion: "v1beta"},
	})
	if err != nil {
		t.Fatal(err)
	}
	config := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(system, genai.RoleUser)}
	contents := genai.Text(question)

	t.Run("streamed", func(t *testing.T) {
		var text strings.Builder
		var usage *genai.GenerateContentResponseUsageMetadata
		var finish genai.FinishReason
		for resp, err := range client.Models.GenerateContentStream(ctx, "mock-chat+chunk:4+reasoning:6", contents, config) {
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			text.WriteString(resp.Text())
			usage = resp.UsageMetadata
			if c := resp.Candidates; len(c) > 0 && c[0].FinishReason != "" {
				finish = c[0].FinishReason
			}
		}
		if text.String() != wantText {
			t.Errorf("streamed text = %q, want %q", text.String(), wantText)
		}
		if finish != genai.FinishReasonStop {
			t.Errorf("finish reason = %q", finish)
		}
		// Usage is cumulative: the last chunk's counts are the totals.
		if usage == nil || int64(usage.PromptTokenCount) != wantPrompt || usage.CandidatesTokenCount != replyTokens ||
			usage.ThoughtsTokenCount != 6 {
			t.Errorf("usage = %+v, want prompt %d, candidates %d, thoughts 6", usage, wantPrompt, replyTokens)
		}
		if rec := mock.LastRequest(); rec.Key != "gm-test" || rec.System != system || rec.Messages[0].Role != "user" {
			t.Errorf("mock recorded key %q, system %q, messages %+v", rec.Key, rec.System, rec.Messages)
		}
	})

	t.Run("not streamed", func(t *testing.T) {
		resp, err := client.Models.GenerateContent(ctx, "mock-chat", contents, config)
		if err != nil {
			t.Fatalf("GenerateContent: %v", err)
		}
		if resp.Text() != wantText || int64(resp.UsageMetadata.PromptTokenCount) != wantPrompt ||
			resp.UsageMetadata.CandidatesTokenCount != replyTokens {
			t.Errorf("response %q, usage %+v", resp.Text(), resp.UsageMetadata)
		}
	})

	t.Run("tool call", func(t *testing.T) {
		toolConfig := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{
			{Name: "search", ParametersJsonSchema: map[string]any{"type": "object"}}}}}}
		for _, stream := range []bool{true, false} {
			var calls []*genai.FunctionCall
			var finish genai.FinishReason
			collect := func(resp *genai.GenerateContentResponse) {
				calls = append(calls, resp.FunctionCalls()...)
				if c := resp.Candidates; len(c) > 0 && c[0].FinishReason != "" {
					finish = c[0].FinishReason
				}
			}
			if stream {
				for resp, err := range client.Models.GenerateContentStream(ctx, "mock-chat", contents, toolConfig) {
					if err != nil {
						t.Fatalf("stream: %v", err)
					}
					collect(resp)
				}
			} else {
				resp, err := client.Models.GenerateContent(ctx, "mock-chat", contents, toolConfig)
				if err != nil {
					t.Fatalf("GenerateContent: %v", err)
				}
				collect(resp)
			}
			if len(calls) != 1 || calls[0].Name != "search" || calls[0].Args["query"] != question || finish != genai.FinishReasonStop {
				t.Fatalf("stream=%v: calls %+v, finish %q; want one of search with the question", stream, calls, finish)
			}
			if rec := mock.LastRequest(); !slices.Equal(rec.Tools, []string{"search"}) {
				t.Errorf("stream=%v: mock recorded tools %v", stream, rec.Tools)
			}
		}
		// After the function's result, the model answers in text.
		next := append(slices.Clone(contents),
			genai.NewContentFromFunctionCall("search", map[string]any{"query": question}, genai.RoleModel),
			genai.NewContentFromFunctionResponse("search", map[string]any{"result": "sunny"}, genai.RoleUser))
		resp, err := client.Models.GenerateContent(ctx, "mock-chat", next, toolConfig)
		if err != nil || resp.Text() != wantText || len(resp.FunctionCalls()) != 0 {
			t.Errorf("after the function's result: %v; want the text answer", err)
		}
	})

	t.Run("error", func(t *testing.T) {
		_, err := client.Models.GenerateContent(ctx, "mock-chat+status:500", contents, config)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 500 || apiErr.Status != "INTERNAL" {
			t.Errorf("error = %v, want a 500 INTERNAL", err)
		}
	})

	t.Run("models", func(t *testing.T) {
		var names []string
		for m, err := range client.Models.All(ctx) {
			if err != nil {
				t.Fatalf("All: %v", err)
			}
			names = append(names, strings.TrimPrefix(m.Name, "models/"))
		}
		if !slices.Equal(names, mockprovider.DefaultModels) {
			t.Errorf("models = %v, want %v", names, mockprovider.DefaultModels)
		}
	})
}

func TestOllamaSDK(t *testing.T) {
	mock, base := startMock(t)
	ctx := testContext(t)
	u, _ := url.Parse(base + "/ollama")
	client := ollama.NewClient(u, http.DefaultClient)
	messages := []ollama.Message{{Role: "system", Content: system}, {Role: "user", Content: question}}

	t.Run("streamed", func(t *testing.T) {
		var text strings.Builder
		var last ollama.ChatResponse
		stream := true
		err := client.Chat(ctx, &ollama.ChatRequest{Model: "mock-chat+chunk:5", Messages: messages, Stream: &stream},
			func(r ollama.ChatResponse) error {
				text.WriteString(r.Message.Content)
				last = r
				return nil
			})
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		if text.String() != wantText {
			t.Errorf("streamed text = %q, want %q", text.String(), wantText)
		}
		if !last.Done || last.DoneReason != "stop" || int64(last.PromptEvalCount) != wantPrompt || last.EvalCount != replyTokens {
			t.Errorf("last response = %+v, want done, prompt %d, eval %d", last, wantPrompt, replyTokens)
		}
		if rec := mock.LastRequest(); rec.System != system || !rec.Stream {
			t.Errorf("mock recorded system %q, stream %v", rec.System, rec.Stream)
		}
	})

	t.Run("not streamed", func(t *testing.T) {
		stream := false
		var got []ollama.ChatResponse
		err := client.Chat(ctx, &ollama.ChatRequest{Model: "mock-chat", Messages: messages, Stream: &stream},
			func(r ollama.ChatResponse) error {
				got = append(got, r)
				return nil
			})
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		if len(got) != 1 || got[0].Message.Content != wantText || got[0].EvalCount != replyTokens {
			t.Errorf("responses = %+v", got)
		}
	})

	t.Run("tool call", func(t *testing.T) {
		tools := ollama.Tools{{Type: "function", Function: ollama.ToolFunction{Name: "search",
			Parameters: ollama.ToolFunctionParameters{Type: "object", Properties: ollama.NewToolPropertiesMap()}}}}
		for _, stream := range []bool{true, false} {
			var calls []ollama.ToolCall
			var last ollama.ChatResponse
			err := client.Chat(ctx, &ollama.ChatRequest{Model: "mock-chat", Messages: messages, Tools: tools, Stream: &stream},
				func(r ollama.ChatResponse) error {
					calls = append(calls, r.Message.ToolCalls...)
					last = r
					return nil
				})
			if err != nil {
				t.Fatalf("stream=%v: Chat: %v", stream, err)
			}
			if len(calls) != 1 || calls[0].Function.Name != "search" {
				t.Fatalf("stream=%v: tool calls %+v, want one of search", stream, calls)
			}
			if q, _ := calls[0].Function.Arguments.Get("query"); q != question || !last.Done || last.DoneReason != "stop" {
				t.Errorf("stream=%v: query %v, last %+v", stream, q, last)
			}
		}
		// After the tool's result, the model answers in text.
		next := append(slices.Clone(messages), ollama.Message{Role: "assistant", ToolCalls: []ollama.ToolCall{{Function: ollama.ToolCallFunction{Name: "search"}}}},
			ollama.Message{Role: "tool", Content: "sunny", ToolName: "search"})
		var text strings.Builder
		stream := false
		err := client.Chat(ctx, &ollama.ChatRequest{Model: "mock-chat", Messages: next, Tools: tools, Stream: &stream},
			func(r ollama.ChatResponse) error {
				text.WriteString(r.Message.Content)
				return nil
			})
		if err != nil || text.String() != wantText {
			t.Errorf("after the tool's result: %q, %v; want the text answer", text.String(), err)
		}
	})

	t.Run("error", func(t *testing.T) {
		err := client.Chat(ctx, &ollama.ChatRequest{Model: "mock-chat+status:404", Messages: messages},
			func(ollama.ChatResponse) error { return nil })
		var statusErr ollama.StatusError
		if !errors.As(err, &statusErr) || statusErr.StatusCode != 404 {
			t.Errorf("error = %v, want a 404", err)
		}
	})

	t.Run("models", func(t *testing.T) {
		list, err := client.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var names []string
		for _, m := range list.Models {
			names = append(names, m.Name)
		}
		if !slices.Equal(names, mockprovider.DefaultModels) {
			t.Errorf("models = %v, want %v", names, mockprovider.DefaultModels)
		}
	})
}
