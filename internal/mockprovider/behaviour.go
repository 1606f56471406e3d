package mockprovider

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Behaviour is how the mock answers a request. The zero value answers at once with a reply of
// DefaultReplyTokens tokens and reports usage.
type Behaviour struct {
	// TokensPerSecond paces the reply; 0 sends it as fast as possible.
	TokensPerSecond float64
	// ChunkTokens is the number of tokens per streamed chunk; 0 means 1.
	ChunkTokens int
	// TimeToFirstToken delays the whole answer, headers included.
	TimeToFirstToken time.Duration
	// ReplyTokens is the length of the generated reply; 0 means DefaultReplyTokens.
	ReplyTokens int
	// Reply, when set, is the exact reply text instead of the generated one (split into tokens by Tokens).
	Reply string
	// LongToken, when positive, makes the reply's first token a run of that many "x" (a stream line longer
	// than 64 KiB breaks clients that read lines with bufio.Scanner's default buffer).
	LongToken int
	// NoUsage leaves usage out of the answer.
	NoUsage bool
	// CachedTokens and ReasoningTokens are added to the usage report: cached prompt tokens (part of the prompt
	// count) and reasoning tokens (part of the completion count), each in the protocol's own convention.
	CachedTokens, ReasoningTokens int
	// ContextWindow, when positive, rejects prompts of more tokens with the protocol's context-length error.
	ContextWindow int
	// Status, when set, answers with this HTTP error status and the protocol's error body (whose message
	// quotes the API key, as OpenAI's does, so that tests can prove it does not leak).
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, at least 1) with an error status.
	RetryAfter time.Duration
	// Disconnect cuts the connection after DisconnectAfter tokens, without ending the response properly.
	Disconnect      bool
	DisconnectAfter int
}

// DefaultReplyTokens is the reply length when Behaviour.ReplyTokens is 0.
const DefaultReplyTokens = 20

// ParseOptions applies options written as "name:value" pairs joined by "+" ("tps:20+tokens:5+status:429").
// The same syntax works after a model name ("mock-chat+tps:20"), in the X-Mock-Options header, for a key
// (Server.SetKeyOptions) and on the command line. Names:
//
//	tps:N          tokens per second (0: as fast as possible)
//	chunk:N        tokens per streamed chunk
//	ttft:D         delay before the answer, a Go duration ("250ms")
//	tokens:N       reply length in tokens
//	longtoken:N    first token is N bytes long
//	usage:BOOL     report usage or not
//	cached:N       cached prompt tokens to report
//	reasoning:N    reasoning tokens to report
//	contextwindow:N reject prompts longer than N tokens
//	status:N       answer with HTTP status N and an error body
//	retryafter:D   Retry-After with the error status (a duration, or seconds)
//	disconnect:N   cut the connection after N tokens
func (b *Behaviour) ParseOptions(opts string) error {
	for _, opt := range strings.Split(opts, "+") {
		if opt == "" {
			continue
		}
		name, value, ok := strings.Cut(opt, ":")
		if !ok {
			return fmt.Errorf("mock option %q is not name:value", opt)
		}
		if err := b.set(name, value); err != nil {
			return fmt.Errorf("mock option %s: %w", name, err)
		}
	}
	return nil
}

func (b *Behaviour) set(name, value string) error {
	var err error
	switch name {
	case "tps":
		b.TokensPerSecond, err = strconv.ParseFloat(value, 64)
	case "chunk":
		b.ChunkTokens, err = strconv.Atoi(value)
	case "ttft":
		b.TimeToFirstToken, err = time.ParseDuration(value)
	case "tokens":
		b.ReplyTokens, err = strconv.Atoi(value)
	case "longtoken":
		b.LongToken, err = strconv.Atoi(value)
	case "usage":
		var on bool
		on, err = strconv.ParseBool(value)
		b.NoUsage = !on
	case "cached":
		b.CachedTokens, err = strconv.Atoi(value)
	case "reasoning":
		b.ReasoningTokens, err = strconv.Atoi(value)
	case "contextwindow":
		b.ContextWindow, err = strconv.Atoi(value)
	case "status":
		b.Status, err = strconv.Atoi(value)
	case "retryafter":
		b.RetryAfter, err = parseSeconds(value)
	case "disconnect":
		b.Disconnect = true
		b.DisconnectAfter, err = strconv.Atoi(value)
	default:
		return fmt.Errorf("unknown option")
	}
	return err
}

// parseSeconds reads a Go duration, or a bare number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// interval is the pause between two chunks.
func (b *Behaviour) interval() time.Duration {
	if b.TokensPerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(b.chunkTokens()) / b.TokensPerSecond * float64(time.Second))
}

func (b *Behaviour) chunkTokens() int {
	return max(b.ChunkTokens, 1)
}
