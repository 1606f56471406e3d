package settings

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

// TestReloadSeesRotatedSecretFiles: a change of only an encryption key file (or a provider key file) publishes
// a new snapshot, so that the listeners that read those files themselves reload them.
func TestReloadSeesRotatedSecretFiles(t *testing.T) {
	dir, cfg := setup(t)
	enc := filepath.Join(dir, "enc", "key")
	s, err := Load(Options{ConfigPath: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	s.OnChange(func(context.Context, *Snapshot) { calls++ })
	ctx := context.Background()
	if err := s.Reload(ctx); err != nil || calls != 0 {
		t.Fatalf("a reload without changes: %v, %d listener calls", err, calls)
	}
	write(t, enc, "first\n") // the file appears
	if err := s.Reload(ctx); err != nil || calls != 1 {
		t.Fatalf("after the encryption key appeared: %v, %d listener calls, want 1", err, calls)
	}
	write(t, enc, "rotated\n")
	if err := s.Reload(ctx); err != nil || calls != 2 {
		t.Fatalf("after the encryption key was rotated: %v, %d listener calls, want 2", err, calls)
	}
	if err := s.Reload(ctx); err != nil || calls != 2 {
		t.Fatalf("a second reload without changes: %v, %d listener calls, want 2", err, calls)
	}
}
