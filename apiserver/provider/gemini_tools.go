package provider

import "encoding/json"

// geminiPart is a part of a Gemini content: text, a call of a function by the model, or a function's result.
// Text is a pointer so that a text part always carries its text, even an empty one, and other parts none.
type geminiPart struct {
	Text             *string                 `json:"text,omitempty"`
	FunctionCall     *geminiFunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *geminiFunctionResponse `json:"functionResponse,omitempty"`
}

func geminiText(s string) geminiPart { return geminiPart{Text: &s} }

// geminiFunctionCall is a call as Gemini writes one: the arguments are a JSON object, not text. Gemini takes
// the call's id back (the genai client sends it in the Gemini API's mode) and matches results to it.
type geminiFunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// geminiFunctionResponse carries a tool's result: Gemini matches it by name (and id), and wants an object.
type geminiFunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type geminiTool struct {
	FunctionDeclarations []geminiFunctionDeclaration `json:"functionDeclarations"`
}

// geminiFunctionDeclaration declares a tool. Its parameters go in parametersJsonSchema, which takes JSON
// Schema as OpenAI clients write it; "parameters" takes only an OpenAPI subset and refuses keywords such as
// additionalProperties or $schema that strict-mode and generated schemas carry.
type geminiFunctionDeclaration struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type geminiToolConfig struct {
	FunctionCallingConfig geminiFunctionCalling `json:"functionCallingConfig"`
}

type geminiFunctionCalling struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// geminiContents translates the turns (system messages go to systemInstruction): the assistant's as "model"
// with their calls, tool results as functionResponse parts of a "user" content, with the name of the tool
// that produced them; consecutive results share one content, as Gemini answers parallel calls.
func geminiContents(call *Call) []geminiContent {
	out := make([]geminiContent, 0, len(call.Messages))
	names := map[string]string{}
	results := false // the last content holds tool results
	for _, m := range call.Messages {
		switch m.Role {
		case RoleSystem:
			continue
		case RoleTool:
			part := geminiPart{FunctionResponse: &geminiFunctionResponse{ID: m.ToolCallID, Name: names[m.ToolCallID],
				Response: geminiToolResult(m.Content)}}
			if results {
				out[len(out)-1].Parts = append(out[len(out)-1].Parts, part)
			} else {
				out = append(out, geminiContent{Role: "user", Parts: []geminiPart{part}})
			}
			results = true
			continue
		case RoleAssistant:
			c := geminiContent{Role: "model"}
			if m.Content != "" || len(m.ToolCalls) == 0 {
				c.Parts = append(c.Parts, geminiText(m.Content))
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Name
				args := tc.Arguments
				if args == "" {
					args = "{}"
				}
				c.Parts = append(c.Parts, geminiPart{FunctionCall: &geminiFunctionCall{ID: tc.ID, Name: tc.Name, Args: json.RawMessage(args)}})
			}
			out = append(out, c)
		default:
			out = append(out, geminiContent{Role: "user", Parts: []geminiPart{geminiText(m.Content)}})
		}
		results = false
	}
	return out
}

// geminiToolResult is a tool's result as Gemini's response object: the result itself when it is a JSON
// object, else {"result": the text}.
func geminiToolResult(content string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(content), &obj) == nil && obj != nil {
		return json.RawMessage(content)
	}
	out, _ := json.Marshal(map[string]string{"result": content})
	return out
}

// geminiTools translates the tool definitions and the tool choice: auto → AUTO, none → NONE, required → ANY,
// a named function → ANY with only that function allowed.
func geminiTools(call *Call) ([]geminiTool, *geminiToolConfig) {
	if len(call.Tools) == 0 {
		return nil, nil
	}
	decls := make([]geminiFunctionDeclaration, 0, len(call.Tools))
	for _, t := range call.Tools {
		decls = append(decls, geminiFunctionDeclaration(t))
	}
	tools := []geminiTool{{FunctionDeclarations: decls}}
	var mode geminiFunctionCalling
	switch call.ToolChoice.Mode {
	case ToolChoiceAuto:
		mode.Mode = "AUTO"
	case ToolChoiceNone:
		mode.Mode = "NONE"
	case ToolChoiceRequired:
		mode.Mode = "ANY"
	case ToolChoiceFunction:
		mode = geminiFunctionCalling{Mode: "ANY", AllowedFunctionNames: []string{call.ToolChoice.Name}}
	default:
		return tools, nil
	}
	return tools, &geminiToolConfig{FunctionCallingConfig: mode}
}

// geminiToolCall reads a response part's functionCall, which Gemini sends whole: its arguments as text ("{}"
// when it has none) and its id, made up when Gemini gives none.
func geminiToolCall(part []byte) (ToolCall, bool) {
	fc := jsonGet(part, "functionCall")
	if len(fc) == 0 || fc[0] != '{' {
		return ToolCall{}, false
	}
	name, _ := jsonString(jsonGet(fc, "name"))
	id, _ := jsonString(jsonGet(fc, "id"))
	if id == "" {
		id = newToolCallID()
	}
	args := "{}"
	if raw := jsonGet(fc, "args"); len(raw) > 0 && raw[0] == '{' {
		args = string(raw)
	}
	return ToolCall{ID: id, Name: name, Arguments: args}, true
}
