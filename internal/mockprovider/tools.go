package mockprovider

import "encoding/json"

// ToolCall is a call of a tool the mock answers with.
type ToolCall struct {
	Name string
	// Arguments is a JSON object, as text.
	Arguments string
}

// toolCallFor decides whether a request is answered with a tool call: when it offers tools and its last turn
// is not a tool's result, the mock calls the first tool with the last turn's text as {"query": ...}; after a
// tool's result it answers in text, so a client's tool loop ends.
func toolCallFor(rec *Request) *ToolCall {
	if len(rec.Tools) == 0 || len(rec.Messages) == 0 || rec.Messages[len(rec.Messages)-1].Role == "tool" {
		return nil
	}
	args, _ := json.Marshal(map[string]string{"query": rec.Messages[len(rec.Messages)-1].Content})
	return &ToolCall{Name: rec.Tools[0], Arguments: string(args)}
}
