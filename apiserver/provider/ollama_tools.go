package provider

import "encoding/json"

// ollamaMessage is a turn of Ollama's /api/chat, with its tool calls and tool results.
type ollamaMessage struct {
	Role       string           `json:"role"`
	Content    string           `json:"content"`
	ToolCalls  []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName   string           `json:"tool_name,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

// ollamaToolCall is a tool call as Ollama writes one: the arguments are a JSON object, not text.
type ollamaToolCall struct {
	ID       string             `json:"id,omitempty"`
	Function ollamaToolFunction `json:"function"`
}

type ollamaToolFunction struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ollamaTool is a tool definition; Ollama takes OpenAI's shape.
type ollamaTool struct {
	Type     string         `json:"type"`
	Function ollamaToolSpec `json:"function"`
}

type ollamaToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ollamaMessages translates the conversation: the system prompt first, assistant turns with their tool
// calls, tool results with the name of the tool that produced them (Ollama matches results by name).
func ollamaMessages(call *Call) []ollamaMessage {
	out := make([]ollamaMessage, 0, len(call.Messages)+1)
	if call.System != "" {
		out = append(out, ollamaMessage{Role: RoleSystem, Content: call.System})
	}
	names := map[string]string{}
	for _, m := range call.Messages {
		om := ollamaMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, ToolName: names[m.ToolCallID]}
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Name
			om.ToolCalls = append(om.ToolCalls, ollamaToolCall{ID: tc.ID,
				Function: ollamaToolFunction{Name: tc.Name, Arguments: json.RawMessage(tc.Arguments)}})
		}
		out = append(out, om)
	}
	return out
}

// ollamaTools translates the tool definitions; none when the choice is "none" (Ollama has no tool choice).
func ollamaTools(call *Call) []ollamaTool {
	if call.ToolChoice.Mode == ToolChoiceNone {
		return nil
	}
	out := make([]ollamaTool, 0, len(call.Tools))
	for _, t := range call.Tools {
		out = append(out, ollamaTool{Type: "function", Function: ollamaToolSpec(t)})
	}
	return out
}

// ollamaToolCalls reads the tool calls of a response object, if any, with their arguments as text and an id
// for each (Ollama does not always give one; OpenAI clients need one to send the result back).
func ollamaToolCalls(data []byte) []ToolCall {
	raw := jsonGet(data, "message", "tool_calls")
	if raw == nil {
		return nil
	}
	var calls []ollamaToolCall
	if json.Unmarshal(raw, &calls) != nil {
		return nil
	}
	out := make([]ToolCall, 0, len(calls))
	for _, c := range calls {
		id := c.ID
		if id == "" {
			id = newToolCallID()
		}
		out = append(out, ToolCall{ID: id, Name: c.Function.Name, Arguments: toolArguments(string(c.Function.Arguments))})
	}
	return out
}
