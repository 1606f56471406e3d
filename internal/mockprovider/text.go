package mockprovider

import (
	"strings"
	"unicode"
)

// vocabulary is the cycle of tokens generated replies are made of. It has what breaks naive stream handling:
// quotes, backslashes, newlines, tabs, HTML, multi-byte and astral characters.
var vocabulary = []string{
	"Hello", ",", " world", "!", " This", " is", " the", " mock", " provider", "'s", ` "deterministic"`,
	" reply", ":", "\n", "-", " ünïcödé", " 日本語", " 😀", " tab\there", ` back\slash`, " <b>bold</b>", " &",
	" 100%", ".", "\n\n", "```go", "\n", "x", " :=", " 1", "\n", "```", "\n",
}

// ReplyText is the generated reply of n tokens.
func ReplyText(n int) string {
	return strings.Join(replyTokens(n, 0), "")
}

func replyTokens(n, longToken int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = vocabulary[i%len(vocabulary)]
	}
	if longToken > 0 && n > 0 {
		out[0] = strings.Repeat("x", longToken)
	}
	return out
}

// Tokens splits a given reply into the mock's tokens: each token is a run of white space followed by a run
// of anything else.
func Tokens(text string) []string {
	var out []string
	start := 0
	prevSpace := true
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && !prevSpace && i > start {
			out = append(out, text[start:i])
			start = i
		}
		prevSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// PromptTokens is the mock's prompt token count: for the system prompt (when not empty) and each message,
// its number of words plus 3.
func PromptTokens(system string, messages ...string) int {
	n := 0
	if system != "" {
		n += len(strings.Fields(system)) + 3
	}
	for _, m := range messages {
		n += len(strings.Fields(m)) + 3
	}
	return n
}
