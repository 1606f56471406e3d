package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummariseCountsAndShowsFailures(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"fine\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"boom: want 1, got 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB","Elapsed":0.2}`,
		`{"Action":"skip","Package":"p","Test":"TestC"}`,
		`{"Action":"fail","Package":"p","Elapsed":0.5}`,
		`# q`,
		`q/x.go:1:1: syntax error`,
		`{"Action":"pass","Package":"r","Elapsed":0.5}`,
	}, "\n")
	var out bytes.Buffer
	s, err := summarise(strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 1 || s.failed != 1 || s.skipped != 1 {
		t.Errorf("counts = %d/%d/%d, want 1 passed, 1 failed, 1 skipped", s.passed, s.failed, s.skipped)
	}
	if len(s.failedPackages) != 1 || s.failedPackages[0] != "p" {
		t.Errorf("failed packages = %v, want [p]", s.failedPackages)
	}
	for _, want := range []string{"--- FAIL: p TestB", "boom: want 1, got 2", "syntax error", "ok   r"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "fine") {
		t.Errorf("output of a passing test was printed:\n%s", out.String())
	}
}
