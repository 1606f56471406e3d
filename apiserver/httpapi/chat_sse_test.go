package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "line\nbreak\r\ttab", "\x00\x1f\x7f", "ünïcödé 日本語 😀",
		"\u2028\u2029", "bad \xff utf-8 \xc3", "<b>&</b>"} {
		got := string(appendJSONString(nil, s))
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendJSONString(%q) decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
	}
}

// FuzzAppendJSONString: any text, valid UTF-8 or not, becomes one JSON string that decodes to what
// encoding/json's own encoding decodes to, on one line (an SSE data line must not break).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\nb", "\xff", "😀", "\u2028", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		if strings.ContainsAny(string(got), "\r\n") {
			t.Fatalf("appendJSONString(%q) = %s: a line break would split the SSE event", s, got)
		}
		var back, want string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, got, err)
		}
		ref, _ := json.Marshal(s)
		_ = json.Unmarshal(ref, &want)
		if back != want {
			t.Fatalf("appendJSONString(%q) decodes to %q, want %q", s, back, want)
		}
	})
}

// failingWriter fails every write, as a connection to a client that went away does.
type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestSSEWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	s := newSSEWriter(rec, 20*time.Millisecond)
	if s.Started() || rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "" {
		t.Fatal("the response started before anything was written")
	}
	time.Sleep(60 * time.Millisecond) // heartbeats while silent
	if err := s.Delta("hi\n"); err != nil {
		t.Fatal(err)
	}
	if err := s.Event("done", map[string]string{"finish_reason": "stop"}); err != nil {
		t.Fatal(err)
	}
	s.close()
	if err := s.Delta("late"); err == nil {
		t.Error("a write after close succeeded")
	}
	body := rec.Body.String()
	if !strings.HasPrefix(body, ": ping\n\n") || !strings.Contains(body, "event: delta\ndata: {\"text\":\"hi\\n\"}\n\n") ||
		!strings.HasSuffix(body, "event: done\ndata: {\"finish_reason\":\"stop\"}\n\n") {
		t.Errorf("stream:\n%s", body)
	}
	if h := rec.Header(); h.Get("Content-Type") != "text/event-stream; charset=utf-8" || h.Get("X-Accel-Buffering") != "no" || !rec.Flushed {
		t.Errorf("headers %v, flushed %v", h, rec.Flushed)
	}
	time.Sleep(50 * time.Millisecond)
	if strings.Count(rec.Body.String(), ": ping") != strings.Count(body, ": ping") {
		t.Error("a heartbeat was written after close")
	}

	broken := newSSEWriter(failingWriter{httptest.NewRecorder()}, time.Hour)
	defer broken.close()
	if err := broken.Delta("a"); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if err := broken.Event("done", nil); err == nil || err.Error() != "broken pipe" {
		t.Errorf("after a failed write: %v, want the same failure", err)
	}
}

func TestSSEWriterFlushesDeltasOnFlush(t *testing.T) {
	rec := httptest.NewRecorder()
	s := newSSEWriter(rec, time.Hour)
	defer s.close()
	for _, text := range []string{"a", "b"} {
		if err := s.Delta(text); err != nil {
			t.Fatal(err)
		}
	}
	if rec.Flushed {
		t.Fatal("a delta was flushed before Flush: deltas that arrived together must go out together")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || strings.Count(rec.Body.String(), "event: delta") != 2 {
		t.Errorf("after Flush: flushed %v, body %q", rec.Flushed, rec.Body.String())
	}
	s.close()
	if err := s.Flush(); !errors.Is(err, errStreamClosed) {
		t.Errorf("Flush after close: %v, want errStreamClosed", err)
	}
}
