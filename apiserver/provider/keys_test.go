package provider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/provider"
)

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(good, []byte("  sk-live\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := provider.LoadKeys([]config.Key{
		{ID: "s/a", File: good, Weight: 2, RequestsPerMinute: 60},
		{ID: "s/b", File: empty, Weight: 1},
		{ID: "s/c", File: filepath.Join(dir, "missing"), Weight: 1},
	})
	if len(keys) != 1 || keys[0] != (provider.Key{ID: "s/a", Secret: "sk-live", Weight: 2, RequestsPerMinute: 60}) {
		t.Errorf("keys = %+v", keys)
	}
	if err == nil || !strings.Contains(err.Error(), "key s/b") || !strings.Contains(err.Error(), "key s/c") {
		t.Errorf("error = %v, want both bad keys named", err)
	}
}
