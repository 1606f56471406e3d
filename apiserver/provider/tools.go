package provider

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// RoleTool is the role of a turn that carries a tool's result back to the model (Message.ToolCallID says
// which call it answers).
const RoleTool = "tool"

// Tool is a function the model may call, as OpenAI's "function" tools describe one.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the function's arguments; nil when it takes none.
	Parameters json.RawMessage
}

// Tool choices (ToolChoice.Mode).
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	// ToolChoiceFunction forces the call of ToolChoice.Name.
	ToolChoiceFunction = "function"
)

// ToolChoice says whether and which tool the model must call; the zero value leaves it to the provider (auto).
type ToolChoice struct {
	Mode string
	Name string
}

// ToolCall is a call of a tool by the model.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is a JSON object, as text.
	Arguments string
}

// TakesTools reports whether the adapter of a provider type translates tools, tool choices, tool calls and
// tool results, and which tool choices it can honour. OpenAI-protocol providers take the client's request as
// it is (Call.Raw), so they take everything; Anthropic's Messages API and Gemini's function calling modes
// (AUTO, NONE, ANY with allowed function names) have an equivalent of every choice.
func TakesTools(providerType string, choice ToolChoice) bool {
	switch providerType {
	case config.ProviderOpenAI, config.ProviderOpenAICompatible, config.ProviderAnthropic, config.ProviderGemini:
		return true
	case config.ProviderOllama:
		// Ollama has no tool choice: the model decides, or it gets no tools.
		return choice.Mode == "" || choice.Mode == ToolChoiceAuto || choice.Mode == ToolChoiceNone
	}
	return false
}

// toolArguments is a call's input as arguments text: "{}" when there is none.
func toolArguments(input string) string {
	if input = strings.TrimSpace(input); input == "" || input == "null" {
		return "{}"
	}
	return input
}

// newToolCallID names a tool call that came without an id.
func newToolCallID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "call_" + hex.EncodeToString(b)
}
