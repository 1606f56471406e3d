// Package mockprovider is a fake LLM provider that speaks the real wire protocols of OpenAI (chat completions,
// also serving OpenAI-compatible clients), Anthropic (Messages), Gemini (generateContent and
// streamGenerateContent) and Ollama (/api/chat), each checked by that provider's official Go client in this
// package's tests. It is the upstream of the API server's tests, of `make dev` and of the benchmarks, run by
// `llmplatform mock-provider`.
//
// URL layout (one process, all protocols):
//
//	POST /openai/v1/chat/completions          GET /openai/v1/models
//	POST /anthropic/v1/messages               GET /anthropic/v1/models
//	POST /gemini/v1beta/models/{m}:generateContent
//	POST /gemini/v1beta/models/{m}:streamGenerateContent?alt=sse
//	                                          GET /gemini/v1beta/models
//	POST /ollama/api/chat                     GET /ollama/api/tags
//	GET  /healthz
//	GET  /mock/requests   the recorded requests and what became of them (JSON)
//	POST /mock/keys       {"key":"...","options":"status:401"} sets per-key behaviour ("" clears it)
//	POST /mock/reset      forgets recorded requests and per-key behaviour
//
// Replies are deterministic (ReplyText, Tokens, PromptTokens tell a test exactly what to expect) and their
// behaviour is controllable per request (see Behaviour.ParseOptions): process defaults, then per-key options,
// then options after a "+" in the model name, then the X-Mock-Options header, then X-Mock-Reply (an exact,
// percent-encoded reply text). On Ollama's /api/chat, Gemini's generateContent and Anthropic's /v1/messages, a
// request that offers tools is answered with a call of the first tool ({"query": the last turn's text})
// unless its last turn is a tool's result.
package mockprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server.
type Config struct {
	// Defaults is the behaviour of requests that ask for nothing else.
	Defaults Behaviour
	// Models are the model names the listings return; nil lists DefaultModels. Any model name is accepted in
	// requests.
	Models []string
	// Record is how many recent requests are kept for inspection; 0 keeps DefaultRecord.
	Record int
}

// DefaultModels are listed when Config.Models is nil.
var DefaultModels = []string{"mock-chat", "mock-fast"}

// DefaultRecord is the number of requests kept when Config.Record is 0.
const DefaultRecord = 1000

// Server is the mock provider, an http.Handler.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	nextID atomic.Int64

	mu       sync.Mutex
	keys     map[string]string // API key → options
	requests []*Request        // ring of the most recent requests
	head     int
}

// New returns a mock provider.
func New(cfg Config) *Server {
	if cfg.Models == nil {
		cfg.Models = DefaultModels
	}
	if cfg.Record <= 0 {
		cfg.Record = DefaultRecord
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), keys: map[string]string{}}
	s.mux.HandleFunc("POST /openai/v1/chat/completions", s.openAIChat)
	s.mux.HandleFunc("GET /openai/v1/models", s.openAIModels)
	s.mux.HandleFunc("POST /anthropic/v1/messages", s.anthropicMessages)
	s.mux.HandleFunc("GET /anthropic/v1/models", s.anthropicModels)
	s.mux.HandleFunc("POST /gemini/v1beta/models/{call}", s.geminiGenerate)
	s.mux.HandleFunc("GET /gemini/v1beta/models", s.geminiModels)
	s.mux.HandleFunc("POST /ollama/api/chat", s.ollamaChat)
	s.mux.HandleFunc("GET /ollama/api/tags", s.ollamaTags)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("GET /mock/requests", s.listRequests)
	s.mux.HandleFunc("POST /mock/keys", s.setKeyHandler)
	s.mux.HandleFunc("POST /mock/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetKeyOptions sets the behaviour options (ParseOptions syntax) of requests made with key; "" clears them.
func (s *Server) SetKeyOptions(key, opts string) error {
	if err := new(Behaviour).ParseOptions(opts); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts == "" {
		delete(s.keys, key)
	} else {
		s.keys[key] = opts
	}
	return nil
}

// Reset forgets the recorded requests and the per-key options.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]string{}
	s.requests, s.head = nil, 0
}

// Requests returns the recorded requests, oldest first.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Request, 0, len(s.requests))
	out = append(out, s.requests[s.head:]...)
	return append(out, s.requests[:s.head]...)
}

// LastRequest returns the most recent request, or nil.
func (s *Server) LastRequest() *Request {
	reqs := s.Requests()
	if len(reqs) == 0 {
		return nil
	}
	return reqs[len(reqs)-1]
}

func (s *Server) record(r *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) < s.cfg.Record {
		s.requests = append(s.requests, r)
		return
	}
	s.requests[s.head] = r
	s.head = (s.head + 1) % len(s.requests)
}

// Message is a turn of a received conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is a request the mock received, and what became of it.
type Request struct {
	ID          int64     `json:"id"`
	Protocol    string    `json:"protocol"` // openai, anthropic, gemini, ollama
	Path        string    `json:"path"`
	Model       string    `json:"model"`
	Key         string    `json:"key"`
	Stream      bool      `json:"stream"`
	System      string    `json:"system,omitempty"`
	Messages    []Message `json:"messages"`
	Temperature *float64  `json:"temperature,omitempty"`
	MaxTokens   int       `json:"maxTokens,omitempty"`
	// Tools are the names of the tools the request offered (the protocols whose tools the mock reads).
	Tools    []string    `json:"tools,omitempty"`
	Body     []byte      `json:"-"`
	Header   http.Header `json:"-"`
	Received time.Time   `json:"received"`

	mu      sync.Mutex
	outcome Outcome
	done    chan struct{}
}

// Outcome is what became of a request.
type Outcome struct {
	// Status is the HTTP status answered (0 while none was).
	Status int `json:"status"`
	// TokensSent counts the reply tokens written so far.
	TokensSent int `json:"tokensSent"`
	// Completed is true when the whole answer was written.
	Completed bool `json:"completed"`
	// ClientGone is true when the client went away before the answer was complete, noticed at GoneAt.
	ClientGone bool      `json:"clientGone"`
	GoneAt     time.Time `json:"goneAt,omitzero"`
	// Ended is when the mock stopped handling the request.
	Ended time.Time `json:"ended,omitzero"`
}

// Outcome returns what has become of the request so far.
func (r *Request) Outcome() Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome
}

// Wait waits until the mock has finished handling the request and returns its outcome.
func (r *Request) Wait(ctx context.Context) (Outcome, error) {
	select {
	case <-r.done:
		return r.Outcome(), nil
	case <-ctx.Done():
		return r.Outcome(), ctx.Err()
	}
}

func (r *Request) update(f func(*Outcome)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.outcome)
}

// maxRequestBody bounds what the mock reads of a request.
const maxRequestBody = 32 << 20

// begin reads and records a request; decode fills the protocol's fields from the body. It returns nil after
// answering 400 when the body does not decode.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, protocol, key string, decode func([]byte, *Request) error) *Request {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	rec := &Request{
		ID: s.nextID.Add(1), Protocol: protocol, Path: r.URL.Path, Key: key, Body: body,
		Header: r.Header.Clone(), Received: time.Now(), done: make(chan struct{}),
	}
	if err == nil {
		err = decode(body, rec)
	}
	s.record(rec)
	if err != nil {
		http.Error(w, "invalid request body: "+err.Error(), http.StatusBadRequest)
		rec.finish(http.StatusBadRequest)
		return nil
	}
	return rec
}

func (r *Request) finish(status int) {
	r.update(func(o *Outcome) {
		if o.Status == 0 {
			o.Status = status
		}
		o.Ended = time.Now()
	})
	close(r.done)
}

// behaviour resolves what to do for a request: defaults, key options, model options, header options, reply.
func (s *Server) behaviour(r *http.Request, rec *Request) (Behaviour, error) {
	b := s.cfg.Defaults
	s.mu.Lock()
	keyOpts := s.keys[rec.Key]
	s.mu.Unlock()
	_, modelOpts, _ := strings.Cut(rec.Model, "+")
	for _, opts := range []string{keyOpts, modelOpts, r.Header.Get("X-Mock-Options")} {
		if err := b.ParseOptions(opts); err != nil {
			return b, err
		}
	}
	if reply := r.Header.Get("X-Mock-Reply"); reply != "" {
		text, err := url.PathUnescape(reply)
		if err != nil {
			return b, fmt.Errorf("X-Mock-Reply: %w", err)
		}
		b.Reply = text
	}
	return b, nil
}

// answer is the mock's reply to one request.
type answer struct {
	Behaviour
	rec          *Request
	tokens       []string
	finish       string // "stop" or "length"
	promptTokens int
}

// completionTokens is the reported completion count, reasoning included.
func (a *answer) completionTokens() int { return len(a.tokens) + a.ReasoningTokens }

// mockError is an error the protocol renders in its own format.
type mockError struct {
	status  int
	kind    string // "auth", "rate", "server", "invalid", "context", "notfound"
	message string
}

// prepare works out the answer, or the error to answer with.
func (s *Server) prepare(r *http.Request, rec *Request) (*answer, *mockError) {
	b, err := s.behaviour(r, rec)
	if err != nil {
		return nil, &mockError{http.StatusBadRequest, "invalid", err.Error()}
	}
	a := &answer{Behaviour: b, rec: rec, finish: "stop"}
	contents := make([]string, len(rec.Messages))
	for i, m := range rec.Messages {
		contents[i] = m.Content
	}
	a.promptTokens = PromptTokens(rec.System, contents...)
	if b.Status != 0 {
		return a, statusError(b.Status, rec.Key)
	}
	if rec.Model == "" {
		return a, &mockError{http.StatusBadRequest, "invalid", "model is required"}
	}
	if b.ContextWindow > 0 && a.promptTokens > b.ContextWindow {
		return a, &mockError{http.StatusBadRequest, "context",
			fmt.Sprintf("prompt is too long: %d tokens > %d maximum", a.promptTokens, b.ContextWindow)}
	}
	if b.Reply != "" {
		a.tokens = Tokens(b.Reply)
	} else {
		n := b.ReplyTokens
		if n <= 0 {
			n = DefaultReplyTokens
		}
		a.tokens = replyTokens(n, b.LongToken)
	}
	if rec.MaxTokens > 0 && rec.MaxTokens < len(a.tokens) {
		a.tokens, a.finish = a.tokens[:rec.MaxTokens], "length"
	}
	return a, nil
}

func statusError(status int, key string) *mockError {
	e := &mockError{status: status, kind: "server", message: "mock failure"}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.kind, e.message = "auth", "Incorrect API key provided: "+key
	case status == http.StatusTooManyRequests:
		e.kind, e.message = "rate", "Rate limit reached for key "+key
	case status == http.StatusNotFound:
		e.kind, e.message = "notfound", "The model does not exist"
	case status >= 400 && status < 500:
		e.kind, e.message = "invalid", "Invalid request"
	}
	return e
}

// writeError answers with the error in the protocol's format and records it.
func writeError(w http.ResponseWriter, a *answer, rec *Request, e *mockError, body []byte) {
	if a != nil && a.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(max(int(a.RetryAfter.Round(time.Second)/time.Second), 1)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
	rec.finish(e.status)
}

// streamer writes an answer chunk by chunk, paced, and notices a client that goes away.
type streamer struct {
	w       http.ResponseWriter
	flusher http.Flusher
	ctx     context.Context
	a       *answer
	timer   *time.Timer
	buf     []byte
}

func newStreamer(w http.ResponseWriter, r *http.Request, a *answer) *streamer {
	f, _ := w.(http.Flusher)
	return &streamer{w: w, flusher: f, ctx: r.Context(), a: a, buf: make([]byte, 0, 512)}
}

// wait pauses for d; it returns false, recording it, when the client goes away meanwhile.
func (s *streamer) wait(d time.Duration) bool {
	if d <= 0 {
		return s.alive()
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return true
	case <-s.ctx.Done():
		s.gone()
		return false
	}
}

func (s *streamer) alive() bool {
	if s.ctx.Err() != nil {
		s.gone()
		return false
	}
	return true
}

func (s *streamer) gone() {
	s.a.rec.update(func(o *Outcome) {
		if !o.Completed && !o.ClientGone {
			o.ClientGone, o.GoneAt = true, time.Now()
		}
	})
}

// send writes and flushes the buffer.
func (s *streamer) send() bool {
	if _, err := s.w.Write(s.buf); err != nil { //nolint:gosec // G705: an event stream or JSON that a program reads (Content-Type set above), never HTML a browser renders
		s.gone()
		return false
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return true
}

// protocol formats a streamed answer: the events before the text, one chunk of text tokens, and the events
// after the text (finish reason, usage, end marker).
type protocol interface {
	start(buf []byte, a *answer) []byte
	chunk(buf []byte, a *answer, tokens []string, sent int, last bool) []byte
	end(buf []byte, a *answer) []byte
}

// stream writes a whole streamed answer: after the time to first token, the start events, the text in paced
// chunks, and the end events; it cuts the connection where the behaviour says so.
func (s *streamer) stream(contentType string, p protocol) {
	a, rec := s.a, s.a.rec
	defer rec.finish(http.StatusOK)
	if !s.wait(a.TimeToFirstToken) {
		return
	}
	s.w.Header().Set("Content-Type", contentType)
	s.w.Header().Set("Cache-Control", "no-cache")
	rec.update(func(o *Outcome) { o.Status = http.StatusOK })
	s.buf = p.start(s.buf[:0], a)
	step := a.chunkTokens()
	for i := 0; i < len(a.tokens); i += step {
		if i > 0 && !s.wait(a.interval()) {
			return
		}
		s.disconnectAt(i)
		j := min(i+step, len(a.tokens))
		s.buf = p.chunk(s.buf, a, a.tokens[i:j], j, j == len(a.tokens))
		if !s.send() {
			return
		}
		s.buf = s.buf[:0]
		rec.update(func(o *Outcome) { o.TokensSent = j })
	}
	s.disconnectAt(len(a.tokens))
	s.buf = p.end(s.buf, a)
	if s.send() {
		rec.update(func(o *Outcome) { o.Completed = true })
	}
}

// disconnectAt cuts the connection when sent tokens have been written and the behaviour says so: the handler
// aborts, and the server closes the connection without ending the response.
func (s *streamer) disconnectAt(sent int) {
	if s.a.Disconnect && sent >= s.a.DisconnectAfter {
		if len(s.buf) > 0 {
			s.send()
		}
		panic(http.ErrAbortHandler)
	}
}

// complete writes a non-streamed answer after the time it would have taken to generate.
func (s *streamer) complete(body func(buf []byte, a *answer) []byte) {
	a, rec := s.a, s.a.rec
	defer rec.finish(http.StatusOK)
	generation := a.TimeToFirstToken
	if chunks := (len(a.tokens) + a.chunkTokens() - 1) / a.chunkTokens(); chunks > 1 {
		generation += time.Duration(chunks-1) * a.interval()
	}
	if !s.wait(generation) {
		return
	}
	s.disconnectAt(0)
	s.w.Header().Set("Content-Type", "application/json")
	s.buf = body(s.buf[:0], a)
	rec.update(func(o *Outcome) { o.Status = http.StatusOK })
	if s.send() {
		rec.update(func(o *Outcome) { o.TokensSent, o.Completed = len(a.tokens), true })
	}
}

// listRequests serves the recorded requests with their outcomes.
func (s *Server) listRequests(w http.ResponseWriter, _ *http.Request) {
	type entry struct {
		*Request
		Outcome Outcome `json:"outcome"`
	}
	reqs := s.Requests()
	out := make([]entry, len(reqs))
	for i, r := range reqs {
		out[i] = entry{r, r.Outcome()}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) setKeyHandler(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Key     string `json:"key"`
		Options string `json:"options"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.SetKeyOptions(body.Key, body.Options); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}
