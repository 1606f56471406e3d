package apiserver_test

import (
	"context"
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
	if err := json.Unmarshal(toolCallRoundTrip(t, e, "oll/mock-chat"), &sent); err != nil {
		t.Fatal(err)
	}
	if n := len(sent.Messages); n != 3 || len(sent.Messages[1].ToolCalls) != 1 ||
		string(sent.Messages[1].ToolCalls[0].Function.Arguments) != toolCallArgs ||
		sent.Messages[2].Role != "tool" || sent.Messages[2].ToolName != "get_weather" || sent.Messages[2].Content != "sunny" {
		t.Errorf("Ollama got %+v", sent.Messages)
	}
}

// TestV1TranslatesToolCallsForGemini: the same for a model on a Gemini provider; its tool call comes back as
// an OpenAI one, and the tool's result reaches Gemini as a functionResponse named after the tool.
func TestV1TranslatesToolCallsForGemini(t *testing.T) {
	e := newMeterEnv(t, meterOptions{})
	var sent struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				FunctionCall *struct {
					ID   string          `json:"id"`
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
				FunctionResponse *struct {
					ID       string          `json:"id"`
					Name     string          `json:"name"`
					Response json.RawMessage `json:"response"`
				} `json:"functionResponse"`
			} `json:"parts"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(toolCallRoundTrip(t, e, "gem/mock-chat"), &sent); err != nil {
		t.Fatal(err)
	}
	c := sent.Contents
	if len(c) != 3 || c[1].Role != "model" || len(c[1].Parts) != 1 || c[1].Parts[0].FunctionCall == nil ||
		c[2].Role != "user" || len(c[2].Parts) != 1 || c[2].Parts[0].FunctionResponse == nil {
		t.Fatalf("Gemini got %+v", c)
	}
	call, result := c[1].Parts[0].FunctionCall, c[2].Parts[0].FunctionResponse
	if call.Name != "get_weather" || string(call.Args) != toolCallArgs || result.Name != "get_weather" ||
		result.ID != call.ID || string(result.Response) != `{"result":"sunny"}` {
		t.Errorf("Gemini got the call %+v and the result %+v", call, result)
	}

	// Every tool choice has a Gemini mode; a named function is ANY with only that function allowed.
	tok := e.apiToken(e.register("bob"), nil)
	tools := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}},{"type":"function","function":{"name":"g"}}]`
	for choice, want := range map[string]string{
		`"auto"`: `{"mode":"AUTO"}`, `"none"`: `{"mode":"NONE"}`, `"required"`: `{"mode":"ANY"}`,
		`{"type":"function","function":{"name":"g"}}`: `{"mode":"ANY","allowedFunctionNames":["g"]}`,
	} {
		r := e.postV1(tok, `{"model":"gem/mock-chat","messages":[{"role":"user","content":"hi"}],`+tools+`,"tool_choice":`+choice+`}`)
		var got struct {
			ToolConfig struct {
				FunctionCallingConfig json.RawMessage `json:"functionCallingConfig"`
			} `json:"toolConfig"`
		}
		_ = json.Unmarshal(e.mock.LastRequest().Body, &got)
		if r.status != 200 || string(got.ToolConfig.FunctionCallingConfig) != want {
			t.Errorf("tool_choice %s: %d, Gemini got functionCallingConfig %s, want %s", choice, r.status,
				got.ToolConfig.FunctionCallingConfig, want)
		}
	}
}

// toolCallArgs are the arguments of the mock's call of get_weather in toolCallRoundTrip.
const toolCallArgs = `{"query":"Weather in Paris?"}`

// toolCallRoundTrip offers a tool to model with the official OpenAI client, checks the call it answers with
// (streamed and not: id, name, arguments, finish reason tool_calls), sends the tool's result "sunny" back and
// checks the text answer; it returns the body of that last request as the provider got it.
func toolCallRoundTrip(t *testing.T, e *meterEnv, model string) []byte {
	t.Helper()
	client := e.client(e.apiToken(e.register("ann"), nil))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: model, Messages: userMessage("Weather in Paris?"),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"}})}}

	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID == "" ||
		msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != toolCallArgs {
		t.Fatalf("answer %s, want a call of get_weather with %s", resp.RawJSON(), toolCallArgs)
	}
	if rec := e.mock.LastRequest(); !slices.Equal(rec.Tools, []string{"get_weather"}) {
		t.Errorf("the provider was offered tools %v", rec.Tools)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if c := acc.Choices; len(c) != 1 || c[0].FinishReason != "tool_calls" || len(c[0].Message.ToolCalls) != 1 ||
		c[0].Message.ToolCalls[0].ID == "" || c[0].Message.ToolCalls[0].Function.Name != "get_weather" ||
		c[0].Message.ToolCalls[0].Function.Arguments != toolCallArgs {
		t.Fatalf("streamed answer %+v, want a call of get_weather with %s", acc.Choices, toolCallArgs)
	}

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("sunny", msg.ToolCalls[0].ID))
	resp, err = client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != mockprovider.ReplyText(mockprovider.DefaultReplyTokens) || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("after the tool's result: %q (%s)", got, resp.Choices[0].FinishReason)
	}
	return e.mock.LastRequest().Body
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
