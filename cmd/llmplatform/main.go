// Command llmplatform is the single binary of LLMPlatform. Its subcommands run the Kubernetes operator, the
// tenant API server (which also serves the web UI) and the mock LLM provider used by tests and demos.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/llmplatform/llmplatform/internal/version"
)

// command is one subcommand: run gets the arguments after the subcommand's name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"operator":      {"run the Kubernetes operator", runOperator},
	"apiserver":     {"run a tenant's API server and web UI", runAPIServer},
	"mock-provider": {"run the mock LLM provider (OpenAI, Anthropic, Gemini, Ollama protocols)", runMockProvider},
	"version":       {"print the version", func(context.Context, []string) error { fmt.Println(version.String()); return nil }},
}

func main() {
	os.Exit(runMain())
}

// runMain runs the command line until a signal or its end and returns the exit code; main exits only after
// it returned, so its deferred calls run.
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "llmplatform:", err)
	}
	return exitCode(err)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		usage(stdout)
		return errUsage
	}
	switch args[0] {
	case "--version", "-version":
		_, _ = fmt.Fprintln(stdout, version.String())
		return nil
	case "-h", "--help", "help":
		usage(stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stdout)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, args[1:])
}

var errUsage = errors.New("a command is required")

func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: llmplatform <command> [flags]\n\nCommands:\n")
	for _, name := range []string{"operator", "apiserver", "mock-provider", "version"} {
		fmt.Fprintf(&b, "  %-14s %s\n", name, commands[name].summary)
	}
	b.WriteString("\nRun 'llmplatform <command> -h' for a command's flags; 'llmplatform --version' prints the version.\n")
	_, _ = io.WriteString(w, b.String())
}
