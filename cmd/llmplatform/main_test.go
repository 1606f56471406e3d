package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/internal/version"
)

func TestRunVersion(t *testing.T) {
	version.Version, version.Commit, version.BuildDate = "v9.9.9", "abc1234", "2026-01-02T03:04:05Z"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out); err != nil {
		t.Fatalf("run(--version): %v", err)
	}
	for _, want := range []string{"v9.9.9", "abc1234", "2026-01-02T03:04:05Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run(--version) printed %q, want it to contain %q", out.String(), want)
		}
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("run(frobnicate) = %v, want an unknown-command error", err)
	}
	if !strings.Contains(out.String(), "mock-provider") {
		t.Errorf("usage %q does not list the commands", out.String())
	}
}

func TestRunWithoutCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err == nil {
		t.Fatal("run() with no command succeeded, want an error")
	}
}
