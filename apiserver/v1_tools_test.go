package apiserver_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// TestV1TranslatesToolCallsForOllama: with the official OpenAI client, a model on an Ollama provider takes
// tools, answers with a tool call in OpenAI's shape (streamed and not: id, name, arguments, finish reason
// tool_calls), and takes the tool's result back in the next turn, which reaches Ollama as its tool message.
func TestV1TranslatesToolCallsForOllama(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	client := e.client(e.apiToken(e.register("ann"), nil))
	const question = "Weather in Paris?"
	params := openai.ChatCompletionNewParams{Model: "oll/mock-chat", Messages: userMessage(question),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"}})}}
	wantArgs := `{"query":"Weather in Paris?"}`

	msg := askForToolCall(t, client, params, wantArgs)
	if rec := e.mock.LastRequest(); !slices.Equal(rec.Tools, []string{"get_weather"}) {
		t.Errorf("Ollama was offered tools %v", rec.Tools)
	}

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("sunny", msg.ToolCalls[0].ID))
	answerAfterToolResult(t, client, params)
	var sent struct {
		Messages []struct {
			Role      string `json:"role"`
			Content   string `json:"content"`
			ToolName  string `json:"tool_name"`
			ToolCalls []struct {
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(e.mock.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if n := len(sent.Messages); n != 3 || len(sent.Messages[1].ToolCalls) != 1 ||
		string(sent.Messages[1].ToolCalls[0].Function.Arguments) != wantArgs ||
		sent.Messages[2].Role != "tool" || sent.Messages[2].ToolName != "get_weather" || sent.Messages[2].Content != "sunny" {
		t.Errorf("Ollama got %+v", sent.Messages)
	}
}

// askForToolCall asks for params' completion, not streamed and streamed, and checks that both answers are a
// call of get_weather with wantArgs, with an id and the finish reason tool_calls; it returns the first one.
func askForToolCall(t *testing.T, client openai.Client, params openai.ChatCompletionNewParams, wantArgs string) openai.ChatCompletionMessage {
	t.Helper()
	resp, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID == "" ||
		msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != wantArgs {
		t.Fatalf("answer %s, want a call of get_weather with %s", resp.RawJSON(), wantArgs)
	}

	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if c := acc.Choices; len(c) != 1 || c[0].FinishReason != "tool_calls" || len(c[0].Message.ToolCalls) != 1 ||
		c[0].Message.ToolCalls[0].ID == "" || c[0].Message.ToolCalls[0].Function.Name != "get_weather" ||
		c[0].Message.ToolCalls[0].Function.Arguments != wantArgs {
		t.Fatalf("streamed answer %+v, want a call of get_weather with %s", acc.Choices, wantArgs)
	}
	return msg
}

// answerAfterToolResult checks that params, whose last turn is a tool's result, are answered in text.
func answerAfterToolResult(t *testing.T, client openai.Client, params openai.ChatCompletionNewParams) {
	t.Helper()
	resp, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != mockprovider.ReplyText(mockprovider.DefaultReplyTokens) || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("after the tool's result: %q (%s)", got, resp.Choices[0].FinishReason)
	}
}

// TestV1RefusesToolsAProviderCannotHonour: a tool choice Ollama cannot enforce, legacy functions, and tool
// calls whose arguments are not objects (on Ollama and Anthropic) are refused with a 400 that says why.
func TestV1RefusesToolsAProviderCannotHonour(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	tok := e.apiToken(e.register("ann"), nil)
	tools := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	for name, body := range map[string]string{
		"required choice":          `{"model":"oll/mock-chat","messages":[{"role":"user","content":"hi"}],` + tools + `,"tool_choice":"required"}`,
		"named choice":             `{"model":"oll/mock-chat","messages":[{"role":"user","content":"hi"}],` + tools + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		"legacy functions":         `{"model":"oll/mock-chat","messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f"}]}`,
		"Anthropic text arguments": `{"model":"ant/mock-chat","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]},{"role":"tool","tool_call_id":"c1","content":"x"}]}`,
		"text arguments":           `{"model":"oll/mock-chat","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"not json"}}]},{"role":"tool","tool_call_id":"c1","content":"x"}]}`,
		"unknown tool type":        `{"model":"oll/mock-chat","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}]}`,
	} {
		if r := e.postV1(tok, body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if n := len(e.mock.Requests()); n != 0 {
		t.Errorf("%d refused requests reached a provider", n)
	}
}
