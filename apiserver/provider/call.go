package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/internal/version"
)

// Timeouts bound the phases of a call. Zero means no bound, except Connect (DefaultConnectTimeout).
type Timeouts struct {
	// Connect bounds dialing a new connection.
	Connect time.Duration
	// FirstByte bounds the time from sending the request to the first chunk of the answer (for a
	// non-streamed call, to the response headers).
	FirstByte time.Duration
	// BetweenChunks bounds the silence between two chunks of a streamed answer (and the reading of a
	// non-streamed body).
	BetweenChunks time.Duration
	// Total bounds the whole call.
	Total time.Duration
}

// TimeoutsFrom converts configured timeouts.
func TimeoutsFrom(t config.Timeouts) Timeouts {
	return Timeouts{
		Connect: t.Connect.Duration, FirstByte: t.FirstByte.Duration,
		BetweenChunks: t.BetweenChunks.Duration, Total: t.Total.Duration,
	}
}

// maxResponseBody bounds a non-streamed response body.
const maxResponseBody = 32 << 20

// userAgent identifies the platform to providers.
var userAgent = "llmplatform/" + version.Version

// httpClient sends the requests of one adapter.
type httpClient struct {
	client   *http.Client
	timeouts Timeouts
}

func newHTTPClient(rt http.RoundTripper, t Timeouts) *httpClient {
	return &httpClient{client: &http.Client{Transport: rt}, timeouts: t}
}

// exchange is one HTTP exchange with its watchdog: a timer that cancels the exchange's context with a
// typed timeout when the first chunk, or the next one, is late, or when the whole exchange outlives its
// deadline (one timer for every phase: an open stream holds no more).
type exchange struct {
	ctx      context.Context
	cancel   context.CancelCauseFunc
	watchdog *time.Timer
	between  time.Duration
	// deadline is when the exchange must end (Timeouts.Total); zero when it has no bound.
	deadline time.Time
	// chunked is set once the first chunk arrived: the watchdog then times the gaps between chunks.
	chunked atomic.Bool
	start   time.Time
	res     Result
	state   streamState
}

// begin starts an exchange under the caller's context.
func (c *httpClient) begin(parent context.Context, call *Call) *exchange {
	x := &exchange{start: time.Now(), between: c.timeouts.BetweenChunks}
	if c.timeouts.Total > 0 {
		x.deadline = x.start.Add(c.timeouts.Total)
	}
	x.ctx, x.cancel = context.WithCancelCause(context.WithValue(parent, connectTimeoutKey{}, c.timeouts.Connect))
	x.watchdog = time.AfterFunc(time.Hour, x.fire)
	x.arm(c.timeouts.FirstByte)
	x.state.prompt = promptEstimate(call)
	if call != nil {
		x.state.flush = call.Flush
	}
	return x
}

// arm sets the watchdog to fire after d (none when d is zero), or at the deadline when that comes first.
func (x *exchange) arm(d time.Duration) {
	if !x.deadline.IsZero() {
		if left := time.Until(x.deadline); d <= 0 || left < d {
			d = max(left, time.Nanosecond)
		}
	}
	if d > 0 {
		x.watchdog.Reset(d)
	} else {
		x.watchdog.Stop()
	}
}

// fire cancels the exchange with the timeout of the phase it is in.
func (x *exchange) fire() {
	phase := PhaseFirstByte
	switch {
	case !x.deadline.IsZero() && !time.Now().Before(x.deadline):
		phase = PhaseTotal
	case x.chunked.Load():
		phase = PhaseBetweenChunks
	}
	x.cancel(&Error{Kind: ErrTimeout, Phase: phase})
}

// tick re-arms the watchdog for the next chunk.
func (x *exchange) tick() {
	if !x.chunked.Load() {
		x.chunked.Store(true)
	}
	x.arm(x.between)
}

// end releases the exchange's timer and context.
func (x *exchange) end() {
	x.watchdog.Stop()
	x.cancel(nil)
}

// post sends a JSON body and returns the response when its status is a success; otherwise the classified
// error. setHeaders adds the adapter's authentication and version headers.
func (c *httpClient) post(x *exchange, url string, body []byte, stream bool, setHeaders func(http.Header)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(x.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: ErrBadRequest, cause: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	setHeaders(req.Header)
	return c.send(x, req)
}

// get sends a GET request (model listings).
func (c *httpClient) get(x *exchange, url string, setHeaders func(http.Header)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(x.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &Error{Kind: ErrBadRequest, cause: err}
	}
	req.Header.Set("Accept", "application/json")
	setHeaders(req.Header)
	return c.send(x, req)
}

func (c *httpClient) send(x *exchange, req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, transportError(x.ctx, err)
	}
	x.res.TimeToFirstByte = time.Since(x.start)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close() //nolint:errcheck // a response body's Close error says nothing once it was read (kept plain so bodyclose sees it)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, statusError(resp.StatusCode, resp.Header, body)
}

// readAll reads a non-streamed response body, bounded, with the watchdog re-armed for the body.
func (x *exchange) readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close() //nolint:errcheck // a response body's Close error says nothing once it was read (kept plain so bodyclose sees it)
	x.tick()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, transportError(x.ctx, err)
	}
	if len(body) > maxResponseBody {
		return nil, &Error{Kind: ErrProtocol, Status: resp.StatusCode, cause: errors.New("response body too large")}
	}
	return body, nil
}

// chunkHandler interprets one chunk of a provider's stream: it updates the state, returns the event to emit
// (emit=false for chunks that carry nothing for the client, such as pings) and whether the stream is over.
type chunkHandler func(name, data []byte, st *streamState) (ev Event, emit, done bool, err error)

// stream reads the chunks of resp until handle says it is over, calling emit for each event (and the call's
// Flush before a read of the upstream that follows emitted events).
func (x *exchange) stream(resp *http.Response, newReader func(io.Reader) chunkReader, handle chunkHandler, emit func(Event) error) error {
	defer resp.Body.Close() //nolint:errcheck // a response body's Close error says nothing once it was read (kept plain so bodyclose sees it)
	st := &x.state
	body := &flushingBody{r: resp.Body, flush: st.flush}
	r := newReader(body)
	for {
		name, data, err := r.next()
		if err != nil {
			return x.streamError(err, body.err)
		}
		x.tick()
		ev, send, done, err := handle(name, data, st)
		if err != nil {
			return err
		}
		if ev.Text != "" {
			st.addText(ev.Text, time.Since(x.start))
		}
		if send {
			if err := emit(ev); err != nil {
				return err
			}
			body.pending = true
		}
		if done {
			return nil
		}
	}
}

// streamError is the error that ends a stream whose reader failed with err: nil at the end of a finished
// stream, flushErr when the call's Flush failed, the upstream's failure otherwise.
func (x *exchange) streamError(err, flushErr error) error {
	switch {
	case flushErr != nil:
		return flushErr
	case errors.Is(err, io.EOF) && x.state.finish != "":
		return nil
	case errors.Is(err, io.EOF):
		return transportError(x.ctx, io.ErrUnexpectedEOF)
	case errors.Is(err, errLineTooLong):
		return &Error{Kind: ErrProtocol, cause: err}
	default:
		return transportError(x.ctx, err)
	}
}

// flushingBody is an upstream body that calls flush before a read that follows emitted events (pending):
// the read may wait for the network, and the events must not wait with it. The stream's reader reads from
// it only when the chunks already read are used up, so the events of one read go out together.
type flushingBody struct {
	r       io.Reader
	flush   func() error
	pending bool
	err     error
}

func (b *flushingBody) Read(p []byte) (int, error) {
	if b.pending && b.flush != nil {
		b.pending = false
		if b.err = b.flush(); b.err != nil {
			return 0, b.err
		}
	}
	return b.r.Read(p)
}

// finish completes the result: text, usage (estimated where the provider reported none) and latency.
func (x *exchange) finish(err error) (Result, error) {
	x.end()
	st := &x.state
	res := x.res
	res.Text = st.text.String()
	res.ToolCalls = st.toolCalls
	res.FinishReason = st.finish
	res.Model = st.model
	res.TimeToFirstToken = st.firstToken
	res.Usage = st.usage
	if !st.promptReported {
		res.Usage.PromptTokens = st.prompt
		res.Usage.Estimated = true
	}
	if !st.completionReported {
		res.Usage.CompletionTokens = EstimateTokens(res.Text)
		res.Usage.Estimated = true
	}
	res.Latency = time.Since(x.start)
	return res, err
}

// streamState accumulates what a stream has delivered.
type streamState struct {
	// prompt is the prompt's estimate (the usage when the provider reports none) and flush the call's Flush:
	// the state keeps no reference to the call, whose conversation is released once the answer begins.
	prompt             int64
	flush              func() error
	text               strings.Builder
	firstToken         time.Duration
	usage              Usage
	promptReported     bool
	completionReported bool
	finish             string
	model              string
	// toolCalls are the tools the answer called (translated protocols).
	toolCalls []ToolCall
	// anthropicInput is Anthropic's input_tokens, which excludes cached tokens.
	anthropicInput int64
	// anthropicToolUses are a stream's tool_use blocks still open, by block index.
	anthropicToolUses map[int64]*anthropicToolUse
}

func (st *streamState) addText(s string, at time.Duration) {
	if st.text.Len() == 0 {
		st.firstToken = at
	}
	st.text.WriteString(s)
}

// setModel records the model name the upstream reports in data's field, once.
func (st *streamState) setModel(data []byte, path ...string) {
	if st.model == "" {
		st.model, _ = jsonString(jsonGet(data, path...))
	}
}

// EstimateTokens estimates the tokens of text the way metering does when a provider reports none: four
// bytes of ASCII per token, and one token per other character (CJK text has about one token per character).
func EstimateTokens(text string) int64 {
	var ascii, other int64
	for i := 0; i < len(text); {
		if text[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		other++
		i += size
	}
	return (ascii+3)/4 + other
}

// promptEstimate is the caller's estimate of a call's prompt, or one from its texts plus a few tokens of
// framing per message.
func promptEstimate(call *Call) int64 {
	switch {
	case call == nil:
		return 0
	case call.PromptTokens > 0:
		return call.PromptTokens
	case len(call.Raw) > 0:
		return EstimateTokens(string(call.Raw))
	}
	n := EstimateTokens(call.System) + 3
	for _, m := range call.Messages {
		n += EstimateTokens(m.Content) + 4
	}
	return n
}

// joinURL appends path to a base URL without doubling the slash.
func joinURL(base, path string) string {
	return strings.TrimSuffix(base, "/") + path
}

// listModels GETs a model listing and picks the names out of it.
func listModels(ctx context.Context, c *httpClient, url string, setHeaders func(http.Header), pick func([]byte) []string) ([]string, error) {
	x := c.begin(ctx, nil)
	defer x.end()
	resp, err := c.get(x, url, setHeaders)
	if err != nil {
		return nil, err
	}
	data, err := x.readAll(resp)
	if err != nil {
		return nil, err
	}
	return pick(data), nil
}

// collectStrings returns the string field of every object in the array arr.
func collectStrings(arr []byte, field string) []string {
	var out []string
	jsonEach(arr, func(elem []byte) bool {
		if s, ok := jsonString(jsonGet(elem, field)); ok && s != "" {
			out = append(out, s)
		}
		return true
	})
	return out
}
