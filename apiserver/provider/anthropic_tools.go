package provider

import (
	"encoding/json"
	"strings"
)

// anthropicMessage is a turn of the Messages API: its content is plain text, or content blocks when it
// carries tool calls or tool results.
type anthropicMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // a string or []anthropicBlock
}

// anthropicBlock is a content block: text, tool_use (a call, with its input as a JSON object) or
// tool_result (a call's result, as text).
type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`
}

// anthropicTool is a tool definition; Anthropic requires its input_schema.
type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicToolChoice struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// anthropicMessages translates the turns: assistant turns with tool calls become text and tool_use blocks,
// tool results become tool_result blocks of a user turn. Anthropic wants user and assistant turns to
// alternate, so consecutive tool results, and a user's text right after them, share one user turn.
func anthropicMessages(turns []Message) []anthropicMessage {
	out := make([]anthropicMessage, 0, len(turns))
	results := false // whether the last turn is tool results, which the next results or user text join
	for _, m := range turns {
		var block anthropicBlock
		switch {
		case m.Role == RoleTool:
			block = anthropicBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content}
		case m.Role == RoleUser && results:
			block = anthropicBlock{Type: "text", Text: m.Content}
		case len(m.ToolCalls) > 0:
			out = append(out, anthropicMessage{Role: m.Role, Content: anthropicToolUses(m)})
			results = false
			continue
		default:
			out = append(out, anthropicMessage{Role: m.Role, Content: m.Content})
			results = false
			continue
		}
		if results {
			last := &out[len(out)-1]
			last.Content = append(last.Content.([]anthropicBlock), block)
		} else {
			out = append(out, anthropicMessage{Role: RoleUser, Content: []anthropicBlock{block}})
		}
		results = m.Role == RoleTool
	}
	return out
}

// anthropicToolUses is an assistant turn's content: its text, if any, then its tool calls.
func anthropicToolUses(m Message) []anthropicBlock {
	blocks := make([]anthropicBlock, 0, len(m.ToolCalls)+1)
	if m.Content != "" {
		blocks = append(blocks, anthropicBlock{Type: "text", Text: m.Content})
	}
	for _, tc := range m.ToolCalls {
		input := json.RawMessage(tc.Arguments)
		if strings.TrimSpace(tc.Arguments) == "" {
			input = json.RawMessage("{}")
		}
		blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: input})
	}
	return blocks
}

// anthropicTools translates the tool definitions and the tool choice (none when no tools are offered:
// Anthropic takes no choice without tools).
func anthropicTools(call *Call) ([]anthropicTool, *anthropicToolChoice) {
	if len(call.Tools) == 0 {
		return nil, nil
	}
	tools := make([]anthropicTool, 0, len(call.Tools))
	for _, t := range call.Tools {
		schema := t.Parameters
		if s := strings.TrimSpace(string(schema)); s == "" || s == "null" {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		tools = append(tools, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	switch call.ToolChoice.Mode {
	case ToolChoiceAuto, ToolChoiceNone:
		return tools, &anthropicToolChoice{Type: call.ToolChoice.Mode}
	case ToolChoiceRequired:
		return tools, &anthropicToolChoice{Type: "any"}
	case ToolChoiceFunction:
		return tools, &anthropicToolChoice{Type: "tool", Name: call.ToolChoice.Name}
	}
	return tools, nil
}

// anthropicToolUse is a tool_use block of a stream, whose input arrives in fragments (input_json_delta).
type anthropicToolUse struct {
	call  ToolCall
	input strings.Builder
}

// anthropicToolCall reads a tool_use block (id, name, input) of a whole message.
func anthropicToolCall(block []byte) ToolCall {
	id, _ := jsonString(jsonGet(block, "id"))
	name, _ := jsonString(jsonGet(block, "name"))
	return ToolCall{ID: id, Name: name, Arguments: toolArguments(string(jsonGet(block, "input")))}
}

// anthropicBlockStart notes the start of a streamed tool_use block.
func (st *streamState) anthropicBlockStart(data []byte) {
	block := jsonGet(data, "content_block")
	if typ, _ := jsonString(jsonGet(block, "type")); typ != "tool_use" {
		return
	}
	index, _ := jsonInt(jsonGet(data, "index"))
	if st.anthropicToolUses == nil {
		st.anthropicToolUses = map[int64]*anthropicToolUse{}
	}
	st.anthropicToolUses[index] = &anthropicToolUse{call: anthropicToolCall(block)}
}

// anthropicInputDelta adds a fragment of a streamed tool_use block's input.
func (st *streamState) anthropicInputDelta(data []byte) {
	index, _ := jsonInt(jsonGet(data, "index"))
	if use := st.anthropicToolUses[index]; use != nil {
		fragment, _ := jsonString(jsonGet(data, "delta", "partial_json"))
		use.input.WriteString(fragment)
	}
}

// anthropicBlockStop ends a streamed block: a tool_use block becomes a whole tool call, returned as the
// event that carries it.
func (st *streamState) anthropicBlockStop(data []byte) (Event, bool) {
	index, _ := jsonInt(jsonGet(data, "index"))
	use := st.anthropicToolUses[index]
	if use == nil {
		return Event{}, false
	}
	delete(st.anthropicToolUses, index)
	use.call.Arguments = toolArguments(use.input.String())
	start := len(st.toolCalls)
	st.toolCalls = append(st.toolCalls, use.call)
	return Event{Raw: data, ToolCalls: st.toolCalls[start:], ToolIndex: start}, true
}
