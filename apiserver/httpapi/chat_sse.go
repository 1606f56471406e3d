package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// HeartbeatInterval is how long an answer's stream may stay silent before a ": ping" comment is sent, so that
// proxies and browsers do not take a slow model (long thinking, a busy provider) for a dead connection.
const HeartbeatInterval = 15 * time.Second

// errStreamClosed is returned by writes after the stream was closed.
var errStreamClosed = errors.New("the stream is closed")

// sseWriter writes an answer as Server-Sent Events, never compressed: deltas are flushed by Flush, other
// events and heartbeats at once.
// The response starts (status 200 and the stream's headers) with the first event or heartbeat, so that a
// failure before anything was generated is still an ordinary JSON error with its status. After the first
// failed write every write fails the same way: the client is gone. Writes come from the handler and from
// the heartbeat timer, serialised by mu; close must be called before the handler returns.
type sseWriter struct {
	mu       sync.Mutex
	w        http.ResponseWriter
	flusher  http.Flusher
	started  bool
	closed   bool
	err      error
	last     time.Time
	interval time.Duration
	timer    *time.Timer
	buf      []byte
}

// newSSEWriter returns a writer whose heartbeat is armed.
func newSSEWriter(w http.ResponseWriter, interval time.Duration) *sseWriter {
	s := &sseWriter{w: w, interval: interval, last: time.Now()}
	s.flusher, _ = w.(http.Flusher)
	s.timer = time.AfterFunc(interval, s.heartbeat)
	return s
}

// Started reports whether the response has started (a JSON error can no longer be sent).
func (s *sseWriter) Started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// begin sends the status and headers. Called with mu held.
func (s *sseWriter) begin() {
	if s.started {
		return
	}
	s.started = true
	startEventStream(s.w)
}

// startEventStream sends status 200 with the headers of a Server-Sent Events stream: never cached, never
// compressed, never buffered by a proxy.
func startEventStream(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Accel-Buffering", "no") // nginx (ingress-nginx): pass each event through unbuffered
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	w.WriteHeader(http.StatusOK)
}

// write writes bytes into the response's buffer and, with flush, sends them. Called with mu held.
func (s *sseWriter) write(b []byte, flush bool) error {
	if s.closed {
		return errStreamClosed
	}
	if s.err != nil {
		return s.err
	}
	s.begin()
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	if flush && s.flusher != nil {
		s.flusher.Flush()
	}
	s.last = time.Now()
	return nil
}

// Flush sends the deltas written since the last flush (service.Sink).
func (s *sseWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	if s.err == nil && s.started && s.flusher != nil {
		s.flusher.Flush()
	}
	return s.err
}

// Delta writes a "delta" event with the next piece of the answer, sent by the next Flush (the stream flushes
// before it waits for the upstream) or the next other event. It encodes by hand: it runs per chunk.
func (s *sseWriter) Delta(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf[:0], "event: delta\ndata: {\"text\":"...)
	s.buf = appendJSONString(s.buf, text)
	s.buf = append(s.buf, "}\n\n"...)
	return s.write(s.buf, false)
}

// Event sends an event with v as its JSON data.
func (s *sseWriter) Event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(append(append(append(s.buf[:0], "event: "...), name...), "\ndata: "...), data...)
	s.buf = append(s.buf, "\n\n"...)
	return s.write(s.buf, true)
}

// heartbeat sends ": ping" when nothing was written for an interval, and re-arms itself.
func (s *sseWriter) heartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	if wait := s.interval - time.Since(s.last); wait > 0 {
		s.timer.Reset(wait)
		return
	}
	if s.write([]byte(": ping\n\n"), true) == nil {
		s.timer.Reset(s.interval)
	}
}

// close stops the heartbeat; nothing is written afterwards.
func (s *sseWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.timer.Stop()
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, as encoding/json writes it (without HTML escaping): quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
