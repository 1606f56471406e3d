package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// webResult is the web UI's initial JavaScript.
type webResult struct {
	KBGzipped float64 `json:"kb_gzipped"`
	Files     int     `json:"files"`
}

var bundleLine = regexp.MustCompile(`initial JS: ([0-9.]+) kB gzipped in ([0-9]+) files`)

// measureWebUI runs frontend/scripts/bundle-size.mjs over the built UI (make web) with a budget no build
// reaches: the benchmark reports the size, the UI's own tests enforce the budget.
func measureWebUI(ctx context.Context, root string) (webResult, error) {
	out, err := exec.CommandContext(ctx, "node", filepath.Join(root, "frontend", "scripts", "bundle-size.mjs"), "1000000").CombinedOutput() //nolint:gosec // the repository's own script
	if err != nil {
		return webResult{}, fmt.Errorf("bundle-size.mjs (run make web first): %w: %s", err, strings.TrimSpace(string(out)))
	}
	m := bundleLine.FindStringSubmatch(string(out))
	if m == nil {
		return webResult{}, fmt.Errorf("bundle-size.mjs printed %q", out)
	}
	kb, _ := strconv.ParseFloat(m[1], 64)
	files, _ := strconv.Atoi(m[2])
	return webResult{KBGzipped: kb, Files: files}, nil
}
