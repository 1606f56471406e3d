package provider_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// flushLog records a stream's emits and flushes in order.
type flushLog struct {
	mu      sync.Mutex
	entries []string
	changed chan struct{}
}

func (l *flushLog) add(s string) {
	l.mu.Lock()
	l.entries = append(l.entries, s)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *flushLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.entries, " ")
}

// openAIChunk is an OpenAI stream chunk with text.
func openAIChunk(text string) string {
	return fmt.Sprintf("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", text)
}

// TestStreamFlushesBeforeWaitingForTheUpstream: events that arrive together are emitted together and flushed
// once, before the stream waits for more; none is left unflushed while the upstream is silent.
func TestStreamFlushesBeforeWaitingForTheUpstream(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = fmt.Fprint(w, openAIChunk("a")+openAIChunk("b")+openAIChunk("c"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = fmt.Fprint(w, openAIChunk("d")+`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+"data: [DONE]\n\n")
	}))
	defer srv.Close()
	a := newAdapter(t, config.ProviderOpenAI, srv.URL, provider.Timeouts{}, newTransport(t))
	log := &flushLog{changed: make(chan struct{}, 1)}
	call := provider.Call{Model: "m", Messages: []provider.Message{{Role: provider.RoleUser, Content: "hi"}},
		Flush: func() error { log.add("flush"); return nil }}
	done := make(chan error, 1)
	go func() {
		_, err := a.Stream(ctxFor(t), &call, func(ev provider.Event) error {
			if ev.Text != "" {
				log.add(ev.Text)
			}
			return nil
		})
		done <- err
	}()
	const wantSilent = "a b c flush"
	deadline := time.After(10 * time.Second)
	for log.String() != wantSilent {
		select {
		case <-log.changed:
		case <-deadline:
			t.Fatalf("while the upstream is silent: %q, want %q", log.String(), wantSilent)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got := log.String(); got != wantSilent+" d" {
		t.Errorf("whole stream: %q, want %q (the caller sends what is left when Stream returns)", got, wantSilent+" d")
	}
}

// TestStreamEndsWithAFlushError: a Flush that fails (the client went away) ends the stream with its error.
func TestStreamEndsWithAFlushError(t *testing.T) {
	_, base := startMock(t)
	a := newAdapter(t, config.ProviderOpenAI, base+"/openai/v1", provider.Timeouts{}, newTransport(t))
	gone := errors.New("client gone")
	call := conversation("mock-chat+chunk:1+tps:200")
	call.Flush = func() error { return gone }
	_, err := a.Stream(ctxFor(t), &call, func(provider.Event) error { return nil })
	if !errors.Is(err, gone) {
		t.Fatalf("Stream: %v, want the Flush error", err)
	}
}
