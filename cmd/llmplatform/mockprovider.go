package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/llmplatform/llmplatform/internal/mockprovider"
)

// runMockProvider serves the mock LLM provider until ctx ends.
func runMockProvider(ctx context.Context, args []string) error {
	return serveMockProvider(ctx, args, func(addr string) {
		slog.Info("Mock provider listening", "url", "http://"+addr,
			"openai", "http://"+addr+"/openai/v1", "anthropic", "http://"+addr+"/anthropic",
			"gemini", "http://"+addr+"/gemini", "ollama", "http://"+addr+"/ollama")
	})
}

// serveMockProvider parses the flags, listens, calls ready with the address and serves until ctx ends.
func serveMockProvider(ctx context.Context, args []string, ready func(addr string)) error {
	fs := flag.NewFlagSet("mock-provider", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	var b mockprovider.Behaviour
	fs.Float64Var(&b.TokensPerSecond, "tokens-per-second", 50, "pace of replies (0: as fast as possible)")
	fs.IntVar(&b.ChunkTokens, "chunk-tokens", 1, "tokens per streamed chunk")
	fs.DurationVar(&b.TimeToFirstToken, "time-to-first-token", 200*time.Millisecond, "delay before each answer")
	fs.IntVar(&b.ReplyTokens, "reply-tokens", 40, "length of generated replies, in tokens")
	fs.StringVar(&b.Reply, "reply", "", "exact reply text instead of the generated one")
	usage := fs.Bool("usage", true, "report token usage")
	opts := fs.String("options", "", `more default behaviour, as "name:value" pairs joined by "+" (see X-Mock-Options)`)
	models := fs.String("models", strings.Join(mockprovider.DefaultModels, ","), "comma-separated model names to list")
	record := fs.Int("record", mockprovider.DefaultRecord, "number of recent requests kept for GET /mock/requests")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(fs.Output(), "Usage: llmplatform mock-provider [flags]\n\n"+
			"Serves the OpenAI (/openai/v1), Anthropic (/anthropic), Gemini (/gemini) and Ollama (/ollama) protocols.\n"+
			"Per request, options after a \"+\" in the model name or in the X-Mock-Options header override the flags:\n"+
			"tps, chunk, ttft, tokens, longtoken, usage, cached, reasoning, contextwindow, status, retryafter,\n"+
			"disconnect (e.g. \"mock-chat+tps:20+status:429+retryafter:2\").\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	b.NoUsage = !*usage
	if err := b.ParseOptions(*opts); err != nil {
		return fmt.Errorf("--options: %w", err)
	}
	mock := mockprovider.New(mockprovider.Config{Defaults: b, Models: splitList(*models), Record: *record})

	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	ready(ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// ctx is done; the wait for open streams gets its own deadline.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		_ = server.Close() // streams still open after the grace period are cut
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
