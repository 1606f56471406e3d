package service

import (
	"encoding/json"
	"strconv"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// wireTool is one of a request's "tools".
type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// parseTools reads "tools" and "tool_choice" for the providers that translate them (only function tools).
func (r *ChatRequest) parseTools() error {
	if raw := r.members.tools; present(raw) {
		var tools []wireTool
		if err := json.Unmarshal(raw, &tools); err != nil {
			return apperr.Invalid("tools has the wrong type")
		}
		for i, t := range tools {
			if t.Type != "function" || t.Function.Name == "" {
				return apperr.Invalid("tools[%d] must be a function with a name", i)
			}
			r.ToolDefs = append(r.ToolDefs, provider.Tool{Name: t.Function.Name, Description: t.Function.Description,
				Parameters: t.Function.Parameters})
		}
	}
	raw := r.members.toolChoice
	if raw == nil || string(raw) == "null" {
		return nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case provider.ToolChoiceAuto, provider.ToolChoiceNone, provider.ToolChoiceRequired:
			r.ToolChoice = provider.ToolChoice{Mode: mode}
			return nil
		}
		return apperr.Invalid("tool_choice must be auto, none, required or a function")
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Type != "function" || named.Function.Name == "" {
		return apperr.Invalid("tool_choice must be auto, none, required or a function")
	}
	r.ToolChoice = provider.ToolChoice{Mode: provider.ToolChoiceFunction, Name: named.Function.Name}
	return nil
}

// toolCalls reads an assistant message's tool calls; their arguments must be JSON objects for the providers
// that take them as objects, which is checked when the provider is known (checkToolArguments).
func toolCalls(raw json.RawMessage) ([]provider.ToolCall, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var calls []openAIToolCall
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, apperr.Invalid("messages: tool_calls has the wrong type")
	}
	out := make([]provider.ToolCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, provider.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
	}
	return out, nil
}

// checkToolArguments refuses tool calls in the history whose arguments are not JSON objects: the translated
// protocols carry them as objects.
func (r *ChatRequest) checkToolArguments() error {
	for _, m := range r.Messages {
		for _, c := range m.ToolCalls {
			var obj map[string]json.RawMessage
			if json.Unmarshal([]byte(c.Arguments), &obj) != nil || obj == nil {
				return apperr.Invalid("messages: the arguments of tool call %q must be a JSON object", c.ID)
			}
		}
	}
	return nil
}

// openAIToolCall is a tool call in OpenAI's format, in requests' messages and in answers: a stream's deltas
// number them (Index), a message's do not.
type openAIToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// openAIToolCalls renders calls in OpenAI's shape; with numbered, their indexes start at first.
func openAIToolCalls(calls []provider.ToolCall, numbered bool, first int) []openAIToolCall {
	out := make([]openAIToolCall, len(calls))
	for i, c := range calls {
		out[i].ID, out[i].Type = c.ID, "function"
		out[i].Function.Name, out[i].Function.Arguments = c.Name, c.Arguments
		if numbered {
			index := first + i
			out[i].Index = &index
		}
	}
	return out
}

// toolCallsDelta is a stream chunk's delta carrying tool calls, numbered from first.
func toolCallsDelta(calls []provider.ToolCall, first int) string {
	b, _ := json.Marshal(struct {
		ToolCalls []openAIToolCall `json:"tool_calls"`
	}{openAIToolCalls(calls, true, first)})
	return string(b)
}

// toolsRefusal says why a provider type cannot take the request's tools.
func (r *ChatRequest) toolsRefusal(model, providerType string) error {
	if r.ToolChoice.Mode == provider.ToolChoiceRequired || r.ToolChoice.Mode == provider.ToolChoiceFunction {
		if provider.TakesTools(providerType, provider.ToolChoice{}) {
			return apperr.Invalid("model %q is served by a %s provider, which cannot be made to call a tool (tool_choice %s)",
				model, providerType, strconv.Quote(r.ToolChoice.Mode))
		}
	}
	return apperr.Invalid("model %q is served by a %s provider, which does not take tools",
		model, providerType)
}
